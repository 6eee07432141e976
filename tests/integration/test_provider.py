"""The provider's behaviours (issue 11 item 3, issue 12 items 3 and 5), through python-smpplib.

Each test starts its own simulator with the option it needs; clients are smpplib (`Esme`),
except where smpplib has no PDU for it (submit_multi, cancel_sm, replace_sm: `RawEsme`).
"""

from __future__ import annotations

import socket
import struct
import time

import pytest
from simclients import Esme, receipt_fields, text_of

from smppkit.protocol.constants import CommandStatus as S
from smppkit.protocol.pdus import CancelSm, ReplaceSm, SmeAddress, SubmitMulti

pytestmark = [pytest.mark.integration, pytest.mark.timeout(30)]

DELIVRD, ABSENT, SLOW = "447700900000", "447700900002", "447700900005"


def test_relative_validity_ends_a_slow_message_expired_with_its_receipt(start_sim, esme):
    sim = start_sim(dlr_delay=0.3)  # the slow number delivers after 3 s
    client = esme(sim.address("SMPP1"))
    client.bind()
    resp_id = client.submit_id(SLOW, validity_period="000000000001000R")  # +1 s (§7.1.1)
    (receipt,) = client.collect(1, timeout=2.5)
    fields = receipt_fields(receipt)
    assert fields["stat"] == "EXPIRED" and fields["id"] == str(int(resp_id, 16))
    assert sim.counters["validity_expired"] == 1


def test_absolute_validity_in_the_past_expires_at_once(start_sim, esme):
    sim = start_sim(dlr_delay=0.3)
    client = esme(sim.address("SMPP1"))
    client.bind()
    client.submit_id(DELIVRD, validity_period="250101000000000+")  # 2025-01-01, before the epoch
    (receipt,) = client.collect(1, timeout=2)
    assert receipt_fields(receipt)["stat"] == "EXPIRED"


def test_a_malformed_validity_period_gets_rinvexpiry(sim, esme):
    client = esme(sim.address("SMPP1"))
    client.bind()
    assert client.submit(DELIVRD, validity_period="26130100000000R+").status == S.ESME_RINVEXPIRY


def test_schedule_delivery_time_holds_the_message_and_its_receipt(start_sim, esme):
    sim = start_sim(dlr_delay=0.05)
    client = esme(sim.address("SMPP1"))
    client.bind()
    resp_id = client.submit_id(DELIVRD, schedule_delivery_time="000000000002000R")  # +2 s
    assert client.collect(1, timeout=1.0) == []  # held
    query = client.request("query_sm", message_id=resp_id, source_addr="smppkit")
    assert query.message_state == 1  # ENROUTE (§5.2.28)
    (receipt,) = client.collect(1, timeout=3.0)
    assert receipt_fields(receipt)["stat"] == "DELIVRD"


def test_submit_multi_receipts_carry_the_message_id_of_the_resp(sim, raw):
    client = raw(sim.address("SMPP1"))
    client.bind()
    dests = tuple(SmeAddress(n) for n in ("447700900000", "447700900001", "447700900003"))
    resp = client.request(SubmitMulti(source_addr="smppkit", dest_addresses=dests,
                                      registered_delivery=1, short_message=b"hi"))
    assert resp.command_status == 0
    deadline = time.monotonic() + 3
    while len(client.delivered) < 3 and time.monotonic() < deadline:
        client.read(0.1)
    ids = {p.tlv("receipted_message_id") for p in client.delivered}
    assert len(client.delivered) == 3 and ids == {str(int(resp.message_id, 16))}


def test_the_smsc_sends_enquire_link_on_an_idle_session(start_sim, esme):
    sim = start_sim(enquire_link_interval=0.3, enquire_link_timeout=0.5)
    client = esme(sim.address("SMPP1"))
    client.bind()
    client.idle(1.0)
    assert client.log.count("enquire_link") >= 2 and "unbind" not in client.log


def test_the_smsc_unbinds_a_session_that_does_not_answer_enquire_link(start_sim, esme):
    sim = start_sim(enquire_link_interval=0.3, enquire_link_timeout=0.3)
    client = esme(sim.address("SMPP1"))
    client.answer_enquire_link = False
    client.bind()
    assert client.wait_closed(timeout=3.0)
    assert client.log[:2] == ["enquire_link", "unbind"]
    assert sim.counters["enquire_link_unanswered"] == 1


def test_no_enquire_link_when_switched_off(start_sim, esme):
    sim = start_sim(enquire_link=False, enquire_link_interval=0.2)
    client = esme(sim.address("SMPP1"))
    client.bind()
    client.idle(0.8)
    assert "enquire_link" not in client.log


def test_outbind_to_a_configured_esme_then_receipts_on_its_receiver_bind(start_sim, esme):
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.settimeout(5)
        port = server.getsockname()[1]
        sim = start_sim(outbind=f"127.0.0.1:{port}")
        conn, _ = server.accept()
        header = conn.recv(16, socket.MSG_WAITALL)
        length, command_id = struct.unpack(">II", header[:8])
        body = conn.recv(length - 16, socket.MSG_WAITALL)
        assert command_id == 0x0000000B  # outbind (§4.1.7)
        assert body.split(b"\x00")[0] == b"smppkit"
        outbound = Esme(sim.address("SMPP1"), sock=conn)
        assert outbound.bind("receiver") == 0
        sender = esme(sim.address("SMPP1"))
        sender.bind("transmitter")
        resp_id = sender.submit_id(DELIVRD)
        (receipt,) = outbound.collect(1, timeout=3)
        assert receipt_fields(receipt)["id"] == str(int(resp_id, 16))
        outbound.close()


