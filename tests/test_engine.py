"""The sans-IO engine, driven on virtual time: provider rules, exactly, with no sockets."""

from __future__ import annotations

import ast
import dataclasses
import random
from pathlib import Path

import pytest

from smppkit.protocol.codec import Framer, decode, encode
from smppkit.protocol.constants import CommandStatus as S
from smppkit.protocol.pdus import (
    BindTransceiver,
    CancelSm,
    EnquireLink,
    QuerySm,
    ReplaceSm,
    SmeAddress,
    SubmitMulti,
    SubmitSm,
)
from smppkit.simulator import Account, SimConfig
from smppkit.simulator.engine import Engine, Send, Trace, parse_smpp_time
from smppkit.simulator.virtual import EsmeBehaviour, VirtualNetwork

SIMULATOR = Path(__file__).resolve().parent.parent / "smppkit" / "simulator"
T0 = SimConfig().epoch.timestamp()  # type: ignore[union-attr]
QUIET = EsmeBehaviour(enquire_link=None, reconnect=None, resubmit_throttled=None)


def _net(**options) -> VirtualNetwork:
    options.setdefault("dlr_delay", 1.0)
    return VirtualNetwork(SimConfig(seed=3, trace_memory=1, **options), rng=random.Random(1))


def _pdus(net: VirtualNetwork, command: str, direction: str = "out") -> list[dict]:
    return [e for e in net.events if e["command"] == command and e["direction"] == direction]


def _submit(net: VirtualNetwork, link, to: str = "447700900000", registered_delivery: int = 1,
            **fields) -> None:
    net.submit(link, SubmitSm(source_addr="smppkit", destination_addr=to, short_message=b"hi",
                              registered_delivery=registered_delivery, **fields))


@pytest.mark.parametrize("module", ["engine.py", "virtual.py"])
def test_the_engine_and_the_virtual_driver_do_no_io(module: str) -> None:
    tree = ast.parse((SIMULATOR / module).read_text())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree)
                if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module}
    forbidden = {"asyncio", "socket", "time", "selectors", "threading", "ssl", "os", "subprocess"}
    assert not imported & forbidden


def test_the_callers_config_is_not_changed() -> None:
    config = SimConfig(seed=5, tls=False)
    before = dataclasses.asdict(config)
    net = VirtualNetwork(config)
    link = net.connect("SMPP1", QUIET)
    net.run(until=net.now + 1)
    _submit(net, link)
    net.run(until=net.now + 5)
    assert dataclasses.asdict(config) == before


def test_the_timers_run_in_order_and_actions_are_bytes_for_a_connection() -> None:
    engine = Engine(SimConfig(), now=100.0)
    engine.connection_opened(1, "SMPP1", "192.0.2.1:1", 100.0)
    engine.data_received(1, encode(EnquireLink(sequence_number=4)), 100.0)
    actions = engine.actions()
    (send,) = [a for a in actions if isinstance(a, Send)]
    assert decode(send.data).command_name == "enquire_link_resp"


def test_relative_validity_ends_an_undelivered_message_expired_at_that_time() -> None:
    net = _net()
    link = net.connect("SMPP1", QUIET)
    net.run(until=T0 + 0.5)
    # last digit 5: delivered after 10x dlr_delay (10 s) -- but valid for 2 s only
    _submit(net, link, "447700900005", validity_period="000000000002000R")
    net.run(until=T0 + 20)
    (receipt,) = _pdus(net, "deliver_sm")
    (submitted,) = _pdus(net, "submit_sm", "in")
    assert receipt["receipt_stat"] == "EXPIRED"
    assert receipt["time"] - submitted["time"] == pytest.approx(2.0, abs=0.01)


def test_absolute_validity_is_read_with_its_utc_offset() -> None:
    # 2026-01-01 00:00:05 at UTC+01:00 is 2025-12-31 23:00:05 UTC: already past
    assert parse_smpp_time("260101000005004+", T0) == T0 + 5 - 3600
    assert parse_smpp_time("000000000130000R", T0) == T0 + 90
    with pytest.raises(ValueError):
        parse_smpp_time("2601010000050041", T0)


def test_an_invalid_validity_period_gets_rinvexpiry() -> None:
    net = _net()
    link = net.connect("SMPP1", QUIET)
    net.run(until=T0 + 0.5)
    _submit(net, link, validity_period="991399999999999+")
    net.run(until=T0 + 3)
    (resp,) = _pdus(net, "submit_sm_resp")
    assert resp["command_status"] == S.ESME_RINVEXPIRY


