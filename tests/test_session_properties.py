"""Property: a `Session`, in either role and every state, answers whatever the peer sends.

Each example drives a real ESME/SMSC pair into a state (bind, outbind, unbind over the
in-memory link), then feeds the session under test a list of frames from its peer:
valid PDUs of every command with any field values, and raw frames with any command_id
(known or not) and any body octets; sequence numbers often collide. An application loop
answers every request the session hands out, as a server or client would. Invariants
(§2.3 session states, §2.4 request/response pairing, §4.3 generic_nack):

* `next_event()` never raises; every event is a Pdu, InvalidPdu, Rejected or a sentinel;
* every request frame gets exactly one answer with its sequence_number (the session's
  own or the application's) -- except outbind and alert_notification where they are
  allowed, which have no response; a response frame gets no answer unless it is
  malformed (generic_nack);
* each answer is the request's own *_resp or a generic_nack;
* a request handed out as a PDU is one the peer may send in the state it arrived in;
  one refused (`Rejected`) is not, and is answered ESME_RINVBNDSTS / ESME_RALYBND;
* everything the session writes decodes.
"""

from __future__ import annotations

import struct
from collections import Counter

import pytest
from helpers import SessionPair
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import any_pdu

from smppkit import (
    CONNECTION_CLOSED,
    NEED_DATA,
    BindReceiver,
    BindReceiverResp,
    BindTransceiver,
    BindTransceiverResp,
    BindTransmitter,
    BindTransmitterResp,
    CommandId,
    CommandStatus,
    EnquireLink,
    InvalidPdu,
    Outbind,
    Rejected,
    Role,
    Session,
    State,
    Unbind,
    decode,
    encode,
)
from smppkit.protocol.codec import Framer
from smppkit.protocol.pdus import PDU_CLASSES, RESPONSE_OF, Pdu
from smppkit.protocol.session import ALLOWED

S = CommandStatus
_BIND = {
    State.BOUND_TX: (BindTransmitter, BindTransmitterResp),
    State.BOUND_RX: (BindReceiver, BindReceiverResp),
    State.BOUND_TRX: (BindTransceiver, BindTransceiverResp),
}
_NO_RESPONSE = {int(CommandId.outbind), int(CommandId.alert_notification)}
CASES = [(Role.ESME, state) for state in State] + [
    (Role.SMSC, state) for state in State if state is not State.OUTBOUND
]


def session_in(role: Role, state: State) -> Session:
    """A session of `role` brought to `state` by a real exchange with its peer."""
    pair = SessionPair()
    me = pair.esme if role is Role.ESME else pair.smsc
    if state is State.OUTBOUND:
        pair.send(pair.smsc, Outbind(system_id="smsc"))
    elif state is not State.OPEN:
        bind, resp = _BIND.get(state, (BindTransceiver, BindTransceiverResp))
        sent, _ = pair.send(pair.esme, bind(system_id="esme", password="pw"))
        pair.send(pair.smsc, resp(system_id="SMSC", sequence_number=sent.sequence_number))
        if state is State.CLOSED:  # the peer unbinds: we answer and close
            pair.send(pair.esme if role is Role.SMSC else pair.smsc, Unbind())
    me.data_to_send()
    assert me.state is state
    return me


_SEQ = st.one_of(st.integers(1, 4), st.integers(0, 0xFFFFFFFF))
_IDS = st.one_of(st.sampled_from(sorted(int(c) for c in CommandId)), st.integers(0, 0xFFFFFFFF))


@st.composite
def raw_frame(draw: st.DrawFn) -> bytes:
    body = draw(st.binary(max_size=48))
    header = struct.pack(">IIII", 16 + len(body), draw(_IDS),
                         draw(st.sampled_from((0, 0, 1, 0x58))), 0)
    return header + body


@st.composite
def frame(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.one_of(any_pdu.map(encode), raw_frame())))
    data[12:16] = draw(_SEQ).to_bytes(4, "big")  # collisions with our own and each other
    return bytes(data)


def _answer_requests(session: Session, event: Pdu) -> None:
    """The application: answer every request the session hands out (status 0)."""
    owed = session.owed.get(event.sequence_number)
    if owed is not None and not event.command_id & 0x80000000:
        session.send(RESPONSE_OF[PDU_CLASSES[owed]](sequence_number=event.sequence_number))


def _expects_answer(data: bytes, allowed_now: bool) -> bool:
    command_id = int.from_bytes(data[4:8], "big")
    if command_id & 0x80000000:
        try:
            decode(data)
        except Exception:
            return True  # a malformed response gets generic_nack
        return False
    return not (command_id in _NO_RESPONSE and allowed_now)


@pytest.mark.parametrize(("role", "state"), CASES, ids=lambda v: getattr(v, "name", v))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames=st.lists(frame(), min_size=1, max_size=8), chunk=st.sampled_from((1, 7, 4096)))
def test_every_pdu_in_every_state_is_answered(role, state, frames, chunk) -> None:
    session = session_in(role, state)
    if EnquireLink.command_id in ALLOWED[state][role]:
        session.send(EnquireLink(sequence_number=2))  # a request of ours a frame may answer
    session.data_to_send()
    expected: Counter[int] = Counter()
    out = bytearray()
    for data in frames:
        before = session.state
        stream = data
        for start in range(0, len(stream), chunk):
            session.receive_data(stream[start:start + chunk])
        events = []
        while (event := session.next_event()) not in (NEED_DATA, CONNECTION_CLOSED):
            events.append(event)
            assert len(events) == 1, "one frame, one event"
            if isinstance(event, Rejected):
                assert before is State.CLOSED or (
                    event.pdu.command_id not in ALLOWED[before][role.peer]
                )
                assert event.command_status in (S.ESME_RINVBNDSTS, S.ESME_RALYBND)
            elif isinstance(event, InvalidPdu):
                assert not event.fatal and event.error.command_status != 0
            else:
                assert isinstance(event, Pdu)
                if not event.command_id & 0x80000000:
                    assert event.command_id in ALLOWED[before][role.peer]
                _answer_requests(session, event)
        assert len(events) == 1
        allowed = isinstance(events[0], Pdu)
        seq = int.from_bytes(data[12:16], "big")
        if _expects_answer(data, allowed):
            expected[seq] += 1
        out += session.data_to_send()
    framer = Framer()
    framer.feed(bytes(out))
    answers = [decode(f) for f in framer]  # everything written decodes
    assert framer.buffered == 0
    assert Counter(a.sequence_number for a in answers) == expected
    requests = {int.from_bytes(d[12:16], "big"): int.from_bytes(d[4:8], "big") for d in frames}
    for answer in answers:
        assert answer.command_id & 0x80000000
        asked = requests[answer.sequence_number]
        assert answer.command_id in (CommandId.generic_nack, asked | 0x80000000) or (
            # with colliding sequence numbers, another frame's request
            any(int.from_bytes(d[12:16], "big") == answer.sequence_number
                and int.from_bytes(d[4:8], "big") | 0x80000000 == answer.command_id
                for d in frames)
        )
