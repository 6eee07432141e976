"""The sans-IO Session, walked through an ESME <-> SMSC pair over an in-memory link."""

from __future__ import annotations

import struct

import pytest
from helpers import SessionPair

from smppkit import (
    CONNECTION_CLOSED,
    NEED_DATA,
    BindReceiver,
    BindReceiverResp,
    BindTransceiver,
    BindTransceiverResp,
    BindTransmitter,
    BindTransmitterResp,
    CommandStatus,
    DeliverSm,
    DeliverSmResp,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    InvalidPdu,
    LocalProtocolError,
    Outbind,
    Rejected,
    Role,
    Session,
    State,
    SubmitSm,
    SubmitSmResp,
    Unbind,
    UnbindResp,
    decode,
    encode,
)
from smppkit.protocol.codec import Framer

S = CommandStatus

BINDS = [
    (BindTransmitter, BindTransmitterResp, State.BOUND_TX),
    (BindReceiver, BindReceiverResp, State.BOUND_RX),
    (BindTransceiver, BindTransceiverResp, State.BOUND_TRX),
]


def _wire(data: bytes) -> list:
    framer = Framer()
    framer.feed(data)
    return [decode(f) for f in framer]


def bound_pair(bind=BindTransceiver, resp=BindTransceiverResp) -> SessionPair:
    pair = SessionPair()
    sent, events = pair.send(pair.esme, bind(system_id="esme", password="pw"))
    assert events == [sent]
    _, events = pair.send(pair.smsc, resp(system_id="SMSC", sequence_number=sent.sequence_number))
    assert [type(e) for e in events] == [resp]
    return pair


@pytest.mark.parametrize(("bind", "resp", "state"), BINDS)
def test_bind_each_type(bind, resp, state) -> None:
    pair = SessionPair()
    sent, events = pair.send(pair.esme, bind(system_id="esme", password="pw"))
    assert sent.sequence_number == 1
    assert events == [sent]
    assert pair.esme.state is State.OPEN and pair.esme.window == 1
    answer = resp(system_id="SMSC", sequence_number=1)
    _, events = pair.send(pair.smsc, answer)
    assert events == [answer]
    assert pair.esme.state is state and pair.smsc.state is state
    assert pair.esme.bound_system_id == "esme" and pair.smsc.bound_system_id == "esme"
    assert pair.esme.window == 0


def test_failed_bind_stays_open() -> None:
    pair = SessionPair()
    sent, _ = pair.send(pair.esme, BindTransmitter(system_id="esme", password="bad"))
    resp = BindTransmitterResp(command_status=S.ESME_RINVPASWD, sequence_number=sent.sequence_number)
    _, events = pair.send(pair.smsc, resp)
    assert events == [resp]
    assert pair.esme.state is State.OPEN and pair.smsc.state is State.OPEN


def test_submit_and_response() -> None:
    pair = bound_pair()
    sent, events = pair.send(pair.esme, SubmitSm(destination_addr="447700900001", short_message=b"hi"))
    assert sent.sequence_number == 2
    assert events == [sent]
    assert pair.smsc.owed == {2: SubmitSm.command_id}
    resp = SubmitSmResp(message_id="0000001a", sequence_number=2)
    _, events = pair.send(pair.smsc, resp)
    assert events == [resp]
    assert pair.esme.window == 0 and pair.smsc.owed == {}


def test_deliver_and_response() -> None:
    pair = bound_pair()
    sent, events = pair.send(pair.smsc, DeliverSm(source_addr="447700900001", short_message=b"yo"))
    assert events == [sent]
    _, events = pair.send(pair.esme, DeliverSmResp(sequence_number=sent.sequence_number))
    assert events == [DeliverSmResp(sequence_number=sent.sequence_number)]
    assert pair.smsc.window == 0


def test_response_to_nothing_is_refused_locally() -> None:
    pair = bound_pair()
    with pytest.raises(LocalProtocolError, match="answers no request"):
        pair.esme.send(DeliverSmResp(sequence_number=99))


def test_enquire_link_is_answered_automatically() -> None:
    pair = bound_pair()
    sent, events = pair.send(pair.esme, EnquireLink())
    assert events == [sent]  # the SMSC application still sees it
    events = pair.pump(pair.smsc)  # ...and the reply is already queued
    assert events == [EnquireLinkResp(sequence_number=sent.sequence_number)]
    assert pair.esme.window == 0


