"""The SMSC simulator: asyncio listeners around `smppkit.Session`, one store per cluster.

Strategy: each TCP connection is an `asyncio.Protocol` holding a sans-IO `Session` in the
SMSC role. Bytes go in, events come out, and the simulator decides: authenticate a bind,
accept or throttle a submit, schedule the receipt. Everything random comes from one
`random.Random(seed)` drawn in submit order, and message ids from a counter, so the same
seed and the same traffic give the same ids, outcomes and receipts.

A receipt never gets lost: it waits in its cluster's queue until a receiver or transceiver
bind of the same account is up on any instance of the cluster, is retried when the ESME
answers with a status on the provider's retry list (smpp-facts.md §1.9) or not at all,
and is ended (and traced) on any other non-zero status.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime as dt
import itertools
import json
import random
import time
from dataclasses import dataclass, field
from typing import Any

from smppkit.protocol.constants import CommandId, CommandStatus, MessageState, TlvTag
from smppkit.protocol.errors import LocalProtocolError
from smppkit.protocol.pdus import (
    BindReceiverResp,
    BindTransceiverResp,
    BindTransmitterResp,
    CancelSmResp,
    DataSmResp,
    DeliverSm,
    GenericNack,
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
    draw_outcome,
)
from smppkit.simulator.scenarios import Scenario, load_scenario
from smppkit.sms.text import to_pdus
from smppkit.trace import TRACE_FIELDS, concat_info, dump_event, pdu_event

__all__ = ["Simulator", "DELIVER_RETRY_STATUSES"]

_C = CommandId
_S = CommandStatus

#: deliver_sm_resp statuses after which the provider sends the receipt again -- §1.9 (V9).
DELIVER_RETRY_STATUSES = frozenset({0x58, 0x08, 0x14, 0x45, 0x67, 0xFE, 0xFF})
#: err code of a concatenated message whose parts came through different instances, or
#: never all arrived: the provider's "Invalid/Illegal Message" (smpp-facts.md §1.8).
ERR_SPLIT_PARTS = 10

_BIND_KINDS = {
    _C.bind_transmitter: ("transmitter", BindTransmitterResp),
    _C.bind_receiver: ("receiver", BindReceiverResp),
    _C.bind_transceiver: ("transceiver", BindTransceiverResp),
}
_FINAL_STATES = {
    "DELIVRD": MessageState.DELIVERED,
    "EXPIRED": MessageState.EXPIRED,
    "DELETED": MessageState.DELETED,
    "UNDELIV": MessageState.UNDELIVERABLE,
    "ACCEPTD": MessageState.ACCEPTED,
    "UNKNOWN": MessageState.UNKNOWN,
    "REJECTD": MessageState.REJECTED,
    "ENROUTE": MessageState.ENROUTE,
}
class Clock:
    """The simulator's time: the wall clock, or a fixed epoch plus elapsed real time."""

    def __init__(self, epoch: dt.datetime | None) -> None:
        self._t0 = time.monotonic()
        self._base = epoch.timestamp() if epoch else time.time()

    def now(self) -> float:
        return self._base + (time.monotonic() - self._t0)

    _stamps: dict[int, str] = {}

    @classmethod
    def stamp(cls, t: float) -> str:
        """YYMMDDhhmm, the receipt date form -- SMPP v3.4 Appendix B (cached per minute)."""
        minute = int(t // 60)
        text = cls._stamps.get(minute)
        if text is None:
            if len(cls._stamps) > 1024:
                cls._stamps.clear()
            text = cls._stamps[minute] = dt.datetime.fromtimestamp(minute * 60, dt.UTC).strftime(
                "%y%m%d%H%M"
            )
        return text


class TokenBucket:
    """`rate` tokens per second, bursts up to `rate` (one second's worth)."""

    __slots__ = ("rate", "tokens", "stamp")

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.tokens = rate
        self.stamp = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.rate, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


@dataclass(eq=False, slots=True)
class Message:
    """One submitted message (one part of a concatenated one is one Message)."""

    id: int
    account: str
    instance: str
    source_addr: str
    destination_addr: str
    registered_delivery: int
    submitted_at: float
    short_message: bytes
    data_coding: int
    outcome: Outcome
    part: tuple[int, int, int] | None = None
    state: str = "ENROUTE"
    done_at: float | None = None
    scheduled: bool = False


@dataclass(eq=False, slots=True)
class ReceiptJob:
    """A deliver_sm (receipt or MO) waiting for, or in, delivery."""

    account: str
    pdu: DeliverSm
    message_id: int | None = None
    attempts: int = 0
    note: str | None = None
    retry: bool = True


@dataclass
class Cluster:
    """Instances sharing one message store and one receipt queue."""

    name: str
    instances: list[Instance] = field(default_factory=list)
    messages: dict[int, Message] = field(default_factory=dict)
    finished: collections.OrderedDict[int, Message] = field(default_factory=collections.OrderedDict)
    queue: dict[str, collections.deque[ReceiptJob]] = field(default_factory=dict)
    groups: dict[tuple[Any, ...], dict[str, Any]] = field(default_factory=dict)
    buckets: dict[str, TokenBucket] = field(default_factory=dict)
    rr: itertools.count[int] = field(default_factory=itertools.count)

    def connections(self, account: str, receiving: bool = False) -> list[Connection]:
        out = []
        for inst in self.instances:
            for conn in inst.connections:
                if (
                    conn.account == account
                    and conn.session.is_bound
                    and not conn.closing
                    and (not receiving or conn.bind in ("receiver", "transceiver"))
                ):
                    out.append(conn)
        return out


@dataclass(eq=False)
class Instance:
    spec: InstanceSpec
    cluster: Cluster
    port: int = 0
    tls_port: int | None = None
    servers: list[asyncio.base_events.Server] = field(default_factory=list)
    connections: set[Connection] = field(default_factory=set)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def up(self) -> bool:
        return bool(self.servers)


class Connection(asyncio.Protocol):
    """One ESME connection to one instance."""

    def __init__(self, sim: Simulator, instance: Instance, ident: str) -> None:
        self.sim = sim
        self.instance = instance
        self.ident = ident
        self.session = Session(Role.SMSC, observer=self._observe if sim.tracing else None)
        self.transport: asyncio.Transport | None = None
        self.peer = ""
        self.account = ""
        self.account_limits: Account | None = None
        self.bind = ""
        self.closing = False
        self.last_activity = time.monotonic()
        self.pdus_in = 0
        self.submits = 0
        self.inflight: dict[int, tuple[ReceiptJob, float]] = {}  # seq -> (job, deadline)
        self._flush_scheduled = False
        if sim.fault("ignore_enquire_link", instance.name):
            self.session.answer_enquire_link = False

    # -- asyncio.Protocol --
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        peer = transport.get_extra_info("peername") or ("?", 0)
        self.peer = f"{peer[0]}:{peer[1]}"
        self.instance.connections.add(self)
        self.sim.count("connections")

    def connection_lost(self, exc: Exception | None) -> None:
        self.closing = True
        self.instance.connections.discard(self)
        for job, _ in self.inflight.values():
            self.sim.requeue(self.instance.cluster, job, "connection lost before deliver_sm_resp")
        self.inflight.clear()

    def data_received(self, data: bytes) -> None:
        self.last_activity = time.monotonic()
        self.session.receive_data(data)
        self._drain_events()

    def eof_received(self) -> bool | None:
        self.session.receive_data(b"")
        self._drain_events()
        return None

    # -- events --
    def _drain_events(self) -> None:
        session = self.session
        while True:
            event = session.next_event()
            if event is NEED_DATA:
                break
            if event is CONNECTION_CLOSED:
                self.close()
                break
            if isinstance(event, InvalidPdu):
                self.sim.count("malformed")
                self.sim.note(self, f"malformed PDU answered with {event.error.status_name}: {event.error.args[0]}")
                if event.fatal:
                    self.flush()
                    self.close()
                    return
                continue
            if isinstance(event, Rejected):
                self.sim.count("rejected")
                self.sim.note(self, f"{event.pdu.command_name} rejected: {event.reason}")
                continue
            self.pdus_in += 1
            self.sim.handle(self, event)
            drop = self.sim.fault("drop_connection", self.instance.name)
            if drop and self.pdus_in >= drop.after:
                self.sim.note(self, f"fault drop_connection after {self.pdus_in} PDUs")
                self.write_now()
                if self.transport:
                    self.transport.abort()
                return
        self.flush()
        if session.state is State.CLOSED and not self.closing:
            self.close()

    def _observe(self, direction: str, pdu: Pdu, data: bytes) -> None:
        self.sim.trace(self, direction, pdu, data)

    # -- output --
    def send(self, pdu: Pdu, *, force: bool = False) -> Pdu:
        pdu = self.session.send(pdu, force=force)
        return pdu

    def flush(self) -> None:
        """Write queued bytes at the end of this loop iteration, in one write.

        Coalescing matters: one send() per PDU costs far more than the PDU itself.
        """
        if not self._flush_scheduled and self.sim.loop is not None:
            self._flush_scheduled = True
            self.sim.loop.call_soon(self.write_now)

    def write_now(self) -> None:
        self._flush_scheduled = False
        data = self.session.data_to_send()
        if data and self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def close(self) -> None:
        if not self.closing:
            self.closing = True
            self.write_now()
            if self.transport is not None:
                self.transport.close()


class Simulator:
    """An SMSC (or a cluster of them) on asyncio. Use `start()` for a background thread.

    Args:
        config: a `SimConfig`; keyword arguments override its fields.
    """

    def __init__(self, config: SimConfig | None = None, **overrides: Any) -> None:
        config = config or SimConfig()
        for key, value in overrides.items():
            if not hasattr(config, key):
                raise TypeError(f"unknown simulator option {key!r}")
            setattr(config, key, value)
        if config.profile not in PROFILES:
            raise ValueError(f"unknown profile {config.profile!r}; known: {', '.join(PROFILES)}")
        if config.id_format not in ("nexmo", "hex", "decimal"):
            raise ValueError("id_format must be 'nexmo', 'hex' or 'decimal'")
        self.config = config
        self.scenario: Scenario = load_scenario(config.scenario)
        self.rng = random.Random(config.seed)
        self.clock = Clock(config.epoch)
        # Ids: below 2**63 so gateways parsing them as signed 64-bit numbers cope
        # (smpp-facts.md §5); the "B" keeps the hex form from being all digits.
        self._id_base = 0x0B00000000000000 | ((config.seed & 0xFFFF) << 32)
        self._ids = itertools.count(1)
        self._conn_ids = itertools.count(1)
        self.counters: collections.Counter[str] = collections.Counter()
        self.events: collections.deque[dict[str, Any]] = collections.deque(
            maxlen=config.trace_memory or 1
        )
        self._trace_file: Any = None
        self.tracing = bool(config.trace_memory or config.trace_path)
        self.clusters: dict[str, Cluster] = {}
        self.instances: dict[str, Instance] = {}
        for spec in PROFILES[config.profile]:
            cluster = self.clusters.setdefault(spec.cluster, Cluster(spec.cluster))
            inst = Instance(spec, cluster)
            cluster.instances.append(inst)
            self.instances[spec.name] = inst
        self._fault_cache: dict[tuple[str, str], Any] = {}
        self._pumps_pending: set[tuple[str, str]] = set()
        self._tlv_cache: dict[tuple[str, int], tuple[Tlv, ...]] = {}
        self._wheel: dict[int, list[tuple[Any, tuple[Any, ...]]]] = {}
        self._tasks: list[asyncio.Task[Any]] = []
        self._timers: set[asyncio.TimerHandle] = set()
        self._ssl: Any = None
        self.loop: asyncio.AbstractEventLoop | None = None

    # -- life cycle ------------------------------------------------------------------------

    async def serve(self) -> None:
        """Open every instance's listener(s)."""
        self.loop = asyncio.get_running_loop()
        cfg = self.config
        if cfg.trace_path:
            self._trace_file = open(cfg.trace_path, "w", encoding="utf-8")  # noqa: SIM115
        if cfg.tls or cfg.tls_cert:
            from smppkit.simulator.tls import self_signed, server_context

            if not cfg.tls_cert:
                cfg.tls_cert, cfg.tls_key = self_signed(host=cfg.host)
            self._ssl = server_context(cfg.tls_cert, cfg.tls_key or cfg.tls_cert)
        for inst in self.instances.values():
            port = cfg.port + inst.spec.port_offset if cfg.port else 0
            await self._listen(inst, port)
        for fault in self.scenario.faults:
            if fault.kind == "outage" and fault.instance:
                self._later(fault.after, self._outage, fault)
            elif fault.kind == "mo_traffic":
                self._tasks.append(asyncio.ensure_future(self._mo_traffic(fault)))
        self._tasks.append(asyncio.ensure_future(self._housekeeping()))

    async def _listen(self, inst: Instance, port: int, tls_port: int | None = None) -> None:
        loop = asyncio.get_running_loop()

        def factory() -> Connection:
            return Connection(self, inst, f"{inst.name}#{next(self._conn_ids)}")

        server = await loop.create_server(factory, self.config.host, port, reuse_address=True)
        inst.port = server.sockets[0].getsockname()[1]
        inst.servers = [server]
        if self._ssl is not None:
            tserver = await loop.create_server(
                factory, self.config.host, tls_port or 0, ssl=self._ssl, reuse_address=True
            )
            inst.tls_port = tserver.sockets[0].getsockname()[1]
            inst.servers.append(tserver)

    async def stop_instance(self, name: str) -> None:
        """Take one instance down: close its listener and drop its connections (an outage)."""
        inst = self.instances[name]
        for server in inst.servers:
            server.close()
        inst.servers = []
        for conn in list(inst.connections):
            conn.closing = True
            if conn.transport is not None:
                conn.transport.abort()
        self.count("outages")
        self.note_instance(name, "instance stopped (outage)")

    async def start_instance(self, name: str) -> None:
        """Bring a stopped instance back on its old port(s)."""
        inst = self.instances[name]
        if not inst.up:
            await self._listen(inst, inst.port, inst.tls_port)
            self.note_instance(name, "instance started")

    def _outage(self, fault: Any) -> None:
        assert fault.instance
        asyncio.ensure_future(self.stop_instance(fault.instance))
        self._later(fault.delay, lambda: asyncio.ensure_future(self.start_instance(fault.instance)))

    async def close(self, unbind_wait: float = 1.0) -> None:
        """Unbind every client (waiting up to `unbind_wait` s), then close everything."""
        conns = [c for inst in self.instances.values() for c in inst.connections]
        for conn in conns:
            if conn.session.is_bound and not conn.closing:
                with contextlib.suppress(LocalProtocolError):
                    conn.send(Unbind())
                conn.flush()
        deadline = time.monotonic() + unbind_wait
        while any(not c.closing for c in conns) and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        for inst in self.instances.values():
            for server in inst.servers:
                server.close()
            for server in inst.servers:
                await server.wait_closed()
            inst.servers = []
            for conn in list(inst.connections):
                if conn.transport is not None:
                    conn.transport.abort()
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        await asyncio.sleep(0)
        if self._trace_file is not None:
            self._trace_file.close()
            self._trace_file = None

    def _later(self, delay: float, callback: Any, *args: Any) -> asyncio.TimerHandle:
        assert self.loop is not None
        timers = self._timers

        def run() -> None:
            timers.discard(handle)
            callback(*args)

        handle = self.loop.call_later(max(0.0, delay), run)
        timers.add(handle)
        return handle

    #: Receipt timers are grouped in ticks of this many seconds: one loop timer per tick
    #: instead of one per message (thousands a second).
    TICK = 0.01

    def _soon(self, delay: float, callback: Any, *args: Any) -> None:
        """Run `callback(*args)` after `delay` s, to within one tick; callbacks of one tick
        run in the order they were scheduled."""
        assert self.loop is not None
        tick = int((self.loop.time() + max(0.0, delay)) / self.TICK) + 1
        bucket = self._wheel.get(tick)
        if bucket is None:
            bucket = self._wheel[tick] = []
            self._later(tick * self.TICK - self.loop.time(), self._run_tick, tick)
        bucket.append((callback, args))

    def _run_tick(self, tick: int) -> None:
        for callback, args in self._wheel.pop(tick, ()):
            callback(*args)

    async def _housekeeping(self) -> None:
        while True:
            await asyncio.sleep(0.25)
            now = time.monotonic()
            idle = self.config.inactivity_timeout
            for inst in self.instances.values():
                for conn in list(inst.connections):
                    if conn.inflight:
                        self._expire_deliveries(conn, now)
                    if idle and not conn.closing and now - conn.last_activity > idle:
                        self.note(conn, f"idle for {idle:g} s: the SMSC unbinds")
                        if conn.session.is_bound:
                            with contextlib.suppress(LocalProtocolError):
                                conn.send(Unbind())
                            conn.flush()
                            conn.last_activity = now  # wait another period for unbind_resp
                            conn.closing = False
                            self._later(min(idle, 2.0), conn.close)
                        else:
                            conn.close()
            for cluster in self.clusters.values():
                self._expire_groups(cluster)

    # -- helpers -----------------------------------------------------------------------------

    def count(self, key: str, n: int = 1) -> None:
        self.counters[key] += n

    def fault(self, kind: str, instance: str) -> Any:
        if not self.scenario.faults:  # the usual case, asked several times per message
            return None
        key = (kind, instance)
        try:
            return self._fault_cache[key]
        except KeyError:
            found = self._fault_cache[key] = self.scenario.get(kind, instance)
            return found

    def trace(self, conn: Connection, direction: str, pdu: Pdu, data: bytes, note: str | None = None) -> None:
        event = pdu_event(
            pdu,
            time=self.clock.now(),
            direction=direction,
            system="simulator",
            instance=conn.instance.name,
            session=conn.ident,
            peer=conn.peer,
            system_id=conn.account,
            bind=conn.bind,
            raw=data,
            note=note,
        )
        self._emit(event)

    def note(self, conn: Connection, text: str) -> None:
        """A trace line with no PDU: a fault, a retry, a dropped receipt."""
        if not self.tracing:
            return
        event = dict.fromkeys(TRACE_FIELDS)
        event.update(
            time=self.clock.now(), system="simulator", instance=conn.instance.name,
            session=conn.ident, peer=conn.peer, system_id=conn.account, bind=conn.bind,
            direction="", command="", note=text,
        )
        self._emit(event)

    def note_instance(self, instance: str, text: str) -> None:
        if not self.tracing:
            return
        event = dict.fromkeys(TRACE_FIELDS)
        event.update(time=self.clock.now(), system="simulator", instance=instance,
                     session="", peer="", system_id="", bind="", direction="", command="",
                     note=text)
        self._emit(event)

    def _emit(self, event: dict[str, Any]) -> None:
        if self.config.trace_memory:
            self.events.append(event)
        if self._trace_file is not None:
            self._trace_file.write(dump_event(event) + "\n")

    def resp_id(self, value: int) -> str:
        return str(value) if self.config.id_format == "decimal" else f"{value:016X}"

    def receipt_id(self, value: int, instance: str = "") -> str:
        if self.fault("wrong_id_format", instance):
            return f"{value:x}"
        return f"{value:016X}" if self.config.id_format == "hex" else str(value)

    def parse_id(self, text: str) -> int | None:
        try:
            return int(text, 10 if self.config.id_format == "decimal" else 16)
        except ValueError:
            return None

    # -- the protocol ----------------------------------------------------------------------

    def handle(self, conn: Connection, pdu: Pdu) -> None:
        cid = pdu.command_id
        if cid in _BIND_KINDS:
            self._bind(conn, pdu)
        elif cid == _C.submit_sm:
            self._submit(conn, pdu, SubmitSmResp)
        elif cid == _C.data_sm:
            self._submit(conn, pdu, DataSmResp)
        elif cid == _C.submit_multi:
            self._submit_multi(conn, pdu)
        elif cid == _C.query_sm:
            self._query(conn, pdu)
        elif cid == _C.cancel_sm:
            self._cancel(conn, pdu)
        elif cid == _C.replace_sm:
            self._replace(conn, pdu)
        elif cid in (_C.deliver_sm_resp, _C.data_sm_resp, _C.generic_nack):
            self._deliver_answered(conn, pdu)
        elif cid == _C.unbind:
            conn.flush()
            conn.close()
        elif cid == _C.unbind_resp:
            conn.close()
        # enquire_link is answered by the Session itself; other responses need nothing.

    def _bind(self, conn: Connection, pdu: Any) -> None:
        kind, resp_cls = _BIND_KINDS[pdu.command_id]
        account = self.config.account(pdu.system_id)
        status = 0
        if account is None:
            status = _S.ESME_RINVSYSID
        elif pdu.password != account.password:
            status = _S.ESME_RINVPASWD
        elif account.allow_ips and conn.peer.rsplit(":", 1)[0] not in account.allow_ips:
            status = _S.ESME_RBINDFAIL
        elif len(conn.instance.cluster.connections(account.system_id)) >= account.max_binds:
            # "Any extra bind is rejected with ESME_RALYBND" -- smpp-facts.md §1.2 (V8)
            status = _S.ESME_RALYBND
        if status:
            self.count("bind_failures")
            conn.send(resp_cls(command_status=status, sequence_number=pdu.sequence_number))
            return
        conn.account = account.system_id  # type: ignore[union-attr]
        conn.account_limits = account
        conn.bind = kind
        conn.send(
            resp_cls(sequence_number=pdu.sequence_number, system_id=conn.instance.name,
                     tlvs={"sc_interface_version": 0x34})
        )
        self.count("binds")
        if kind != "transmitter":
            conn.flush()
            self._pump(conn.instance.cluster, conn.account)

    def _admit(self, conn: Connection, account: Account) -> int:
        """0 if a new message may enter, else the status to refuse it with."""
        cluster = conn.instance.cluster
        if account.throughput:
            bucket = cluster.buckets.get(account.system_id)
            if bucket is None:
                bucket = cluster.buckets[account.system_id] = TokenBucket(account.throughput)
            if not bucket.take():
                self.count("throttled")
                return _S.ESME_RTHROTTLED
        if account.max_pending is not None:
            pending = sum(1 for m in cluster.messages.values() if m.account == account.system_id)
            if pending >= account.max_pending:
                self.count("queue_full")
                return _S.ESME_RMSGQFUL
        return 0

    def _submit(self, conn: Connection, pdu: Any, resp_cls: type[Pdu]) -> None:
        account = conn.account_limits
        assert account is not None
        conn.submits += 1
        self.counters["submits"] += 1
        inst = conn.instance.name
        if self.fault("generic_nack", inst):
            conn.send(GenericNack(command_status=_S.ESME_RSYSERR, sequence_number=pdu.sequence_number))
            return
        status = self._admit(conn, account)
        if status:
            conn.send(resp_cls(command_status=status, sequence_number=pdu.sequence_number))
            return
        text = pdu.short_message if hasattr(pdu, "short_message") else b""
        if not text:
            text = pdu.tlv(TlvTag.message_payload, b"")
        msg = self._new_message(conn, pdu, text)
        resp = resp_cls.trusted(sequence_number=pdu.sequence_number, message_id=self.resp_id(msg.id))
        self._respond(conn, resp, msg)
        unbind = self.fault("smsc_unbind", inst)
        if unbind and conn.submits >= max(unbind.after, 1) and not conn.session.unbinding:
            self.note(conn, f"fault smsc_unbind after {conn.submits} submits")
            conn.send(Unbind())

    def _respond(self, conn: Connection, resp: Pdu, msg: Message | None) -> None:
        inst = conn.instance.name
        silent = self.fault("no_responses", inst)
        if silent and conn.submits > silent.after:
            self.note(conn, f"fault no_responses: seq {resp.sequence_number} left unanswered")
            return
        delay = self.fault("delay_responses", inst)
        early = self.fault("receipt_before_resp", inst)
        if early and msg is not None and msg.scheduled:
            self._finish(conn.instance.cluster, msg)
            conn.flush()
        if delay and delay.delay > 0:

            def later() -> None:
                if not conn.closing:
                    conn.send(resp)
                    conn.flush()

            self._later(delay.delay, later)
            return
        conn.send(resp)

    def _new_message(self, conn: Connection, pdu: Any, text: bytes) -> Message:
        now = self.clock.now()
        msg_id = self._id_base + next(self._ids)
        outcome = self._draw_outcome(pdu.destination_addr)
        msg = Message(
            id=msg_id, account=conn.account, instance=conn.instance.name,
            source_addr=pdu.source_addr, destination_addr=pdu.destination_addr,
            registered_delivery=pdu.registered_delivery, submitted_at=now,
            short_message=text, data_coding=pdu.data_coding, outcome=outcome,
            part=concat_info(pdu),
        )
        cluster = conn.instance.cluster
        cluster.messages[msg_id] = msg
        if msg.part is not None and msg.part[1] > 1:
            self._join_group(cluster, conn, msg)
        else:
            self._schedule(cluster, msg)
        return msg

    def _draw_outcome(self, destination: str) -> Outcome:
        cfg = self.config
        return draw_outcome(self.rng, destination, cfg.dlr_delay, cfg.failure_rate)

    # -- concatenated messages: the cluster rule -----------------------------------------------

    def _join_group(self, cluster: Cluster, conn: Connection, msg: Message) -> None:
        assert msg.part is not None
        ref, total, seq = msg.part
        key = (msg.account, msg.source_addr, msg.destination_addr, ref, total)
        group = cluster.groups.get(key)
        if group is None:
            group = cluster.groups[key] = {"parts": {}, "instances": set(), "first": time.monotonic()}
        group["parts"][seq] = msg
        group["instances"].add(conn.instance.name)
        if len(group["parts"]) >= total:
            del cluster.groups[key]
            split = len(group["instances"]) > 1
            for part in group["parts"].values():
                if split:
                    # "Parts that arrive on smpp1 and smpp2 ... are never delivered" (V6)
                    part.outcome = Outcome("UNDELIV", ERR_SPLIT_PARTS, part.outcome.delay)
                self._schedule(cluster, part)
            if split:
                self.count("split_messages")
                self.note(conn, f"parts of ref {ref} came through {sorted(group['instances'])}: UNDELIV")

    def _expire_groups(self, cluster: Cluster) -> None:
        limit = time.monotonic() - self.config.concat_timeout
        for key, group in list(cluster.groups.items()):
            if group["first"] <= limit:
                del cluster.groups[key]
                self.count("incomplete_messages")
                for part in group["parts"].values():
                    part.outcome = Outcome("UNDELIV", ERR_SPLIT_PARTS, 0.0)
                    self._schedule(cluster, part)

    # -- receipts -----------------------------------------------------------------------------

    def _schedule(self, cluster: Cluster, msg: Message) -> None:
        # No per-message timer to cancel: _finish is idempotent (done_at), so cancel_sm
        # and an early receipt simply finish the message first.
        outcome = msg.outcome
        if outcome.intermediate or msg.registered_delivery & 0x10:
            self._soon(outcome.delay / 2, self._intermediate, cluster, msg)
        msg.scheduled = True
        self._soon(outcome.delay, self._finish, cluster, msg)

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
            self._enqueue(cluster, msg, "ACCEPTD", 0, self.clock.now(), esm_class=0x20)

    def _finish(self, cluster: Cluster, msg: Message) -> None:
        if msg.done_at is not None:
            return
        msg.done_at = self.clock.now()
        msg.state = msg.outcome.stat
        cluster.messages.pop(msg.id, None)
        cluster.finished[msg.id] = msg
        if len(cluster.finished) > 100_000:
            cluster.finished.popitem(last=False)
        if self._wants_receipt(msg, msg.state):
            self._enqueue(cluster, msg, msg.state, msg.outcome.err, msg.done_at)

    def receipt_text(self, msg: Message, stat: str, err: int, done_at: float, rid: str) -> bytes:
        """The provider's receipt text -- smpp-facts.md §1.7 (V2, V3), SMPP v3.4 Appendix B."""
        dlvrd = 1 if stat == "DELIVRD" else 0
        return (
            f"id:{rid} sub:001 dlvrd:{dlvrd:03d} submit date:{Clock.stamp(msg.submitted_at)} "
            f"done date:{Clock.stamp(done_at)} stat:{stat} err:{err:03d} text:none"
        ).encode("ascii")

    def _enqueue(self, cluster: Cluster, msg: Message, stat: str, err: int, done_at: float,
                 esm_class: int = 0x04) -> None:
        rid = self.receipt_id(msg.id, msg.instance)
        tlvs: tuple[Tlv, ...] = ()
        if "receipted_message_id" in self.config.receipt_tlvs:
            tlvs = (Tlv(TlvTag.receipted_message_id, rid),)
        tlvs += self._outcome_tlvs(stat, err)
        # Every value here is the simulator's own (addresses came through a validated
        # submit_sm), so the receipt is built without re-validation: see Pdu.trusted.
        pdu = DeliverSm.trusted(
            source_addr=msg.destination_addr,
            destination_addr=msg.source_addr,
            esm_class=esm_class,
            short_message=self.receipt_text(msg, stat, err, done_at, rid),
            tlvs=tlvs,
        )
        job = ReceiptJob(msg.account, pdu, msg.id)
        cluster.queue.setdefault(msg.account, collections.deque()).append(job)
        if self.fault("duplicate_receipt", msg.instance):
            dup = ReceiptJob(msg.account, pdu, msg.id, note="fault duplicate_receipt", retry=False)
            cluster.queue[msg.account].append(dup)
        if self.fault("receipt_before_resp", msg.instance):
            self._pump(cluster, msg.account)  # now: it must go out before the resp
        else:
            self._pump_soon(cluster, msg.account)

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

    def _pump_soon(self, cluster: Cluster, account: str) -> None:
        """Pump once at the end of this loop iteration, for every receipt queued in it."""
        key = (cluster.name, account)
        if key not in self._pumps_pending:
            self._pumps_pending.add(key)
            assert self.loop is not None
            self.loop.call_soon(self._pump_pending, cluster, account)

    def _pump_pending(self, cluster: Cluster, account: str) -> None:
        self._pumps_pending.discard((cluster.name, account))
        self._pump(cluster, account)

    def inject(self, account: str, pdus: list[DeliverSm], instance: str | None = None) -> None:
        """Queue MO deliver_sm PDUs for `account` (on `instance`'s cluster)."""
        inst = self.instances[instance] if instance else next(iter(self.instances.values()))
        cluster = inst.cluster
        for pdu in pdus:
            cluster.queue.setdefault(account, collections.deque()).append(ReceiptJob(account, pdu))
            self.count("mo")
        self._pump(cluster, account)

    @staticmethod
    def mo_pdus(source_addr: str, destination_addr: str, text: str, *, reference: int = 0,
                encoding: str = "auto") -> list[DeliverSm]:
        """An MO message as deliver_sm PDUs (split with an 8-bit-reference UDH when long)."""
        parts = to_pdus(
            text, source_addr=source_addr, destination_addr=destination_addr,
            encoding=encoding, reference=reference, registered_delivery=0,
        )
        return [
            DeliverSm(**{name: getattr(p, name) for name, _ in p.body}, tlvs=p.tlvs)
            for p in parts
        ]

    async def _mo_traffic(self, fault: Any) -> None:
        count = 0
        while True:
            await asyncio.sleep(max(fault.delay, 0.01))
            for name, inst in self.instances.items():
                if fault.instance not in (None, name) or not inst.up:
                    continue
                for account in self.config.accounts:
                    if not inst.cluster.connections(account.system_id, receiving=True):
                        continue
                    count += 1
                    text = f"MO {count}: reply STOP to opt out"
                    if count % 3 == 0:
                        text = f"MO {count}: " + "a long mobile-originated message " * 6
                    sender = f"4477009001{count % 100:02d}"
                    self.inject(account.system_id, self.mo_pdus(sender, "smppkit", text,
                                                                reference=count % 256), name)
                if fault.instance is None:
                    break  # one MO per account per tick, on the first live instance

    def requeue(self, cluster: Cluster, job: ReceiptJob, why: str) -> None:
        job.note = why
        cluster.queue.setdefault(job.account, collections.deque()).appendleft(job)
        if self.loop is not None:
            self.loop.call_soon(self._pump, cluster, job.account)

    def _pump(self, cluster: Cluster, account: str) -> None:
        queue = cluster.queue.get(account)
        if not queue:
            return
        targets = cluster.connections(account, receiving=True)
        if not targets:
            return
        touched = set()
        while queue:
            job = queue.popleft()
            conn = targets[next(cluster.rr) % len(targets)]
            self._send_job(conn, job)
            touched.add(conn)
        for conn in touched:
            conn.flush()

    def _send_job(self, conn: Connection, job: ReceiptJob) -> None:
        job.attempts += 1
        try:
            pdu = conn.send(job.pdu)
        except LocalProtocolError as exc:  # the session went away under us
            self.requeue(conn.instance.cluster, job, str(exc))
            return
        self.counters["deliver_sm"] += 1
        if job.note:
            self.note(conn, f"{job.note} (attempt {job.attempts})")
        # One deadline per deliver_sm, checked by the housekeeping sweep (no timer each).
        conn.inflight[pdu.sequence_number] = (job, time.monotonic() + self.config.deliver_timeout)

    def _expire_deliveries(self, conn: Connection, now: float) -> None:
        late = [seq for seq, (_, deadline) in conn.inflight.items() if deadline <= now]
        for seq in late:
            job, _ = conn.inflight.pop(seq)
            conn.session.outstanding.pop(seq, None)
            self._retry(conn, job, f"no deliver_sm_resp within {self.config.deliver_timeout:g} s")
        if late:
            conn.flush()

    def _retry(self, conn: Connection, job: ReceiptJob, why: str) -> None:
        cluster = conn.instance.cluster
        if not job.retry or job.attempts >= self.config.max_attempts:
            self.count("deliver_dropped")
            self.note(conn, f"receipt dropped after {job.attempts} attempt(s): {why}")
            return
        self.count("deliver_retries")
        delay = self.config.retry_delay * (2 ** (job.attempts - 1))
        job.note = f"retry: {why}"
        self._later(delay, self._requeue_now, cluster, job)

    def _requeue_now(self, cluster: Cluster, job: ReceiptJob) -> None:
        cluster.queue.setdefault(job.account, collections.deque()).append(job)
        self._pump(cluster, job.account)

    def _deliver_answered(self, conn: Connection, pdu: Pdu) -> None:
        entry = conn.inflight.pop(pdu.sequence_number, None)
        if entry is None:
            return
        job, _ = entry
        status = pdu.command_status
        if status == 0 and pdu.command_id != _C.generic_nack:
            self.counters["deliver_acked"] += 1
            return
        if status in DELIVER_RETRY_STATUSES or pdu.command_id == _C.generic_nack:
            self._retry(conn, job, f"{pdu.command_name} status 0x{status:08X} is on the retry list")
            return
        self.count("deliver_refused")
        self.note(conn, f"receipt ended by {pdu.command_name} status 0x{status:08X} (not retried)")

    # -- other requests ----------------------------------------------------------------------

    def _find(self, conn: Connection, message_id: str) -> Message | None:
        value = self.parse_id(message_id)
        if value is None:
            return None
        cluster = conn.instance.cluster
        return cluster.messages.get(value) or cluster.finished.get(value)

    def _submit_multi(self, conn: Connection, pdu: Any) -> None:
        account = self.config.account(conn.account)
        assert account is not None
        self.counters["submits"] += 1
        status = self._admit(conn, account)
        if status:
            conn.send(SubmitMultiResp(command_status=status, sequence_number=pdu.sequence_number))
            return
        first: Message | None = None
        failed = []
        for dest in pdu.dest_addresses:
            if not hasattr(dest, "destination_addr"):
                failed.append(UnsuccessSme(dest.dl_name, 0, 0, _S.ESME_RINVDLNAME))
                continue
            fake = _Submitted(pdu, dest)
            msg = self._new_message(conn, fake, pdu.short_message)
            first = first or msg
        conn.send(SubmitMultiResp(
            sequence_number=pdu.sequence_number,
            message_id=self.resp_id(first.id) if first else "",
            unsuccess_smes=tuple(failed),
        ))

    def _query(self, conn: Connection, pdu: Any) -> None:
        msg = self._find(conn, pdu.message_id)
        if msg is None:
            conn.send(QuerySmResp(command_status=_S.ESME_RQUERYFAIL, sequence_number=pdu.sequence_number))
            return
        final = Clock.stamp(msg.done_at) + "00000+" if msg.done_at else ""
        conn.send(QuerySmResp(
            sequence_number=pdu.sequence_number, message_id=pdu.message_id,
            final_date=(final[:12] + "000+" if final else ""),
            message_state=_FINAL_STATES[msg.state],
            error_code=min(msg.outcome.err, 255) if msg.done_at else 0,
        ))

    def _cancel(self, conn: Connection, pdu: Any) -> None:
        msg = self._find(conn, pdu.message_id)
        if msg is None or msg.done_at is not None:
            conn.send(CancelSmResp(command_status=_S.ESME_RCANCELFAIL, sequence_number=pdu.sequence_number))
            return
        msg.outcome = Outcome("DELETED", 0, 0.0, receipt=False)
        self._finish(conn.instance.cluster, msg)
        conn.send(CancelSmResp(sequence_number=pdu.sequence_number))

    def _replace(self, conn: Connection, pdu: Any) -> None:
        msg = self._find(conn, pdu.message_id)
        if msg is None or msg.done_at is not None:
            conn.send(ReplaceSmResp(command_status=_S.ESME_RREPLACEFAIL, sequence_number=pdu.sequence_number))
            return
        msg.short_message = pdu.short_message
        if pdu.registered_delivery:
            msg.registered_delivery = pdu.registered_delivery
        conn.send(ReplaceSmResp(sequence_number=pdu.sequence_number))

    # -- views -------------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """Counters plus live gauges (binds up, receipts waiting, messages pending)."""
        out = dict(self.counters)
        out["bound_sessions"] = sum(
            1 for i in self.instances.values() for c in i.connections if c.session.is_bound
        )
        out["receipts_waiting"] = sum(len(q) for c in self.clusters.values() for q in c.queue.values())
        out["messages_pending"] = sum(len(c.messages) for c in self.clusters.values())
        return out

    def trace_lines(self) -> list[str]:
        return [json.dumps(e) for e in self.events]


@dataclass
class _Submitted:
    """A submit_multi destination seen as a single submit (for `_new_message`)."""

    pdu: Any
    dest: Any

    def __getattr__(self, name: str) -> Any:
        if name == "destination_addr":
            return self.dest.destination_addr
        return getattr(self.pdu, name)

    def tlv(self, tag: Any, default: Any = None) -> Any:
        return self.pdu.tlv(tag, default)