def test_schedule_delivery_time_holds_delivery_and_the_receipt() -> None:
    net = _net()
    link = net.connect("SMPP1", QUIET)
    net.run(until=T0 + 0.5)
    _submit(net, link, "447700900000", schedule_delivery_time="000000000005000R")
    net.run(until=T0 + 20)
    (receipt,) = _pdus(net, "deliver_sm")
    (submitted,) = _pdus(net, "submit_sm", "in")
    # held 5 s, then the test number's delay (dlr_delay, 1 s)
    assert receipt["time"] - submitted["time"] == pytest.approx(6.0, abs=0.01)
    assert receipt["receipt_stat"] == "DELIVRD"


def test_submit_multi_receipts_carry_the_id_the_resp_gave() -> None:
    net = _net()
    link = net.connect("SMPP1", QUIET)
    net.run(until=T0 + 0.5)
    dests = tuple(SmeAddress(f"44770090000{d}") for d in (0, 1, 3))
    net.submit(link, SubmitMulti(source_addr="smppkit", dest_addresses=dests,
                                 registered_delivery=1, short_message=b"hi"))
    net.run(until=T0 + 10)
    (resp,) = _pdus(net, "submit_multi_resp")
    receipts = _pdus(net, "deliver_sm")
    assert sorted(r["receipt_stat"] for r in receipts) == ["DELIVRD", "REJECTD", "UNDELIV"]
    assert {str(int(r["message_id"])) for r in receipts} == {str(int(resp["message_id"], 16))}


def test_binds_and_throughput_are_the_accounts_on_every_instance() -> None:
    net = _net(accounts=(Account(throughput=5),))
    links = [net.connect(name, QUIET) for name in ("SMPP1", "SMPP0")]
    net.run(until=T0 + 0.2)
    net.connect("SMPP2", QUIET)
    net.run(until=T0 + 0.5)
    statuses = [e["command_status"] for e in _pdus(net, "bind_transceiver_resp")]
    assert statuses == [0, 0, S.ESME_RALYBND]
    for i in range(12):
        _submit(net, links[i % 2], registered_delivery=0)
    net.run(until=T0 + 0.6)
    throttled = [e for e in _pdus(net, "submit_sm_resp") if e["command_status"] == S.ESME_RTHROTTLED]
    assert len(throttled) == 7  # one bucket of 5 for the account, whichever instance


def _isolated(net: VirtualNetwork):
    alice = net.connect("SMPP1", dataclasses.replace(QUIET, system_id="alice", password="a"))
    bob = net.connect("SMPP2", dataclasses.replace(QUIET, system_id="bob", password="b"))
    net.run(until=T0 + 0.5)
    _submit(net, alice, "447700900005")  # pending for 10 s
    net.run(until=T0 + 1)
    (resp,) = _pdus(net, "submit_sm_resp")
    return alice, bob, resp["message_id"]


def test_another_accounts_message_cannot_be_queried_cancelled_or_replaced() -> None:
    net = _net(accounts=(Account("alice", "a"), Account("bob", "b")))
    alice, bob, msg_id = _isolated(net)
    net.submit(bob, QuerySm(message_id=msg_id, source_addr="smppkit"))
    net.submit(bob, CancelSm(message_id=msg_id, source_addr="smppkit"))
    net.submit(bob, ReplaceSm(message_id=msg_id, source_addr="smppkit", short_message=b"x"))
    net.run(until=T0 + 2)
    statuses = {e["command"]: e["command_status"] for e in net.events if e["direction"] == "out"
                and e["command"] in ("query_sm_resp", "cancel_sm_resp", "replace_sm_resp")}
    assert statuses == {"query_sm_resp": S.ESME_RQUERYFAIL, "cancel_sm_resp": S.ESME_RCANCELFAIL,
                        "replace_sm_resp": S.ESME_RREPLACEFAIL}
    net.submit(alice, QuerySm(message_id=msg_id, source_addr="smppkit"))
    net.run(until=T0 + 20)
    assert _pdus(net, "query_sm_resp")[-1]["command_status"] == 0
    (receipt,) = _pdus(net, "deliver_sm")  # alice still gets her receipt
    assert receipt["system_id"] == "alice" and receipt["receipt_stat"] == "DELIVRD"