def test_enquire_link_allowed_before_bind() -> None:
    pair = SessionPair()
    sent, events = pair.send(pair.esme, EnquireLink())
    assert events == [sent]
    assert _wire(pair.smsc.data_to_send()) == [EnquireLinkResp(sequence_number=1)]


def test_unbind_is_answered_automatically_and_closes() -> None:
    pair = bound_pair()
    sent, events = pair.send(pair.esme, Unbind())
    assert events == [sent]
    assert pair.smsc.state is State.CLOSED
    events = pair.pump(pair.smsc)
    assert events == [UnbindResp(sequence_number=sent.sequence_number)]
    assert pair.esme.state is State.CLOSED


def test_submit_before_bind_is_rejected_with_invbndsts() -> None:
    pair = SessionPair()
    with pytest.raises(LocalProtocolError) as info:
        pair.esme.send(SubmitSm())
    assert info.value.command_status == S.ESME_RINVBNDSTS
    pair.esme.send(SubmitSm(sequence_number=5), force=True)  # behave like a broken ESME
    events = pair.pump(pair.esme)
    assert len(events) == 1 and isinstance(events[0], Rejected)
    assert events[0].command_status == S.ESME_RINVBNDSTS
    assert events[0].pdu == SubmitSm(sequence_number=5)
    assert _wire(pair.smsc.data_to_send()) == [
        SubmitSmResp(command_status=S.ESME_RINVBNDSTS, sequence_number=5)
    ]
    assert encode(SubmitSmResp(command_status=S.ESME_RINVBNDSTS, sequence_number=5)) == bytes.fromhex(
        "00000010 80000004 00000004 00000005"
    )


def test_second_bind_is_rejected_with_alybnd() -> None:
    pair = bound_pair()
    with pytest.raises(LocalProtocolError) as info:
        pair.esme.send(BindTransmitter(system_id="again"))
    assert info.value.command_status == S.ESME_RALYBND
    pair.esme.send(BindTransmitter(system_id="again"), force=True)
    (event,) = pair.pump(pair.esme)
    assert isinstance(event, Rejected) and event.command_status == S.ESME_RALYBND
    (resp,) = _wire(pair.smsc.data_to_send())
    assert resp == BindTransmitterResp(command_status=S.ESME_RALYBND,
                                       sequence_number=event.pdu.sequence_number)
    assert pair.smsc.state is State.BOUND_TRX


def test_deliver_sm_to_transmitter_is_rejected() -> None:
    pair = bound_pair(BindTransmitter, BindTransmitterResp)
    with pytest.raises(LocalProtocolError):
        pair.smsc.send(DeliverSm())
    sent = pair.smsc.send(DeliverSm(short_message=b"x"), force=True)
    (event,) = pair.pump(pair.smsc)
    assert isinstance(event, Rejected)
    assert event.command_status == S.ESME_RINVBNDSTS
    assert "deliver_sm" in event.reason and "BOUND_TX" in event.reason
    assert _wire(pair.esme.data_to_send()) == [
        DeliverSmResp(command_status=S.ESME_RINVBNDSTS, sequence_number=sent.sequence_number)
    ]


def test_submit_from_receiver_is_rejected() -> None:
    pair = bound_pair(BindReceiver, BindReceiverResp)
    sent = pair.esme.send(SubmitSm(), force=True)
    (event,) = pair.pump(pair.esme)
    assert isinstance(event, Rejected) and event.command_status == S.ESME_RINVBNDSTS
    assert _wire(pair.smsc.data_to_send()) == [
        SubmitSmResp(command_status=S.ESME_RINVBNDSTS, sequence_number=sent.sequence_number)
    ]


def test_malformed_body_gets_its_own_resp_with_status() -> None:
    pair = bound_pair()
    good = encode(SubmitSm(sequence_number=77, source_addr="1", short_message=b"hello"))
    bad = good[:-6] + b"\x09hello"  # sm_length 9 but only 5 octets follow
    pair.smsc.receive_data(bad)
    event = pair.smsc.next_event()
    assert isinstance(event, InvalidPdu) and not event.fatal
    assert event.error.command_status == S.ESME_RINVMSGLEN
    assert event.data == bad
    assert _wire(pair.smsc.data_to_send()) == [
        SubmitSmResp(command_status=S.ESME_RINVMSGLEN, sequence_number=77)
    ]
    assert pair.smsc.state is State.BOUND_TRX  # one bad PDU does not end the session
    pair.smsc.receive_data(encode(EnquireLink(sequence_number=78)))
    assert pair.smsc.next_event() == EnquireLink(sequence_number=78)


