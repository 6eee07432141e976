"""Hostile, stalled and careless clients against the simulator, on raw sockets (127.0.0.1).

Each case starts its own simulator with small timeouts given as options, so every case
ends in a few seconds; every socket has a timeout and every loop a deadline, and the
fixtures stop every simulator, socket and thread. What is asserted is behaviour (closed,
answered, with which status), never a duration.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import stat
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from simclients import RawEsme, hostport

from smppkit.protocol.codec import DEFAULT_MAX_COMMAND_LENGTH, encode
from smppkit.protocol.constants import CommandStatus as S
from smppkit.protocol.constants import TlvTag
from smppkit.protocol.pdus import BindTransceiver, EnquireLink, SubmitSm
from smppkit.simulator.tls import client_context

pytestmark = [pytest.mark.integration, pytest.mark.timeout(30)]

#: the crash PDUs of issue 12, each with the answer it must get
CRASH_PDUS = [
    ("outbind", "000000120000000b00000000000000010000", "generic_nack", S.ESME_RINVBNDSTS),
    ("alert_notification", "000000180000010200000000000000020000310000003200", "generic_nack",
     S.ESME_RINVBNDSTS),
    ("submit_sm to ²", "00000023000000040000000000000000000000000000b2000000000000010000000178",
     "submit_sm_resp", S.ESME_RINVDSTADR),
]


def header(command_length: int, command_id: int = 0x00000004, sequence: int = 1) -> bytes:
    return struct.pack(">IIII", command_length, command_id, 0, sequence)


def still_serves(address: str) -> None:
    """A new client can bind and get its enquire_link answered."""
    client = RawEsme(address)
    try:
        assert client.bind().command_status == 0
        resp = client.request(EnquireLink())
        assert resp is not None and resp.command_name == "enquire_link_resp"
    finally:
        client.close()


def is_closed(sock: socket.socket, timeout: float = 3.0) -> bool:
    """True once the peer closed (EOF or reset) within `timeout`, reading past any PDUs."""
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            if not sock.recv(65536):
                return True
        except TimeoutError:
            return False
        except OSError:
            return True
    return False


# -- timeouts --------------------------------------------------------------------------------


def test_connections_that_never_bind_are_closed_after_the_bind_timeout(start_sim, raw):
    sim = start_sim(profile="single", bind_timeout=0.5, pdu_timeout=30)
    idle = [raw(sim.address("SMPP0")) for _ in range(5)]
    for client in idle:
        assert is_closed(client.sock), "an unbound connection outlived the bind timeout"
    assert sim.counters.get("bind_timeouts", 0) == 5
    still_serves(sim.address("SMPP0"))


@pytest.mark.parametrize("start", [header(100), header(100)[:3]], ids=["lone header", "3 octets"])
def test_an_unfinished_pdu_is_closed_after_the_pdu_timeout(start_sim, raw, start):
    sim = start_sim(profile="single", bind_timeout=30, pdu_timeout=0.5)
    client = raw(sim.address("SMPP0"))
    client.send_bytes(start)
    assert is_closed(client.sock)
    assert sim.counters.get("pdu_timeouts", 0) == 1
    notes = [e["note"] for e in sim.trace_events() if e.get("note")]
    assert any("unfinished" in note for note in notes)


def test_the_pdu_timeout_runs_per_pdu_not_per_connection(start_sim, raw):
    """Whole PDUs keep coming, each cut across two writes: no PDU is ever late."""
    sim = start_sim(profile="single", pdu_timeout=0.4)
    client = raw(sim.address("SMPP0"))
    assert client.bind().command_status == 0
    deadline = time.monotonic() + 1.5
    answered = 0
    while time.monotonic() < deadline:
        data = encode(EnquireLink(sequence_number=100 + answered))
        client.send_bytes(data[:7])
        time.sleep(0.1)
        client.send_bytes(data[7:])
        resp = client.read(2)
        assert resp is not None and resp.command_name == "enquire_link_resp"
        answered += 1
    assert answered >= 3 and sim.counters.get("pdu_timeouts", 0) == 0


def test_one_octet_at_a_time_does_not_keep_a_session_alive(start_sim, raw):
    """Inactivity counts whole PDUs: octets trickling into an unfinished one do not count."""
    sim = start_sim(profile="single", inactivity_timeout=0.6, pdu_timeout=30)
    client = raw(sim.address("SMPP0"))
    assert client.bind().command_status == 0
    trickle = header(400)
    unbound = False
    deadline = time.monotonic() + 5
    for octet in trickle:
        if time.monotonic() > deadline:
            break
        client.send_bytes(bytes([octet]))
        got = client.read(0.1)
        if got is not None and got.command_name == "unbind":
            unbound = True
            break
    assert unbound, "the SMSC did not unbind a session whose PDU never came"
    assert sim.counters.get("idle_unbinds", 0) == 1
    assert client.wait_closed(4)  # unbind_resp never came: closed after it


# -- limits ----------------------------------------------------------------------------------


def test_too_many_connections_from_one_address_are_refused(start_sim, raw):
    sim = start_sim(profile="single", max_connections_per_address=3, max_binds=10)
    address = sim.address("SMPP0")
    first = [raw(address) for _ in range(3)]
    for client in first:
        assert client.bind().command_status == 0
    extra = raw(address)
    assert is_closed(extra.sock, 2)
    assert sim.counters.get("connections_refused", 0) == 1
    other = raw(address, source="127.0.0.2")  # another address still gets in
    assert other.bind().command_status == 0
    for client in first:  # and the three are untouched
        assert client.request(EnquireLink()).command_name == "enquire_link_resp"
    first[0].close()
    deadline = time.monotonic() + 3
    while True:  # a slot is free again once the simulator saw the close
        again = raw(address)
        resp = again.bind()
        if resp is not None or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert resp is not None and resp.command_status == 0


def test_connections_in_all_are_limited(start_sim, raw):
    sim = start_sim(profile="single", max_connections=2)
    address = sim.address("SMPP0")
    a, b = raw(address, source="127.0.0.2"), raw(address, source="127.0.0.3")
    assert a.bind().command_status == 0 and b.bind().command_status == 0
    third = raw(address, source="127.0.0.4")
    assert is_closed(third.sock, 2)
    assert sim.counters.get("connections_refused", 0) == 1


@pytest.mark.parametrize("options, length", [
    ({}, DEFAULT_MAX_COMMAND_LENGTH + 1),
    ({"max_command_length": 1024}, 1025),
], ids=["default limit", "max_command_length 1024"])
def test_an_oversize_command_length_gets_generic_nack_and_closes(start_sim, raw, options, length):
    sim = start_sim(profile="single", **options)
    client = raw(sim.address("SMPP0"))
    client.send_bytes(header(length, sequence=9))
    nack = client.read(2)
    assert nack is not None and nack.command_name == "generic_nack"
    assert nack.command_status == S.ESME_RINVCMDLEN and nack.sequence_number == 9
    assert client.wait_closed(2)
    still_serves(sim.address("SMPP0"))


def test_a_pdu_at_the_limit_is_accepted(start_sim, raw):
    sim = start_sim(profile="single", max_command_length=1024)
    client = raw(sim.address("SMPP0"))
    assert client.bind().command_status == 0
    pdu = SubmitSm(source_addr="t", destination_addr="447700900000",
                   tlvs=((TlvTag.message_payload, b"x" * 200),))
    size = len(encode(pdu))
    pdu = pdu.replace(tlvs=((TlvTag.message_payload, b"x" * (200 + 1024 - size)),))
    assert len(encode(pdu)) == 1024
    resp = client.request(pdu)
    assert resp is not None and resp.command_status == 0


# -- fairness and back-pressure --------------------------------------------------------------


def test_a_client_flooding_without_reading_neither_starves_another_nor_is_read_forever(start_sim, raw):
    sim = start_sim(profile="single", throughput=None, max_binds=10, write_high_water=16 * 1024,
                    enquire_link=False)
    address = sim.address("SMPP0")
    flooder = raw(address)
    assert flooder.bind().command_status == 0
    burst = b"".join(encode(EnquireLink(sequence_number=i)) for i in range(2, 1026))
    stop = threading.Event()
    blocked = threading.Event()

    def flood() -> None:
        flooder.sock.settimeout(0.5)
        deadline = time.monotonic() + 10
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                flooder.sock.sendall(burst)
            except TimeoutError:
                blocked.set()  # the simulator stopped reading us
            except OSError:
                return

    thread = threading.Thread(target=flood, daemon=True)
    thread.start()
    try:
        well = raw(address)
        assert well.bind().command_status == 0
        for i in range(200):
            pdu = SubmitSm(source_addr="t", destination_addr="447700900000", short_message=b"hi",
                           registered_delivery=0)
            resp = well.request(pdu, timeout=2)
            assert resp is not None and resp.command_status == 0, f"request {i} not answered within 2 s"
        assert blocked.wait(8), "the flooder was never slowed down"
        peer = "{}:{}".format(*flooder.sock.getsockname())

        def flooder_pdus_read() -> int:
            return sum(1 for e in sim.trace_events() if e["peer"] == peer and e["direction"] == "in")

        read = flooder_pdus_read()
        time.sleep(0.5)  # the flooder keeps trying to write meanwhile
        assert flooder_pdus_read() == read, "the simulator kept reading a client that never reads"
        assert sim.counters.get("reads_paused", 0) >= 1
    finally:
        stop.set()
        thread.join(5)
    assert not thread.is_alive()


def test_pdus_written_before_an_eof_are_all_answered_over_several_turns(start_sim, raw):
    """A burst far above max_pdus_per_turn, then the client's FIN: the rest is handled on
    later loop turns, every PDU answered in order, and only then the connection closed."""
    sim = start_sim(profile="single", max_pdus_per_turn=8)
    client = raw(sim.address("SMPP0"))
    assert client.bind().command_status == 0
    client.send_bytes(b"".join(encode(EnquireLink(sequence_number=seq)) for seq in range(10, 510)))
    client.sock.shutdown(socket.SHUT_WR)
    answered = []
    while (pdu := client.read(3)) is not None:
        answered.append((pdu.command_name, pdu.sequence_number))
    assert answered == [("enquire_link_resp", seq) for seq in range(10, 510)]
    assert client.eof


def _until(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_a_receiver_that_stops_reading_holds_3000_receipts_in_the_store_not_in_a_buffer(start_sim, raw):
    """While it does not read, receipts wait in the store (the output buffer stays under
    twice write_high_water, no deliver_sm is sent or resent); then it gets each in order,
    any second copy being a traced resend."""
    high = 64 * 1024
    count = 3000
    sim = start_sim(profile="single", throughput=None, dlr_delay=0, deliver_timeout=2.0,
                    enquire_link=False, write_high_water=high)
    address = sim.address("SMPP0")
    rx = raw(address, timeout=5)
    assert rx.bind("receiver").command_status == 0
    tx = raw(address, timeout=5)
    assert tx.bind("transmitter").command_status == 0
    pdus = [SubmitSm(source_addr="t", destination_addr="447700123456", short_message=b"hi",
                     registered_delivery=1, sequence_number=seq) for seq in range(100, 100 + count)]
    tx.send_bytes(b"".join(encode(p) for p in pdus))
    ids = []
    for _ in range(count):
        resp = tx.read(5)
        assert resp is not None and resp.command_status == 0
        ids.append(str(int(resp.message_id, 16)))

    def made() -> bool:
        snap = sim.counters
        return snap.get("receipts_held", 0) == count and snap.get("congested_connections") == 1

    assert _until(made, 10), "the receipts were not all made, or the receiver never congested"
    first = sim.counters
    time.sleep(3)  # more than deliver_timeout: nothing may be resent meanwhile
    stalled = sim.counters
    assert stalled["deliver_sm"] == first["deliver_sm"] < count  # nothing more sent
    assert stalled.get("deliver_retries", 0) == 0
    assert stalled["receipts_waiting"] == count - stalled["deliver_sm"]  # held in the store
    assert 0 < stalled["write_buffer_max"] <= 2 * high + 1024

    got: list[str] = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        pdu = rx.read(0.3)  # answers every deliver_sm with ESME_ROK
        if pdu is None:
            if sim.counters.get("receipts_held", 0) == 0:
                break
        elif pdu.command_name == "deliver_sm":
            got.append(pdu.short_message.split(b" ")[0].removeprefix(b"id:").decode())
    assert list(dict.fromkeys(got)) == ids  # every receipt, in the order the messages were made
    end = sim.counters
    assert end.get("receipts_held", 0) == 0
    assert len(got) - count <= end.get("deliver_retries", 0)  # each second copy a resend
    resends = [e for e in sim.trace_events() if (e["note"] or "").startswith("resend")]
    assert len(resends) == end.get("deliver_retries", 0)


# -- what must keep holding -------------------------------------------------------------------


@pytest.mark.parametrize("name, hex_pdu, command, status", CRASH_PDUS, ids=[c[0] for c in CRASH_PDUS])
def test_the_known_crash_pdus_are_answered_and_the_session_keeps_working(start_sim, raw, name, hex_pdu,
                                                                         command, status):
    sim = start_sim(profile="single")
    client = raw(sim.address("SMPP0"))
    assert client.bind().command_status == 0
    client.send_bytes(bytes.fromhex(hex_pdu))
    answer = client.read(2)
    assert answer is not None and answer.command_name == command and answer.command_status == status
    assert client.request(EnquireLink()).command_name == "enquire_link_resp"
    assert sim.counters.get("internal_errors", 0) == 0


@pytest.mark.parametrize("length", [0, 15, 0xFFFFFFFF])
def test_an_unframable_command_length_gets_generic_nack_and_closes(start_sim, raw, length):
    sim = start_sim(profile="single")
    client = raw(sim.address("SMPP0"))
    client.send_bytes(header(length) if length >= 16 else struct.pack(">I", length) + bytes(12))
    nack = client.read(2)
    assert nack is not None and nack.command_name == "generic_nack"
    assert nack.command_status == S.ESME_RINVCMDLEN
    assert client.wait_closed(2)
    still_serves(sim.address("SMPP0"))


def test_garbage_is_refused_and_the_simulator_keeps_serving(start_sim, raw):
    sim = start_sim(profile="single")
    rng = random.Random(12)
    for _ in range(20):
        client = raw(sim.address("SMPP0"))
        client.send_bytes(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300))))
        client.close()
    still_serves(sim.address("SMPP0"))
    assert sim.counters.get("internal_errors", 0) == 0


def test_pdus_written_one_octet_at_a_time_are_answered(start_sim, raw):
    sim = start_sim(profile="single")
    client = raw(sim.address("SMPP0"))
    for data in (encode(BindTransceiver(system_id="smppkit", password="secret", sequence_number=1)),
                 encode(EnquireLink(sequence_number=2))):
        for octet in data:
            client.send_bytes(bytes([octet]))
        resp = client.read(2)
        assert resp is not None and resp.command_status == 0 and resp.sequence_number == data[15]


def test_resets_in_the_middle_of_a_pdu_cost_only_their_connection(start_sim, raw):
    sim = start_sim(profile="single")
    for _ in range(20):
        client = raw(sim.address("SMPP0"))
        client.bind()
        client.send_bytes(encode(EnquireLink(sequence_number=5))[:9])
        client.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        client.close()  # RST
    still_serves(sim.address("SMPP0"))
    assert sim.counters.get("internal_errors", 0) == 0


def test_ten_thousand_enquire_links_are_each_answered(start_sim, raw):
    sim = start_sim(profile="single", trace_memory=0)
    client = raw(sim.address("SMPP0"), timeout=5)
    assert client.bind().command_status == 0
    count = 10_000
    reader_seen: list[int] = []

    def read_all() -> None:
        while len(reader_seen) < count:
            pdu = client.read(5)
            if pdu is None:
                return
            if pdu.command_name == "enquire_link_resp":
                reader_seen.append(pdu.sequence_number)

    reader = threading.Thread(target=read_all, daemon=True)
    reader.start()
    client.send_bytes(b"".join(encode(EnquireLink(sequence_number=i)) for i in range(2, count + 2)))
    reader.join(20)
    assert not reader.is_alive()
    assert sorted(reader_seen) == list(range(2, count + 2))


# -- failed binds ----------------------------------------------------------------------------


def test_wrong_passwords_lock_the_address_and_are_never_traced(start_sim, raw):
    sim = start_sim(profile="single", bind_failure_limit=5, bind_lockout=0.8)
    address = sim.address("SMPP0")
    client = raw(address)
    guesses = [f"g{i:04d}" for i in range(2000)]
    client.send_bytes(b"".join(
        encode(BindTransceiver(system_id="smppkit", password=p, sequence_number=i + 1))
        for i, p in enumerate(guesses)))
    statuses = []
    while (pdu := client.read(2)) is not None:
        statuses.append(pdu.command_status)
    assert statuses == [S.ESME_RINVPASWD] * 5, "more than 5 guesses answered on one connection"
    assert client.eof  # the fifth failure closed the connection
    locked = raw(address)
    assert locked.bind().command_status == S.ESME_RBINDFAIL  # right password, still refused
    assert locked.wait_closed(2)
    deadline = time.monotonic() + 5
    while True:  # the lockout ends
        time.sleep(0.2)
        again = raw(address)
        resp = again.bind()
        if resp is not None and resp.command_status == 0 or time.monotonic() > deadline:
            break
    assert resp is not None and resp.command_status == 0
    assert sim.counters.get("bind_lockouts", 0) == 1 and sim.counters.get("binds_locked_out", 0) >= 1
    text = repr(sim.trace_events())
    assert "secret" not in text and not any(g in text for g in guesses[:10])
    assert any("failed binds in a row" in (e.get("note") or "") for e in sim.trace_events())


def test_another_address_is_not_locked(start_sim, raw):
    sim = start_sim(profile="single", bind_failure_limit=2, bind_lockout=30)
    address = sim.address("SMPP0")
    for _ in range(2):
        assert raw(address).bind(password="wrong").command_status == S.ESME_RINVPASWD
    assert raw(address).bind().command_status == S.ESME_RBINDFAIL
    assert raw(address, source="127.0.0.2").bind().command_status == 0


# -- TLS -------------------------------------------------------------------------------------


def test_tls_only_has_no_plain_port_and_keeps_its_key_private_until_stop(start_sim):
    sim = start_sim(profile="single", tls_only=True)
    cert = Path(sim.tls_cert)
    directory = cert.parent
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    keys = [p for p in directory.iterdir() if p != cert]
    assert keys and all(stat.S_IMODE(k.stat().st_mode) == 0o600 for k in keys)
    with pytest.raises(RuntimeError, match="TLS only"):
        sim.address("SMPP0")
    host, port = hostport(sim.tls_address("SMPP0"))
    with socket.create_connection((host, port), timeout=3) as plain:
        plain.sendall(encode(EnquireLink(sequence_number=1)))  # not TLS: no SMPP answer
        assert is_closed(plain, 3)
    ctx = client_context(str(cert))
    with socket.create_connection((host, port), timeout=3) as s, ctx.wrap_socket(s) as tls:
        tls.sendall(encode(BindTransceiver(system_id="smppkit", password="secret", sequence_number=1)))
        resp = tls.recv(4096)
        assert struct.unpack(">I", resp[8:12])[0] == 0
    sim.stop()
    assert not directory.exists()


def test_smppkit_sim_tls_only_prints_the_certificate_and_removes_it_at_stop():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "smppkit", "sim", "--profile", "single", "--tls-only",
                             "--port", str(port), "--account", "alice:hunter2"], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline().rstrip("\n") for _ in range(2)]
        assert lines[0] == f"SMPP0 listening with TLS on 127.0.0.1:{port}"
        assert lines[1].startswith("TLS certificate: ") and "deleted at stop" in lines[1]
        cert = Path(lines[1].split(": ", 1)[1].split(" ")[0])
        assert cert.exists() and stat.S_IMODE(cert.parent.stat().st_mode) == 0o700
        ctx = client_context(str(cert))  # the printed certificate is the one served
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s, ctx.wrap_socket(s) as tls:
            tls.sendall(encode(EnquireLink(sequence_number=3)))
            assert struct.unpack(">II", tls.recv(4096)[4:12]) == (0x80000015, 0)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=15)
        assert proc.returncode == 0
        assert "hunter2" not in out
        assert not cert.parent.exists()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


# -- options ---------------------------------------------------------------------------------


@pytest.mark.parametrize("option, value", [
    ("pdu_timeout", 0), ("bind_timeout", -1.0), ("max_connections", 0), ("read_chunk", 0),
    ("max_command_length", 15),
])
def test_a_limit_that_cannot_work_is_refused_with_its_name(option, value):
    from smppkit.simulator import Simulator

    with pytest.raises(ValueError, match=option):
        Simulator(**{option: value})


def test_smppkit_sim_refuses_a_negative_limit_and_lists_every_default_in_help():
    run = subprocess.run([sys.executable, "-m", "smppkit", "sim", "--pdu-timeout", "-1"],
                         capture_output=True, text=True, timeout=30)
    assert run.returncode == 2 and "--pdu-timeout" in run.stderr
    text = subprocess.run([sys.executable, "-m", "smppkit", "sim", "--help"], capture_output=True,
                          text=True, timeout=30).stdout
    for option in ("--bind-timeout", "--pdu-timeout", "--inactivity-timeout", "--enquire-link-timeout",
                   "--max-connections", "--max-connections-per-address", "--max-command-length",
                   "--read-chunk", "--write-high-water", "--bind-failure-limit", "--bind-lockout"):
        block = text.split("\n  " + option + " ", 1)[1].split("\n  --", 1)[0]
        assert "(default" in " ".join(block.split()), f"{option} shows no default"
