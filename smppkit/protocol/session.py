"""A sans-IO SMPP v3.4 session: bytes in, events out; PDUs in, bytes out. No clock, no sockets.

Theory of operation
-------------------
Rule 1 (from h11): everything that decides what may be sent or received in a state, and
every state change, lives in this file, in the tables `ALLOWED` and `BIND_STATES`.

A `Session` plays one role, `Role.ESME` or `Role.SMSC`. The caller feeds it what arrived
on the wire with `receive_data(bytes)` (``b""`` means the peer closed), then calls
`next_event()` until it returns `NEED_DATA`. Events are `Pdu` objects, or one of the small
event classes below for things that went wrong. To talk, the caller calls `send(pdu)` and
then writes `data_to_send()` to the wire.

SMPP answers some things on its own, without asking the application, so the session does
too ("using an internal byte buffer is recommended if ... the protocol implementation
sometimes automatically responds to the peer" -- sans-io.readthedocs.io):

* enquire_link → enquire_link_resp (§4.11); the enquire_link is still returned as an event;
* unbind → unbind_resp, then CLOSED (§4.2);
* a PDU with a bad header → generic_nack with the right command_status (§4.3); a request
  with a bad body → its own *_resp with the status (§4.4.2 etc.); both are reported as
  `InvalidPdu`;
* a request the peer may not send in this state → its *_resp with ESME_RINVBNDSTS, or
  ESME_RALYBND for a second bind (§2.3, §5.1.3); a command without a response (outbind,
  alert_notification) gets generic_nack with ESME_RINVBNDSTS instead; reported as
  `Rejected`. After an unbind the session is CLOSED and every later request is refused
  the same way, so every request the peer sends gets exactly one answer: the session's,
  or the one the application sends for a returned request.

`next_event()` never raises for anything the peer sends: every byte sequence ends as a
`Pdu`, `InvalidPdu`, `Rejected`, `NEED_DATA` or `CONNECTION_CLOSED`.

A command_length the framer cannot accept (below 16, above the limit) makes the stream
unreadable: the session queues a generic_nack, moves to CLOSED and reports a fatal
`InvalidPdu`; the caller should flush `data_to_send()` and close the connection.

The session numbers requests (1..0x7FFFFFFF, wrapping, §5.1.4 "sequence_number ... range
0x00000001 to 0x7FFFFFFF"), remembers the ones awaiting a response (the *window*), and
reports those older than a timeout at a time the caller passes in.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from smppkit.protocol.codec import DEFAULT_MAX_COMMAND_LENGTH, Framer, decode, encode
from smppkit.protocol.constants import RESPONSE_BIT, CommandId, CommandStatus
from smppkit.protocol.errors import LocalProtocolError, RemoteProtocolError
from smppkit.protocol.pdus import (
    PDU_CLASSES,
    RESPONSE_OF,
    EnquireLinkResp,
    GenericNack,
    Pdu,
    UnbindResp,
)

__all__ = [
    "ALLOWED",
    "CONNECTION_CLOSED",
    "NEED_DATA",
    "InvalidPdu",
    "Outstanding",
    "Rejected",
    "Role",
    "Session",
    "State",
    "answers",
]

_C = CommandId
_S = CommandStatus
MAX_SEQUENCE = 0x7FFFFFFF


def answers(request_id: int, response_id: int) -> bool:
    """True if a response with command_id `response_id` answers a request with `request_id`
    that carries the same sequence_number: the request's command_id with bit 31 set, or
    generic_nack, which answers any request.

    "The associated SMPP response PDU must preserve this field [sequence_number]" -- SMPP
    v3.4 §3.2; a response's command_id is the request's with bit 31 set -- §5.1.2.1;
    generic_nack -- §4.3. A response of another type with the same sequence_number answers
    nothing: the request stays open until it is answered or times out.
    """
    return response_id == _C.generic_nack or response_id == request_id | RESPONSE_BIT


class Role(enum.Enum):
    ESME = "ESME"
    SMSC = "SMSC"

    # members are singletons: hash by identity (Enum's own __hash__ is Python code, and
    # the tables below are looked up for every PDU)
    __hash__ = object.__hash__

    @property
    def peer(self) -> Role:
        return Role.SMSC if self is Role.ESME else Role.ESME


class State(enum.Enum):
    """Session states -- SMPP v3.4 §2.3 (UNBOUND is folded into CLOSED)."""

    OPEN = "OPEN"
    OUTBOUND = "OUTBOUND"
    BOUND_TX = "BOUND_TX"
    BOUND_RX = "BOUND_RX"
    BOUND_TRX = "BOUND_TRX"
    CLOSED = "CLOSED"

    __hash__ = object.__hash__  # as Role's


class _Sentinel:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


#: `next_event()` returns this when it needs more bytes.
NEED_DATA = _Sentinel("NEED_DATA")
#: `next_event()` returns this once the peer has closed and every PDU has been read.
CONNECTION_CLOSED = _Sentinel("CONNECTION_CLOSED")


@dataclass(frozen=True)
class InvalidPdu:
    """The peer sent bytes that are not a valid PDU; the session already answered.

    `fatal` is True when the stream can no longer be framed (the session is CLOSED).
    """

    error: RemoteProtocolError
    data: bytes
    fatal: bool = False


@dataclass(frozen=True)
class Rejected:
    """The peer sent a valid PDU not allowed now; the session answered with `command_status`."""

    pdu: Pdu
    command_status: int
    reason: str


class Outstanding(NamedTuple):
    """A request we sent and still await a response to."""

    pdu: Pdu
    sent_at: float | None


# --- Rule 1: the tables -------------------------------------------------------------------

_TX_REQUESTS = frozenset(
    {_C.submit_sm, _C.submit_multi, _C.data_sm, _C.query_sm, _C.cancel_sm, _C.replace_sm}
)
_RX_REQUESTS = frozenset({_C.deliver_sm, _C.data_sm, _C.alert_notification})
_ALWAYS = frozenset({_C.enquire_link, _C.unbind})
_BINDS = frozenset({_C.bind_transmitter, _C.bind_receiver, _C.bind_transceiver})
#: Requests with no response PDU -- §4.1.7 (outbind), §4.12 (alert_notification).
_NO_RESPONSE = frozenset({_C.outbind, _C.alert_notification})

#: ALLOWED[state][sender] = the request command_ids `sender` may send in `state`.
#: Responses are allowed whenever they answer an outstanding request; generic_nack always.
#: Sources: SMPP v3.4 §2.3 (session states), §4.x "Direction" of each PDU.
ALLOWED: dict[State, dict[Role, frozenset[CommandId]]] = {
    # enquire_link in OPEN is not in v3.4's table but is answered by most SMSCs (v5.0 allows
    # it); accepting it costs nothing.
    State.OPEN: {Role.ESME: _BINDS | {_C.enquire_link}, Role.SMSC: frozenset({_C.outbind, _C.enquire_link})},
    # "the ESME may respond to an outbind by issuing a bind_receiver" -- §4.1.7
    State.OUTBOUND: {Role.ESME: _BINDS | {_C.enquire_link}, Role.SMSC: frozenset({_C.enquire_link})},
    State.BOUND_TX: {Role.ESME: _TX_REQUESTS | _ALWAYS, Role.SMSC: _ALWAYS},
    State.BOUND_RX: {Role.ESME: _ALWAYS, Role.SMSC: _RX_REQUESTS | _ALWAYS},
    State.BOUND_TRX: {Role.ESME: _TX_REQUESTS | _ALWAYS, Role.SMSC: _RX_REQUESTS | _ALWAYS},
    State.CLOSED: {Role.ESME: frozenset(), Role.SMSC: frozenset()},
}

#: A successful bind_*_resp moves both sides to this state -- SMPP v3.4 §2.3.
BIND_STATES: dict[CommandId, State] = {
    _C.bind_transmitter_resp: State.BOUND_TX,
    _C.bind_receiver_resp: State.BOUND_RX,
    _C.bind_transceiver_resp: State.BOUND_TRX,
}

_BOUND = frozenset({State.BOUND_TX, State.BOUND_RX, State.BOUND_TRX})

#: ALLOWED by role, then state: one lookup per PDU.
_MAY: dict[Role, dict[State, frozenset[CommandId]]] = {
    role: {state: ALLOWED[state][role] for state in State} for role in Role
}
# command_ids as plain ints for the per-PDU tests (an enum member's lookup costs more)
_OUTBIND, _ENQUIRE_LINK, _UNBIND = int(_C.outbind), int(_C.enquire_link), int(_C.unbind)
_GENERIC_NACK, _UNBIND_RESP = int(_C.generic_nack), int(_C.unbind_resp)
#: Responses that may change the state.
_STATE_CHANGING = frozenset(BIND_STATES) | {_UNBIND_RESP}
#: Requests that need more than being remembered as owed.
_SPECIAL = frozenset({_OUTBIND, _ENQUIRE_LINK, _UNBIND} | _NO_RESPONSE | _BINDS)

Observer = Callable[[str, Pdu, bytes], Any]
_new_tuple = tuple.__new__  # Outstanding(pdu, now) without the NamedTuple's Python-level __new__


class Session:
    """One SMPP connection, seen from one side.

    Args:
        role: which side we are.
        max_command_length: refuse larger PDUs before buffering them.
        observer: called as ``observer(direction, pdu, data)`` for every PDU read ("in")
            or queued ("out"), including automatic replies; use it for tracing.

    Attributes:
        state: the current `State`.
        outstanding: {sequence_number: Outstanding} for our requests awaiting a response.
        bound_system_id: the system_id of the successful bind, once bound.
    """

    def __init__(
        self,
        role: Role = Role.ESME,
        *,
        max_command_length: int = DEFAULT_MAX_COMMAND_LENGTH,
        observer: Observer | None = None,
    ) -> None:
        self.role = role
        self.state = State.OPEN
        self._peer_may = _MAY[role.peer]
        self._own_may = _MAY[role]
        self.outstanding: dict[int, Outstanding] = {}
        self.bound_system_id = ""
        self.unbinding = False
        #: Set False to stop answering enquire_link (to rehearse a hung peer).
        self.answer_enquire_link = True
        self._framer = Framer(max_command_length)
        self._out = bytearray()
        self._eof = False
        self._next_seq = 1
        self._observer = observer
        # requests received from the peer and not yet answered: seq -> command_id; a peer
        # that reuses an unanswered sequence_number queues the later ones in _owed_again.
        self._owed: dict[int, int] = {}
        self._owed_again: dict[int, list[int]] = {}
        self._pending_bind: dict[int, str] = {}  # seq -> system_id of a bind being answered

    # -- receiving ---------------------------------------------------------------------------

    def receive_data(self, data: bytes) -> None:
        """Feed bytes read from the wire; ``b""`` means the peer closed the connection."""
        if data:
            self._framer.feed(data)
        else:
            self._eof = True

    @property
    def buffered(self) -> int:
        """Octets received but not yet read as a PDU (the start of an unfinished one)."""
        return self._framer.buffered

    def next_event(self) -> Any:
        """The next event: a `Pdu`, `InvalidPdu`, `Rejected`, `NEED_DATA` or `CONNECTION_CLOSED`."""
        if self._framer.broken is not None:
            return CONNECTION_CLOSED
        try:
            frame = self._framer.next_frame()
        except RemoteProtocolError as exc:
            self._queue(GenericNack(command_status=exc.command_status, sequence_number=exc.sequence_number or 0))
            self.state = State.CLOSED
            return InvalidPdu(exc, b"", fatal=True)
        if frame is None:
            if self._eof:
                self.state = State.CLOSED
                return CONNECTION_CLOSED
            return NEED_DATA
        try:
            pdu = decode(frame)
        except RemoteProtocolError as exc:
            self._answer_invalid(exc)
            return InvalidPdu(exc, frame)
        if self._observer is not None:
            self._observer("in", pdu, frame)
        return self._process_incoming(pdu)

    def _answer_invalid(self, exc: RemoteProtocolError) -> None:
        seq = exc.sequence_number or 0
        cid = exc.command_id
        cls = PDU_CLASSES.get(cid) if cid is not None else None
        resp_cls = RESPONSE_OF.get(cls) if cls is not None else None
        if resp_cls is not None and exc.command_status not in (_S.ESME_RINVCMDLEN, _S.ESME_RINVCMDID):
            self._queue(resp_cls(command_status=exc.command_status, sequence_number=seq))
        else:
            self._queue(GenericNack(command_status=exc.command_status, sequence_number=seq))

    def _process_incoming(self, pdu: Pdu) -> Any:
        cid = pdu.command_id
        if cid & RESPONSE_BIT:
            return self._incoming_response(pdu)
        state = self.state
        if state is State.CLOSED:
            return self._refuse(pdu, _S.ESME_RINVBNDSTS, "the session is closed (unbound)")
        if cid not in self._peer_may[state]:
            status, reason = self._why_not(cid, self.role.peer)
            return self._refuse(pdu, status, reason)
        if cid in _SPECIAL:
            if cid == _OUTBIND:
                self.state = State.OUTBOUND
            if cid in _NO_RESPONSE:
                return pdu
            if cid == _ENQUIRE_LINK:
                if self.answer_enquire_link:
                    self._queue(EnquireLinkResp(sequence_number=pdu.sequence_number))
                return pdu
            if cid == _UNBIND:
                self._queue(UnbindResp(sequence_number=pdu.sequence_number))
                self.state = State.CLOSED
                return pdu
            if cid in _BINDS:
                self._pending_bind[pdu.sequence_number] = getattr(pdu, "system_id", "")
        seq = pdu.sequence_number
        if seq in self._owed:  # the peer reused a sequence number still unanswered
            self._owed_again.setdefault(seq, []).append(cid)
        else:
            self._owed[seq] = cid
        return pdu

    def _refuse(self, pdu: Pdu, status: int, reason: str) -> Rejected:
        """Answer a request that may not be sent now: its *_resp, or generic_nack for a
        command that has no response (outbind, alert_notification) -- §2.3, §4.3."""
        resp_cls = RESPONSE_OF.get(type(pdu), GenericNack)
        self._queue(resp_cls(command_status=status, sequence_number=pdu.sequence_number))
        return Rejected(pdu, status, reason)

    def _incoming_response(self, pdu: Pdu) -> Any:
        cid = pdu.command_id
        seq = pdu.sequence_number
        outstanding = self.outstanding
        request = outstanding.get(seq)
        if request is None or not answers(request.pdu.command_id, cid):
            return pdu  # answers nothing we sent: no state change, our request stays open
        del outstanding[seq]
        if cid in _STATE_CHANGING:
            if cid in BIND_STATES and pdu.command_status == 0:
                self.state = BIND_STATES[cid]
                self.bound_system_id = getattr(request.pdu, "system_id", "")
            elif cid == _UNBIND_RESP:
                self.state = State.CLOSED
        return pdu

    def _why_not(self, cid: CommandId, sender: Role) -> tuple[int, str]:
        if cid in _BINDS and self.state in _BOUND:
            return _S.ESME_RALYBND, f"{cid.name} while already {self.state.name}"
        allowed = sorted(c.name for c in ALLOWED[self.state][sender])
        return (
            _S.ESME_RINVBNDSTS,
            f"{sender.value} may not send {cid.name} in state {self.state.name} "
            f"(allowed: {', '.join(allowed) or 'nothing'})",
        )

    # -- sending -----------------------------------------------------------------------------

    def send(self, pdu: Pdu, *, now: float | None = None, force: bool = False) -> Pdu:
        """Queue `pdu` for sending and return it (with its sequence_number assigned).

        Args:
            pdu: a request (sequence_number 0 means "assign one") or a response to a request
                the peer sent (same sequence_number).
            now: the caller's clock, stored to report timeouts later (`timed_out`).
            force: skip the state checks (to rehearse the errors a broken peer causes).

        Raises:
            LocalProtocolError: the PDU may not be sent in this state (command_status says
                which error the peer would answer with), or a response answers nothing.
        """
        cid = pdu.command_id
        if cid & RESPONSE_BIT:
            return self._send_response(pdu, force)
        if not force and cid not in self._own_may[self.state]:
            status, reason = self._why_not(cid, self.role)
            raise LocalProtocolError(reason, status, command_id=cid)
        if pdu.sequence_number == 0:
            pdu = pdu.with_sequence(self.next_sequence())
        if cid not in _NO_RESPONSE:  # nothing will answer outbind or alert_notification
            self.outstanding[pdu.sequence_number] = _new_tuple(Outstanding, (pdu, now))
        if cid == _UNBIND:
            self.unbinding = True
        self._queue(pdu)
        return pdu

    def _send_response(self, pdu: Pdu, force: bool) -> Pdu:
        seq = pdu.sequence_number
        cid = pdu.command_id
        request = self._owed.get(seq)
        if cid != _GENERIC_NACK and not force and (request is None or not answers(request, cid)):
            raise LocalProtocolError(
                f"{cid.name} seq={seq} answers no request the peer sent", command_id=cid
            )
        if request is not None:
            if seq in self._owed_again:
                self._forget_owed(seq)
            else:
                del self._owed[seq]
            if request in _BINDS:
                system_id = self._pending_bind.pop(seq, None)
                if system_id is not None and pdu.command_status == 0 and cid in BIND_STATES:
                    self.state = BIND_STATES[cid]
                    self.bound_system_id = system_id
        self._queue(pdu)
        return pdu

    def _forget_owed(self, seq: int) -> None:
        more = self._owed_again.get(seq)
        if more:
            self._owed[seq] = more.pop(0)
            if not more:
                del self._owed_again[seq]
        else:
            del self._owed[seq]

    def next_sequence(self) -> int:
        """Take the sequence_number for the next request, to build it with that number at
        once (`send` then keeps it) instead of having `send` copy a PDU numbered 0."""
        seq = self._next_seq
        self._next_seq = 1 if seq >= MAX_SEQUENCE else seq + 1
        if seq not in self.outstanding:
            return seq
        for _ in range(len(self.outstanding)):
            seq = self._next_seq
            self._next_seq = 1 if seq >= MAX_SEQUENCE else seq + 1
            if seq not in self.outstanding:
                return seq
        raise LocalProtocolError("no free sequence_number")  # pragma: no cover

    def _queue(self, pdu: Pdu) -> None:
        data = encode(pdu)
        self._out += data
        if self._observer is not None:
            self._observer("out", pdu, data)

    @property
    def unsent(self) -> int:
        """Octets queued by `send` (and automatic replies) not yet taken by `data_to_send`."""
        return len(self._out)

    def data_to_send(self) -> bytes:
        """Every byte queued so far (our PDUs and automatic replies); empties the buffer."""
        data = bytes(self._out)
        self._out.clear()
        return data

    # -- the window --------------------------------------------------------------------------

    @property
    def window(self) -> int:
        """How many of our requests await a response."""
        return len(self.outstanding)

    def timed_out(self, now: float, timeout: float) -> list[Pdu]:
        """Forget and return our requests sent at or before ``now - timeout``."""
        limit = now - timeout
        expired = [
            seq for seq, o in self.outstanding.items() if o.sent_at is not None and o.sent_at <= limit
        ]
        return [self.outstanding.pop(seq).pdu for seq in expired]

    def forget(self, sequence_number: int) -> Outstanding | None:
        """Stop awaiting the response to our request `sequence_number` and return it (None if
        none is awaited), e.g. when it timed out. (Outbind and alert_notification, which have
        no response, are never awaited.)"""
        return self.outstanding.pop(sequence_number, None)

    @property
    def owed(self) -> dict[int, int]:
        """Requests from the peer we have not answered yet: {sequence_number: command_id}."""
        return dict(self._owed)

    @property
    def is_bound(self) -> bool:
        return self.state in _BOUND

    def close(self) -> None:
        """Mark the session closed (the caller closed the socket) and drop its buffers:
        nothing more is read or sent, and whoever still holds the session (a timer) should
        not hold up to a PDU's worth of octets with it."""
        self.state = State.CLOSED
        self._eof = True
        if self._framer.buffered:
            self._framer = Framer(self._framer.max_command_length)
        self._out = bytearray()
