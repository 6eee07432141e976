"""The asyncio driver: TCP listeners and connections around the sans-IO `Engine`.

Strategy: each TCP connection is a thin `asyncio.BufferedProtocol` that reports what
happened to the engine (opened, bytes, EOF, lost) with the time on the simulator's
clock, then carries out the engine's actions (`run_actions`). The engine keeps its own
timers; the driver arms one loop timer for the earliest, rounded up to `TICK` so
thousands of receipts a second cost one wake-up per tick. All SMPP rules live in
`smppkit.simulator.engine`; what guards the process against its clients lives here, at
the edge (each limit is a `SimConfig` field):

* connections: at most `max_connections` open, `max_connections_per_address` from one
  source address; one more is closed at once (traced, counted as connections_refused);
* reading: every connection reads into the simulator's one buffer of `read_chunk`
  octets, so no connection owns a read buffer; what a client sends beyond it waits in
  the kernel, where TCP flow control slows the sender. The engine handles at most
  `max_pdus_per_turn` PDUs of it per loop turn; when it leaves some, the connection is
  not read and the engine is called again with `loop.call_soon`, after the other ready
  connections had their turn;
* back-pressure: a connection whose unsent output passes `write_high_water` is not read
  until that drains to a quarter of it (asyncio's pause_writing/resume_writing), and the
  engine is told (`Engine.congested`), so it holds that connection's receipts meanwhile:
  a client that writes without reading stalls itself and nobody else;
* timeouts (bind, a started PDU, inactivity, enquire_link) are the engine's rules, the
  same under the virtual driver; a command_length above `max_command_length` is refused
  by the session before anything is buffered (generic_nack ESME_RINVCMDLEN, §3.2);
* closing: output still unsent `CLOSE_LINGER` s after a close is dropped (abort), so a
  peer that never reads cannot keep a socket.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import json
import shutil
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from smppkit.protocol.pdus import DeliverSm
from smppkit.simulator.config import PROFILES, SimConfig
from smppkit.simulator.engine import (
    Close,
    Connect,
    Engine,
    Listen,
    Send,
    Trace,
    mo_pdus,
)
from smppkit.simulator.guard import address_of
from smppkit.trace import dump_event

__all__ = ["CLOSE_LINGER", "Simulator"]

#: Seconds a closed connection may still spend flushing its output before it is reset.
CLOSE_LINGER = 2.0
#: Connections closed before the allocator is asked to give freed memory back (at most
#: once a second): the buffers of many slow connections are freed in the middle of the
#: C heap, which glibc keeps mapped unless malloc_trim is called.
TRIM_AFTER_CLOSES = 32


def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's malloc_trim, or None on other C libraries."""
    try:
        import ctypes

        return ctypes.CDLL("libc.so.6").malloc_trim  # type: ignore[no-any-return]
    except (OSError, AttributeError):
        return None


_MALLOC_TRIM = _malloc_trim()


