"""The asyncio driver: TCP listeners and connections around the sans-IO `Engine`.

Strategy: each TCP connection is a thin `asyncio.Protocol` that reports what happened to
the engine (opened, bytes, EOF, lost) with the time on the simulator's clock, then carries
out the engine's actions (`_run_actions`). The engine keeps its own timers; the driver
arms one loop timer for the earliest, rounded up to `TICK` so thousands of receipts a
second cost one wake-up per tick. All rules live in `smppkit.simulator.engine`; limits
on connections, buffers and back-pressure belong here, at the edge.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import json
import time
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
from smppkit.trace import dump_event

__all__ = ["Simulator"]


class _Listener:
    """One instance's listening sockets (plain and, with TLS, a second port)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.port = 0
        self.tls_port: int | None = None
        self.servers: list[asyncio.base_events.Server] = []

    @property
    def up(self) -> bool:
        return bool(self.servers)


class Connection(asyncio.Protocol):
    """One TCP connection: every event goes to the engine, every action comes back."""

    def __init__(self, sim: Simulator, instance: str, conn_id: int, outbound: bool = False) -> None:
        self.sim = sim
        self.instance = instance
        self.id = conn_id
        self.outbound = outbound
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        peer = transport.get_extra_info("peername") or ("?", 0)
        sim = self.sim
        sim.conns[self.id] = self
        sim.engine.connection_opened(self.id, self.instance, f"{peer[0]}:{peer[1]}", sim.now(),
                                     self.outbound)
        sim.run_actions()

    def data_received(self, data: bytes) -> None:
        sim = self.sim
        sim.engine.data_received(self.id, data, sim.now())
        sim.run_actions()

    def eof_received(self) -> bool | None:
        sim = self.sim
        sim.engine.data_received(self.id, b"", sim.now())
        sim.run_actions()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        sim = self.sim
        sim.conns.pop(self.id, None)
        sim.engine.connection_closed(self.id, sim.now())
        sim.run_actions()


class Simulator:
    """An SMSC (or a cluster of them) on asyncio. Use `start()` for a background thread.

    Args:
        config: a `SimConfig` (not modified); keyword arguments override its fields.
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
        if config.profile not in PROFILES:
            raise ValueError(f"unknown profile {config.profile!r}; known: {', '.join(PROFILES)}")
        self.config = config
        self._t0 = time.monotonic()
        self._base = config.epoch.timestamp() if config.epoch else time.time()
        self.engine = Engine(config, self.now())
        self.scenario = self.engine.scenario
        self.instances: dict[str, _Listener] = {s.name: _Listener(s.name) for s in PROFILES[config.profile]}
        self.conns: dict[int, Connection] = {}
        self.events: collections.deque[dict[str, Any]] = collections.deque(maxlen=config.trace_memory or 1)
        self.tls_cert = config.tls_cert
        self.tls_key = config.tls_key
        self.loop: asyncio.AbstractEventLoop | None = None
        self._conn_ids = iter(range(1, 1 << 62))
        self._trace_file: Any = None
        self._ssl: Any = None
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

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
        if cfg.trace_path:
            self._trace_file = open(cfg.trace_path, "w", encoding="utf-8")  # noqa: SIM115
        if cfg.tls or cfg.tls_cert:
            from smppkit.simulator.tls import self_signed, server_context

            if not self.tls_cert:
                self.tls_cert, self.tls_key = self_signed(host=cfg.host)
            self._ssl = server_context(self.tls_cert, self.tls_key or self.tls_cert)
        for spec in PROFILES[cfg.profile]:
            await self._listen(self.instances[spec.name], cfg.port + spec.port_offset if cfg.port else 0)
        self.engine.start(self.now())
        self.run_actions()

    async def _listen(self, inst: _Listener, port: int, tls_port: int | None = None) -> None:
        loop = asyncio.get_running_loop()

        def factory() -> Connection:
            return Connection(self, inst.name, next(self._conn_ids))

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
        self.engine.stop_instance(name, self.now())
        self.run_actions()

    async def start_instance(self, name: str) -> None:
        """Bring a stopped instance back on its old port(s)."""
        self.engine.start_instance(name, self.now())
        self.run_actions()
        inst = self.instances[name]
        if not inst.up:
            await self._listen(inst, inst.port, inst.tls_port)

    async def close(self, unbind_wait: float = 1.0) -> None:
        """Unbind every client (waiting up to `unbind_wait` s), then close everything."""
        self.engine.unbind_all(self.now())
        self.run_actions()
        deadline = time.monotonic() + unbind_wait
        while self.conns and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        for inst in self.instances.values():
            for server in inst.servers:
                server.close()
            for server in inst.servers:
                await server.wait_closed()
            inst.servers = []
        for conn in list(self.conns.values()):
            if conn.transport is not None:
                conn.transport.abort()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, OSError):
                await task
        await asyncio.sleep(0)
        if self._trace_file is not None:
            self._trace_file.close()
            self._trace_file = None

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
                    if conn is not None and conn.transport is not None:
                        if action.abort:
                            conn.transport.abort()
                        else:
                            conn.transport.close()
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
        """Counters plus live gauges (binds up, receipts held and waiting, messages pending)."""
        return self.engine.snapshot()

    def trace_lines(self) -> list[str]:
        return [json.dumps(e) for e in self.events]