def test_a_vanished_receiver_gets_every_pending_receipt_in_order_when_it_binds_again() -> None:
    net = _net(dlr_delay=0.5, deliver_timeout=1.0)
    tx = net.connect("SMPP1", dataclasses.replace(QUIET, bind="transmitter"))
    rx = net.connect("SMPP2", dataclasses.replace(QUIET, bind="receiver", deliver_status=None))
    net.run(until=T0 + 0.5)
    for _ in range(5):
        _submit(net, tx)
    net.run(until=T0 + 1.2)  # some receipts in flight, unanswered
    net.drop(rx)
    for _ in range(5):
        _submit(net, tx)
    net.run(until=T0 + 30)
    assert net.engine.held_receipts == 10
    net.connect("SMPP1", dataclasses.replace(QUIET, bind="receiver"))
    net.run(until=T0 + 40)
    ids = [e["message_id"] for e in _pdus(net, "submit_sm_resp")]
    last = [e for e in _pdus(net, "deliver_sm") if e["session"] == "SMPP1#3"]
    assert [str(int(e["message_id"])) for e in last] == [str(int(i, 16)) for i in ids]
    assert net.engine.held_receipts == 0
    assert any(e["note"] and e["note"].startswith("resend: connection lost") for e in net.events)


def test_the_store_bound_refuses_new_submits_with_rmsgqful() -> None:
    net = _net(max_stored_receipts=3, dlr_delay=0.1)
    tx = net.connect("SMPP1", dataclasses.replace(QUIET, bind="transmitter"))
    net.run(until=T0 + 0.5)
    for i in range(5):
        net.at(T0 + 1 + i, _submit, net, tx)
    net.run(until=T0 + 10)
    statuses = [e["command_status"] for e in _pdus(net, "submit_sm_resp")]
    assert statuses == [0, 0, 0, S.ESME_RMSGQFUL, S.ESME_RMSGQFUL]


def test_a_non_ascii_destination_gets_rinvdstadr_and_the_session_goes_on() -> None:
    engine = Engine(SimConfig(), now=T0)
    engine.connection_opened(1, "SMPP1", "192.0.2.1:1", T0)
    bind = encode(BindTransceiver(system_id="smppkit", password="secret", sequence_number=1))
    hostile = bytes.fromhex("00000023000000040000000000000000000000000000b2000000000000010000000178")
    engine.data_received(1, bind + hostile + encode(SubmitSm(destination_addr="447700900000",
                                                             sequence_number=9)), T0)
    sent = b"".join(a.data for a in engine.actions() if isinstance(a, Send))
    framer = Framer()
    framer.feed(sent)
    resps = []
    while (frame := framer.next_frame()) is not None:
        resps.append(decode(frame))
    assert [(p.command_name, p.command_status) for p in resps] == [
        ("bind_transceiver_resp", 0), ("submit_sm_resp", S.ESME_RINVDSTADR), ("submit_sm_resp", 0)]


def test_the_smsc_sends_enquire_link_on_an_idle_session_and_unbinds_a_silent_one() -> None:
    net = _net(enquire_link_interval=5.0, enquire_link_timeout=2.0)
    link = net.connect("SMPP1", QUIET)
    net.run(until=T0 + 12)
    asked = _pdus(net, "enquire_link")
    assert [round(e["time"] - T0) for e in asked][:2] == [5, 10]
    assert len(_pdus(net, "enquire_link_resp", "in")) == len(asked)
    link.esme.answer_enquire_link = False  # the client hangs
    net.run(until=T0 + 30)
    unbind = _pdus(net, "unbind")
    assert len(unbind) == 1 and any("enquire_link unanswered" in (e["note"] or "") for e in net.events)


def test_enquire_link_from_the_smsc_can_be_switched_off() -> None:
    net = _net(enquire_link=False)
    net.connect("SMPP1", QUIET)
    net.run(until=T0 + 300)
    assert not _pdus(net, "enquire_link")


def test_a_connection_that_never_binds_is_closed_after_bind_timeout() -> None:
    engine = Engine(SimConfig(bind_timeout=3.0), now=T0)
    engine.connection_opened(1, "SMPP1", "192.0.2.1:1", T0)
    assert engine.next_deadline() == T0 + 3.0
    engine.advance(T0 + 3.0)
    assert [type(a).__name__ for a in engine.actions() if not isinstance(a, Trace)] == ["Close"]


def test_deliver_sm_resp_status_on_the_retry_list_resends_until_accepted() -> None:
    net = _net(retry_delay=0.5)
    link = net.connect("SMPP1", dataclasses.replace(QUIET, deliver_status=0x58))
    net.run(until=T0 + 0.5)
    _submit(net, link)
    net.run(until=T0 + 9)
    receipts = _pdus(net, "deliver_sm")
    assert len(receipts) >= 4
    assert net.engine.held_receipts == 1  # never dropped
    # every resend is traced with the id the receipt carries, in the note and its message_id
    rid = receipts[0]["message_id"]
    resends = [e for e in net.events if (e["note"] or "").startswith("resend: ")]
    assert len(resends) == len(receipts) - 1
    assert all(e["message_id"] == rid and f"receipt id:{rid}" in e["note"] for e in resends)