class _Listener:
    """One instance's listening sockets (plain and, with TLS, a second port)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.port: int | None = None  # None: no plain port (tls_only)
        self.tls_port: int | None = None
        self.servers: list[asyncio.base_events.Server] = []

    @property
    def up(self) -> bool:
        return bool(self.servers)


class Connection(asyncio.BufferedProtocol):
    """One TCP connection: every event goes to the engine, every action comes back.

    Reads land in the simulator's shared `read_buffer` (`get_buffer`) and are copied out
    at once in `buffer_updated`; asyncio calls the two back to back, so one buffer serves
    every connection.
    """

    def __init__(self, sim: Simulator, instance: str, conn_id: int, outbound: bool = False) -> None:
        self.sim = sim
        self.instance = instance
        self.id = conn_id
        self.outbound = outbound
        self.transport: asyncio.Transport | None = None
        self.host = ""
        self.admitted = False
        self.paused_output = False  # our unsent output is above the high-water mark
        self.backlog = False  # the engine left PDUs for a later turn

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        peer = transport.get_extra_info("peername") or ("?", 0)
        peer_text = f"{peer[0]}:{peer[1]}"
        self.host = address_of(peer_text)
        sim = self.sim
        if not sim.admit(self, peer_text):
            transport.close()
            return
        high = sim.config.write_high_water
        self.transport.set_write_buffer_limits(high=high, low=high // 4)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            # A small kernel send buffer, so a peer that does not read shows up in our own
            # buffer (and pauses its reading) after kilobytes, not the megabytes autotuning
            # would give it.
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, high)
        sim.engine.connection_opened(self.id, self.instance, peer_text, sim.now(), self.outbound)
        sim.run_actions()

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.sim.read_buffer

    def buffer_updated(self, nbytes: int) -> None:
        if not self.admitted:
            return
        sim = self.sim
        more = sim.engine.data_received(self.id, bytes(sim.read_buffer[:nbytes]), sim.now())
        sim.run_actions()
        if more:
            self._hold_input()

    def eof_received(self) -> bool | None:
        if self.admitted:
            sim = self.sim
            more = sim.engine.data_received(self.id, b"", sim.now())
            sim.run_actions()
            if more:
                self._hold_input()
                return True  # PDUs before the EOF still to answer (defensive: reading is
                # paused while PDUs wait, so an EOF normally comes after them)
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.admitted:
            return
        sim = self.sim
        sim.release(self)
        sim.engine.connection_closed(self.id, sim.now())
        sim.run_actions()

    # -- fairness: PDUs the engine left for a later turn --------------------------------

    def _hold_input(self) -> None:
        """Stop reading and let the engine go on after the other ready connections."""
        transport = self.transport
        if transport is None or transport.is_closing() or self.sim.loop is None:
            return
        if not self.backlog:
            self.backlog = True
            if transport.is_reading():
                transport.pause_reading()
        self.sim.loop.call_soon(self._continue_input)

    def _continue_input(self) -> None:
        sim = self.sim
        more = sim.engine.continue_input(self.id, sim.now())
        sim.run_actions()
        if more:
            self._hold_input()
            return
        self.backlog = False
        self._update_reading()

    def _update_reading(self) -> None:
        """Read unless our output is over the high-water mark or PDUs wait in the engine."""
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        if self.paused_output or self.backlog:
            if transport.is_reading():
                transport.pause_reading()
        elif not transport.is_reading():
            transport.resume_reading()

    # -- back-pressure: asyncio calls these around the transport's write buffer limits --

    def pause_writing(self) -> None:
        self.paused_output = True
        self.sim.engine.counters["reads_paused"] += 1
        self._update_reading()
        sim = self.sim
        sim.engine.congested(self.id, True, sim.now())
        # no run_actions here: asyncio calls this from inside transport.write, which is
        # inside run_actions; the engine's note goes out with that run

    def resume_writing(self) -> None:
        self.paused_output = False
        self._update_reading()
        sim = self.sim
        sim.engine.congested(self.id, False, sim.now())
        sim.run_actions()


class Simulator:
    """An SMSC (or a cluster of them) on asyncio. Use `start()` for a background thread.

    Args:
        config: a `SimConfig` (not modified); keyword arguments override its fields.

    Raises:
        TypeError: an unknown option.
        ValueError: an unknown profile, or a limit that cannot work (`check_limits`, called
            by the engine).
    """

    #: Engine timers are served in ticks of this many seconds (one loop wake-up per tick).
    TICK = 0.005

    def __init__(self, config: SimConfig | None = None, **overrides: Any) -> None:
        config = config or SimConfig()
        unknown = [k for k in overrides if k not in {f.name for f in dataclasses.fields(SimConfig)}]
        if unknown:
            raise TypeError(f"unknown simulator option {unknown[0]!r}")
        if overrides:
            config = dataclasses.replace(config, **overrides)
        self.config = config
        self._t0 = time.monotonic()
        self._base = config.epoch.timestamp() if config.epoch else time.time()
        self.engine = Engine(config, self.now())
        self.scenario = self.engine.scenario
        self.instances: dict[str, _Listener] = {s.name: _Listener(s.name) for s in PROFILES[config.profile]}
        self.conns: dict[int, Connection] = {}
        self.per_address: collections.Counter[str] = collections.Counter()
        #: the one read buffer every connection reads into (see `Connection`)
        self.read_buffer = memoryview(bytearray(config.read_chunk))
        self.events: collections.deque[dict[str, Any]] = collections.deque(maxlen=config.trace_memory or 1)
        self.tls_cert = config.tls_cert
        self.tls_key = config.tls_key
        self._tls_dir: Path | None = None  # the private directory of a self-signed pair
        self.loop: asyncio.AbstractEventLoop | None = None
        self._conn_ids = iter(range(1, 1 << 62))
        self._trace_file: Any = None
        self._ssl: Any = None
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed_since_trim = 0
        self._trim: asyncio.TimerHandle | None = None

    @property
    def counters(self) -> Any:
        return self.engine.counters

    def now(self) -> float:
        """The simulator's clock: the epoch (or the wall clock) plus elapsed real time."""
        return self._base + (time.monotonic() - self._t0)

    # -- life cycle ------------------------------------------------------------------------

    async def serve(self) -> None:
        """Open every instance's listener(s) and start the engine."""
        self.loop = asyncio.get_running_loop()
        cfg = self.config
        try:
            if cfg.trace_path:
                self._trace_file = open(cfg.trace_path, "w", encoding="utf-8")  # noqa: SIM115
            if cfg.tls or cfg.tls_only or cfg.tls_cert:
                from smppkit.simulator.tls import self_signed, server_context

                if not self.tls_cert:
                    self.tls_cert, self.tls_key = self_signed(host=cfg.host)
                    self._tls_dir = Path(self.tls_cert).parent
                self._ssl = server_context(self.tls_cert, self.tls_key or self.tls_cert)
            for spec in PROFILES[cfg.profile]:
                await self._listen(self.instances[spec.name], cfg.port + spec.port_offset if cfg.port else 0)
        except BaseException:
            await self._close_listeners()
            self._remove_tls_files()
            if self._trace_file is not None:
                self._trace_file.close()
                self._trace_file = None
            raise
        self.engine.start(self.now())
        self.run_actions()

    async def _listen(self, inst: _Listener, port: int | None, tls_port: int | None = None) -> None:
        """Listen for `inst`: plain on `port` and TLS on `tls_port` (0: any free port);
        with `tls_only`, TLS alone on `tls_port` or else `port`."""
        loop = asyncio.get_running_loop()
        cfg = self.config

        def factory() -> Connection:
            return Connection(self, inst.name, next(self._conn_ids))

        servers = []
        if not cfg.tls_only:
            server = await loop.create_server(factory, cfg.host, port or 0, reuse_address=True)
            inst.port = server.sockets[0].getsockname()[1]
            servers.append(server)
        else:
            tls_port = tls_port or port
        inst.servers = servers  # so a failure below still closes what is open
        if self._ssl is not None:
            tserver = await loop.create_server(factory, cfg.host, tls_port or 0, ssl=self._ssl,
                                               reuse_address=True)
            inst.tls_port = tserver.sockets[0].getsockname()[1]
            servers.append(tserver)

    async def _close_listeners(self) -> None:
        for inst in self.instances.values():
            for server in inst.servers:
                server.close()
            for server in inst.servers:
                await server.wait_closed()
            inst.servers = []

    async def stop_instance(self, name: str) -> None:
        """Take one instance down: close its listener and drop its connections (an outage)."""
        self.engine.stop_instance(name, self.now())
        self.run_actions()

    async def start_instance(self, name: str) -> None:
        """Bring a stopped instance back on its old port(s)."""
        await self._relisten(name)  # listening again before the engine says so
        self.engine.start_instance(name, self.now())
        self.run_actions()

    async def close(self, unbind_wait: float = 1.0) -> None:
        """Unbind every client (waiting up to `unbind_wait` s), then close everything.

        A self-signed certificate and its key are deleted with their directory.
        """
        self.engine.unbind_all(self.now())
        self.run_actions()
        deadline = time.monotonic() + unbind_wait
        while self.conns and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        await self._close_listeners()
        for conn in list(self.conns.values()):
            if conn.transport is not None:
                conn.transport.abort()
        for handle in (self._timer, self._trim):
            if handle is not None:
                handle.cancel()
        self._timer = self._trim = None
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, OSError):
                await task
        await asyncio.sleep(0)
        if self._trace_file is not None:
            self._trace_file.close()
            self._trace_file = None
        self._remove_tls_files()

    def _remove_tls_files(self) -> None:
        if self._tls_dir is not None:
            shutil.rmtree(self._tls_dir, ignore_errors=True)
            self._tls_dir = None

    # -- connections: admission and closing ------------------------------------------------

    def admit(self, conn: Connection, peer: str) -> bool:
        """Count `conn` in, or refuse it (traced) when a connection limit is reached."""
        cfg = self.config
        why = None
        if cfg.max_connections is not None and len(self.conns) >= cfg.max_connections:
            why = f"{len(self.conns)} connections open (max_connections {cfg.max_connections})"
        elif (cfg.max_connections_per_address is not None
              and self.per_address[conn.host] >= cfg.max_connections_per_address):
            why = (f"{self.per_address[conn.host]} connections open from {conn.host} "
                   f"(max_connections_per_address {cfg.max_connections_per_address})")
        if why is not None:
            self.engine.counters["connections_refused"] += 1
            self.engine.note_instance(conn.instance, f"connection from {peer} refused: {why}")
            self.run_actions()
            return False
        conn.admitted = True
        self.conns[conn.id] = conn
        self.per_address[conn.host] += 1
        return True

    def release(self, conn: Connection) -> None:
        if self.conns.pop(conn.id, None) is not None:
            left = self.per_address[conn.host] - 1
            if left > 0:
                self.per_address[conn.host] = left
            else:
                del self.per_address[conn.host]
            self._closed_since_trim += 1
            if self._trim is None and self.loop is not None and (
                self._closed_since_trim >= TRIM_AFTER_CLOSES or not self.conns
            ):
                self._trim = self.loop.call_later(1.0, self._give_back_memory)

    def _give_back_memory(self) -> None:
        """Return the C heap's free pages to the system after many connections closed."""
        self._trim = None
        self._closed_since_trim = 0
        trim = _MALLOC_TRIM
        if trim is not None:
            trim(0)

    def close_transport(self, conn: Connection, abort: bool) -> None:
        """Close (after flushing, at most `CLOSE_LINGER` s) or reset one connection."""
        transport = conn.transport
        if transport is None:
            return
        if abort:
            transport.abort()
            return
        transport.close()
        if transport.get_write_buffer_size() and self.loop is not None:
            self.loop.call_later(CLOSE_LINGER, transport.abort)

    # -- the engine's actions and timers -----------------------------------------------------

    def run_actions(self) -> None:
        """Carry out what the engine asked for, then arm the timer for its next deadline."""
        actions = self.engine.actions()
        while actions:
            for action in actions:
                if type(action) is Send:
                    conn = self.conns.get(action.conn)
                    if conn is not None and conn.transport is not None and not conn.transport.is_closing():
                        conn.transport.write(action.data)
                elif type(action) is Trace:
                    self._record(action.event)
                elif type(action) is Close:
                    conn = self.conns.get(action.conn)
                    if conn is not None:
                        self.close_transport(conn, action.abort)
                elif type(action) is Listen:
                    if not action.up:
                        inst = self.instances[action.instance]
                        for server in inst.servers:
                            server.close()
                        inst.servers = []
                    else:
                        self._spawn(self._relisten(action.instance))
                elif type(action) is Connect:
                    self._spawn(self._connect(action))
            actions = self.engine.actions()
        self._arm()

    def _record(self, event: dict[str, Any]) -> None:
        if self.config.trace_memory:
            self.events.append(event)
        if self._trace_file is not None:
            self._trace_file.write(dump_event(event) + "\n")

    def _arm(self) -> None:
        deadline = self.engine.next_deadline()
        if deadline is None or self.loop is None:
            return
        if self._timer is not None:
            assert self._timer_at is not None
            if self._timer_at <= deadline + self.TICK:
                return  # the armed timer comes soon enough
            self._timer.cancel()
        delay = deadline - self.now()
        if delay > 0:
            delay = (int(delay / self.TICK) + 1) * self.TICK
        self._timer_at = deadline
        self._timer = self.loop.call_later(max(0.0, delay), self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._timer_at = None
        self.engine.advance(self.now())
        self.run_actions()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _relisten(self, name: str) -> None:
        inst = self.instances[name]
        if not inst.up:
            await self._listen(inst, inst.port, inst.tls_port)

    async def _connect(self, action: Connect) -> None:
        loop = asyncio.get_running_loop()
        try:
            await loop.create_connection(
                lambda: Connection(self, action.instance, action.conn, outbound=True),
                action.host, action.port,
            )
        except OSError as exc:
            self.engine.counters["outbind_failures"] += 1
            self.engine.note_instance(action.instance, f"outbind to {action.host}:{action.port} "
                                                       f"failed: {exc}")
            self.run_actions()

    # -- controls used by the handle -----------------------------------------------------------

    def inject(self, account: str, pdus: list[DeliverSm], instance: str | None = None) -> None:
        """Queue MO deliver_sm PDUs for `account` (on `instance`'s cluster)."""
        self.engine.inject_mo(account, pdus, instance or next(iter(self.instances)), self.now())
        self.run_actions()

    mo_pdus = staticmethod(mo_pdus)

    def snapshot(self) -> dict[str, Any]:
        """The engine's counters and gauges, plus `write_buffer_max`: the most unsent
        octets any connection has in its transport now."""
        out = self.engine.snapshot()
        out["write_buffer_max"] = max((c.transport.get_write_buffer_size() for c in self.conns.values()
                                       if c.transport is not None), default=0)
        return out

    def trace_lines(self) -> list[str]:
        return [json.dumps(e) for e in self.events]