def test_bad_header_gets_generic_nack() -> None:
    pair = bound_pair()
    pair.smsc.receive_data(struct.pack(">IIII", 16, 0x00000099, 0, 31))
    event = pair.smsc.next_event()
    assert isinstance(event, InvalidPdu) and not event.fatal
    assert event.error.command_status == S.ESME_RINVCMDID
    assert _wire(pair.smsc.data_to_send()) == [
        GenericNack(command_status=S.ESME_RINVCMDID, sequence_number=31)
    ]
    assert pair.smsc.next_event() is NEED_DATA


def test_oversized_command_length_is_fatal() -> None:
    smsc = Session(Role.SMSC, max_command_length=4096)
    smsc.receive_data(struct.pack(">IIII", 10 * 1024 * 1024, 0x04, 0, 12))
    event = smsc.next_event()
    assert isinstance(event, InvalidPdu) and event.fatal
    assert event.error.command_status == S.ESME_RINVCMDLEN
    assert smsc.state is State.CLOSED
    assert _wire(smsc.data_to_send()) == [GenericNack(command_status=S.ESME_RINVCMDLEN,
                                                      sequence_number=12)]
    assert smsc.next_event() is CONNECTION_CLOSED


def test_eof_closes() -> None:
    pair = bound_pair()
    pair.smsc.receive_data(b"")
    assert pair.smsc.next_event() is CONNECTION_CLOSED
    assert pair.smsc.state is State.CLOSED


def test_sequence_numbers_wrap_at_0x7fffffff() -> None:
    pair = bound_pair()
    pair.esme._next_seq = 0x7FFFFFFE
    seqs = [pair.esme.send(EnquireLink()).sequence_number for _ in range(3)]
    assert seqs == [0x7FFFFFFE, 0x7FFFFFFF, 1]
    # The bind's 1 was answered, so 1 was free; the next is 2.
    assert pair.esme.send(EnquireLink()).sequence_number == 2


def test_sequence_allocation_skips_outstanding_numbers() -> None:
    esme = Session(Role.ESME)
    esme.send(BindTransmitter(system_id="a"))  # seq 1, never answered
    esme._next_seq = 0x7FFFFFFF
    assert esme.send(EnquireLink()).sequence_number == 0x7FFFFFFF
    assert esme.send(EnquireLink()).sequence_number == 2  # 1 is still in the window


def test_window_and_timed_out() -> None:
    pair = bound_pair()
    first = pair.esme.send(SubmitSm(short_message=b"1"), now=100.0)
    second = pair.esme.send(SubmitSm(short_message=b"2"), now=104.0)
    assert pair.esme.window == 2
    assert pair.esme.timed_out(now=105.0, timeout=10.0) == []
    assert pair.esme.timed_out(now=110.0, timeout=10.0) == [first]
    assert pair.esme.window == 1
    assert list(pair.esme.outstanding) == [second.sequence_number]
    assert pair.esme.timed_out(now=200.0, timeout=10.0) == [second]
    assert pair.esme.window == 0


def test_outbind_moves_esme_to_outbound_then_bind() -> None:
    pair = SessionPair()
    sent, events = pair.send(pair.smsc, Outbind(system_id="SMSC", password="pw"))
    assert events == [sent]
    assert pair.esme.state is State.OUTBOUND
    bind, events = pair.send(pair.esme, BindReceiver(system_id="esme", password="pw"))
    assert events == [bind]
    pair.send(pair.smsc, BindReceiverResp(system_id="SMSC", sequence_number=bind.sequence_number))
    assert pair.esme.state is State.BOUND_RX


def test_esme_may_not_send_outbind() -> None:
    with pytest.raises(LocalProtocolError, match="outbind"):
        Session(Role.ESME).send(Outbind(system_id="x"))


def test_observer_sees_in_and_out_with_raw_bytes() -> None:
    seen = []
    smsc = Session(Role.SMSC, observer=lambda d, p, raw: seen.append((d, p.command_name, raw)))
    data = encode(EnquireLink(sequence_number=3))
    smsc.receive_data(data)
    smsc.next_event()
    assert seen == [
        ("in", "enquire_link", data),
        ("out", "enquire_link_resp", encode(EnquireLinkResp(sequence_number=3))),
    ]


# --- every PDU, every state answered (§2.3, §4.3); regressions from hostile clients -------

