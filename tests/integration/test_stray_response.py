"""A response of the wrong type with a pending request's sequence_number answers nothing.

The peer is a stdlib SMSC (struct and socket only, not smppkit) that answers submit_sm with
a query_sm_resp of the same sequence_number, the way a buggy SMSC might, then (optionally)
with the real submit_sm_resp or a generic_nack. A response matches a request by
sequence_number *and* command_id: the request's with bit 31 set, or generic_nack (SMPP v3.4
§3.2, §5.1.2.1, §4.3). Both clients must leave the request pending, not resolve it.

Each case is bounded (pytest-timeout 10 s) and stops the peer it starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from collections.abc import Iterator

import pytest

from smppkit import SubmitSm, client
from smppkit.clients.esme import Esme
from smppkit.protocol.session import answers

pytestmark = [pytest.mark.integration, pytest.mark.timeout(10)]

SUBMIT_SM, QUERY_SM_RESP, SUBMIT_SM_RESP, GENERIC_NACK = 0x04, 0x80000003, 0x80000004, 0x80000000
ENQUIRE_LINK, UNBIND = 0x15, 0x06
ESME_RSYSERR = 0x08


def _pdu(command_id: int, status: int, sequence: int, body: bytes = b"") -> bytes:
    return struct.pack(">IIII", 16 + len(body), command_id, status, sequence) + body


def _answers_to_submit(then: str) -> list[bytes]:
    """What the peer writes for a submit_sm (sequence 0 is patched in by the caller)."""
    # query_sm_resp body: message_id, final_date, message_state, error_code -- §4.8.2
    wrong = (QUERY_SM_RESP, 0, b"42\x00\x00\x02\x00")
    right = {"submit_sm_resp": (SUBMIT_SM_RESP, 0, b"42\x00"),
             "generic_nack": (GENERIC_NACK, ESME_RSYSERR, b""), "nothing": None}[then]
    return [wrong] + ([right] if right else [])  # type: ignore[list-item]


def _serve(sock: socket.socket, then: str) -> None:
    buffer = b""
    with sock:
        while True:
            try:
                chunk = sock.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            buffer += chunk
            while len(buffer) >= 16:
                length, command_id, _, seq = struct.unpack(">IIII", buffer[:16])
                if len(buffer) < length:
                    break
                buffer = buffer[length:]
                if command_id in (0x01, 0x02, 0x09):  # a bind: its resp, system_id "STRAY"
                    sock.sendall(_pdu(command_id | 0x80000000, 0, seq, b"STRAY\x00"))
                elif command_id in (ENQUIRE_LINK, UNBIND):
                    sock.sendall(_pdu(command_id | 0x80000000, 0, seq))
                elif command_id == SUBMIT_SM:
                    for cid, status, body in _answers_to_submit(then):  # type: ignore[misc]
                        sock.sendall(_pdu(cid, status, seq, body))


@contextlib.contextmanager
def stray_smsc(then: str) -> Iterator[int]:
    """A peer on 127.0.0.1 that answers submit_sm with query_sm_resp, then `then`; its port."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()
    threads: list[threading.Thread] = []

    def accept() -> None:
        while not stop.is_set():
            try:
                sock, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=_serve, args=(sock, then), daemon=True)
            thread.start()
            threads.append(thread)

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        acceptor.join(2)
        listener.close()
        for thread in threads:
            thread.join(2)


@pytest.mark.parametrize(
    ("request_id", "response_id", "expected"),
    [(SUBMIT_SM, SUBMIT_SM_RESP, True), (SUBMIT_SM, GENERIC_NACK, True),
     (SUBMIT_SM, QUERY_SM_RESP, False), (SUBMIT_SM, SUBMIT_SM, False),
     (ENQUIRE_LINK, 0x80000015, True), (ENQUIRE_LINK, SUBMIT_SM_RESP, False)],
)
def test_answers_needs_the_request_id_with_bit_31_or_generic_nack(request_id, response_id, expected):
    assert answers(request_id, response_id) is expected


def _submit() -> SubmitSm:
    return SubmitSm(source_addr="smppkit", destination_addr="447700900001", short_message=b"hi")


async def _esme_submit(port: int, timeout: float) -> tuple[object, Esme, list[dict[str, object]]]:
    trace: list[dict[str, object]] = []
    esme = Esme(response_timeout=timeout, trace=trace)
    await esme.connect("127.0.0.1", port)
    await esme.bind("smppkit", "secret")
    try:
        result: object = await esme.submit(_submit())
    except TimeoutError as exc:
        result = exc
    await esme.close()
    return result, esme, trace


def test_the_esme_waits_for_the_submit_sm_resp_past_a_query_sm_resp() -> None:
    with stray_smsc("submit_sm_resp") as port:
        resp, esme, trace = asyncio.run(_esme_submit(port, 3.0))
    assert resp.command_name == "submit_sm_resp" and resp.message_id == "42"  # type: ignore[attr-defined]
    assert esme.counters["stray_responses"] == 1
    assert any("query_sm_resp seq=" in what and "does not answer submit_sm" in what
               for _, what in esme.events)
    noted = [e for e in trace if e["command"] == "query_sm_resp"]
    assert len(noted) == 1 and "stays pending" in str(noted[0]["note"])


def test_the_esme_takes_a_generic_nack_as_the_answer() -> None:
    with stray_smsc("generic_nack") as port:
        resp, esme, _ = asyncio.run(_esme_submit(port, 3.0))
    assert resp.command_name == "generic_nack" and resp.command_status == ESME_RSYSERR  # type: ignore[attr-defined]
    assert esme.counters["stray_responses"] == 1


def test_the_esme_times_out_when_only_the_wrong_response_comes() -> None:
    with stray_smsc("nothing") as port:
        result, esme, _ = asyncio.run(_esme_submit(port, 0.5))
    assert isinstance(result, TimeoutError) and "submit_sm" in str(result)
    assert esme.counters["stray_responses"] == 1 and esme.counters["timeouts"] == 1


def test_the_smpplib_connection_waits_for_the_submit_sm_resp_past_a_query_sm_resp() -> None:
    with stray_smsc("submit_sm_resp") as port, client.connect(
            f"127.0.0.1:{port}", system_id="smppkit", password="secret", timeout=3,
            reconnect=False) as conn:
        resp = conn.submit(_submit())
        events = [what for _, what in conn.events]
    assert resp.command == "submit_sm_resp" and resp.message_id == b"42"
    assert any("query_sm_resp" in what and "does not answer submit_sm" in what for what in events)


def test_the_smpplib_connection_times_out_when_only_the_wrong_response_comes() -> None:
    with stray_smsc("nothing") as port, client.connect(
            f"127.0.0.1:{port}", system_id="smppkit", password="secret", timeout=0.5,
            reconnect=False) as conn, pytest.raises(client.SendTimeout):
        conn.submit(_submit())


def test_lab_exchange_returns_the_submit_sm_resp_not_the_query_sm_resp() -> None:
    from smppkit import BindTransceiver
    from smppkit.notebook.lab import exchange

    with stray_smsc("submit_sm_resp") as port:
        bound, resp = exchange(f"127.0.0.1:{port}", [BindTransceiver(system_id="smppkit", password="secret"),
                                                     _submit()], timeout=3)
    assert bound.command_name == "bind_transceiver_resp"
    assert resp.command_name == "submit_sm_resp" and resp.message_id == "42"
