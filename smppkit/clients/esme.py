"""An asyncio ESME on the sans-IO core, for high-rate work: a real window and back-off.

Strategy: one `asyncio.Protocol` feeds a `Session` (role ESME). `submit()` waits for a
free slot in the window (a semaphore of `window` permits), sends, and awaits the response
future keyed by sequence_number. A sweeper expires requests older than
`response_timeout` (the future fails with `TimeoutError`, the slot is freed). A response
answers a request only when its command_id is the request's with bit 31 set, or
generic_nack (`smppkit.protocol.session.answers`); one of another type that carries a
pending sequence_number is counted (`counters["stray_responses"]`), noted in `events` and
the trace, and ignored: an ESME does not nack a response, so the request waits for its own
answer or its timeout. deliver_sm (receipts and MO) is answered at once with
`deliver_status` and queued in `received`.

`send()` adds throttle handling: on ESME_RTHROTTLED or ESME_RMSGQFUL it asks the
`Backoff` how long to pause, waits, and submits again (at-least-once; the result says
how many tries it took). Three back-off policies are built in: `FixedPause` (Kannel-like:
pause a fixed time, smpp-facts.md §2.3), `Exponential`, and `Aimd` (additive increase,
multiplicative decrease of the send rate, as TCP does).

A bind stays up when asked to: with `enquire_link_interval` an idle connection is probed
with enquire_link (§4.11) and dropped when the answer does not come within
`response_timeout`; with `reconnect` (a `smppkit.clients.reconnect.Reconnect`) a lost
connection is opened and bound again with capped exponential back-off and jitter, waiting
out ESME_RALYBND. Requests in flight at a disconnect fail with `ConnectionLost` and are
listed in `lost`; requests made while reconnecting wait for the new bind. `mo()` gives the
mobile-originated messages received, long ones put back together.

Every PDU in and out can be traced in the `smppkit.trace` schema (system "esme").
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from smppkit.clients.reconnect import Reconnect
from smppkit.protocol.constants import CommandId, CommandStatus, status_name
from smppkit.protocol.errors import ProtocolError
from smppkit.protocol.pdus import (
    BindReceiver,
    BindTransceiver,
    BindTransmitter,
    DataSmResp,
    DeliverSmResp,
    EnquireLink,
    Pdu,
    Unbind,
)
from smppkit.protocol.session import (
    CONNECTION_CLOSED,
    NEED_DATA,
    InvalidPdu,
    Rejected,
    Role,
    Session,
    answers,
)
from smppkit.trace import dump_event, pdu_event

__all__ = ["Aimd", "Backoff", "BindError", "ConnectionLost", "Esme", "Exponential", "FixedPause",
           "SendResult", "mo_frame"]

_S = CommandStatus
_BINDS = {"transmitter": BindTransmitter, "receiver": BindReceiver, "transceiver": BindTransceiver}
THROTTLE_STATUSES = frozenset({_S.ESME_RTHROTTLED, _S.ESME_RMSGQFUL})


class BindError(ProtocolError):
    """The SMSC refused the bind; `command_status` says why."""


class ConnectionLost(ConnectionError):
    """The connection closed while the request waited for its response: it may or may not
    have reached the SMSC."""


def mo_frame(pdus: list[Pdu]) -> Any:
    """Mobile-originated deliver_sm / data_sm PDUs as messages, long ones put back together
    (UDH with an 8- or 16-bit reference, SAR TLVs, message_payload; `smppkit.sms.text`):
    a DataFrame of source_addr, destination_addr, text, parts, complete, method, missing."""
    import pandas as pd

    from smppkit.sms.text import reassemble_all

    by_addresses: dict[tuple[str, str], list[Pdu]] = {}
    for pdu in pdus:  # parts of one message share their addresses
        by_addresses.setdefault((pdu.source_addr, pdu.destination_addr), []).append(pdu)  # type: ignore[attr-defined]
    rows = [
        {"source_addr": src, "destination_addr": dst, "text": msg.text, "parts": len(msg.received),
         "complete": msg.complete, "method": msg.method, "missing": list(msg.missing)}
        for (src, dst), group in by_addresses.items() for msg in reassemble_all(group)
    ]
    columns = ["source_addr", "destination_addr", "text", "parts", "complete", "method", "missing"]
    return pd.DataFrame(rows, columns=columns)


# --- back-off policies ------------------------------------------------------------------------


class Backoff:
    """How to behave around throttling. Subclasses override what they need."""

    name = "none"

    def interval(self) -> float:
        """Seconds to keep between two submits (0: as fast as the window allows)."""
        return 0.0

    def on_success(self) -> None:
        """A submit was accepted."""

    def on_throttle(self) -> float:
        """A submit was throttled; return how long to pause everything, in seconds."""
        return 0.0

    @property
    def rate(self) -> float | None:
        """The current target rate in messages/s, if the policy has one."""
        return None


@dataclass
class FixedPause(Backoff):
    """Pause a fixed time after each throttle (Kannel pauses 1 s on 0x58 -- smpp-facts §2.3)."""

    pause: float = 1.0
    name = "fixed"

    def on_throttle(self) -> float:
        return self.pause


@dataclass
class Exponential(Backoff):
    """Pause base, 2·base, 4·base … (capped) on consecutive throttles; reset on success.

    Every refusal lengthens the pause, including the other requests of the same window
    refused in the same moment, so a full window reaches the cap quickly: few wasted
    submits, but long pauses (compare with `Aimd`, notebook 11).
    """

    base: float = 0.05
    factor: float = 2.0
    cap: float = 5.0
    _streak: int = 0
    name = "exponential"

    def on_success(self) -> None:
        self._streak = 0

    def on_throttle(self) -> float:
        pause = min(self.cap, self.base * self.factor**self._streak)
        self._streak += 1
        return pause


@dataclass
class Aimd(Backoff):
    """Pace at `start_rate` msg/s; +`increase` per second of success, ×`decrease` on throttle.

    The rate is cut at most once per `cooldown` seconds: the other requests of the window
    refused in the same moment report the same overload, and halving for each would
    collapse the rate (TCP likewise cuts once per round trip).
    """

    start_rate: float = 50.0
    increase: float = 2.0
    decrease: float = 0.5
    min_rate: float = 1.0
    max_rate: float = 10_000.0
    cooldown: float = 1.0
    clock: Callable[[], float] = time.monotonic
    _rate: float = field(default=0.0, init=False)
    _last_cut: float = field(default=float("-inf"), init=False)
    name = "aimd"

    def __post_init__(self) -> None:
        self._rate = self.start_rate

    def interval(self) -> float:
        return 1.0 / self._rate

    def on_success(self) -> None:
        # additive increase, spread over the messages sent in one second
        self._rate = min(self.max_rate, self._rate + self.increase / max(self._rate, 1.0))

    def on_throttle(self) -> float:
        now = self.clock()
        if now - self._last_cut >= self.cooldown:
            self._rate = max(self.min_rate, self._rate * self.decrease)
            self._last_cut = now
        return 0.0

    @property
    def rate(self) -> float:
        return self._rate


@dataclass(frozen=True)
class SendResult:
    """What happened to one message sent with `Esme.send()`."""

    message_id: str | None
    command_status: int
    tries: int
    throttled: int
    sent_at: float
    done_at: float


# --- the ESME ---------------------------------------------------------------------------------


class _Window:
    """A FIFO window of `size` slots, O(1) per acquire/release.

    (asyncio.Semaphore in Python 3.11 scans all its waiters on every release, which is
    quadratic when thousands of submits wait for a slot.)
    """

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("window must be at least 1")
        self.free = size
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()

    async def acquire(self) -> None:
        if self.free > 0 and not self._waiters:
            self.free -= 1
            return
        future = asyncio.get_running_loop().create_future()
        self._waiters.append(future)
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self.release()  # the slot was handed to us just as we were cancelled
            raise

    def release(self) -> None:
        while self._waiters:
            future = self._waiters.popleft()
            if not future.done():
                future.set_result(None)  # hand the slot straight to the next waiter
                return
        self.free += 1


class _Protocol(asyncio.Protocol):
    def __init__(self, esme: Esme) -> None:
        self.esme = esme

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.esme._transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.esme._feed(data)

    def eof_received(self) -> bool | None:
        self.esme._feed(b"")
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.esme._lost(exc)


class Esme:
    """An asyncio SMPP client with a window.

    Args:
        window: requests in flight at most (cloudhopper's window).
        response_timeout: seconds before an unanswered request fails with TimeoutError.
        backoff: throttle policy for `send()`.
        deliver_status: command_status to answer every deliver_sm with.
        trace: a list to append trace events to, or a path to write JSONL to, or None.
        keep_received: keep received deliver_sm PDUs in `received` (off for benchmarks).
    """

    def __init__(
        self,
        *,
        window: int = 10,
        response_timeout: float = 10.0,
        backoff: Backoff | None = None,
        deliver_status: int = 0,
        trace: list[dict[str, Any]] | str | None = None,
        keep_received: bool = True,
        on_deliver: Callable[[Pdu], Any] | None = None,
        enquire_link_interval: float | None = None,
        reconnect: Reconnect | None = None,
    ) -> None:
        self.window = window
        self.response_timeout = response_timeout
        self.backoff = backoff or Backoff()
        if not 0 <= deliver_status <= 0xFFFFFFFF:
            raise ValueError(f"deliver_status must fit in 4 octets, got {deliver_status}")
        self.deliver_status = deliver_status
        self.keep_received = keep_received
        self.on_deliver = on_deliver
        self.received: list[Pdu] = []
        self.enquire_link_interval = enquire_link_interval
        self.reconnect = reconnect
        self.lost: list[tuple[str, int]] = []  # (command, sequence) in flight at a disconnect
        self.events: list[tuple[float, str]] = []
        self.recoveries: list[float] = []
        self._requests: dict[int, CommandId] = {}  # sequence_number -> the request's command_id
        self._where: tuple[str, int, Any, float] | None = None
        self._binding: tuple[str, str, str, dict[str, Any]] | None = None
        self._bound = asyncio.Event()
        self._closing = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self._last_rx = 0.0
        self._died_at = 0.0
        self.counters: dict[str, int] = {"submitted": 0, "throttled": 0, "timeouts": 0, "delivered": 0,
                                         "stray_responses": 0}
        self._trace_list = trace if isinstance(trace, list) else None
        self._trace_file = open(trace, "w", encoding="utf-8") if isinstance(trace, str) else None  # noqa: SIM115
        tracing = self._trace_list is not None or self._trace_file is not None
        self._tracing = tracing
        self.session = Session(Role.ESME, observer=self._observe if tracing else None)
        self._transport: asyncio.Transport | None = None
        self._futures: dict[int, asyncio.Future[Pdu]] = {}
        self._slots = _Window(window)
        self._resume_at = 0.0
        self._next_send = 0.0
        self._closed = asyncio.Event()
        self._flush_scheduled = False
        self._sweeper: asyncio.Task[None] | None = None
        self.peer = ""
        self.system_id = ""
        self.bind_kind = ""

    # -- connection ------------------------------------------------------------------------------

    async def connect(self, host: str, port: int, *, ssl: Any = None, timeout: float = 5.0) -> None:
        """Open the TCP (or TLS) connection.

        Raises:
            ConnectionError / OSError / TimeoutError: the SMSC cannot be reached.
        """
        loop = asyncio.get_running_loop()
        await asyncio.wait_for(
            loop.create_connection(lambda: _Protocol(self), host, port, ssl=ssl), timeout
        )
        self.peer = f"{host}:{port}"
        self._where = (host, port, ssl, timeout)
        self._last_rx = loop.time()
        if self._sweeper is None:
            self._sweeper = asyncio.ensure_future(self._sweep())

    async def bind(self, system_id: str, password: str, kind: str = "transceiver", **fields: Any) -> Pdu:
        """Bind; return the bind response.

        Raises:
            BindError: the SMSC answered with a non-zero command_status.
        """
        resp = await self._request(_BINDS[kind](system_id=system_id, password=password, **fields))
        if resp.command_status:
            raise BindError(
                f"bind_{kind} refused", resp.command_status, sequence_number=resp.sequence_number
            )
        self.system_id, self.bind_kind = system_id, kind
        self._binding = (system_id, password, kind, fields)
        self._bound.set()
        if self.enquire_link_interval and not any(
                getattr(t.get_coro(), "__name__", "") == "_keepalive" for t in self._tasks):
            self._spawn(self._keepalive())
        return resp

    async def unbind(self, timeout: float = 2.0) -> None:
        if self.session.is_bound and self._transport is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.request(Unbind()), timeout)

    async def close(self) -> None:
        """Unbind if bound, then close the connection and stop the sweeper and reconnecting."""
        self._closing = True
        for task in list(self._tasks):
            task.cancel()
        await self.unbind()
        if self._transport is not None:
            self._transport.close()
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        if self._trace_file is not None:
            self._trace_file.close()
            self._trace_file = None

    async def __aenter__(self) -> Esme:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- requests --------------------------------------------------------------------------------

    async def request(self, pdu: Pdu) -> Pdu:
        """Send one request once the window has room; return its response.

        Raises:
            TimeoutError: no response within `response_timeout`.
            ConnectionError: the connection closed first.
        """
        if self._reconnecting() and not self._bound.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._bound.wait(), self.response_timeout)
        return await self._request(pdu)

    async def _request(self, pdu: Pdu) -> Pdu:
        await self._slots.acquire()
        try:
            if self._transport is None or self._transport.is_closing():
                raise ConnectionError(f"not connected to {self.peer or 'an SMSC'}")
            loop = asyncio.get_running_loop()
            sent = self.session.send(pdu, now=loop.time())
            future: asyncio.Future[Pdu] = loop.create_future()
            self._futures[sent.sequence_number] = future
            self._requests[sent.sequence_number] = sent.command_id
            if not self._flush_scheduled:
                # one write per loop iteration for every request queued in it
                self._flush_scheduled = True
                loop.call_soon(self._write)
            return await future
        finally:
            self._slots.release()

    def _write(self) -> None:
        self._flush_scheduled = False
        data = self.session.data_to_send()
        if data and self._transport is not None and not self._transport.is_closing():
            self._transport.write(data)

    async def submit(self, pdu: Pdu) -> Pdu:
        """`request()` counted as a submit."""
        self.counters["submitted"] += 1
        return await self.request(pdu)

    async def send(self, pdu: Pdu, *, max_tries: int = 20) -> SendResult:
        """Submit with throttle handling: pause per the back-off policy and submit again.

        Returns a `SendResult`; a non-throttle error status ends it at once.
        """
        loop = asyncio.get_running_loop()
        started = loop.time()
        throttled = 0
        resp: Pdu | None = None
        tries = 0
        while tries < max_tries:
            tries += 1
            await self._pace()
            resp = await self.submit(pdu.with_sequence(0))
            if resp.command_status in THROTTLE_STATUSES:
                throttled += 1
                self.counters["throttled"] += 1
                pause = self.backoff.on_throttle()
                if pause:
                    self._resume_at = max(self._resume_at, loop.time() + pause)
                continue
            if resp.command_status == 0:
                self.backoff.on_success()
            break
        assert resp is not None
        return SendResult(
            getattr(resp, "message_id", None) or None, resp.command_status, tries, throttled,
            started, loop.time(),
        )

    async def _pace(self) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        wait = max(self._resume_at, self._next_send) - now
        interval = self.backoff.interval()
        self._next_send = max(now, self._next_send) + interval
        if wait > 0:
            await asyncio.sleep(wait)

    async def enquire_link(self) -> Pdu:
        return await self.request(EnquireLink())

    async def wait_closed(self) -> None:
        await self._closed.wait()

    # -- incoming --------------------------------------------------------------------------------

    def mo(self) -> Any:
        """The mobile-originated messages in `received`, long ones put back together
        (`mo_frame`); receipts are left out."""
        from smppkit.sms.receipts import is_receipt

        return mo_frame([p for p in self.received if not is_receipt(getattr(p, "esm_class", 0))])

    def _feed(self, data: bytes) -> None:
        session = self.session
        self._last_rx = asyncio.get_event_loop().time()
        session.receive_data(data)
        while True:
            event = session.next_event()
            if event is NEED_DATA:
                break
            if event is CONNECTION_CLOSED:
                break
            if isinstance(event, InvalidPdu | Rejected):
                if isinstance(event, InvalidPdu) and event.fatal:
                    break
                continue
            if event.is_response:
                stray = self._stray(event)
                if stray is not None:
                    # A protocol error of the SMSC's; an ESME does not nack a response, so
                    # it is counted and noted, and the request waits for its own answer.
                    self.counters["stray_responses"] += 1
                    self.events.append((self._last_rx, stray))
                    continue
                self._requests.pop(event.sequence_number, None)
                future = self._futures.pop(event.sequence_number, None)
                if future is not None and not future.done():
                    future.set_result(event)
                continue
            name = event.command_name
            if name in ("deliver_sm", "data_sm"):
                resp_cls = DeliverSmResp if name == "deliver_sm" else DataSmResp
                session.send(resp_cls.trusted(command_status=self.deliver_status, sequence_number=event.sequence_number))
                self.counters["delivered"] += 1
                if self.keep_received:
                    self.received.append(event)
                if self.on_deliver is not None:
                    self.on_deliver(event)
        out = session.data_to_send()
        if out and self._transport is not None and not self._transport.is_closing():
            self._transport.write(out)
        if session.state.name == "CLOSED" and self._transport is not None:
            self._transport.close()

    def _stray(self, resp: Pdu) -> str | None:
        """Why `resp` answers none of our requests (None if it answers one): a response
        of the wrong type with a pending request's sequence_number (§3.2, §5.1.2.1)."""
        request = self._requests.get(resp.sequence_number)
        if request is None or answers(request, resp.command_id):
            return None
        return (f"{resp.command_name} seq={resp.sequence_number} does not answer "
                f"{request.name} seq={resp.sequence_number}: ignored, the request stays pending")

    def _lost(self, exc: Exception | None) -> None:
        self.session.close()
        why = f"connection to {self.peer} closed" + (f": {exc}" if exc else "")
        for seq, future in self._futures.items():
            request = self._requests.get(seq)
            command = request.name if request is not None else "request"
            if command not in ("enquire_link", "unbind"):
                self.lost.append((command, seq))
            if not future.done():
                future.set_exception(ConnectionLost(
                    f"{why} before {command} seq={seq} was answered: it may or may not have "
                    "reached the SMSC"))
        self._futures.clear()
        self._requests.clear()
        self._closed.set()
        self._bound.clear()
        if self._binding is not None and self.reconnect is not None and not self._closing:
            self._died_at = asyncio.get_event_loop().time()
            self.events.append((self._died_at, f"connection lost: {exc or 'closed by the SMSC'}"))
            self._spawn(self._reconnect_loop())

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _reconnecting(self) -> bool:
        return any(getattr(t.get_coro(), "__name__", "") == "_reconnect_loop" for t in self._tasks)

    async def _reconnect_loop(self) -> None:
        assert self.reconnect is not None and self._where is not None and self._binding is not None
        host, port, ssl, timeout = self._where
        system_id, password, kind, fields = self._binding
        loop = asyncio.get_running_loop()
        attempt = 0
        while not self._closing and not self.reconnect.gives_up(attempt):
            await asyncio.sleep(self.reconnect.delay(attempt))
            attempt += 1
            self.session = Session(Role.ESME, observer=self._observe if self._tracing else None)
            self._closed = asyncio.Event()
            try:
                await self.connect(host, port, ssl=ssl, timeout=timeout)
                await self.bind(system_id, password, kind, **fields)
            except BindError as exc:
                if self._transport is not None:
                    self._transport.close()
                if not Reconnect.retriable(exc.command_status):
                    self.events.append((loop.time(), f"rebind refused with {status_name(exc.command_status)}: "
                                                     "stopped reconnecting"))
                    return
                self.events.append((loop.time(), f"rebind refused with {status_name(exc.command_status)}: waiting"))
                continue
            except (OSError, TimeoutError, ConnectionError) as exc:
                self.events.append((loop.time(), f"reconnect attempt {attempt} failed: {exc or type(exc).__name__}"))
                continue
            self.recoveries.append(loop.time() - self._died_at)
            self.events.append((loop.time(), f"rebound after {self.recoveries[-1]:.2f} s"))
            return

    async def _keepalive(self) -> None:
        """enquire_link when idle for `enquire_link_interval`; drop the connection when it
        is not answered within `response_timeout` (§4.11)."""
        interval = self.enquire_link_interval
        assert interval is not None
        loop = asyncio.get_running_loop()
        while not self._closing:
            await asyncio.sleep(min(interval, 0.5) / 2)
            transport = self._transport
            if not self._bound.is_set() or transport is None or transport.is_closing():
                continue
            if loop.time() - self._last_rx < interval:
                continue
            try:
                await asyncio.wait_for(self._request(EnquireLink()), self.response_timeout)
            except (TimeoutError, ConnectionError):
                if transport is self._transport and not transport.is_closing():
                    self.events.append((loop.time(), f"enquire_link unanswered for {self.response_timeout:g} s"))
                    transport.abort()

    async def _sweep(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(min(0.5, self.response_timeout / 4))
            for pdu in self.session.timed_out(loop.time(), self.response_timeout):
                future = self._futures.pop(pdu.sequence_number, None)
                self._requests.pop(pdu.sequence_number, None)
                self.counters["timeouts"] += 1
                if future is not None and not future.done():
                    future.set_exception(
                        TimeoutError(
                            f"no response to {pdu.command_name} seq={pdu.sequence_number} "
                            f"within {self.response_timeout:g} s"
                        )
                    )

    def _observe(self, direction: str, pdu: Pdu, data: bytes) -> None:
        note = self._stray(pdu) if direction == "in" and pdu.is_response else None
        event = pdu_event(
            pdu, time=time.time(), direction=direction, system="esme", session=self.peer,
            peer=self.peer, system_id=self.system_id, bind=self.bind_kind, raw=data, note=note,
        )
        if self._trace_list is not None:
            self._trace_list.append(event)
        if self._trace_file is not None:
            self._trace_file.write(dump_event(event) + "\n")