def test_alert_notification_after_an_absent_subscriber(start_sim, esme):
    sim = start_sim(alert_notification=True, alert_delay=0.2)
    client = esme(sim.address("SMPP1"))
    client.bind()
    client.submit_id(ABSENT)  # EXPIRED, err 002: absent subscriber
    (receipt,) = client.collect(1, timeout=2)
    assert receipt_fields(receipt)["stat"] == "EXPIRED"
    deadline = time.monotonic() + 2
    while not client.unsolicited and time.monotonic() < deadline:
        client.read(0.1)
    (alert,) = client.unsolicited
    assert alert.command == "alert_notification" and text_of(alert.source_addr) == ABSENT
    assert text_of(alert.esme_addr) == "smppkit"


def test_a_stalled_receiver_gets_every_pending_receipt_in_order_when_it_binds_again(start_sim, esme):
    sim = start_sim(dlr_delay=0.05, deliver_timeout=0.3, retry_delay=0.1)
    sender = esme(sim.address("SMPP1"))
    sender.bind("transmitter")
    stalled = esme(sim.address("SMPP2"))
    stalled.answer = None  # reads, never answers
    stalled.bind("receiver")
    ids = [str(int(sender.submit_id(DELIVRD, registered_delivery=1), 16)) for _ in range(20)]
    stalled.collect(20, timeout=3)
    stalled.close()  # vanishes without unbind, its receipts unanswered
    ids += [str(int(sender.submit_id(DELIVRD), 16)) for _ in range(10)]
    time.sleep(0.3)
    assert sim.counters["receipts_held"] == 30
    back = esme(sim.address("SMPP1"))
    back.bind("receiver")
    got = back.collect(30, timeout=5)
    assert [receipt_fields(p)["id"] for p in got] == ids  # all, once each, in order
    deadline = time.monotonic() + 2
    while sim.counters["receipts_held"] and time.monotonic() < deadline:
        back.read(0.05)
    assert sim.counters["receipts_held"] == 0
    resent = [e for e in sim.trace_events() if (e["note"] or "").startswith("resend: ")]
    assert {e["session"] for e in resent} >= {"SMPP1#3"}  # every resend is traced


def test_a_full_store_refuses_submits_with_rmsgqful(start_sim, esme):
    sim = start_sim(max_stored_receipts=5, dlr_delay=0.05)
    client = esme(sim.address("SMPP1"))
    client.bind("transmitter")  # nobody to deliver to: receipts stay
    statuses = [client.submit(DELIVRD).status for _ in range(5)]
    time.sleep(0.3)
    statuses += [client.submit(DELIVRD).status for _ in range(3)]
    assert statuses == [0] * 5 + [S.ESME_RMSGQFUL] * 3
    assert sim.counters["store_full"] == 3


def test_accounts_cannot_touch_each_others_messages(start_sim, esme, raw):
    from smppkit.simulator import Account

    sim = start_sim(accounts=(Account("alice", "a1"), Account("bob", "b1")), dlr_delay=0.5)
    alice = esme(sim.address("SMPP1"))
    alice.bind(system_id="alice", password="a1")
    msg_id = alice.submit_id(SLOW)
    bob = esme(sim.address("SMPP2"))
    bob.bind(system_id="bob", password="b1")
    query = bob.request("query_sm", message_id=msg_id, source_addr="smppkit")
    assert query.status == S.ESME_RQUERYFAIL  # §5.1.3
    bob_raw = raw(sim.address("SMPP1"))
    bob_raw.bind(system_id="bob", password="b1")
    assert bob_raw.request(CancelSm(message_id=msg_id)).command_status == S.ESME_RCANCELFAIL
    replaced = bob_raw.request(ReplaceSm(message_id=msg_id, short_message=b"x"))
    assert replaced.command_status == S.ESME_RREPLACEFAIL
    assert alice.request("query_sm", message_id=msg_id, source_addr="smppkit").status == 0
    (receipt,) = alice.collect(1, timeout=7)
    assert receipt_fields(receipt)["stat"] == "DELIVRD"


def test_any_octet_in_the_destination_gets_rinvdstadr_and_the_session_goes_on(sim, esme):
    client = esme(sim.address("SMPP1"))
    client.bind()
    # submit_sm to destination "²" (0xB2), from issue 12
    client._send_raw = client.client._socket.sendall
    client._send_raw(bytes.fromhex(
        "00000023000000040000000000000000000000000000b2000000000000010000000178"))
    resp = client.wait_response(0, "submit_sm_resp")
    assert resp is not None and resp.status == S.ESME_RINVDSTADR
    assert client.submit(DELIVRD).status == 0


def test_a_connection_that_never_binds_is_closed_after_bind_timeout(start_sim, raw):
    sim = start_sim(bind_timeout=0.3)
    idle = raw(sim.address("SMPP1"))
    assert idle.read(timeout=3) is None and idle.eof  # closed by the SMSC, no PDU sent
    assert sim.counters["bind_timeouts"] == 1