def test_outbind_in_the_virtual_driver_brings_a_receiver_bind_and_its_receipts() -> None:
    net = _net(outbind="192.0.2.50:2776", dlr_delay=0.2)
    net.listen("192.0.2.50:2776", dataclasses.replace(QUIET, bind="receiver"))
    net.run(until=T0 + 0.5)  # the engine outbinds when it starts (§4.1.7)
    sender = net.connect("SMPP1", dataclasses.replace(QUIET, bind="transmitter"))
    net.at(net.now + 0.1, _submit, net, sender)
    net.run(until=net.now + 2.0)
    outbound = [e for e in net.events if e["peer"] == "192.0.2.50:2776" and e["command"]]
    assert [(e["direction"], e["command"]) for e in outbound[:3]] == [
        ("out", "outbind"), ("in", "bind_receiver"), ("out", "bind_receiver_resp")]
    assert outbound[2]["command_status"] == 0
    receipts = [e for e in outbound if e["command"] == "deliver_sm"]
    (resp,) = [e for e in _pdus(net, "submit_sm_resp") if e["session"] == sender.ident]
    assert [e["message_id"] for e in receipts] == [str(int(resp["message_id"], 16))]
    assert net.engine.counters["outbinds"] == 1 and net.engine.counters["deliver_acked"] == 1


def test_an_outbind_nobody_listens_for_fails_and_is_traced() -> None:
    net = _net(outbind="192.0.2.51:2776")
    net.run(until=T0 + 1.0)
    assert net.engine.counters["outbind_failures"] == 1
    assert any("outbind to 192.0.2.51:2776 failed" in (e["note"] or "") for e in net.events)
    assert net.engine.snapshot()["bound_sessions"] == 0


def test_a_receipt_ended_by_a_final_status_is_traced_with_its_id() -> None:
    net = _net()
    link = net.connect("SMPP1", dataclasses.replace(QUIET, deliver_status=S.ESME_RINVDSTADR))
    net.run(until=T0 + 0.5)
    _submit(net, link)
    net.run(until=T0 + 5)
    (receipt,) = _pdus(net, "deliver_sm")  # 0x0B is final: sent once, never again
    (ended,) = [e for e in net.events if (e["note"] or "").startswith("receipt ended by")]
    assert ended["message_id"] == receipt["message_id"]
    assert ended["note"].endswith(f"receipt id:{receipt['message_id']})")
    assert net.engine.held_receipts == 0


# -- back-pressure, fairness, timers of closed connections -----------------------------------


def _receipt_ids(events: list[dict], session: str | None = None) -> list[str]:
    return [e["message_id"] for e in events if e["command"] == "deliver_sm" and e["direction"] == "out"
            and (session is None or e["session"] == session)]


def _submitted_ids(net: VirtualNetwork) -> list[str]:
    return [str(int(e["message_id"], 16)) for e in _pdus(net, "submit_sm_resp")]


