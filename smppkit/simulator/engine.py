"""The SMSC's rules as a sans-IO state machine: events in, actions out. No sockets, no clock.

Theory of operation
-------------------
Everything the simulated provider decides lives here, once: who may bind, what a submit
costs, which id a message gets, how it ends, when its receipt goes out and to which
connection, how often it is sent again, what each fault does. The two drivers only move
bytes and time:

* `smppkit.simulator.server` runs it on asyncio sockets and the wall clock;
* `smppkit.simulator.virtual` runs it on a heap of timers with simulated ESMEs, so a
  minute of traffic takes milliseconds (that is how `data/logs/` is made).

A driver tells the engine what happened, always with the time on the simulator's clock
(seconds since the Unix epoch, possibly simulated):

* `connection_opened(conn, instance, peer, now)` / `connection_closed(conn, now)`;
* `data_received(conn, data, now)` (bytes from the wire; ``b""`` is the peer's EOF); it
  handles at most `max_pdus_per_turn` PDUs and returns True when more wait: the driver
  stops reading `conn` and calls `continue_input(conn, now)` on a later loop turn (after
  the other connections had theirs) until that returns False;
* `congested(conn, flag, now)` when the connection's unsent output passes the driver's
  high-water mark (True) and when it has drained (False); the driver stops reading a
  congested connection meanwhile;
* `advance(now)` when `next_deadline()` has passed (the engine keeps its own timers);
* controls: `start(now)`, `stop_instance`, `start_instance`, `inject_mo`.

and then carries out `actions()`: `Send` bytes on a connection, `Close` one, `Trace` an
event, `Connect` out to an ESME (outbind), `Listen` on or off for an instance (outages).
Each connection is a sans-IO `Session` in the SMSC role; the engine writes with
`Session.send` and hands out `data_to_send()` once per input, so writes are coalesced.

Where a rule comes from, the comment cites SMPP v3.4 (`§4.4.1`) or the provider's facts
(`smpp-facts.md §1.2`). Randomness comes from one `random.Random(seed)` drawn in submit
order, so the same seed and the same traffic give the same ids, outcomes and receipts.

The receipt store: a receipt waits in its cluster's queue until a receiver or
transceiver bind of the same account is up on an instance of the cluster. It leaves the
store only on a final deliver_sm_resp (ESME_ROK, or a status not on the provider's retry
list) or when its validity ends; a deliver_sm answered with a status on the retry list
(`DELIVER_SM_RESP_RETRY`, smpp-facts.md §1.9) or not answered within `deliver_timeout`
is sent again with back-off, and every resend is traced. A receiver that comes back gets
every pending receipt in the order they were made. When `max_stored_receipts` are held,
new submits are refused with ESME_RMSGQFUL instead of receipts being dropped.

Back-pressure: a congested connection is sent no deliver_sm; its account's receipts stay
in the queue, in order (another receiving bind of the account gets them meanwhile), and
go out when it drains. One connection is given at most `write_high_water` octets of
deliver_sm per turn, the rest a moment later, so a receiver that stops reading holds at
most about twice that in the driver's buffer. Time a connection spends congested does not
count against its peer: neither its deliver_sm (`deliver_timeout`) nor an unfinished PDU
it was sending (`pdu_timeout`), since the driver was not reading it.

Timers of a connection hold its id, not the connection, and are dropped when it closes.
"""

from __future__ import annotations

import calendar
import collections
import heapq
import itertools
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from smppkit.protocol.constants import CommandId, CommandStatus, MessageState, TlvTag
from smppkit.protocol.errors import LocalProtocolError
from smppkit.protocol.pdus import (
    AlertNotification,
    BindReceiverResp,
    BindTransceiverResp,
    BindTransmitterResp,
    CancelSmResp,
    DataSmResp,
    DeliverSm,
    EnquireLink,
    GenericNack,
    Outbind,
    Pdu,
    QuerySmResp,
    ReplaceSmResp,
    SubmitMultiResp,
    SubmitSmResp,
    Unbind,
    UnsuccessSme,
)
from smppkit.protocol.session import (
    CONNECTION_CLOSED,
    NEED_DATA,
    InvalidPdu,
    Rejected,
    Role,
    Session,
    State,
)
from smppkit.protocol.wire import Tlv
from smppkit.simulator.config import (
    PROFILES,
    Account,
    InstanceSpec,
    Outcome,
    SimConfig,
    check_limits,
    draw_outcome,
)
from smppkit.simulator.guard import BindGuard, address_of
from smppkit.simulator.scenarios import Fault, Scenario, load_scenario
from smppkit.sms.meanings import DELIVER_SM_RESP_RETRY
from smppkit.sms.receipts import Receipt, format_receipt
from smppkit.sms.text import to_pdus
from smppkit.trace import TRACE_FIELDS, concat_info, pdu_event

__all__ = [
    "ERR_SPLIT_PARTS",
    "ERR_VALIDITY_ENDED",
    "Action",
    "Close",
    "Connect",
    "Engine",
    "Listen",
    "Send",
    "Trace",
    "TokenBucket",
    "mo_pdus",
    "parse_smpp_time",
    "stamp",
]

_C = CommandId
_S = CommandStatus
_RECEIPTED_MESSAGE_ID = TlvTag.receipted_message_id
# command_ids as plain ints for the per-PDU tests (an enum member's lookup costs more)
_SUBMIT_SM, _GENERIC_NACK = int(_C.submit_sm), int(_C.generic_nack)
_ANSWERS = frozenset({int(_C.deliver_sm_resp), int(_C.data_sm_resp), _GENERIC_NACK})

#: err code of a concatenated message whose parts came through different instances, or
#: never all arrived: the provider's "Invalid/Illegal Message" (smpp-facts.md §1.8).
ERR_SPLIT_PARTS = 10
#: err code of a message whose validity period ended before delivery ("Expired", §1.8).
ERR_VALIDITY_ENDED = 0

_BIND_KINDS: dict[int, tuple[str, Any]] = {
    _C.bind_transmitter: ("transmitter", BindTransmitterResp),
    _C.bind_receiver: ("receiver", BindReceiverResp),
    _C.bind_transceiver: ("transceiver", BindTransceiverResp),
}
_RECEIVING = ("receiver", "transceiver")
_FINAL_STATES: dict[str, MessageState] = {
    "DELIVRD": MessageState.DELIVERED,
    "EXPIRED": MessageState.EXPIRED,
    "DELETED": MessageState.DELETED,
    "UNDELIV": MessageState.UNDELIVERABLE,
    "ACCEPTD": MessageState.ACCEPTED,
    "UNKNOWN": MessageState.UNKNOWN,
    "REJECTD": MessageState.REJECTED,
    "ENROUTE": MessageState.ENROUTE,
}
#: The longest back-off between two attempts of one receipt.
MAX_RETRY_DELAY = 60.0
#: Seconds between the housekeeping sweeps (expired receipts, incomplete messages).
SWEEP_INTERVAL = 0.5
#: Seconds until a receiver given `write_high_water` octets in one turn is given more.
NEXT_TURN = 0.001
#: Timers of closed connections tolerated before the timer heap is rebuilt without them
#: (and only once they are half of it, so rebuilding costs O(1) per timer).
STALE_TIMERS = 64
#: Finished messages a cluster remembers for query_sm, the oldest forgotten first (a
#: `Final` each, about 185 bytes: benchmarks/receipt_store.py).
FINISHED_KEPT = 100_000
#: Stands for the id in a receipt text made once per (stat, err, dates) by format_receipt.
_ID_MARK = "\x00"


# --- actions: what the engine asks its driver to do ---------------------------------------


@dataclass(frozen=True, slots=True)
class Send:
    """Write `data` on connection `conn`."""

    conn: int
    data: bytes


@dataclass(frozen=True, slots=True)
class Close:
    """Close connection `conn` after writing what was sent; `abort`: reset it at once."""

    conn: int
    abort: bool = False


@dataclass(frozen=True, slots=True)
class Trace:
    """Record one trace event (a dict in the `smppkit.trace` schema)."""

    event: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Connect:
    """Open a TCP connection to `host:port` for `instance`, then report it as `conn`."""

    conn: int
    instance: str
    host: str
    port: int


@dataclass(frozen=True, slots=True)
class Listen:
    """Start (`up`) or stop accepting connections on `instance` (an outage)."""

    instance: str
    up: bool


Action = Send | Close | Trace | Connect | Listen


# --- time ---------------------------------------------------------------------------------

_STAMPS: dict[int, str] = {}


