"""The SMSC simulator through real clients (smpplib, and a raw socket for what smpplib can't say).

One test per case of the simulator issue's "Tests" section. Everything runs on 127.0.0.1
with short delays; every socket has a timeout and every simulator is stopped (conftest).
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time

import pytest
from simclients import connect_refused, receipt_fields, text_of

from smppkit.protocol.codec import decode, encode
from smppkit.protocol.constants import CommandStatus as S
from smppkit.protocol.constants import MessageState
from smppkit.protocol.pdus import (
    CancelSm,
    DistributionList,
    EnquireLink,
    QuerySm,
    ReplaceSm,
    SmeAddress,
    SubmitMulti,
    SubmitSm,
    UnbindResp,
)
from smppkit.simulator import ERR_SPLIT_PARTS, TEST_NUMBERS, Account, Fault, Scenario
from smppkit.simulator.tls import client_context
from smppkit.trace import TRACE_FIELDS

pytestmark = [pytest.mark.integration, pytest.mark.timeout(30)]

DELIVRD_NUMBER, UNDELIV_NUMBER, SLOW_NUMBER = "447700900000", "447700900001", "447700900005"


def nexmo_receipt_id(resp_id: str) -> str:
    """The provider's receipt id for a submit_sm_resp id: same number, decimal (§1.6)."""
    return str(int(resp_id, 16))


def udh(ref: int, total: int, seq: int) -> bytes:
    return bytes([0x05, 0x00, 0x03, ref, total, seq])