OUTBIND = bytes.fromhex("000000120000000b00000000000000010000")
ALERT_NOTIFICATION = bytes.fromhex("000000180000010200000000000000020000310000003200")


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.name)
@pytest.mark.parametrize("data", [OUTBIND, ALERT_NOTIFICATION], ids=["outbind", "alert"])
def test_a_command_without_response_out_of_state_gets_generic_nack(role, data) -> None:
    session = Session(role)
    session.receive_data(data)
    event = session.next_event()
    if role is Role.ESME and data is OUTBIND:  # the one place it is allowed: §4.1.7
        assert isinstance(event, Outbind) and session.state is State.OUTBOUND
        assert session.data_to_send() == b""
        return
    assert isinstance(event, Rejected)
    assert event.command_status == S.ESME_RINVBNDSTS
    (nack,) = _wire(session.data_to_send())
    assert nack == GenericNack(command_status=S.ESME_RINVBNDSTS,
                               sequence_number=event.pdu.sequence_number)
    assert session.next_event() is NEED_DATA


def test_alert_notification_where_allowed_is_handed_out_unanswered() -> None:
    pair = bound_pair(BindReceiver, BindReceiverResp)
    pair.esme.receive_data(ALERT_NOTIFICATION)
    event = pair.esme.next_event()
    assert event.command_name == "alert_notification"
    assert pair.esme.data_to_send() == b"" and pair.esme.owed == {}  # §4.12: no response


def test_requests_after_unbind_are_refused_not_dropped() -> None:
    pair = bound_pair()
    pair.send(pair.esme, Unbind())
    assert pair.smsc.state is State.CLOSED
    pair.smsc.data_to_send()
    pair.smsc.receive_data(encode(SubmitSm(sequence_number=9, destination_addr="1")))
    event = pair.smsc.next_event()
    assert isinstance(event, Rejected) and event.command_status == S.ESME_RINVBNDSTS
    (resp,) = _wire(pair.smsc.data_to_send())
    assert resp == SubmitSmResp(command_status=S.ESME_RINVBNDSTS, sequence_number=9)


def test_a_reused_sequence_number_is_owed_twice() -> None:
    pair = bound_pair()
    data = encode(SubmitSm(sequence_number=5, destination_addr="1"))
    pair.smsc.receive_data(data + data)
    assert pair.smsc.next_event().sequence_number == 5
    assert pair.smsc.next_event().sequence_number == 5
    pair.smsc.send(SubmitSmResp(message_id="a", sequence_number=5))
    pair.smsc.send(SubmitSmResp(message_id="b", sequence_number=5))
    with pytest.raises(LocalProtocolError, match="answers no request"):
        pair.smsc.send(SubmitSmResp(message_id="c", sequence_number=5))


def test_a_wrong_response_keeps_the_request_open_and_the_state() -> None:
    esme = Session(Role.ESME)
    bind = esme.send(BindTransmitter(system_id="esme", password="pw"))
    esme.receive_data(encode(BindReceiverResp(system_id="SMSC",
                                              sequence_number=bind.sequence_number)))
    assert esme.next_event().command_name == "bind_receiver_resp"
    assert esme.state is State.OPEN and bind.sequence_number in esme.outstanding
    esme.receive_data(encode(BindTransmitterResp(system_id="SMSC",
                                                 sequence_number=bind.sequence_number)))
    esme.next_event()
    assert esme.state is State.BOUND_TX and esme.outstanding == {}


def test_a_response_of_the_wrong_type_does_not_forget_what_is_owed() -> None:
    pair = bound_pair()
    pair.smsc.receive_data(encode(SubmitSm(sequence_number=5, destination_addr="1")))
    pair.smsc.next_event()
    with pytest.raises(LocalProtocolError):
        pair.smsc.send(DeliverSmResp(sequence_number=5))
    assert pair.smsc.owed == {5: SubmitSm.command_id}
    pair.smsc.send(SubmitSmResp(message_id="a", sequence_number=5))
    assert pair.smsc.owed == {}


def test_outbind_and_alert_notification_sent_are_not_awaited() -> None:
    from smppkit.protocol.pdus import AlertNotification

    smsc = Session(Role.SMSC)
    smsc.send(Outbind(system_id="smsc"))
    assert smsc.outstanding == {} and smsc.window == 0
    pair = bound_pair()
    pair.smsc.send(AlertNotification(source_addr="1", esme_addr="2"))
    assert pair.smsc.outstanding == {}
    assert [e.command_name for e in pair.pump(pair.smsc)] == ["alert_notification"]