def stamp(t: float) -> str:
    """YYMMDDhhmm, the receipt date form -- SMPP v3.4 Appendix B (cached per minute)."""
    minute = int(t // 60)
    text = _STAMPS.get(minute)
    if text is None:
        if len(_STAMPS) > 1024:
            _STAMPS.clear()
        y, mo, d, h, mi = _utc(minute * 60)[:5]
        text = _STAMPS[minute] = f"{y % 100:02d}{mo:02d}{d:02d}{h:02d}{mi:02d}"
    return text


def _utc(t: float) -> tuple[int, int, int, int, int, int]:
    days, rest = divmod(int(t), 86400)
    # days since 1970-01-01 to a civil date (H. Hinnant's algorithm, proleptic Gregorian)
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    year = yoe + era * 400 + (month <= 2)
    return year, month, day, rest // 3600, rest // 60 % 60, rest % 60


def parse_smpp_time(value: str, now: float) -> float | None:
    """An absolute or relative SMPP time as seconds since the epoch; None when empty.

    "YYMMDDhhmmsstnnp": tenths `t`, `nn` quarter hours ahead (`p` '+') or behind ('-')
    of UTC; `p` 'R' makes it relative to now (YY years, MM months, DD days...) -- SMPP
    v3.4 §7.1.1. A relative month counts 30 days and a year 365.

    Raises:
        ValueError: not in that form.
    """
    if not value:
        return None
    if len(value) != 16 or not value[:15].isascii() or not value[:15].isdigit():
        raise ValueError(f"{value!r} is not an SMPP time (YYMMDDhhmmsstnnp)")
    yy, mo, dd, hh, mi, ss = (int(value[i:i + 2]) for i in range(0, 12, 2))
    tenths, quarters, p = int(value[12]), int(value[13:15]), value[15]
    if p == "R":
        return now + ((yy * 365 + mo * 30 + dd) * 86400 + hh * 3600 + mi * 60 + ss)
    if p not in "+-" or not (1 <= mo <= 12 and 1 <= dd <= 31 and hh < 24 and mi < 60 and ss < 60):
        raise ValueError(f"{value!r} is not an SMPP time (YYMMDDhhmmsstnnp)")
    local = calendar.timegm((2000 + yy, mo, dd, hh, mi, ss, 0, 0, 0)) + tenths / 10
    offset = quarters * 900
    return local - offset if p == "+" else local + offset


# --- the store ----------------------------------------------------------------------------


class TokenBucket:
    """`rate` tokens per second, bursts up to `rate` (one second's worth), on the caller's clock."""

    __slots__ = ("rate", "tokens", "stamp")

    def __init__(self, rate: float, now: float) -> None:
        self.rate = rate
        self.tokens = rate
        self.stamp = now

    def take(self, now: float) -> bool:
        tokens = self.tokens + (now - self.stamp) * self.rate
        self.tokens = tokens if tokens < self.rate else self.rate
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


@dataclass(eq=False, slots=True)
class Message:
    """One submitted message (each part of a concatenated one, each destination of a
    submit_multi is one Message; the destinations of one submit_multi share its id)."""

    id: int
    account: str
    instance: str
    source_addr: str
    destination_addr: str
    registered_delivery: int
    submitted_at: float
    short_message: bytes
    outcome: Outcome
    expires_at: float
    starts_at: float
    part: tuple[int, int, int] | None = None
    state: str = "ENROUTE"
    done_at: float | None = None
    err: int = 0
    scheduled: bool = False
    siblings: tuple[Message, ...] = ()
    wants_alert: bool = False


@dataclass(eq=False, slots=True)
class Job:
    """A deliver_sm (receipt or MO) held in the store until it is delivered or expires.

    An MO job holds its `pdu`; a receipt holds its `receipt` fields (source_addr,
    destination_addr, esm_class, short_message, tlvs) and its PDU is built as it is sent,
    with the sequence_number the session gives it.
    """

    account: str
    pdu: Pdu | None
    expires_at: float
    message_id: int | None = None
    attempts: int = 0
    note: str | None = None
    retry: bool = True  # False: a fault's extra copy, sent once and never retried
    done: bool = False
    order: int = 0  # when it was made: a queue is kept in this order
    receipt: tuple[str, str, int, bytes, tuple[Tlv, ...]] | None = None
    receipt_id: str = ""  # the id the receipt carries, for the trace's notes


class Final(NamedTuple):
    """What is kept of a finished message for query_sm (§4.8): little, as up to
    `FINISHED_KEPT` of them are held per cluster. Stored as a plain tuple of these fields
    (the garbage collector stops tracking a tuple of atoms; it would scan each of 100,000
    NamedTuples), read back as a Final."""

    account: str
    state: str
    err: int
    done_at: float


@dataclass(eq=False)
class Cluster:
    """Instances sharing one message store and one receipt queue."""

    name: str
    instances: list[Instance] = field(default_factory=list)
    messages: dict[int, Message] = field(default_factory=dict)
    finished: collections.OrderedDict[int, tuple[str, str, int, float]] = field(
        default_factory=collections.OrderedDict)
    queue: dict[str, collections.deque[Job]] = field(default_factory=dict)
    groups: dict[tuple[Any, ...], dict[str, Any]] = field(default_factory=dict)
    rr: itertools.count[int] = field(default_factory=itertools.count)
    pumping: set[str] = field(default_factory=set)

    def receivers(self, account: str) -> list[Conn]:
        return [c for inst in self.instances for c in inst.conns.values()
                if c.account == account and c.receiving()]


@dataclass(eq=False)
class Instance:
    spec: InstanceSpec
    cluster: Cluster
    up: bool = True
    conns: dict[int, Conn] = field(default_factory=dict)
    name: str = field(init=False)  # the spec's, read for every message

    def __post_init__(self) -> None:
        self.name = self.spec.name


class Conn:
    """One ESME connection to one instance, as the engine sees it."""

    __slots__ = (
        "id", "instance", "ident", "peer", "session", "account", "limits", "bind", "closing",
        "last_in", "pdus_in", "submits", "inflight", "deadline_armed", "enquire_seq", "outbound",
        "opened_at", "octets_in", "partial_at", "partial_deadline", "partial_timer", "backlog",
        "congested", "congested_at", "timers",
    )

    def __init__(self, conn_id: int, instance: Instance, peer: str, session: Session,
                 now: float, outbound: bool) -> None:
        self.id = conn_id
        self.instance = instance
        self.ident = f"{instance.name}#{conn_id}"
        self.peer = peer
        self.session = session
        self.account = ""
        self.limits: Account | None = None
        self.bind = ""
        self.closing = False
        self.last_in = now
        self.pdus_in = 0
        self.submits = 0
        # seq -> (job, deadline) of each deliver_sm awaiting its resp, in send order: as
        # deliver_timeout is constant that is deadline order, and one timer per connection,
        # armed for the first entry, serves them all (an answered one is simply gone)
        self.inflight: dict[int, tuple[Job, float]] = {}
        self.deadline_armed = False
        self.enquire_seq = 0  # our enquire_link awaiting its resp
        self.outbound = outbound
        self.opened_at = now
        self.octets_in = 0
        # the unfinished PDU (pdu_timeout): where it starts in the stream, when it is due
        self.partial_at = -1
        self.partial_deadline: float | None = None
        self.partial_timer = False
        self.backlog = False  # whole PDUs left for the next turn (max_pdus_per_turn)
        self.congested = False  # the driver's unsent output is over write_high_water
        self.congested_at = 0.0
        self.timers = 0  # timers armed for this connection

    def receiving(self) -> bool:
        return (not self.closing and self.bind in _RECEIVING and self.session.is_bound
                and not self.session.unbinding)


def _outbind_target(config: SimConfig) -> tuple[str, int] | None:
    """(host, port) of `config.outbind`, with its account and instance checked.

    Raises:
        ValueError: not HOST:PORT, an unknown outbind_account or outbind_instance.
    """
    if config.outbind_account is not None and config.account(config.outbind_account) is None:
        raise ValueError(f"outbind_account {config.outbind_account!r} is not one of the accounts")
    names = [spec.name for spec in PROFILES[config.profile]]
    if config.outbind_instance is not None and config.outbind_instance not in names:
        raise ValueError(f"outbind_instance {config.outbind_instance!r} is not an instance of "
                         f"profile {config.profile!r} ({', '.join(names)})")
    if not config.outbind:
        return None
    host, _, port = config.outbind.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"outbind must be HOST:PORT (port 1-65535), got {config.outbind!r}")
    return host.strip("[]"), int(port)


def _id_of(job: Job) -> str:
    """', receipt id:X' for a receipt's job (its id as the receipt carries it), '' for MO:
    note texts keep their first words, which readers (the doctor) match."""
    return f", receipt id:{job.receipt_id}" if job.receipt_id else ""


def mo_pdus(source_addr: str, destination_addr: str, text: str, *, reference: int = 0,
            encoding: str = "auto") -> list[DeliverSm]:
    """An MO message as deliver_sm PDUs (split with an 8-bit-reference UDH when long)."""
    parts = to_pdus(text, source_addr=source_addr, destination_addr=destination_addr,
                    encoding=encoding, reference=reference, registered_delivery=0)
    return [DeliverSm(**{name: getattr(p, name) for name, _ in p.body}, tlvs=p.tlvs) for p in parts]