def test_a_congested_receiver_is_sent_no_receipts_until_it_reads_then_each_once_in_order() -> None:
    high = 4096
    net = _net(dlr_delay=0.0, deliver_timeout=1.0, write_high_water=high, accounts=(Account(throughput=None),))
    tx = net.connect("SMPP1", dataclasses.replace(QUIET, bind="transmitter"))
    rx = net.connect("SMPP2", dataclasses.replace(QUIET, bind="receiver"))
    net.run(until=T0 + 0.5)
    net.stall(rx, 30.0)  # longer than deliver_timeout: nothing may be resent meanwhile
    for _ in range(500):
        _submit(net, tx, to="447700123456")
    net.run(until=T0 + 20)
    assert net.engine.held_receipts == 500 and net.engine.snapshot()["congested_connections"] == 1
    sent_while_stalled = [e for e in net.events if e["command"] == "deliver_sm" and e["direction"] == "out"]
    assert 0 < len(sent_while_stalled) < 500
    assert sum(len(e["hex"]) // 2 for e in sent_while_stalled) <= 2 * high  # octets written
    net.run(until=T0 + 45)
    assert _receipt_ids(net.events) == _submitted_ids(net)  # every one once, in order
    assert net.engine.held_receipts == 0
    assert net.engine.counters["deliver_retries"] == 0
    assert not [e for e in net.events if (e["note"] or "").startswith("resend")]


def test_while_one_receiver_is_congested_the_accounts_other_receiver_gets_the_receipts() -> None:
    net = _net(dlr_delay=0.0, write_high_water=4096,
               accounts=(Account(throughput=None, max_binds=3),))
    tx = net.connect("SMPP1", dataclasses.replace(QUIET, bind="transmitter"))
    stalled = net.connect("SMPP2", dataclasses.replace(QUIET, bind="receiver"))
    other = net.connect("SMPP1", dataclasses.replace(QUIET, bind="receiver"))
    net.run(until=T0 + 0.5)
    net.stall(stalled, 30.0)
    for _ in range(400):
        _submit(net, tx, to="447700123456")
    net.run(until=T0 + 20)
    to_stalled = _receipt_ids(net.events, stalled.ident)
    to_other = _receipt_ids(net.events, other.ident)
    assert len(to_stalled) < 100 and len(to_stalled) + len(to_other) == 400
    assert net.engine.snapshot()["receipts_waiting"] == 0  # none held back for the stalled one
    net.run(until=T0 + 45)
    assert sorted(_receipt_ids(net.events)) == sorted(_submitted_ids(net))
    assert net.engine.held_receipts == 0


def test_one_turn_handles_at_most_max_pdus_per_turn_and_continue_input_the_rest() -> None:
    engine = Engine(SimConfig(max_pdus_per_turn=4), now=T0)
    engine.connection_opened(1, "SMPP1", "192.0.2.1:1", T0)
    data = encode(BindTransceiver(system_id="smppkit", password="secret", sequence_number=1))
    data += b"".join(encode(EnquireLink(sequence_number=seq)) for seq in range(2, 11))

    def answered() -> list[int]:
        sent = b"".join(a.data for a in engine.actions() if isinstance(a, Send))
        framer = Framer()
        framer.feed(sent)
        return [decode(frame).sequence_number for frame in iter(framer.next_frame, None)]

    assert engine.data_received(1, data, T0) is True
    assert answered() == [1, 2, 3, 4]
    assert engine.continue_input(1, T0) is True
    assert answered() == [5, 6, 7, 8]
    assert engine.continue_input(1, T0) is False
    assert answered() == [9, 10]
    assert engine.continue_input(1, T0) is False and answered() == []


def test_closed_connections_leave_neither_their_timers_nor_themselves_behind() -> None:
    import gc

    from smppkit.simulator.engine import Conn

    engine = Engine(SimConfig(trace_memory=0), now=T0)
    bind = encode(BindTransceiver(system_id="smppkit", password="secret", sequence_number=1))
    for conn in range(1, 1001):
        engine.connection_opened(conn, "SMPP1", f"192.0.2.1:{conn}", T0)
        if conn % 2:
            engine.data_received(conn, bind, T0)  # bound: an enquire_link timer as well
        engine.actions()
        engine.connection_closed(conn, T0 + 0.001 * conn)
        engine.actions()
    gc.collect()
    assert not [o for o in gc.get_objects() if isinstance(o, Conn)]
    assert engine.snapshot()["timers_armed"] < 1000 // 4  # 2,500 were armed


def test_a_started_pdu_is_due_within_pdu_timeout_not_counting_time_congested() -> None:
    engine = Engine(SimConfig(pdu_timeout=2.0, bind_timeout=None), now=T0)
    engine.connection_opened(1, "SMPP1", "192.0.2.1:1", T0)
    engine.data_received(1, encode(EnquireLink(sequence_number=1))[:10], T0)
    engine.congested(1, True, T0 + 1.0)  # the driver stops reading it
    engine.advance(T0 + 5.0)
    assert not [a for a in engine.actions() if type(a).__name__ == "Close"]
    engine.congested(1, False, T0 + 6.0)  # its 2 s start again
    engine.advance(T0 + 7.9)
    assert not [a for a in engine.actions() if type(a).__name__ == "Close"]
    engine.advance(T0 + 8.0)
    assert [type(a).__name__ for a in engine.actions() if not isinstance(a, Trace)] == ["Close"]
    assert engine.counters["pdu_timeouts"] == 1


@pytest.mark.parametrize("option, value", [("pdu_timeout", 0), ("max_pdus_per_turn", 0),
                                           ("write_high_water", 0)])
def test_the_engine_refuses_a_limit_that_cannot_work_under_either_driver(option, value) -> None:
    with pytest.raises(ValueError, match=option):
        VirtualNetwork(SimConfig(**{option: value}))