def wait_until(predicate, timeout: float = 3.0, step: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return bool(predicate())


def collect_from(clients, n: int, timeout: float = 3.0) -> list:
    """Read from several clients in turn until `n` deliver_sm arrived across them."""
    deadline = time.monotonic() + timeout
    while sum(len(c.delivered) for c in clients) < n and time.monotonic() < deadline:
        for c in clients:
            c.read(0.05)
    return [pdu for c in clients for pdu in c.delivered]


# --- binds ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["transmitter", "receiver", "transceiver"])
def test_bind_each_type(sim, esme, kind):
    client = esme(sim.address("SMPP1"))
    assert client.bind(kind) == 0
    assert sim.counters["binds"] == 1
    assert sim.counters["bound_sessions"] == 1
    assert client.unbind().status == 0


def test_receiver_may_not_submit(sim, raw):
    client = raw(sim.address("SMPP1"))
    assert client.bind("receiver").command_status == 0
    resp = client.request(SubmitSm(source_addr="a", destination_addr=DELIVRD_NUMBER))
    assert resp.command_name == "submit_sm_resp"
    assert resp.command_status == S.ESME_RINVBNDSTS


def test_bind_wrong_password_and_unknown_system_id(sim, esme):
    assert esme(sim.address()).bind(password="wrong") == S.ESME_RINVPASWD
    assert esme(sim.address()).bind(system_id="nobody") == S.ESME_RINVSYSID
    assert sim.counters["bind_failures"] == 2
    assert sim.counters.get("binds", 0) == 0


def test_third_bind_of_an_account_is_ralybnd_on_any_instance_smpp0_included(sim, esme):
    first = esme(sim.address("SMPP1"))
    assert first.bind() == 0
    assert esme(sim.address("SMPP2")).bind() == 0
    # max_binds=2 is the account's, wherever the binds are (smpp-facts.md §1.2)
    assert esme(sim.address("SMPP1")).bind() == S.ESME_RALYBND
    assert esme(sim.address("SMPP2")).bind("receiver") == S.ESME_RALYBND
    assert esme(sim.address("SMPP0")).bind() == S.ESME_RALYBND
    first.close()
    deadline = time.monotonic() + 5
    while sim.counters["bound_sessions"] > 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert esme(sim.address("SMPP0")).bind() == 0  # a freed bind may be taken on SMPP0


def test_throughput_is_the_accounts_across_instances_smpp0_included(start_sim, esme):
    sim = start_sim(throughput=10)
    a, b = esme(sim.address("SMPP1")), esme(sim.address("SMPP0"))
    a.bind(), b.bind()
    statuses = [(a if i % 2 else b).submit(DELIVRD_NUMBER, registered_delivery=0).status
                for i in range(30)]
    # one bucket of 10 msg/s for the account (smpp-facts.md §1.3), not one per instance
    assert statuses.count(S.ESME_RTHROTTLED) >= 15


def test_second_bind_on_a_bound_session_is_ralybnd(sim, raw):
    client = raw(sim.address())
    assert client.bind().command_status == 0
    resp = client.bind("transmitter")
    assert (resp.command_name, resp.command_status) == (
        "bind_transmitter_resp",
        S.ESME_RALYBND,
    )
    assert client.request(EnquireLink()).command_status == 0


def test_submit_before_bind_is_rinvbndsts(sim, raw):
    client = raw(sim.address())
    resp = client.request(SubmitSm(source_addr="a", destination_addr=DELIVRD_NUMBER))
    assert resp.command_name == "submit_sm_resp"
    assert resp.command_status == S.ESME_RINVBNDSTS
    assert client.bind().command_status == 0  # the session is still usable


def test_bind_outside_allow_list_is_rbindfail(start_sim, esme):
    sim = start_sim(
        accounts=(
            Account(allow_ips=("10.9.9.9",)),
            Account("local", "pw", allow_ips=("127.0.0.1",)),
        )
    )
    assert esme(sim.address()).bind() == S.ESME_RBINDFAIL
    assert esme(sim.address()).bind(system_id="local", password="pw") == 0


# --- keep-alive, inactivity, unbind ------------------------------------------------------


def test_enquire_link_answered_before_and_after_bind(sim, esme):
    client = esme(sim.address())
    resp = client.request("enquire_link")
    assert (resp.command, resp.status) == ("enquire_link_resp", 0)
    assert client.bind() == 0
    resp = client.request("enquire_link")
    assert (resp.command, resp.status) == ("enquire_link_resp", 0)


def test_inactivity_timeout_smsc_unbinds_idle_session(start_sim, esme):
    sim = start_sim(inactivity_timeout=0.4)
    client = esme(sim.address())
    assert client.bind() == 0
    t0 = time.monotonic()
    assert wait_until(lambda: client.read(0.1) is not None and client.unsolicited, 3.0)
    assert client.unsolicited[0].command == "unbind"
    assert time.monotonic() - t0 >= 0.3
    assert client.wait_closed(3.0)  # our unbind_resp ends the session
    assert wait_until(lambda: sim.counters["bound_sessions"] == 0)


def test_inactivity_timeout_closes_unbound_connection(start_sim, raw):
    sim = start_sim(inactivity_timeout=0.3)
    client = raw(sim.address())
    assert client.wait_closed(3.0)  # never bound: closed without an unbind


def test_clean_unbind(sim, esme):
    client = esme(sim.address())
    assert client.bind() == 0
    resp = client.unbind()
    assert (resp.command, resp.status) == ("unbind_resp", 0)
    assert client.wait_closed(2.0)
    assert wait_until(lambda: sim.counters["bound_sessions"] == 0)


# --- requests -----------------------------------------------------------------------------


def test_submit_sm_and_data_sm_answered_with_ids_and_receipts(sim, esme):
    client = esme(sim.address())
    assert client.bind() == 0
    sub = client.submit(DELIVRD_NUMBER)
    assert (sub.command, sub.status) == ("submit_sm_resp", 0)
    data = client.request(
        "data_sm",
        source_addr="smppkit",
        destination_addr=DELIVRD_NUMBER,
        message_payload=b"hello",
        registered_delivery=1,
    )
    assert (data.command, data.status) == ("data_sm_resp", 0)
    ids = {text_of(sub.message_id), text_of(data.message_id)}
    assert len(ids) == 2
    receipts = client.collect(2)
    assert {receipt_fields(r)["id"] for r in receipts} == {nexmo_receipt_id(i) for i in ids}


def test_submit_multi_answered_per_destination(sim, raw):
    client = raw(sim.address())
    assert client.bind().command_status == 0
    resp = client.request(
        SubmitMulti(
            source_addr="smppkit",
            dest_addresses=(
                SmeAddress(DELIVRD_NUMBER),
                SmeAddress(UNDELIV_NUMBER),
                DistributionList("friends"),
            ),
            registered_delivery=1,
            short_message=b"hi all",
        )
    )
    assert resp.command_name == "submit_multi_resp"
    assert resp.command_status == 0
    assert resp.message_id
    assert [(u.destination_addr, u.error_status_code) for u in resp.unsuccess_smes] == [
        ("friends", S.ESME_RINVDLNAME)
    ]
    deadline = time.monotonic() + 3
    while len(client.delivered) < 2 and time.monotonic() < deadline:
        client.read(0.2)
    stats = sorted(receipt_fields(r)["stat"] for r in client.delivered)
    assert stats == ["DELIVRD", "UNDELIV"]


def test_query_sm_before_and_after_the_receipt(sim, esme):
    client = esme(sim.address())
    assert client.bind() == 0
    msg_id = client.submit_id(SLOW_NUMBER)  # final after 10 x dlr_delay
    resp = client.request("query_sm", message_id=msg_id, source_addr="smppkit")
    assert (resp.command, resp.status) == ("query_sm_resp", 0)
    assert resp.message_state == MessageState.ENROUTE
    client.collect(1)
    resp = client.request("query_sm", message_id=msg_id, source_addr="smppkit")
    assert resp.status == 0 and resp.message_state == MessageState.DELIVERED
    assert len(text_of(resp.final_date)) == 16
    resp = client.request("query_sm", message_id="0BFFFFFFFFFFFFFF", source_addr="smppkit")
    assert resp.status == S.ESME_RQUERYFAIL


def _pending_message(client, text: bytes):
    """Bind `client` and submit a message to SLOW_NUMBER (still pending for a while);
    returns the submit_sm_resp."""
    assert client.bind().command_status == 0
    return client.request(SubmitSm(source_addr="smppkit", destination_addr=SLOW_NUMBER,
                                   registered_delivery=1, short_message=text))


def test_cancel_sm_deletes_pending_message_and_fails_twice(sim, raw):
    client = raw(sim.address())
    sub = _pending_message(client, b"x")
    cancel = CancelSm(
        message_id=sub.message_id, source_addr="smppkit", destination_addr=SLOW_NUMBER
    )
    resp = client.request(cancel)
    assert (resp.command_name, resp.command_status) == ("cancel_sm_resp", 0)
    resp = client.request(cancel.replace(sequence_number=0))
    assert resp.command_status == S.ESME_RCANCELFAIL
    query = client.request(QuerySm(message_id=sub.message_id, source_addr="smppkit"))
    assert query.message_state == MessageState.DELETED
    client.read(0.7)  # past the original delivery time: no receipt for a cancelled message
    assert client.delivered == []


def test_replace_sm_pending_ok_unknown_or_final_fails(sim, raw):
    client = raw(sim.address())
    sub = _pending_message(client, b"old")
    resp = client.request(
        ReplaceSm(message_id=sub.message_id, source_addr="smppkit", short_message=b"new")
    )
    assert (resp.command_name, resp.command_status) == ("replace_sm_resp", 0)
    resp = client.request(
        ReplaceSm(message_id="0BFFFFFFFFFFFFFF", source_addr="smppkit", short_message=b"new")
    )
    assert resp.command_status == S.ESME_RREPLACEFAIL
    deadline = time.monotonic() + 3
    while not client.delivered and time.monotonic() < deadline:
        client.read(0.2)
    assert client.delivered
    resp = client.request(
        ReplaceSm(message_id=sub.message_id, source_addr="smppkit", short_message=b"late")
    )
    assert resp.command_status == S.ESME_RREPLACEFAIL


# --- message ids --------------------------------------------------------------------------


@pytest.mark.parametrize("id_format", ["nexmo", "hex", "decimal"])
def test_id_formats(start_sim, esme, id_format):
    sim = start_sim(id_format=id_format)
    client = esme(sim.address())
    assert client.bind() == 0
    resp_id = client.submit_id(DELIVRD_NUMBER)
    rid = receipt_fields(client.collect(1)[0])["id"]
    if id_format == "nexmo":
        assert len(resp_id) == 16 and int(resp_id, 16) < 2**63
        assert rid.isdigit() and int(rid) == int(resp_id, 16)
    elif id_format == "hex":
        assert len(resp_id) == 16 and int(resp_id, 16) < 2**63
        assert rid == resp_id
    else:
        assert resp_id.isdigit() and int(resp_id) < 2**63
        assert rid == resp_id


# --- throttling and window ----------------------------------------------------------------


def test_throttling_answers_0x58_and_counts(start_sim, esme):
    sim = start_sim(throughput=5)
    client = esme(sim.address())
    assert client.bind("transmitter") == 0
    t0 = time.monotonic()
    statuses = [client.submit(DELIVRD_NUMBER, registered_delivery=0).status for _ in range(12)]
    elapsed = time.monotonic() - t0
    throttled = statuses.count(S.ESME_RTHROTTLED)
    # a bucket of 5 tokens refilled at 5/s: no more than that gets through
    assert statuses.count(0) <= 5 + int(5 * elapsed) + 1
    assert throttled >= 1
    assert set(statuses) <= {0, S.ESME_RTHROTTLED}
    assert sim.counters["throttled"] == throttled


def test_throttling_is_shared_across_binds_of_one_account(start_sim, esme):
    sim = start_sim(throughput=5)
    a, b = esme(sim.address("SMPP1")), esme(sim.address("SMPP2"))
    assert a.bind("transmitter") == 0 and b.bind("transmitter") == 0
    t0 = time.monotonic()
    first = [a.submit(DELIVRD_NUMBER, registered_delivery=0).status for _ in range(5)]
    second = [b.submit(DELIVRD_NUMBER, registered_delivery=0).status for _ in range(5)]
    elapsed = time.monotonic() - t0
    accepted = (first + second).count(0)
    assert accepted <= 5 + int(5 * elapsed) + 1
    # b's own bucket would have accepted all 5; the account's shared one is nearly empty
    assert second.count(S.ESME_RTHROTTLED) >= 1
    assert sim.counters["throttled"] == (first + second).count(S.ESME_RTHROTTLED)


def test_max_pending_answers_rmsgqful(start_sim, esme):
    sim = start_sim(max_pending=2)
    client = esme(sim.address())
    assert client.bind() == 0
    statuses = [client.submit(SLOW_NUMBER, registered_delivery=0).status for _ in range(3)]
    assert statuses == [0, 0, S.ESME_RMSGQFUL]
    assert sim.counters["queue_full"] == 1
    assert wait_until(lambda: sim.counters["messages_pending"] == 0, 3.0)
    assert client.submit(SLOW_NUMBER, registered_delivery=0).status == 0


# --- receipts -----------------------------------------------------------------------------


def test_registered_delivery_0_1_2(sim, esme):
    client = esme(sim.address())
    assert client.bind() == 0
    sent = {}
    for rd in (0, 1, 2):
        for number in (DELIVRD_NUMBER, UNDELIV_NUMBER):
            sent[(rd, number)] = client.submit_id(number, registered_delivery=rd)
    client.collect(3)
    client.idle(0.3)
    got = {receipt_fields(r)["id"]: receipt_fields(r)["stat"] for r in client.delivered}
    expected = {
        nexmo_receipt_id(sent[(1, DELIVRD_NUMBER)]): "DELIVRD",
        nexmo_receipt_id(sent[(1, UNDELIV_NUMBER)]): "UNDELIV",
        nexmo_receipt_id(sent[(2, UNDELIV_NUMBER)]): "UNDELIV",  # 2: failures only
    }
    assert got == expected
    assert len(client.delivered) == 3


def test_receipt_text_format_and_tlvs(sim, esme):
    client = esme(sim.address())
    assert client.bind() == 0
    ok = client.submit_id(DELIVRD_NUMBER)
    bad = client.submit_id(UNDELIV_NUMBER)
    receipts = {receipt_fields(r)["id"]: r for r in client.collect(2)}
    good = receipts[nexmo_receipt_id(ok)]
    rid = nexmo_receipt_id(ok)
    assert (
        good.short_message
        == (
            f"id:{rid} sub:001 dlvrd:001 submit date:2601010000 done date:2601010000 "
            "stat:DELIVRD err:000 text:none"
        ).encode()
    )
    assert good.esm_class == 0x04
    assert (good.source_addr, good.destination_addr) == (DELIVRD_NUMBER.encode(), b"smppkit")
    assert text_of(good.receipted_message_id) == rid
    assert good.message_state == MessageState.DELIVERED
    assert good.network_error_code == b"\x03\x00\x00"
    failed = receipts[nexmo_receipt_id(bad)]
    assert receipt_fields(failed)["dlvrd"] == "000"
    assert failed.message_state == MessageState.UNDELIVERABLE
    assert failed.network_error_code == b"\x03\x00\x01"


def test_receipt_tlvs_switched_off(start_sim, esme):
    sim = start_sim(receipt_tlvs=())
    client = esme(sim.address())
    assert client.bind() == 0
    client.submit_id(DELIVRD_NUMBER)
    receipt = client.collect(1)[0]
    receipt_fields(receipt)
    assert receipt.receipted_message_id is None
    assert receipt.message_state is None
    assert receipt.network_error_code is None


@pytest.mark.parametrize(("number", "rd"), [(DELIVRD_NUMBER, 0x11), ("447700900006", 0x01)])
def test_intermediate_notification_first(sim, esme, number, rd):
    client = esme(sim.address())
    assert client.bind() == 0
    rid = nexmo_receipt_id(client.submit_id(number, registered_delivery=rd))
    first, final = client.collect(2)
    assert first.esm_class == 0x20
    assert receipt_fields(first)["stat"] == "ACCEPTD"
    assert first.message_state == MessageState.ACCEPTED
    assert final.esm_class == 0x04
    assert receipt_fields(final)["stat"] == "DELIVRD"
    assert receipt_fields(first)["id"] == receipt_fields(final)["id"] == rid


def test_one_receipt_per_part_of_a_concatenated_message(sim, esme):
    client = esme(sim.address())
    assert client.bind() == 0
    ids = [
        client.submit_id(DELIVRD_NUMBER, udh(0x2A, 3, seq) + b"part %d" % seq, esm_class=0x40)
        for seq in (1, 2, 3)
    ]
    assert len(set(ids)) == 3
    client.collect(3)
    client.idle(0.2)
    got = sorted(receipt_fields(r)["id"] for r in client.delivered)
    assert got == sorted(nexmo_receipt_id(i) for i in ids)


def test_test_numbers_force_outcomes_by_last_digit(sim, esme):
    expected = {
        0: ("DELIVRD", "000"),
        1: ("UNDELIV", "001"),
        2: ("EXPIRED", "002"),
        3: ("REJECTD", "006"),
        5: ("DELIVRD", "000"),
        6: ("DELIVRD", "000"),
        7: ("UNDELIV", "007"),
        8: ("DELETED", "099"),
        9: ("UNKNOWN", "001"),
    }
    for digit, (stat, _) in expected.items():
        assert TEST_NUMBERS[digit][0] == stat
    client = esme(sim.address())
    assert client.bind() == 0
    t0 = time.monotonic()
    for digit in range(10):
        client.submit_id(f"44770090000{digit}")
    client.collect(10, timeout=4.0)  # 9 finals + 1 intermediate; digit 4 never
    client.idle(0.2)
    finals: dict[int, tuple[str, str]] = {}
    intermediates = []
    arrival = {}
    for pdu in client.delivered:
        digit = int(text_of(pdu.source_addr)[-1])
        fields = receipt_fields(pdu)
        if pdu.esm_class == 0x20:
            intermediates.append(digit)
            continue
        finals[digit] = (fields["stat"], fields["err"])
        arrival[digit] = client.delivered.index(pdu)
    assert finals == expected
    assert intermediates == [6]
    assert 4 not in finals
    assert arrival[5] == len(client.delivered) - 1  # the long delay comes last
    assert time.monotonic() - t0 >= 0.45


# --- cluster rule -------------------------------------------------------------------------


def concat_part(method: str, ref: int, total: int, seq: int, text: bytes) -> dict:
    """submit_sm fields for one part of a concatenated message: UDH or SAR TLVs."""
    if method == "udh":
        return {"text": udh(ref, total, seq) + text, "esm_class": 0x40}
    return {
        "text": text,
        "sar_msg_ref_num": ref,
        "sar_total_segments": total,
        "sar_segment_seqnum": seq,
    }


@pytest.mark.parametrize("method", ["udh", "sar"])
def test_parts_split_across_smpp1_and_smpp2_end_undeliv(sim, esme, method):
    a, b = esme(sim.address("SMPP1")), esme(sim.address("SMPP2"))
    assert a.bind() == 0 and b.bind() == 0
    ids = [
        a.submit_id(DELIVRD_NUMBER, **concat_part(method, 7, 3, 1, b"one")),
        a.submit_id(DELIVRD_NUMBER, **concat_part(method, 7, 3, 2, b"two")),
        b.submit_id(DELIVRD_NUMBER, **concat_part(method, 7, 3, 3, b"three")),
    ]
    receipts = collect_from([a, b], 3)
    fields = sorted(
        (receipt_fields(r)["id"], receipt_fields(r)["stat"], receipt_fields(r)["err"])
        for r in receipts
    )
    assert fields == sorted((nexmo_receipt_id(i), "UNDELIV", f"{ERR_SPLIT_PARTS:03d}") for i in ids)
    assert sim.counters["split_messages"] == 1


def test_parts_that_never_complete_end_undeliv(start_sim, esme):
    sim = start_sim(concat_timeout=0.3)
    client = esme(sim.address())
    assert client.bind() == 0
    for seq in (1, 2):
        client.submit_id(DELIVRD_NUMBER, udh(9, 3, seq) + b"part", esm_class=0x40)
    receipts = client.collect(2, timeout=3.0)
    assert [(receipt_fields(r)["stat"], receipt_fields(r)["err"]) for r in receipts] == [
        ("UNDELIV", "010"),
        ("UNDELIV", "010"),
    ]
    assert sim.counters["incomplete_messages"] == 1


# --- receipts wait for a receiver ---------------------------------------------------------


def test_receipt_waits_and_goes_out_on_next_bind_same_instance(sim, esme):
    first = esme(sim.address("SMPP1"))
    assert first.bind() == 0
    rid = nexmo_receipt_id(first.submit_id(SLOW_NUMBER))  # final after 0.5 s
    assert first.unbind().status == 0
    first.close()
    assert wait_until(lambda: sim.counters["receipts_waiting"] == 1, 3.0)
    again = esme(sim.address("SMPP1"))
    assert again.bind("receiver") == 0
    [receipt] = again.collect(1)
    assert receipt_fields(receipt)["id"] == rid
    assert wait_until(lambda: sim.counters["receipts_waiting"] == 0)


def test_receipt_queued_then_delivered_on_the_other_cluster_instance(sim, esme):
    tx = esme(sim.address("SMPP1"))
    assert tx.bind("transmitter") == 0
    rid = nexmo_receipt_id(tx.submit_id(DELIVRD_NUMBER))
    assert wait_until(lambda: sim.counters["receipts_waiting"] == 1, 3.0)
    rx = esme(sim.address("SMPP2"))
    assert rx.bind("receiver") == 0
    [receipt] = rx.collect(1)
    assert receipt_fields(receipt)["id"] == rid
    assert tx.read(0.1) is None and not tx.delivered


def test_receipt_in_flight_when_connection_drops_goes_out_on_next_bind(sim, esme):
    first = esme(sim.address("SMPP1"))
    assert first.bind() == 0
    first.answer = None  # read the receipt, never answer it, then hang up
    rid = nexmo_receipt_id(first.submit_id(DELIVRD_NUMBER))
    assert receipt_fields(first.collect(1)[0])["id"] == rid
    first.close()
    assert wait_until(lambda: sim.counters["receipts_waiting"] == 1, 3.0)
    second = esme(sim.address("SMPP2"))
    assert second.bind("receiver") == 0
    [receipt] = second.collect(1)
    assert receipt.short_message == first.delivered[0].short_message


# --- deliver_sm_resp statuses -------------------------------------------------------------


def test_deliver_sm_resp_on_retry_list_is_retried(start_sim, esme):
    sim = start_sim(retry_delay=0.05)
    client = esme(sim.address())
    assert client.bind() == 0
    client.answer = S.ESME_RTHROTTLED  # 0x58: on the provider's retry list (§1.9)
    client.submit_id(DELIVRD_NUMBER)
    client.collect(1)
    client.answer = 0
    first, again = client.collect(2)
    assert first.short_message == again.short_message
    assert sim.counters["deliver_retries"] == 1
    assert wait_until(lambda: sim.counters["deliver_acked"] == 1)


def test_deliver_sm_resp_not_on_retry_list_ends_the_receipt(start_sim, esme):
    sim = start_sim(retry_delay=0.05)
    client = esme(sim.address())
    assert client.bind() == 0
    client.answer = S.ESME_RINVDSTADR  # 0x0B: final
    client.submit_id(DELIVRD_NUMBER)
    client.collect(1)
    client.idle(0.4)
    assert len(client.delivered) == 1
    assert sim.counters["deliver_refused"] == 1
    assert sim.counters.get("deliver_retries", 0) == 0
    notes = [e["note"] for e in sim.trace_events() if e["note"]]
    assert any("not retried" in n for n in notes)


def test_unanswered_deliver_sm_is_sent_again_after_deliver_timeout(start_sim, esme):
    sim = start_sim(deliver_timeout=0.3, retry_delay=0.05)
    client = esme(sim.address())
    assert client.bind() == 0
    client.answer = None
    client.submit_id(DELIVRD_NUMBER)
    client.collect(1)
    t_first = time.monotonic()
    client.answer = 0
    first, again = client.collect(2)
    assert time.monotonic() - t_first >= 0.25
    assert first.short_message == again.short_message
    assert sim.counters["deliver_retries"] == 1


# --- faults -------------------------------------------------------------------------------


def faults(*items: Fault) -> Scenario:
    return Scenario("test", "", items)


def test_fault_drop_connection(start_sim, esme):
    sim = start_sim(scenario=faults(Fault("drop_connection", "SMPP1", after=2)))
    client = esme(sim.address("SMPP1"))
    assert client.bind() == 0  # PDU 1
    client.submit(DELIVRD_NUMBER, registered_delivery=0)  # PDU 2: then the SMSC drops us
    assert client.wait_closed(2.0)
    other = esme(sim.address("SMPP2"))  # SMPP2 has no such fault
    assert other.bind() == 0
    for _ in range(3):
        assert other.submit(DELIVRD_NUMBER, registered_delivery=0).status == 0


def test_fault_delay_responses(start_sim, esme):
    sim = start_sim(scenario=faults(Fault("delay_responses", delay=0.3)))
    client = esme(sim.address())
    assert client.bind() == 0
    t0 = time.monotonic()
    resp = client.submit(DELIVRD_NUMBER, registered_delivery=0)
    assert resp.status == 0
    assert 0.25 <= time.monotonic() - t0 < 2.0


def test_fault_no_responses(start_sim, esme):
    sim = start_sim(scenario=faults(Fault("no_responses", after=1)))
    client = esme(sim.address())
    assert client.bind() == 0
    assert client.submit(DELIVRD_NUMBER, registered_delivery=0).status == 0
    assert client.submit(DELIVRD_NUMBER, registered_delivery=0, timeout=0.4) is None
    resp = client.request("enquire_link")
    assert resp.command == "enquire_link_resp"


def test_fault_generic_nack(start_sim, esme):
    sim = start_sim(scenario="nack-storm")
    client = esme(sim.address())
    assert client.bind() == 0
    resp = client.submit(DELIVRD_NUMBER)
    assert (resp.command, resp.status) == ("generic_nack", S.ESME_RSYSERR)


def test_fault_smsc_unbind(start_sim, esme):
    sim = start_sim(scenario=faults(Fault("smsc_unbind", after=2)))
    client = esme(sim.address())
    assert client.bind() == 0
    assert client.submit(DELIVRD_NUMBER, registered_delivery=0).status == 0
    assert not client.unsolicited
    assert client.submit(DELIVRD_NUMBER, registered_delivery=0).status == 0
    assert wait_until(lambda: client.read(0.1) is not None and client.unsolicited, 2.0)
    assert client.unsolicited[0].command == "unbind"
    assert client.wait_closed(2.0)


def test_fault_ignore_enquire_link(start_sim, esme):
    sim = start_sim(scenario="dead-keepalive")
    client = esme(sim.address())
    assert client.bind() == 0
    assert client.request("enquire_link", timeout=0.4) is None
    assert client.submit(DELIVRD_NUMBER, registered_delivery=0).status == 0


def test_fault_receipt_before_resp(start_sim, esme):
    sim = start_sim(scenario="early-receipt")
    client = esme(sim.address())
    assert client.bind() == 0
    resp_id = client.submit_id(DELIVRD_NUMBER)
    assert client.log[:2] == ["deliver_sm", "submit_sm_resp"]
    assert receipt_fields(client.delivered[0])["id"] == nexmo_receipt_id(resp_id)


def test_fault_duplicate_receipt(start_sim, esme):
    sim = start_sim(scenario="duplicate-receipts")
    client = esme(sim.address())
    assert client.bind() == 0
    client.submit_id(DELIVRD_NUMBER)
    client.collect(2)
    client.idle(0.2)
    assert len(client.delivered) == 2
    assert client.delivered[0].short_message == client.delivered[1].short_message


def test_fault_wrong_id_format(start_sim, esme):
    sim = start_sim(scenario="wrong-id-format")
    client = esme(sim.address())
    assert client.bind() == 0
    resp_id = client.submit_id(DELIVRD_NUMBER)
    rid = receipt_fields(client.collect(1)[0])["id"]
    assert rid == f"{int(resp_id, 16):x}"
    assert rid != nexmo_receipt_id(resp_id)


def test_outage_stop_and_start_instance(sim, esme):
    victim = esme(sim.address("SMPP1"))
    assert victim.bind() == 0
    sim.stop_instance("SMPP1")
    assert victim.wait_closed(2.0)
    assert connect_refused(sim.address("SMPP1"))
    survivor = esme(sim.address("SMPP2"))
    assert survivor.bind() == 0
    assert survivor.submit(DELIVRD_NUMBER, registered_delivery=0).status == 0
    sim.start_instance("SMPP1")
    back = esme(sim.address("SMPP1"))  # the same port again
    assert back.bind() == 0
    assert sim.counters["outages"] == 1


def test_outage_scenario(start_sim):
    sim = start_sim(scenario=faults(Fault("outage", "SMPP1", after=0, delay=0.6)))
    assert wait_until(lambda: connect_refused(sim.address("SMPP1"), 0.5), 1.0, 0.01)
    assert not connect_refused(sim.address("SMPP2"))
    assert wait_until(lambda: not connect_refused(sim.address("SMPP1"), 0.5), 3.0, 0.05)
    assert sim.counters["outages"] == 1


def test_scenario_from_yaml_file(start_sim, esme, tmp_path):
    path = tmp_path / "bad-night.yaml"
    path.write_text(
        "name: bad-night\n"
        "description: SMPP2 nacks everything, receipts come twice\n"
        "faults:\n"
        "  - {kind: generic_nack, instance: SMPP2}\n"
        "  - {kind: duplicate_receipt}\n"
    )
    sim = start_sim(scenario=str(path))
    assert sim.sim.scenario.name == "bad-night"
    nacked = esme(sim.address("SMPP2"))
    assert nacked.bind("transmitter") == 0
    assert nacked.submit(DELIVRD_NUMBER).command == "generic_nack"
    client = esme(sim.address("SMPP1"))
    assert client.bind() == 0
    client.submit_id(DELIVRD_NUMBER)
    assert len(client.collect(2)) == 2


# --- determinism ----------------------------------------------------------------------------


def _run_traffic(start_sim, esme, seed: int) -> tuple[list[str], list[tuple[str, ...]]]:
    sim = start_sim(seed=seed, failure_rate=0.5)
    client = esme(sim.address())
    assert client.bind() == 0
    ids = [client.submit_id(f"4479000000{i:02d}") for i in range(12)]
    client.collect(12)
    receipts = sorted(
        (f["id"], f["stat"], f["err"], r.short_message.decode())
        for r in client.delivered
        for f in [receipt_fields(r)]
    )
    client.unbind()
    return ids, receipts


def test_seed_determinism(start_sim, esme):
    ids_a, receipts_a = _run_traffic(start_sim, esme, 11)
    ids_b, receipts_b = _run_traffic(start_sim, esme, 11)
    ids_c, _ = _run_traffic(start_sim, esme, 12)
    assert len(receipts_a) == 12
    assert ids_a == ids_b
    assert receipts_a == receipts_b
    assert len({stat for _, stat, _, _ in receipts_a}) > 1  # a mix, not all DELIVRD
    assert set(ids_a).isdisjoint(ids_c)


# --- trace ----------------------------------------------------------------------------------


def test_trace_jsonl_has_every_field_and_masks_passwords(start_sim, esme, tmp_path):
    secret = "Pa55w0rd"  # SMPP v3.4 passwords are at most 8 characters
    path = tmp_path / "trace.jsonl"
    sim = start_sim(trace_path=str(path), accounts=(Account("acme", secret),))
    client = esme(sim.address())
    assert client.bind(system_id="acme", password=secret) == 0
    client.submit_id(DELIVRD_NUMBER)
    client.collect(1)
    client.unbind()
    frame = sim.trace()
    assert set(TRACE_FIELDS) <= set(frame.columns)
    sim.stop()
    text = path.read_text()
    assert secret not in text
    assert secret.encode().hex() not in text.lower()
    events = [json.loads(line) for line in text.splitlines()]
    assert events
    for event in events:
        assert set(TRACE_FIELDS) <= set(event)
    commands = [e["command"] for e in events]
    for command in (
        "bind_transceiver",
        "bind_transceiver_resp",
        "submit_sm",
        "submit_sm_resp",
        "deliver_sm",
        "deliver_sm_resp",
        "unbind",
        "unbind_resp",
    ):
        assert command in commands


# --- TLS -----------------------------------------------------------------------------------


def test_tls_bind_and_submit(start_sim, esme):
    sim = start_sim(tls=True)
    client = esme(sim.tls_address("SMPP1"), ssl_context=client_context(sim.tls_cert))
    assert client.bind() == 0
    resp_id = client.submit_id(DELIVRD_NUMBER)
    assert receipt_fields(client.collect(1)[0])["id"] == nexmo_receipt_id(resp_id)


# --- bad input ------------------------------------------------------------------------------


def test_unknown_command_id_gets_generic_nack_and_session_survives(sim, raw):
    client = raw(sim.address())
    client.send_bytes(struct.pack(">IIII", 16, 0x00000077, 0, 5))
    nack = client.read()
    assert (nack.command_name, nack.command_status, nack.sequence_number) == (
        "generic_nack",
        S.ESME_RINVCMDID,
        5,
    )
    assert client.request(EnquireLink()).command_name == "enquire_link_resp"
    assert client.bind().command_status == 0
    resp = client.request(SubmitSm(source_addr="a", destination_addr=DELIVRD_NUMBER))
    assert resp.command_status == 0


def test_sm_length_past_the_end_gets_submit_sm_resp_rinvmsglen(sim, raw):
    client = raw(sim.address())
    assert client.bind().command_status == 0
    data = bytearray(
        encode(
            SubmitSm(
                source_addr="a",
                destination_addr=DELIVRD_NUMBER,
                short_message=b"hello",
                sequence_number=42,
            )
        )
    )
    assert data[-6] == 5  # sm_length, right before the 5 octets of short_message
    data[-6] = 200
    client.send_bytes(bytes(data))
    resp = client.read()
    # The header was fine, so the request's own response carries the error (§4.4.2).
    assert (resp.command_name, resp.command_status, resp.sequence_number) == (
        "submit_sm_resp",
        S.ESME_RINVMSGLEN,
        42,
    )
    resp = client.request(SubmitSm(source_addr="a", destination_addr=DELIVRD_NUMBER))
    assert (resp.command_name, resp.command_status) == ("submit_sm_resp", 0)


@pytest.mark.parametrize(
    "garbage",
    [
        struct.pack(">IIII", 10_000_000, 0x00000004, 0, 9),  # 10 MB command_length
        b"\x00\x00\x00\x05garbage-garbage-garbage",  # below the 16-octet header
    ],
)
def test_unframeable_stream_closes_only_that_connection(sim, raw, garbage):
    bystander = raw(sim.address())
    assert bystander.bind().command_status == 0
    attacker = raw(sim.address("SMPP1"))
    attacker.send_bytes(garbage)
    nack = attacker.read()
    assert nack is not None and nack.command_name == "generic_nack"
    assert nack.command_status == S.ESME_RINVCMDLEN
    assert attacker.wait_closed(2.0)
    resp = bystander.request(SubmitSm(source_addr="a", destination_addr=DELIVRD_NUMBER))
    assert resp.command_status == 0
    assert sim.counters["malformed"] == 1


# --- MO -------------------------------------------------------------------------------------


def test_inject_mo_short_and_long(sim, esme):
    text_module = pytest.importorskip("smppkit.sms.text")
    if not hasattr(text_module, "to_pdus"):
        pytest.skip("smppkit.text.to_pdus is not written yet")
    client = esme(sim.address())
    assert client.bind("receiver") == 0
    assert sim.inject_mo("447700900123", "smppkit", "hello") == 1
    [mo] = client.collect(1)
    assert mo.esm_class & 0x04 == 0
    assert (text_of(mo.source_addr), text_of(mo.destination_addr)) == ("447700900123", "smppkit")
    assert mo.short_message == b"hello"
    long_text = "abcdefghij" * 20
    n = sim.inject_mo("447700900123", "smppkit", long_text, reference=0x33)
    assert n == 2
    parts = client.collect(3)[1:]
    assert [p.esm_class & 0x40 for p in parts] == [0x40, 0x40]
    headers = [p.short_message[:6] for p in parts]
    assert headers == [udh(0x33, 2, 1), udh(0x33, 2, 2)]
    assert b"".join(p.short_message[6:] for p in parts).decode() == long_text


# --- shutdown -------------------------------------------------------------------------------


def test_clean_shutdown_leaves_no_thread_or_port(start_sim, raw):
    sim = start_sim()
    addresses = list(sim.addresses.values())
    client = raw(sim.address())
    assert client.bind().command_status == 0
    got: list = []

    def answer_unbind() -> None:
        pdu = client.read(3.0)
        got.append(pdu)
        if pdu is not None and pdu.command_name == "unbind":
            client.send(UnbindResp(sequence_number=pdu.sequence_number))

    reader = threading.Thread(target=answer_unbind, daemon=True)
    reader.start()
    t0 = time.monotonic()
    sim.stop()  # unbinds the client first and waits (up to 1 s) for its unbind_resp
    stop_took = time.monotonic() - t0
    reader.join(5)
    assert got and got[0] is not None and got[0].command_name == "unbind"
    assert stop_took < 0.9  # our unbind_resp ended the wait early
    assert client.wait_closed(1.0)
    assert not sim.running
    assert not [t for t in threading.enumerate() if t.name == "smppkit-simulator"]
    for address in addresses:
        assert connect_refused(address)
    sim.stop()  # idempotent
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", int(addresses[0].rsplit(":", 1)[1])), timeout=1)


def test_mo_traffic_scenario_sends_short_and_long_mo_to_receivers(start_sim, esme):
    from smppkit.sms.text import reassemble_all

    sim = start_sim(scenario="mo-traffic+healthy")
    client = esme(sim.address("SMPP1"))
    client.bind("receiver")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and sim.counters.get("mo", 0) < 6:
        time.sleep(0.05)
    got = client.collect(6, timeout=5)
    assert len(got) >= 6
    trace = [e for e in sim.trace_events() if e["command"] == "deliver_sm"]
    assert all(e["esm_class"] in (0x00, 0x40) for e in trace)
    long_parts = [e for e in trace if e["part_total"]]
    assert long_parts and {e["part_total"] for e in long_parts} == {2}
    pdus = [decode(bytes.fromhex(e["hex"])) for e in trace]
    texts = [r.text for r in reassemble_all(pdus)]
    assert any(t.startswith("MO 3: a long mobile-originated message") for t in texts)