def _valid_address(addr: str, *, required: bool) -> bool:
    """Addresses are printable ASCII (digits for numbers, letters for sender names) -- the
    SMSC cannot route anything else (§5.2.8/§5.2.9 address_range)."""
    if not addr:
        return not required
    return addr.isascii() and addr.isprintable()


# --- the engine ---------------------------------------------------------------------------


class Engine:
    """The SMSC (one cluster or several) without I/O. See the module docstring.

    Args:
        config: a `SimConfig` (not modified).
        now: the simulator clock's start (seconds since the epoch).
        rng: the random source; by default `random.Random(config.seed)`.
    """

    def __init__(self, config: SimConfig, now: float, rng: random.Random | None = None) -> None:
        if config.profile not in PROFILES:
            raise ValueError(f"unknown profile {config.profile!r}; known: {', '.join(PROFILES)}")
        if config.id_format not in ("nexmo", "hex", "decimal"):
            raise ValueError("id_format must be 'nexmo', 'hex' or 'decimal'")
        check_limits(config)
        self.config = config
        self._outbind_target = _outbind_target(config)
        self.scenario: Scenario = load_scenario(config.scenario)
        self.rng = rng if rng is not None else random.Random(config.seed)
        self.now = now
        self.tracing = bool(config.trace_memory or config.trace_path)
        self.counters: collections.Counter[str] = collections.Counter()
        # Ids: below 2**63 so gateways parsing them as signed 64-bit numbers cope
        # (smpp-facts.md §5); the "B" keeps the hex form from being all digits.
        self._id_base = 0x0B00000000000000 | ((config.seed & 0xFFFF) << 32)
        self._ids = itertools.count(1)
        self._out_conn_ids = itertools.count(1_000_000)
        self._accounts = {a.system_id: a for a in config.accounts}
        self._buckets: dict[str, TokenBucket] = {}
        self._pending: collections.Counter[str] = collections.Counter()  # account -> not final
        self.held_receipts = 0
        self.clusters: dict[str, Cluster] = {}
        self.instances: dict[str, Instance] = {}
        for spec in PROFILES[config.profile]:
            cluster = self.clusters.setdefault(spec.cluster, Cluster(spec.cluster))
            inst = Instance(spec, cluster)
            cluster.instances.append(inst)
            self.instances[spec.name] = inst
        self.conns: dict[int, Conn] = {}
        self._timers: list[tuple[float, int, Callable[..., None], tuple[Any, ...]]] = []
        self._order = itertools.count()
        self._fire_conn = self._conn_timer  # one bound method: how _drop_stale tells them
        self._stale = 0  # timers left by closed connections
        self._job_order = itertools.count()
        self._actions: list[Action] = []
        self._dirty: dict[int, Conn] = {}
        self._faults: dict[tuple[str, str], Fault | None] = {}
        self._tlv_cache: dict[tuple[str, int], tuple[Tlv, ...]] = {}
        self._texts: dict[tuple[str, int, int, int], tuple[bytes, bytes, tuple[Tlv, ...]]] = {}
        self._deliver_timeout = config.deliver_timeout
        self._default_validity = config.default_validity
        self._decimal_resp = config.id_format == "decimal"
        self._outbind_at = -1e18
        interval = config.enquire_link_interval
        self.enquire_interval = (interval if interval is not None else
                                 _PROFILE_ENQUIRE_LINK.get(config.profile)) if config.enquire_link else None
        self._sweeping = False
        self._receipted_id_tlv = "receipted_message_id" in config.receipt_tlvs
        self.bind_guard = BindGuard(config.bind_failure_limit, config.bind_lockout)

    # -- inputs --------------------------------------------------------------------------

    def start(self, now: float) -> None:
        """The simulator starts: arm the scenario's timed faults and the outbind."""
        self.now = now
        for fault in self.scenario.faults:
            if fault.kind == "outage" and fault.instance:
                self._after(fault.after, self._outage, fault)
            elif fault.kind == "mo_traffic":
                self._after(max(fault.delay, 0.01), self._mo_tick, fault, 0)
        if self.config.outbind:
            self._outbind()
        self._arm_sweep()

    def connection_opened(self, conn: int, instance: str, peer: str, now: float,
                          outbound: bool = False) -> None:
        """A TCP connection to `instance` is up (`outbound`: one the engine asked for)."""
        self.now = now
        inst = self.instances[instance]
        session = Session(Role.SMSC, max_command_length=self.config.max_command_length,
                          observer=self._observer(conn) if self.tracing else None)
        c = Conn(conn, inst, peer, session, now, outbound)
        if self._fault("ignore_enquire_link", instance):
            session.answer_enquire_link = False
        inst.conns[conn] = c
        self.conns[conn] = c
        self.counters["connections"] += 1
        if self.config.bind_timeout:
            self._conn_after(c, self.config.bind_timeout, self._bind_deadline)
        if outbound:
            account = self._outbind_account()
            # "The purpose of the outbind operation is to allow the SMSC signal an ESME to
            # originate a bind_receiver request to the SMSC" -- §4.1.7
            pdu = session.send(Outbind(system_id=account.system_id, password=account.password))
            session.forget(pdu.sequence_number)  # outbind has no response (§4.1.7.1)
            self._dirty[conn] = c
        if self.config.inactivity_timeout:
            self._conn_after(c, self.config.inactivity_timeout, self._idle_check)

    def data_received(self, conn: int, data: bytes, now: float) -> bool:
        """Bytes read from connection `conn` (``b""``: the peer closed its side).

        Returns:
            True when PDUs are left for a later turn: stop reading `conn` and call
            `continue_input` until it returns False.
        """
        self.now = now
        c = self.conns.get(conn)
        if c is None:
            return False
        c.session.receive_data(data)
        c.octets_in += len(data)
        return self._input(c)

    def continue_input(self, conn: int, now: float) -> bool:
        """Handle the next `max_pdus_per_turn` PDUs left by `data_received`.

        Returns:
            True while PDUs are still left (call it again on a later turn).
        """
        self.now = now
        c = self.conns.get(conn)
        if c is None or not c.backlog:
            return False
        return self._input(c)

    def _input(self, c: Conn) -> bool:
        c.backlog = False
        try:
            self._drain(c)
        except Exception as exc:  # a bug must cost one connection, never the SMSC
            self.counters["internal_errors"] += 1
            self.note(c, f"internal error, connection closed: {type(exc).__name__}: {exc}")
            self._close(c, abort=True)
        self._dirty[c.id] = c
        if c.backlog:
            if c.closing:
                c.backlog = False
            return c.backlog
        if self.config.pdu_timeout and (c.partial_deadline is not None or c.session.buffered):
            self._watch_partial(c)
        return False

    def congested(self, conn: int, flag: bool, now: float) -> None:
        """The driver's unsent output for `conn` went over its high-water mark (`flag`
        True) or drained (False). While congested the connection is sent no deliver_sm
        (its receipts wait in the store, in order) and is not read; on draining it gets
        what waited, and its timeouts are moved on by the time it spent congested."""
        self.now = now
        c = self.conns.get(conn)
        if c is None or c.congested == flag:
            return
        c.congested = flag
        if flag:
            c.congested_at = now
            self.counters["congestions"] += 1
            self.note(c, "output over write_high_water: the ESME is not reading; its receipts are "
                         "held until it drains")
            return
        waited = now - c.congested_at
        if c.inflight and waited > 0:
            # the deliver_sm sat in our buffer, unread: their deliver_timeout starts again
            c.inflight = {seq: (job, d + waited) for seq, (job, d) in c.inflight.items()}
        if c.partial_deadline is not None and self.config.pdu_timeout:
            c.partial_deadline = now + self.config.pdu_timeout  # it waited on us, not on the peer
        if c.receiving():
            self._pump(c.instance.cluster, c.account)

    def connection_closed(self, conn: int, now: float) -> None:
        """The TCP connection is gone (either side closed it, or it failed to open)."""
        self.now = now
        c = self.conns.pop(conn, None)
        if c is None:
            return
        c.closing = True
        c.session.close()
        c.instance.conns.pop(conn, None)
        self._dirty.pop(conn, None)
        c.deadline_armed = False
        self._stale += c.timers
        c.timers = 0
        if self._stale > STALE_TIMERS and 2 * self._stale > len(self._timers):
            self._drop_stale()
        if c.inflight:
            cluster = c.instance.cluster
            jobs = [job for job, _ in c.inflight.values()]
            c.inflight.clear()
            for job in jobs:
                job.note = "resend: connection lost before deliver_sm_resp"
                self._insert(cluster, job)
            self._pump_soon(cluster, c.account)

    def advance(self, now: float) -> None:
        """Run every timer due at or before `now`."""
        self.now = now
        timers = self._timers
        while timers and timers[0][0] <= now:
            _, _, fn, args = heapq.heappop(timers)
            fn(*args)

    def next_deadline(self) -> float | None:
        """When `advance` must next be called (None: no timer armed)."""
        return self._timers[0][0] if self._timers else None

    def actions(self) -> list[Action]:
        """The actions produced so far (bytes to write first), emptying the list."""
        if self._dirty:
            dirty = self._dirty
            self._dirty = {}
            out: list[Action] = []
            for conn, c in dirty.items():
                data = c.session.data_to_send()
                if data:
                    out.append(Send(conn, data))
            if self._actions:
                # a Close must follow the last bytes of its connection
                out.extend(self._actions)
                self._actions = []
            return out
        actions = self._actions
        self._actions = []
        return actions

    # -- controls ------------------------------------------------------------------------

    def stop_instance(self, name: str, now: float) -> None:
        """An outage: the instance stops listening and drops its connections."""
        self.now = now
        inst = self.instances[name]
        if not inst.up:
            return
        inst.up = False
        self._actions.append(Listen(name, False))
        for c in list(inst.conns.values()):
            # closed (FIN), not reset: a client sees the end of the stream, as when a
            # server process stops
            self._close(c)
            self.connection_closed(c.id, now)
        self.counters["outages"] += 1
        self.note_instance(name, "instance stopped (outage)")

    def start_instance(self, name: str, now: float) -> None:
        """Bring a stopped instance back."""
        self.now = now
        inst = self.instances[name]
        if not inst.up:
            inst.up = True
            self._actions.append(Listen(name, True))
            self.note_instance(name, "instance started")

    def inject_mo(self, account: str, pdus: Sequence[Pdu], instance: str, now: float) -> None:
        """Queue MO deliver_sm PDUs for `account` on `instance`'s cluster."""
        self.now = now
        cluster = self.instances[instance].cluster
        queue = cluster.queue.setdefault(account, collections.deque())
        for pdu in pdus:
            queue.append(Job(account, pdu, now + self.config.default_validity,
                             order=next(self._job_order)))
            self.held_receipts += 1
            self.counters["mo"] += 1
        self._pump(cluster, account)

    def unbind_all(self, now: float) -> None:
        """Send unbind on every bound session (the simulator is shutting down)."""
        self.now = now
        for c in list(self.conns.values()):
            if c.session.is_bound and not c.closing and not c.session.unbinding:
                self._send(c, Unbind())

    def bound_sessions(self) -> int:
        return sum(1 for c in self.conns.values() if c.session.is_bound)

    def snapshot(self) -> dict[str, Any]:
        """Counters plus live gauges (binds up, receipts held and waiting, messages pending,
        connections congested, timers armed)."""
        out: dict[str, Any] = dict(self.counters)
        out["bound_sessions"] = self.bound_sessions()
        out["receipts_waiting"] = sum(len(q) for c in self.clusters.values() for q in c.queue.values())
        out["receipts_held"] = self.held_receipts
        out["messages_pending"] = sum(len(c.messages) for c in self.clusters.values())
        out["congested_connections"] = sum(1 for c in self.conns.values() if c.congested)
        out["timers_armed"] = len(self._timers)
        return out

    # -- timers --------------------------------------------------------------------------

    def _at(self, when: float, fn: Callable[..., None], *args: Any) -> None:
        heapq.heappush(self._timers, (when, next(self._order), fn, args))

    def _after(self, delay: float, fn: Callable[..., None], *args: Any) -> None:
        heapq.heappush(self._timers, (self.now + max(0.0, delay), next(self._order), fn, args))

    def _conn_at(self, c: Conn, when: float, fn: Callable[..., None], *args: Any) -> None:
        """Run `fn(c, *args)` at `when` if `c` is still open; the timer holds `c.id` only,
        so a closed connection is not kept alive by its timers."""
        c.timers += 1
        heapq.heappush(self._timers, (when, next(self._order), self._fire_conn, (c.id, fn, args)))

    def _conn_after(self, c: Conn, delay: float, fn: Callable[..., None], *args: Any) -> None:
        self._conn_at(c, self.now + max(0.0, delay), fn, *args)

    def _conn_timer(self, conn: int, fn: Callable[..., None], args: tuple[Any, ...]) -> None:
        c = self.conns.get(conn)
        if c is None:
            self._stale -= 1
            return
        c.timers -= 1
        fn(c, *args)

    def _drop_stale(self) -> None:
        """Rebuild the timer heap without the timers of closed connections (in place:
        `advance` may be walking it)."""
        fire, conns = self._fire_conn, self.conns
        self._timers[:] = [t for t in self._timers if t[2] is not fire or t[3][0] in conns]
        heapq.heapify(self._timers)
        self._stale = 0

    def _arm_sweep(self) -> None:
        if not self._sweeping:
            self._sweeping = True
            self._after(SWEEP_INTERVAL, self._sweep)

    def _sweep(self) -> None:
        """Expire receipts whose validity ended and concatenated messages never completed.
        Re-arms itself only while there is something to watch, so an idle engine is idle."""
        self._sweeping = False
        watching = False
        for cluster in self.clusters.values():
            self._expire_groups(cluster)
            for account, queue in cluster.queue.items():
                if queue:
                    self._expire_queue(cluster, account, queue)
                    watching = watching or bool(queue)
            watching = watching or bool(cluster.groups)
        if watching:
            self._arm_sweep()

    # -- tracing -------------------------------------------------------------------------

    def _observer(self, conn: int) -> Callable[[str, Pdu, bytes], None]:
        def observe(direction: str, pdu: Pdu, data: bytes) -> None:
            c = self.conns.get(conn)
            if c is not None:
                self.trace(c, direction, pdu, data)

        return observe

    def trace(self, c: Conn, direction: str, pdu: Pdu, data: bytes, note: str | None = None) -> None:
        self._actions.append(Trace(pdu_event(
            pdu, time=round(self.now, 6), direction=direction, system="simulator",
            instance=c.instance.name, session=c.ident, peer=c.peer, system_id=c.account,
            bind=c.bind, raw=data, note=note,
        )))

    def note(self, c: Conn, text: str, message_id: str | None = None) -> None:
        """A trace line with no PDU: a fault, a resend, an expired receipt (`message_id`:
        the id of the message it is about)."""
        if not self.tracing:
            return
        event = dict.fromkeys(TRACE_FIELDS)
        event.update(time=round(self.now, 6), system="simulator", instance=c.instance.name,
                     session=c.ident, peer=c.peer, system_id=c.account, bind=c.bind,
                     direction="", command="", note=text, message_id=message_id)
        self._actions.append(Trace(event))

    def note_instance(self, instance: str, text: str, message_id: str | None = None) -> None:
        if not self.tracing:
            return
        event = dict.fromkeys(TRACE_FIELDS)
        event.update(time=round(self.now, 6), system="simulator", instance=instance, session="",
                     peer="", system_id="", bind="", direction="", command="", note=text,
                     message_id=message_id)
        self._actions.append(Trace(event))

    # -- helpers -------------------------------------------------------------------------

    def _fault(self, kind: str, instance: str) -> Fault | None:
        if not self.scenario.faults:  # the usual case, asked several times per message
            return None
        key = (kind, instance)
        try:
            return self._faults[key]
        except KeyError:
            found = self._faults[key] = self.scenario.get(kind, instance)
            return found

    def resp_id(self, value: int) -> str:
        return str(value) if self.config.id_format == "decimal" else f"{value:016X}"

    def receipt_id(self, value: int, instance: str = "") -> str:
        if self._fault("wrong_id_format", instance):
            return f"{value:x}"
        return f"{value:016X}" if self.config.id_format == "hex" else str(value)

    def parse_id(self, text: str) -> int | None:
        try:
            value = int(text, 10 if self.config.id_format == "decimal" else 16)
        except ValueError:
            return None
        return value if text.isascii() else None

    def _send(self, c: Conn, pdu: Pdu) -> Pdu:
        sent = c.session.send(pdu)
        self._dirty[c.id] = c
        return sent

    def _close(self, c: Conn, abort: bool = False) -> None:
        if not c.closing:
            c.closing = True
            self._dirty[c.id] = c
            self._actions.append(Close(c.id, abort))

    # -- reading -------------------------------------------------------------------------

    def _drain(self, c: Conn) -> None:
        session = c.session
        budget = self.config.max_pdus_per_turn
        next_event = session.next_event
        while not c.closing:
            if budget <= 0:
                c.backlog = True  # the rest on a later turn: others get theirs first
                return
            budget -= 1
            event = next_event()
            if isinstance(event, Pdu):  # the usual case first
                c.pdus_in += 1
                c.last_in = self.now
                self._handle(c, event)
                if not self.scenario.faults:
                    continue
                drop = self._fault("drop_connection", c.instance.name)
                if drop and c.pdus_in >= drop.after:
                    self.note(c, f"fault drop_connection after {c.pdus_in} PDUs")
                    self._dirty[c.id] = c
                    self._close(c, abort=True)
                    return
                continue
            if event is NEED_DATA:
                break
            if event is CONNECTION_CLOSED:
                self._close(c)
                break
            if isinstance(event, InvalidPdu):
                self.counters["malformed"] += 1
                self.note(c, f"malformed PDU answered with {event.error.status_name}: {event.error.args[0]}")
                if event.fatal:
                    self._close(c)
                continue
            if isinstance(event, Rejected):
                self.counters["rejected"] += 1
                self.note(c, f"{event.pdu.command_name} rejected: {event.reason}")
        if session.state is State.CLOSED and not c.closing:
            self._close(c)

    def _handle(self, c: Conn, pdu: Pdu) -> None:
        cid = pdu.command_id
        if cid == _SUBMIT_SM:
            self._submit(c, pdu, SubmitSmResp)
        elif cid in _ANSWERS:
            self._deliver_answered(c, pdu)
        elif cid in _BIND_KINDS:
            self._bind(c, pdu)
        elif cid == _C.data_sm:
            self._submit(c, pdu, DataSmResp)
        elif cid == _C.submit_multi:
            self._submit_multi(c, pdu)
        elif cid == _C.query_sm:
            self._query(c, pdu)
        elif cid == _C.cancel_sm:
            self._cancel(c, pdu)
        elif cid == _C.replace_sm:
            self._replace(c, pdu)
        elif cid == _C.enquire_link_resp:
            if pdu.sequence_number == c.enquire_seq:
                c.enquire_seq = 0
        elif cid == _C.unbind:
            self._close(c)  # the Session queued unbind_resp (§4.2)
        elif cid == _C.unbind_resp:
            self._close(c)
        # enquire_link is answered by the Session itself; other responses need nothing.

    # -- binds: per account, across every instance (smpp-facts.md §1.2) -------------------

    def _bind(self, c: Conn, pdu: Any) -> None:
        kind, resp_cls = _BIND_KINDS[pdu.command_id]
        address = address_of(c.peer)
        locked = self.bind_guard.locked(address, self.now)
        if locked is not None:
            # refused unchecked, so a password guesser learns nothing (BindGuard)
            self.counters["binds_locked_out"] += 1
            self.note(c, f"bind refused: {address} is locked for {locked:.1f} s more after "
                         f"{self.bind_guard.limit} failed binds in a row")
            self._send(c, resp_cls(command_status=_S.ESME_RBINDFAIL, sequence_number=pdu.sequence_number))
            self._close(c)
            return
        account = self._accounts.get(pdu.system_id)
        status = 0
        if account is None:
            status = _S.ESME_RINVSYSID
        elif pdu.password != account.password:
            status = _S.ESME_RINVPASWD
        elif account.allow_ips and address not in account.allow_ips:
            status = _S.ESME_RBINDFAIL
        elif self._binds_of(account.system_id) >= account.max_binds:
            # "Any extra bind is rejected with ESME_RALYBND" -- smpp-facts.md §1.2 (V8): the
            # limit is the account's, whichever instances (SMPP0 included) the binds are on
            status = _S.ESME_RALYBND
        if status or account is None:
            self.counters["bind_failures"] += 1
            self._send(c, resp_cls(command_status=status, sequence_number=pdu.sequence_number))
            if status in (_S.ESME_RINVSYSID, _S.ESME_RINVPASWD) and self.bind_guard.failed(address, self.now):
                self.counters["bind_lockouts"] += 1
                self.note(c, f"{self.bind_guard.limit} failed binds in a row from {address}: its "
                             f"binds are refused for {self.bind_guard.lockout:g} s")
                self._close(c)
            return
        self.bind_guard.succeeded(address)
        c.account = account.system_id
        c.limits = account
        c.bind = kind
        self._send(c, resp_cls.trusted(sequence_number=pdu.sequence_number, system_id=c.instance.name,
                                       tlvs=(Tlv(TlvTag.sc_interface_version, 0x34),)))
        self.counters["binds"] += 1
        if self.enquire_interval:
            self._conn_after(c, self.enquire_interval, self._enquire_check)
        if kind != "transmitter":
            self._pump(c.instance.cluster, c.account)

    def _binds_of(self, system_id: str) -> int:
        return sum(1 for c in self.conns.values()
                   if c.account == system_id and c.session.is_bound and not c.closing)

    # -- a started PDU must be complete within pdu_timeout ----------------------------------

    def _watch_partial(self, c: Conn) -> None:
        """Give the unfinished PDU in `c`'s buffer (if any) its deadline, once per PDU."""
        buffered = c.session.buffered
        if not buffered or c.closing:
            c.partial_deadline = None
            return
        start = c.octets_in - buffered
        if start == c.partial_at and c.partial_deadline is not None:
            return  # more octets of the same PDU: its deadline stands
        c.partial_at = start
        timeout = self.config.pdu_timeout
        assert timeout
        c.partial_deadline = self.now + timeout
        if not c.partial_timer:
            c.partial_timer = True
            self._conn_at(c, c.partial_deadline, self._partial_check)

    def _partial_check(self, c: Conn) -> None:
        c.partial_timer = False
        deadline = c.partial_deadline
        timeout = self.config.pdu_timeout
        if deadline is None or c.closing or not timeout:
            return
        if c.congested:  # not read meanwhile: not the peer's fault
            deadline = c.partial_deadline = max(deadline, self.now + timeout)
        if self.now < deadline:
            c.partial_timer = True
            self._conn_at(c, deadline, self._partial_check)
            return
        self.counters["pdu_timeouts"] += 1
        self.note(c, f"a PDU unfinished after {timeout:g} s ({c.session.buffered} octets of it): "
                     "the SMSC closes the connection")
        self._close(c)

    def _bind_deadline(self, c: Conn) -> None:
        if c.closing or c.session.is_bound:
            return
        self.note(c, f"no bind within {self.config.bind_timeout:g} s: the SMSC closes the connection")
        self.counters["bind_timeouts"] += 1
        self._close(c)

    # -- keeping sessions alive: enquire_link from the SMSC, inactivity -------------------

    def _enquire_check(self, c: Conn) -> None:
        """Send enquire_link on a session idle for the interval; unbind one that does not
        answer within `enquire_link_timeout` (§4.11: either side may send it)."""
        interval = self.enquire_interval
        if c.closing or not c.session.is_bound or c.session.unbinding or not interval:
            return
        idle = self.now - c.last_in
        if idle + 1e-9 < interval:
            self._conn_after(c, interval - idle, self._enquire_check)
            return
        if c.enquire_seq:
            return
        pdu = self._send(c, EnquireLink())
        c.enquire_seq = pdu.sequence_number
        self._conn_after(c, self.config.enquire_link_timeout, self._enquire_deadline, pdu.sequence_number)

    def _enquire_deadline(self, c: Conn, seq: int) -> None:
        if c.closing or c.enquire_seq != seq:
            self._enquire_check(c)  # answered: the next one after the next idle interval
            return
        self.counters["enquire_link_unanswered"] += 1
        c.session.forget(seq)
        self.note(c, f"enquire_link unanswered for {self.config.enquire_link_timeout:g} s: "
                     "the SMSC unbinds")
        self._smsc_unbind(c)

    def _idle_check(self, c: Conn) -> None:
        idle_limit = self.config.inactivity_timeout
        if c.closing or not idle_limit:
            return
        idle = self.now - c.last_in
        if idle + 1e-9 < idle_limit:
            self._conn_after(c, idle_limit - idle, self._idle_check)
            return
        self.note(c, f"idle for {idle_limit:g} s: the SMSC unbinds")
        self.counters["idle_unbinds"] += 1
        if c.session.is_bound and not c.session.unbinding:
            self._smsc_unbind(c)
        elif not c.session.is_bound:
            self._close(c)

    def _smsc_unbind(self, c: Conn) -> None:
        """Send unbind, and close the connection if unbind_resp has not come within 2 s."""
        if c.session.is_bound and not c.session.unbinding:
            self._send(c, Unbind())
        self._conn_after(c, 2.0, self._close)

    # -- submits -------------------------------------------------------------------------

    def _admit(self, c: Conn, account: Account, count: int = 1) -> int:
        """0 if `count` new messages may enter, else the status to refuse them with."""
        if account.throughput:
            bucket = self._buckets.get(account.system_id)
            if bucket is None:
                bucket = self._buckets[account.system_id] = TokenBucket(account.throughput, self.now)
            if not bucket.take(self.now):
                # "Above that, submit_sm is rejected with 0x00000058" -- smpp-facts.md §1.3
                self.counters["throttled"] += 1
                return _S.ESME_RTHROTTLED
        if account.max_pending is not None and self._pending[account.system_id] + count > account.max_pending:
            self.counters["queue_full"] += 1
            return _S.ESME_RMSGQFUL
        if self.held_receipts + count > self.config.max_stored_receipts:
            self.counters["store_full"] += 1
            return _S.ESME_RMSGQFUL
        return 0

    def _times(self, pdu: Any) -> tuple[float, float] | int:
        """(starts_at, expires_at) of a submit, or the status that refuses its times (§7.1.1)."""
        now = self.now
        try:
            start = parse_smpp_time(pdu.schedule_delivery_time, now) if pdu.schedule_delivery_time else None
        except ValueError:
            return _S.ESME_RINVSCHED
        try:
            end = parse_smpp_time(pdu.validity_period, now) if pdu.validity_period else None
        except ValueError:
            return _S.ESME_RINVEXPIRY
        starts = now if start is None or start < now else start
        expires = now + self.config.default_validity if end is None else end
        return starts, expires

    def _submit(self, c: Conn, pdu: Any, resp_cls: Any) -> None:
        account = c.limits
        c.submits += 1
        self.counters["submits"] += 1
        seq = pdu.sequence_number
        if account is None:  # pragma: no cover - the Session admits submits only when bound
            self._send(c, resp_cls(command_status=_S.ESME_RINVBNDSTS, sequence_number=seq))
            return
        inst = c.instance.name
        if self.scenario.faults and self._fault("generic_nack", inst):
            self._send(c, GenericNack(command_status=_S.ESME_RSYSERR, sequence_number=seq))
            return
        destination = pdu.destination_addr
        if not (destination.isascii() and destination.isprintable() and destination):
            self._send(c, resp_cls(command_status=_S.ESME_RINVDSTADR, sequence_number=seq))
            return
        source = pdu.source_addr
        if source and not (source.isascii() and source.isprintable()):  # _valid_address
            self._send(c, resp_cls(command_status=_S.ESME_RINVSRCADR, sequence_number=seq))
            return
        if resp_cls is DataSmResp or not (pdu.schedule_delivery_time or pdu.validity_period):
            times: tuple[float, float] | int = (self.now, self.now + self._default_validity)
        else:
            times = self._times(pdu)
        if isinstance(times, int):
            self._send(c, resp_cls(command_status=times, sequence_number=seq))
            return
        if account.throughput or account.max_pending is not None or (
                self.held_receipts >= self.config.max_stored_receipts):
            status = self._admit(c, account)
            if status:
                self._send(c, resp_cls(command_status=status, sequence_number=seq))
                return
        text = getattr(pdu, "short_message", b"")
        if not text:
            text = pdu.tlv(TlvTag.message_payload, b"")
        msg_id = self._id_base + next(self._ids)  # _next_id
        msg = self._new_message(c, pdu, destination, text, times, msg_id)
        resp = resp_cls.trusted(sequence_number=seq, message_id=str(msg_id) if self._decimal_resp
                                else f"{msg_id:016X}")  # resp_id
        if self.scenario.faults:
            self._respond_with_faults(c, resp, msg)
        else:
            self._send(c, resp)

    def _next_id(self) -> int:
        return self._id_base + next(self._ids)

    def _respond_with_faults(self, c: Conn, resp: Pdu, msg: Message) -> None:
        inst = c.instance.name
        silent = self._fault("no_responses", inst)
        if silent and c.submits > silent.after:
            self.note(c, f"fault no_responses: seq {resp.sequence_number} left unanswered")
            return
        early = self._fault("receipt_before_resp", inst)
        if early and msg.scheduled:
            self._finish(c.instance.cluster, msg)
        delay = self._fault("delay_responses", inst)
        if delay and delay.delay > 0:
            self._conn_after(c, delay.delay, self._late_response, resp)
        else:
            self._send(c, resp)
        unbind = self._fault("smsc_unbind", inst)
        if unbind and c.submits >= max(unbind.after, 1) and not c.session.unbinding:
            self.note(c, f"fault smsc_unbind after {c.submits} submits")
            self._send(c, Unbind())

    def _late_response(self, c: Conn, resp: Pdu) -> None:
        if not c.closing:
            self._send(c, resp)

    def _submit_multi(self, c: Conn, pdu: Any) -> None:
        account = c.limits
        assert account is not None
        self.counters["submits"] += 1
        seq = pdu.sequence_number
        times = self._times(pdu)
        if isinstance(times, int):
            self._send(c, SubmitMultiResp(command_status=times, sequence_number=seq))
            return
        failed: list[UnsuccessSme] = []
        dests: list[str] = []
        for dest in pdu.dest_addresses:
            addr = getattr(dest, "destination_addr", None)
            if addr is None:  # a distribution list: the provider has none (§4.5.1.2)
                failed.append(UnsuccessSme(dest.dl_name[:20], 0, 0, _S.ESME_RINVDLNAME))
            elif not _valid_address(addr, required=True):
                failed.append(UnsuccessSme("", dest.dest_addr_ton, dest.dest_addr_npi,
                                           _S.ESME_RINVDSTADR))
            else:
                dests.append(addr)
        status = self._admit(c, account, max(1, len(dests)))
        if status:
            self._send(c, SubmitMultiResp(command_status=status, sequence_number=seq))
            return
        msg_id = self._next_id() if dests else 0
        # every destination's receipt carries the id the resp gives (§4.5.2)
        msgs = [self._new_message(c, pdu, addr, pdu.short_message, times, msg_id) for addr in dests]
        if msgs:
            msgs[0].siblings = tuple(msgs[1:])
        self._send(c, SubmitMultiResp(
            sequence_number=seq, message_id=self.resp_id(msg_id) if msgs else "",
            unsuccess_smes=tuple(failed),
        ))

    def _new_message(self, c: Conn, pdu: Any, destination: str, text: bytes,
                     times: tuple[float, float], msg_id: int) -> Message:
        cfg = self.config
        outcome = draw_outcome(self.rng, destination, cfg.dlr_delay, cfg.failure_rate)
        starts, expires = times
        msg = Message(
            msg_id, c.account, c.instance.name, pdu.source_addr, destination,
            pdu.registered_delivery, self.now, text, outcome, expires, starts,
            concat_info(pdu) if pdu.esm_class & 0x40 or pdu.tlvs else None,
        )
        if cfg.alert_notification and pdu.tlv(TlvTag.set_dpf, 1):
            msg.wants_alert = True
        cluster = c.instance.cluster
        if msg_id not in cluster.messages:
            cluster.messages[msg_id] = msg
        self._pending[c.account] += 1
        if msg.part is not None and msg.part[1] > 1:
            self._join_group(cluster, c, msg)
        else:
            self._schedule(cluster, msg)
        return msg

    # -- concatenated messages: the cluster rule (smpp-facts.md §1.2, V6) -----------------

    def _join_group(self, cluster: Cluster, c: Conn, msg: Message) -> None:
        assert msg.part is not None
        ref, total, seq = msg.part
        key = (msg.account, msg.source_addr, msg.destination_addr, ref, total)
        group = cluster.groups.get(key)
        if group is None:
            group = cluster.groups[key] = {"parts": {}, "instances": set(), "first": self.now}
            self._arm_sweep()
        group["parts"][seq] = msg
        group["instances"].add(c.instance.name)
        if len(group["parts"]) >= total:
            del cluster.groups[key]
            split = len(group["instances"]) > 1
            for part in group["parts"].values():
                if split:
                    # "Parts that arrive on smpp1 and smpp2 ... are never delivered" (V6)
                    part.outcome = Outcome("UNDELIV", ERR_SPLIT_PARTS, part.outcome.delay)
                self._schedule(cluster, part)
            if split:
                self.counters["split_messages"] += 1
                self.note(c, f"parts of ref {ref} came through {sorted(group['instances'])}: UNDELIV")

    def _expire_groups(self, cluster: Cluster) -> None:
        limit = self.now - self.config.concat_timeout
        for key, group in list(cluster.groups.items()):
            if group["first"] <= limit:
                del cluster.groups[key]
                self.counters["incomplete_messages"] += 1
                for part in group["parts"].values():
                    part.outcome = Outcome("UNDELIV", ERR_SPLIT_PARTS, 0.0)
                    self._schedule(cluster, part)

    # -- how a message ends --------------------------------------------------------------

    def _schedule(self, cluster: Cluster, msg: Message) -> None:
        # No timer to cancel: _finish is idempotent (done_at), so cancel_sm and an early
        # receipt simply finish the message first. Delivery starts at schedule_delivery_time
        # and cannot outlive validity_period (§7.1.1).
        outcome = msg.outcome
        msg.scheduled = True
        ends = msg.starts_at + outcome.delay
        if ends > msg.expires_at:
            self._at(msg.expires_at, self._expire_message, cluster, msg)
            return
        if outcome.intermediate or msg.registered_delivery & 0x10:
            self._at(msg.starts_at + outcome.delay / 2, self._intermediate, cluster, msg)
        heapq.heappush(self._timers, (ends, next(self._order), self._finish, (cluster, msg)))

    def _expire_message(self, cluster: Cluster, msg: Message) -> None:
        if msg.done_at is None:
            msg.outcome = Outcome("EXPIRED", ERR_VALIDITY_ENDED, msg.outcome.delay, msg.outcome.receipt)
            self.counters["validity_expired"] += 1
            self._finish(cluster, msg)

    def _wants_receipt(self, msg: Message, stat: str) -> bool:
        # registered_delivery bits 1-0: 1 = receipt on success or failure, 2 = on failure
        # only -- SMPP v3.4 §5.2.17
        mode = msg.registered_delivery & 0x03
        if not msg.outcome.receipt or mode == 0:
            return False
        return mode == 1 or (mode == 2 and stat not in ("DELIVRD", "ACCEPTD"))

    def _intermediate(self, cluster: Cluster, msg: Message) -> None:
        if msg.registered_delivery & 0x13 and msg.outcome.receipt and msg.state == "ENROUTE":
            # esm_class 0x20: "Intermediate delivery notification" -- SMPP v3.4 §5.2.12
            self._enqueue(cluster, msg, "ACCEPTD", 0, self.now, esm_class=0x20)

    def _finish(self, cluster: Cluster, msg: Message) -> None:
        if msg.done_at is not None:
            return
        msg.done_at = self.now
        msg.state = msg.outcome.stat
        msg.err = msg.outcome.err
        self._pending[msg.account] -= 1
        if cluster.messages.get(msg.id) is msg:
            del cluster.messages[msg.id]
            finished = cluster.finished
            finished[msg.id] = (msg.account, msg.state, msg.err, msg.done_at)  # a Final
            if len(finished) > FINISHED_KEPT:
                finished.popitem(last=False)
        if msg.registered_delivery & 0x03 and self._wants_receipt(msg, msg.state):  # §5.2.17
            self._enqueue(cluster, msg, msg.state, msg.err, msg.done_at)
        if msg.wants_alert and msg.state == "EXPIRED" and msg.err == 2:
            self._after(self.config.alert_delay, self._alert, cluster, msg)

    def _alert(self, cluster: Cluster, msg: Message) -> None:
        """The subscriber is reachable again: alert_notification to a receiving bind -- §4.12."""
        targets = cluster.receivers(msg.account)
        if not targets:
            return
        c = targets[next(cluster.rr) % len(targets)]
        pdu = self._send(c, AlertNotification(
            source_addr=msg.destination_addr, esme_addr=msg.source_addr,
            tlvs=(Tlv(TlvTag.ms_availability_status, 0),),
        ))
        c.session.forget(pdu.sequence_number)  # alert_notification has no response (§4.12)
        self.counters["alert_notifications"] += 1

    # -- receipts ------------------------------------------------------------------------

    def _enqueue(self, cluster: Cluster, msg: Message, stat: str, err: int, done_at: float,
                 esm_class: int = 0x04) -> None:
        rid = self.receipt_id(msg.id, msg.instance)
        head, tail, tlvs = self._receipt_parts(stat, err, msg.submitted_at, done_at)
        if self._receipted_id_tlv:
            tlvs = (Tlv(_RECEIPTED_MESSAGE_ID, rid), *tlvs)
        # Every value here is the engine's own (addresses came through a checked submit),
        # so the receipt is built without re-validation when it is sent: see Pdu.trusted.
        receipt = (msg.destination_addr, msg.source_addr, esm_class,
                   head + rid.encode("ascii") + tail, tlvs)
        # a receipt is kept for as long as its message's validity period (§7.1.1)
        keep = done_at + max(msg.expires_at - msg.submitted_at, 1.0)
        queue = cluster.queue.get(msg.account)
        if queue is None:
            queue = cluster.queue[msg.account] = collections.deque()
        queue.append(Job(msg.account, None, keep, msg.id, 0, None, True, False,
                         next(self._job_order), receipt, rid))
        self.held_receipts += 1
        if self.scenario.faults:
            if self._fault("duplicate_receipt", msg.instance):
                queue.append(Job(msg.account, None, keep, msg.id, note="fault duplicate_receipt",
                                 retry=False, order=next(self._job_order), receipt=receipt,
                                 receipt_id=rid))
                self.held_receipts += 1
            if self._fault("receipt_before_resp", msg.instance):
                self._pump(cluster, msg.account)  # now: it must go out before the resp
                return
        self._pump_soon(cluster, msg.account)

    def _receipt_parts(self, stat: str, err: int, submitted_at: float,
                       done_at: float) -> tuple[bytes, bytes, tuple[Tlv, ...]]:
        """The receipt text before and after its id, made by `format_receipt`, and its
        outcome TLVs, once per (stat, err, submit minute, done minute): receipts differ in
        little else."""
        key = (stat, err, int(submitted_at // 60), int(done_at // 60))
        found = self._texts.get(key)
        if found is None:
            if len(self._texts) > 4096:
                self._texts.clear()
            text = format_receipt(Receipt(id=_ID_MARK, submit_date=stamp(submitted_at),
                                          done_date=stamp(done_at), stat=stat, err=f"{err:03d}"))
            head, _, tail = text.partition(_ID_MARK)
            found = self._texts[key] = (head.encode("ascii"), tail.encode("ascii"),
                                        self._outcome_tlvs(stat, err))
        return found

    def _outcome_tlvs(self, stat: str, err: int) -> tuple[Tlv, ...]:
        """The receipt's message_state and network_error_code TLVs (those configured), made
        once per (stat, err): Tlv is immutable, so receipts share them."""
        key = (stat, err)
        found = self._tlv_cache.get(key)
        if found is None:
            wanted = self.config.receipt_tlvs
            tlvs: list[Tlv] = []
            if "message_state" in wanted:
                tlvs.append(Tlv(TlvTag.message_state, _FINAL_STATES[stat]))
            if "network_error_code" in wanted:
                # network type 3 = GSM -- SMPP v3.4 §5.3.2.31
                tlvs.append(Tlv(TlvTag.network_error_code, (3, min(err, 0xFFFF))))
            found = self._tlv_cache[key] = tuple(tlvs)
        return found

    def _pump_soon(self, cluster: Cluster, account: str, delay: float = 0.0) -> None:
        """Pump once, after the input being handled (or `delay` s), for every receipt
        queued meanwhile."""
        if account not in cluster.pumping:
            cluster.pumping.add(account)
            self._at(self.now + delay, self._pump_now, cluster, account)

    def _pump_now(self, cluster: Cluster, account: str) -> None:
        cluster.pumping.discard(account)
        self._pump(cluster, account)

    def _pump(self, cluster: Cluster, account: str) -> None:
        queue = cluster.queue.get(account)
        if not queue:
            return
        receivers = cluster.receivers(account)
        if not receivers:
            if self.config.outbind and account == self._outbind_account().system_id:
                self._outbind()
            return
        # back-pressure: a congested receiver gets nothing (its receipts wait here, in
        # order), one given write_high_water octets gets the rest on the next turn
        limit = self.config.write_high_water
        targets = [c for c in receivers if not c.congested and c.session.unsent < limit]
        now = self.now
        while queue and targets:
            job = queue.popleft()
            if job.expires_at <= now:
                self._expired(targets[0], job)
                continue
            c = targets[next(cluster.rr) % len(targets)]
            self._send_job(c, job)
            if c.session.unsent >= limit and c in targets:
                targets.remove(c)
        if queue and any(not c.congested for c in receivers):
            self._pump_soon(cluster, account, NEXT_TURN)

    def _send_job(self, c: Conn, job: Job) -> None:
        job.attempts += 1
        session = c.session
        try:
            if job.receipt is not None:
                source, destination, esm_class, text, tlvs = job.receipt
                pdu = session.send(DeliverSm.trusted(
                    sequence_number=session.next_sequence(), source_addr=source,
                    destination_addr=destination, esm_class=esm_class, short_message=text,
                    tlvs=tlvs))
            else:
                assert job.pdu is not None
                pdu = session.send(job.pdu)
        except LocalProtocolError as exc:  # the session went away under us
            self._requeue(c.instance.cluster, job, f"resend: {exc}")
            return
        self._dirty[c.id] = c
        self.counters["deliver_sm"] += 1
        if job.note:
            self.note(c, f"{job.note} (attempt {job.attempts}{_id_of(job)})",
                      message_id=job.receipt_id or None)
        deadline = self.now + self._deliver_timeout
        c.inflight[pdu.sequence_number] = (job, deadline)
        if not c.deadline_armed:
            c.deadline_armed = True
            self._conn_at(c, deadline, self._deliver_deadlines)

    def _deliver_deadlines(self, c: Conn) -> None:
        """Resend every deliver_sm of `c` unanswered after deliver_timeout (§4.6.2)."""
        c.deadline_armed = False
        inflight = c.inflight
        now = self.now
        if c.congested:  # unread, in our buffer: not late (`congested`); look again later
            if inflight:
                c.deadline_armed = True
                self._conn_at(c, now + self.config.deliver_timeout, self._deliver_deadlines)
            return
        while inflight and not c.closing:
            seq, (job, deadline) = next(iter(inflight.items()))
            if deadline > now:
                c.deadline_armed = True
                self._conn_at(c, deadline, self._deliver_deadlines)
                return
            del inflight[seq]
            c.session.forget(seq)
            self._retry(c, job, f"no deliver_sm_resp within {self.config.deliver_timeout:g} s")

    def _retry(self, c: Conn, job: Job, why: str) -> None:
        if not job.retry:
            self._leave(job)
            return
        self.counters["deliver_retries"] += 1
        delay = min(self.config.retry_delay * (2 ** (job.attempts - 1)), MAX_RETRY_DELAY)
        job.note = f"resend: {why}"
        self._after(delay, self._requeue, c.instance.cluster, job, None)

    def _requeue(self, cluster: Cluster, job: Job, note: str | None) -> None:
        if note:
            job.note = note
        self._insert(cluster, job)
        self._pump(cluster, job.account)
        self._arm_sweep()

    def _insert(self, cluster: Cluster, job: Job) -> None:
        """Put `job` back in its queue in the order receipts were made (resends are rare,
        so a scan from the back is cheap)."""
        queue = cluster.queue.setdefault(job.account, collections.deque())
        i = len(queue)
        while i and queue[i - 1].order > job.order:
            i -= 1
        queue.insert(i, job)

    def _leave(self, job: Job) -> None:
        if not job.done:
            job.done = True
            self.held_receipts -= 1

    def _expired(self, c: Conn | None, job: Job) -> None:
        self._leave(job)
        self.counters["receipts_expired"] += 1
        if c is not None:
            self.note(c, f"receipt expired after {job.attempts} attempt(s): its validity "
                         f"ended{_id_of(job)}", message_id=job.receipt_id or None)

    def _expire_queue(self, cluster: Cluster, account: str, queue: collections.deque[Job]) -> None:
        now = self.now
        if not any(job.expires_at <= now for job in queue):
            return
        keep = collections.deque(job for job in queue if job.expires_at > now)
        for job in queue:
            if job.expires_at <= now:
                self._leave(job)
                self.counters["receipts_expired"] += 1
                self._note_account(cluster, account, f"receipt expired after {job.attempts} "
                                   f"attempt(s): its validity ended{_id_of(job)}",
                                   job.receipt_id or None)
        cluster.queue[account] = keep

    def _note_account(self, cluster: Cluster, account: str, text: str,
                      message_id: str | None = None) -> None:
        if self.tracing:
            self.note_instance(cluster.instances[0].name, f"{account}: {text}", message_id)

    def _deliver_answered(self, c: Conn, pdu: Pdu) -> None:
        entry = c.inflight.pop(pdu.sequence_number, None)
        if entry is None:
            return
        job = entry[0]
        status = pdu.command_status
        if status == 0 and pdu.command_id != _GENERIC_NACK:
            self.counters["deliver_acked"] += 1
            self._leave(job)
            return
        if status in DELIVER_SM_RESP_RETRY or pdu.command_id == _GENERIC_NACK:
            self._retry(c, job, f"{pdu.command_name} status 0x{status:08X} is on the retry list")
            return
        self.counters["deliver_refused"] += 1
        self._leave(job)
        self.note(c, f"receipt ended by {pdu.command_name} status 0x{status:08X} (not "
                     f"retried{_id_of(job)})", message_id=job.receipt_id or None)

    # -- MO traffic, outages, outbind ----------------------------------------------------

    def _mo_tick(self, fault: Fault, count: int) -> None:
        for name, inst in self.instances.items():
            if fault.instance not in (None, name) or not inst.up:
                continue
            sent = False
            for account in self.config.accounts:
                if not inst.cluster.receivers(account.system_id):
                    continue
                count += 1
                sent = True
                text = f"MO {count}: reply STOP to opt out"
                if count % 3 == 0:
                    text = f"MO {count}: " + "a long mobile-originated message " * 6
                sender = f"4477009001{count % 100:02d}"
                self.inject_mo(account.system_id, mo_pdus(sender, "smppkit", text,
                                                          reference=count % 256), name, self.now)
            if fault.instance is None and sent:
                break  # one MO per account per tick, on the first live instance
        self._after(max(fault.delay, 0.01), self._mo_tick, fault, count)

    def _outage(self, fault: Fault) -> None:
        assert fault.instance
        self.stop_instance(fault.instance, self.now)
        self._after(fault.delay, self.start_instance, fault.instance, self.now + fault.delay)

    def _outbind_account(self) -> Account:
        wanted = self.config.outbind_account
        return self._accounts.get(wanted or "", self.config.accounts[0])

    def _outbind(self) -> None:
        """Connect to the configured ESME and send outbind (§4.1.7), at most every 5 s,
        while no outbound connection is open."""
        target = self.config.outbind
        if not target or self.now - self._outbind_at < 5.0:
            return
        if any(c.outbound for c in self.conns.values()):
            return
        assert self._outbind_target is not None
        host, port = self._outbind_target
        self._outbind_at = self.now
        instance = self.config.outbind_instance or next(iter(self.instances))
        self.counters["outbinds"] += 1
        self._actions.append(Connect(next(self._out_conn_ids), instance, host, port))

    # -- query, cancel, replace: only the account's own messages (§5.1.3) -----------------

    def _find(self, c: Conn, message_id: str) -> Message | Final | None:
        value = self.parse_id(message_id)
        if value is None:
            return None
        cluster = c.instance.cluster
        msg: Message | Final | None = cluster.messages.get(value)
        if msg is None:
            final = cluster.finished.get(value)
            msg = Final._make(final) if final is not None else None
        if msg is None or msg.account != c.account:
            return None  # another account's message is not there for this bind
        return msg

    def _query(self, c: Conn, pdu: Any) -> None:
        msg = self._find(c, pdu.message_id)
        if msg is None:
            self._send(c, QuerySmResp(command_status=_S.ESME_RQUERYFAIL, sequence_number=pdu.sequence_number))
            return
        # final_date: YYMMDDhhmmss000+ (UTC) -- §4.8.2, §7.1.1
        final = ""
        if msg.done_at is not None:
            y, mo, d, h, mi, s = _utc(msg.done_at)
            final = f"{y % 100:02d}{mo:02d}{d:02d}{h:02d}{mi:02d}{s:02d}000+"
        self._send(c, QuerySmResp(
            sequence_number=pdu.sequence_number, message_id=pdu.message_id, final_date=final,
            message_state=_FINAL_STATES[msg.state],
            error_code=min(msg.err, 255) if msg.done_at is not None else 0,
        ))

    def _cancel(self, c: Conn, pdu: Any) -> None:
        msg = self._find(c, pdu.message_id)
        if msg is None or isinstance(msg, Final) or msg.done_at is not None:
            self._send(c, CancelSmResp(command_status=_S.ESME_RCANCELFAIL, sequence_number=pdu.sequence_number))
            return
        cluster = c.instance.cluster
        for one in (msg, *msg.siblings):
            one.outcome = Outcome("DELETED", 0, 0.0, receipt=False)
            self._finish(cluster, one)
        self._send(c, CancelSmResp(sequence_number=pdu.sequence_number))

    def _replace(self, c: Conn, pdu: Any) -> None:
        msg = self._find(c, pdu.message_id)
        if msg is None or isinstance(msg, Final) or msg.done_at is not None:
            self._send(c, ReplaceSmResp(command_status=_S.ESME_RREPLACEFAIL, sequence_number=pdu.sequence_number))
            return
        msg.short_message = pdu.short_message
        if pdu.registered_delivery:
            msg.registered_delivery = pdu.registered_delivery
        self._send(c, ReplaceSmResp(sequence_number=pdu.sequence_number))


#: Seconds of silence before the SMSC sends enquire_link, per profile. The provider does
#: not publish its interval (smpp-facts.md §1.3: NOT FOUND); 60 s is twice Kannel's
#: default enquire-link-interval, so a client keeping to Kannel's never sees one.
_PROFILE_ENQUIRE_LINK: dict[str, float] = {"nexmo": 60.0, "single": 60.0}
