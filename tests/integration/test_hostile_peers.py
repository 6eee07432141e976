"""Hostile peers on 127.0.0.1: raw sockets against `smppkit.simulator.start()`, and a raw
SMSC against the asyncio `Esme`. Whatever arrives, the answer is an SMPP status (§2.3,
§4.3), never a dropped connection or a traceback, and the next request is still served.

Each case is bounded (pytest-timeout 10 s) and stops what it starts.
"""

from __future__ import annotations

import asyncio
import random
import socket
import struct

import pytest
from simclients import RawEsme

from smppkit import (
    BindTransceiver,
    CommandId,
    CommandStatus,
    DeliverSm,
    EnquireLink,
    Role,
    Session,
    SubmitSm,
    decode,
    encode,
)
from smppkit.clients.esme import Esme
from smppkit.protocol.codec import Framer
from smppkit.protocol.pdus import PDU_CLASSES
from smppkit.protocol.session import NEED_DATA

pytestmark = [pytest.mark.integration, pytest.mark.timeout(10)]
S = CommandStatus

OUTBIND = bytes.fromhex("000000120000000b00000000000000010000")
ALERT_NOTIFICATION = bytes.fromhex("000000180000010200000000000000020000310000003200")
SUBMIT_TO_SUPERSCRIPT_TWO = bytes.fromhex(
    "00000023000000040000000000000000000000000000b2000000000000010000000178"
)


def _still_served(raw: RawEsme) -> None:
    """The connection is open and answers a bind (if needed) and an enquire_link."""
    resp = raw.request(EnquireLink())
    assert resp is not None and resp.command_name == "enquire_link_resp", resp


@pytest.mark.parametrize(
    ("data", "seq"), [(OUTBIND, 1), (ALERT_NOTIFICATION, 2)], ids=["outbind", "alert_notification"]
)
def test_a_command_the_esme_may_not_send_gets_generic_nack(sim, raw, data, seq) -> None:
    client = raw(sim.address())
    client.send_bytes(data)
    nack = client.read()
    assert nack is not None and nack.command_name == "generic_nack"
    assert (nack.command_status, nack.sequence_number) == (S.ESME_RINVBNDSTS, seq)
    assert client.bind().command_status == 0
    _still_served(client)


def test_an_address_octet_outside_ascii_gets_a_status_not_a_hang_up(sim, raw) -> None:
    client = raw(sim.address())
    assert client.bind().command_status == 0
    client.send_bytes(SUBMIT_TO_SUPERSCRIPT_TWO)
    resp = client.read()
    assert resp.command_name == "submit_sm_resp" and resp.command_status != 0
    ok = client.request(SubmitSm(source_addr="smppkit", destination_addr="447700900001",
                                 short_message=b"hi"))
    assert ok.command_status == 0 and ok.message_id


def test_a_request_before_bind_gets_esme_rinvbndsts(sim, raw) -> None:
    client = raw(sim.address())
    resp = client.request(SubmitSm(destination_addr="447700900001", short_message=b"x"))
    assert resp.command_name == "submit_sm_resp" and resp.command_status == S.ESME_RINVBNDSTS


def test_every_command_id_with_any_body_is_answered_and_the_link_survives(sim, raw) -> None:
    rng = random.Random(12)
    client = raw(sim.address())
    assert client.bind().command_status == 0
    ids = [int(c) for c in CommandId if not c & 0x80000000 and c != CommandId.unbind]
    ids += [0x00000099, 0x0001FFFF, 0x7FFFFFFF]
    expected: set[int] = set()
    unknown: set[int] = set()
    seq = 100
    for command_id in ids:
        for body in (b"", bytes(rng.randrange(256) for _ in range(rng.randrange(1, 24)))):
            seq += 1
            client.send_bytes(struct.pack(">IIII", 16 + len(body), command_id, 0, seq) + body)
            expected.add(seq)
            if command_id not in PDU_CLASSES:
                unknown.add(seq)
    answered: dict[int, str] = {}
    while expected - set(answered):
        pdu = client.read(timeout=3)
        assert pdu is not None, f"unanswered: {sorted(expected - set(answered))}"
        if pdu.is_response and pdu.sequence_number in expected:
            assert pdu.sequence_number not in answered, "answered twice"
            answered[pdu.sequence_number] = pdu.command_name
    assert {answered[s] for s in unknown} == {"generic_nack"}
    _still_served(client)


def test_a_pdu_in_one_octet_writes_is_answered(sim) -> None:
    with socket.create_connection((sim.host, sim.port()), timeout=3) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for octet in encode(EnquireLink(sequence_number=5)):
            sock.sendall(bytes([octet]))
        framer = Framer()
        while (frame := framer.next_frame()) is None:
            framer.feed(sock.recv(64))
        assert decode(frame).command_name == "enquire_link_resp"


@pytest.mark.parametrize("length", [0, 15, 0xFFFFFFFF])
def test_an_unframeable_length_gets_generic_nack_then_close_and_others_are_served(
    sim, raw, length
) -> None:
    client = raw(sim.address())
    client.send_bytes(struct.pack(">IIII", length, 4, 0, 3))
    nack = client.read()
    assert nack is not None and nack.command_name == "generic_nack"
    assert nack.command_status == S.ESME_RINVCMDLEN
    assert client.wait_closed()
    other = raw(sim.address())
    assert other.bind().command_status == 0


def test_a_reset_in_the_middle_of_a_pdu_leaves_the_simulator_serving(sim, raw) -> None:
    sock = socket.create_connection((sim.host, sim.port()), timeout=3)
    sock.sendall(encode(BindTransceiver(system_id="smppkit", password="secret",
                                        sequence_number=1))[:20])
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()  # RST
    client = raw(sim.address())
    assert client.bind().command_status == 0
    _still_served(client)


def test_garbage_then_a_new_connection(sim, raw) -> None:
    client = raw(sim.address())
    client.send_bytes(bytes(random.Random(3).randrange(256) for _ in range(200)))
    client.wait_closed()  # the framer cannot resynchronise: nack and close, or wait
    other = raw(sim.address())
    assert other.bind().command_status == 0


# --- a hostile SMSC against the asyncio Esme ----------------------------------------------


async def _hostile_smsc(hostile: list[bytes], seen: list[object], done: asyncio.Event):
    """A raw SMSC on 127.0.0.1: answers the bind, sends `hostile`, then a receipt."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = Session(Role.SMSC)
        try:
            while True:  # until the Esme closes
                data = await reader.read(65536)
                if not data:
                    return
                session.receive_data(data)
                while (event := session.next_event()) is not NEED_DATA:
                    seen.append(event)
                    if getattr(event, "command_name", "") == "bind_transceiver":
                        resp_cls = PDU_CLASSES[CommandId.bind_transceiver_resp]
                        session.send(resp_cls(system_id="EVIL", sequence_number=event.sequence_number))
                        writer.write(session.data_to_send() + b"".join(hostile))
                        session.send(DeliverSm(esm_class=0x04, short_message=b"id:1 stat:DELIVRD",
                                               sequence_number=77))
                    if getattr(event, "command_name", "") == "deliver_sm_resp":
                        done.set()
                writer.write(session.data_to_send())
        finally:
            writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0)


def _with_service_type(service_type: bytes) -> bytes:
    """deliver_sm seq 42 whose service_type (limit 6 octets with the NULL, §4.6.1) is too long."""
    body = encode(DeliverSm(destination_addr="1", sequence_number=42))[17:]  # after its NULL
    body = service_type + b"\x00" + body
    return struct.pack(">IIII", 16 + len(body), CommandId.deliver_sm, 0, 42) + body


def test_the_esme_answers_a_hostile_smsc_and_keeps_its_connection() -> None:
    hostile = [
        OUTBIND,  # not allowed once bound: generic_nack
        ALERT_NOTIFICATION,  # allowed for a transceiver: no answer (§4.12)
        struct.pack(">IIII", 16, 0x00000099, 0, 40),  # unknown command: generic_nack
        encode(SubmitSm(destination_addr="1", sequence_number=41)),  # an SMSC may not submit
        _with_service_type(b"TOOLONGTYPE"),  # a bad field: deliver_sm_resp with its status
    ]

    async def run() -> tuple[list[object], Esme]:
        seen: list[object] = []
        done = asyncio.Event()
        server = await _hostile_smsc(hostile, seen, done)
        port = server.sockets[0].getsockname()[1]
        esme = Esme(response_timeout=3)
        try:
            await esme.connect("127.0.0.1", port)
            await esme.bind("smppkit", "secret")
            await asyncio.wait_for(done.wait(), 5)
            assert (await esme.enquire_link()).command_name == "enquire_link_resp"
            return seen, esme
        finally:
            await esme.close()
            server.close()
            await server.wait_closed()

    seen, esme = asyncio.run(run())
    answers = {getattr(e, "sequence_number", None): e for e in seen
               if getattr(e, "is_response", False)}
    assert answers[1].command_name == "generic_nack"  # the outbind
    assert answers[1].command_status == S.ESME_RINVBNDSTS
    assert 2 not in answers  # alert_notification has no response
    assert (answers[40].command_name, answers[40].command_status) == ("generic_nack", S.ESME_RINVCMDID)
    assert (answers[41].command_name, answers[41].command_status) == ("submit_sm_resp",
                                                                      S.ESME_RINVBNDSTS)
    assert (answers[42].command_name, answers[42].command_status) == ("deliver_sm_resp",
                                                                      S.ESME_RINVSERTYP)
    assert [p.short_message for p in esme.received] == [b"id:1 stat:DELIVRD"]
