"""A live view of a running simulator: its counters as JSON, a page that updates them in
place, and the same numbers in the Prometheus text format.

Strategy: `read` takes one consistent picture of the simulator (it must run on the
simulator's event loop, as everything here does); `Rates` turns successive pictures into
submits per second; `LiveServer` is a tiny HTTP/1.1 server on that same loop, so no lock is
needed. Routes: ``/`` the page (it polls ``/stats.json`` once a second with fetch),
``/stats.json``, ``/metrics`` (Prometheus, via `prometheus_client`). It listens on
127.0.0.1 unless told otherwise and closes with the simulator.

``smppkit sim --http PORT`` starts one; from Python, ``live.serve(handle, port)`` on a
`SimulatorHandle`. `smppkit.notebook.widgets.monitor` shows the same numbers in a notebook.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

__all__ = ["COUNTERS", "HandleServer", "LiveServer", "Rates", "read", "serve"]

#: What the live views show, in order: counter key -> plain-language label. The keys are
#: `Simulator.snapshot()` keys, plus ``submits_per_s`` (computed by `Rates`).
COUNTERS: dict[str, str] = {
    "submits_per_s": "submits per second",
    "submits": "submit_sm received",
    "throttled": "answered ESME_RTHROTTLED",
    "messages_pending": "receipts pending (message not final yet)",
    "receipts_waiting": "deliver_sm queued (no receiving bind, or it is congested)",
    "deliver_sm": "deliver_sm sent (receipts and MO)",
    "deliver_acked": "deliver_sm acknowledged",
    "mo": "MO messages",
    "bound_sessions": "sessions bound",
}

#: `Simulator.snapshot()` keys that are gauges (they go up and down); the rest only count up.
_GAUGES = {"bound_sessions", "receipts_waiting", "receipts_held", "messages_pending",
           "congested_connections", "timers_armed", "write_buffer_max"}


def read(sim: Any) -> dict[str, Any]:
    """One picture of the simulator: its counters and its bound sessions per instance,
    account and bind type. Call it on the simulator's event loop."""
    counters = {key: int(value) for key, value in sim.snapshot().items()}
    for key in COUNTERS:
        counters.setdefault(key, 0)
    binds: collections.Counter[tuple[str, str, str]] = collections.Counter()
    for conn in list(sim.engine.conns.values()):  # the sans-IO engine's view of each connection
        if conn.session.is_bound:
            binds[(conn.instance.name, conn.account, conn.bind)] += 1
    return {
        "counters": counters,
        "binds": [
            {"instance": i, "account": a, "bind": b, "sessions": n}
            for (i, a, b), n in sorted(binds.items())
        ],
        "instances": {name: inst.up for name, inst in sim.instances.items()},
    }


@dataclass
class Rates:
    """Submits per second over the last `window` seconds, from successive `read` pictures."""

    window: float = 2.0
    _samples: collections.deque[tuple[float, int]] = field(default_factory=collections.deque)

    def update(self, stats: dict[str, Any], now: float | None = None) -> dict[str, Any]:
        """Add ``submits_per_s`` to `stats` (in place) and return it."""
        now = time.monotonic() if now is None else now
        submits = stats["counters"].get("submits", 0)
        self._samples.append((now, submits))
        while len(self._samples) > 2 and now - self._samples[1][0] >= self.window:
            self._samples.popleft()
        t0, s0 = self._samples[0]
        rate = (submits - s0) / (now - t0) if now > t0 else 0.0
        stats["counters"]["submits_per_s"] = round(max(rate, 0.0), 1)
        return stats


_HELP = {
    "submits": "submit_sm and submit_multi PDUs received",
    "throttled": "submits answered ESME_RTHROTTLED (0x58)",
    "queue_full": "submits answered ESME_RMSGQFUL",
    "binds": "successful binds",
    "bind_failures": "binds refused",
    "deliver_sm": "deliver_sm PDUs sent (receipts and MO, retries included)",
    "deliver_acked": "deliver_sm answered ESME_ROK",
    "deliver_retries": "deliver_sm sent again after an error or a timeout",
    "mo": "mobile-originated messages queued",
    "bound_sessions": "sessions bound now",
    "receipts_waiting": "deliver_sm queued for an account with no receiving bind, or held for a congested one",
    "messages_pending": "messages whose receipt is not sent yet",
    "congestions": "times a connection's unsent output went over write_high_water",
    "congested_connections": "connections whose unsent output is over write_high_water now",
    "timers_armed": "engine timers armed now",
    "write_buffer_max": "the most unsent octets any connection has in its transport now",
}


class _Collector:
    """prometheus_client collector over the latest `read` of one simulator."""

    def __init__(self, server: LiveServer) -> None:
        self._server = server

    def collect(self) -> Any:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        stats = self._server.stats()
        for key, value in sorted(stats["counters"].items()):
            name = f"smppkit_{key}"
            if key == "submits_per_s":
                yield GaugeMetricFamily("smppkit_submits_per_second",
                                        "submits per second over the last 2 s", value=value)
            elif key in _GAUGES:
                yield GaugeMetricFamily(name, _HELP.get(key, key), value=value)
            else:
                yield CounterMetricFamily(name, _HELP.get(key, f"simulator counter {key}"),
                                          value=value)
        binds = GaugeMetricFamily("smppkit_binds", "bound sessions",
                                  labels=["instance", "account", "bind_type"])
        for b in stats["binds"]:
            binds.add_metric([b["instance"], b["account"], b["bind"]], b["sessions"])
        yield binds
        up = GaugeMetricFamily("smppkit_instance_up", "1 while the instance listens",
                               labels=["instance"])
        for name, is_up in stats["instances"].items():
            up.add_metric([name], int(is_up))
        yield up


class LiveServer:
    """The HTTP view of one simulator, served by the running event loop.

    Args:
        source: returns a `read` picture; called on this server's loop (for a `Simulator`
            on the same loop: ``lambda: read(sim)``, see `for_simulator`).
        port: TCP port (0 picks a free one; see `port` after `start`).
        host: address to listen on (127.0.0.1: the counters are no one else's business).
    """

    def __init__(self, source: Callable[[], dict[str, Any]], port: int = 0,
                 host: str = "127.0.0.1") -> None:
        from prometheus_client import CollectorRegistry

        self.source = source
        self.host = host
        self.port = port
        self._rates = Rates()
        self._latest: dict[str, Any] | None = None
        self._server: asyncio.base_events.Server | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._page = resources.files(__package__).joinpath("live.html").read_bytes()
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(_Collector(self))  # type: ignore[arg-type]

    @classmethod
    def for_simulator(cls, sim: Any, port: int = 0, host: str = "127.0.0.1") -> LiveServer:
        """A server for a `Simulator` running on the same event loop."""
        return cls(lambda: read(sim), port, host)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    def stats(self) -> dict[str, Any]:
        """The latest picture with submits per second (read now if none yet)."""
        if self._latest is None:
            self._tick()
        assert self._latest is not None
        return self._latest

    def _tick(self) -> None:
        try:
            picture = self.source()
        except Exception:  # the simulator is stopping: keep the last picture
            if self._latest is None:
                raise
            return
        self._latest = self._rates.update(picture)

    async def _tick_forever(self, interval: float) -> None:
        while True:
            self._tick()
            await asyncio.sleep(interval)

    async def start(self, interval: float = 0.5) -> LiveServer:
        """Listen, and refresh the counters every `interval` seconds.

        Raises:
            OSError: the port is taken.
        """
        self._server = await asyncio.start_server(self._handle, self.host, self.port,
                                                  limit=16 * 1024)
        self.port = self._server.sockets[0].getsockname()[1]
        self._ticker = asyncio.get_running_loop().create_task(self._tick_forever(interval))
        return self

    async def close(self) -> None:
        """Stop listening and refreshing; open requests are dropped."""
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5.0)
            method, _, rest = head.decode("latin-1").partition(" ")
            path = rest.partition(" ")[0].partition("?")[0]
            status, ctype, body = self._route(method, path)
            writer.write(
                f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
                "Cache-Control: no-store\r\nConnection: close\r\n\r\n".encode("latin-1")
            )
            if method != "HEAD":
                writer.write(body)
            await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                ConnectionError):
            pass  # a client that hung up or sent junk gets nothing more
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    def _route(self, method: str, path: str) -> tuple[str, str, bytes]:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        if method not in ("GET", "HEAD"):
            return "405 Method Not Allowed", "text/plain", b"GET only\n"
        if path in ("/", "/index.html"):
            return "200 OK", "text/html; charset=utf-8", self._page
        if path == "/stats.json":
            body = {**self.stats(), "labels": COUNTERS}
            return "200 OK", "application/json", json.dumps(body).encode()
        if path == "/metrics":
            self._tick()
            return "200 OK", CONTENT_TYPE_LATEST, generate_latest(self.registry)
        return "404 Not Found", "text/plain", b"not found: try /, /stats.json or /metrics\n"


class HandleServer:
    """A `LiveServer` for a `SimulatorHandle`, on its own thread and event loop. It reads the
    simulator on the simulator's loop, and closes when the simulator stops (checked every
    0.2 s) or on `stop()`. A context manager."""

    def __init__(self, handle: Any, port: int = 0, host: str = "127.0.0.1") -> None:
        self.handle = handle
        self.server = LiveServer(lambda: handle._call_soon(read, handle.sim), port, host)
        self._loop = asyncio.new_event_loop()
        self._stopping = threading.Event()
        started: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._thread = threading.Thread(target=self._run, args=(started,),
                                        name="smppkit-live", daemon=True)
        self._thread.start()
        started.result(10)  # re-raises OSError when the port is taken

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _run(self, started: concurrent.futures.Future[None]) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self.server.start())
        except BaseException as exc:  # the caller gets the error
            started.set_exception(exc)
            self._loop.close()
            return
        started.set_result(None)
        self._loop.run_until_complete(self._until_stopped())
        self._loop.close()

    async def _until_stopped(self) -> None:
        while self.handle.running and not self._stopping.is_set():
            await asyncio.sleep(0.2)
        await self.server.close()

    def stop(self) -> None:
        """Stop serving (the simulator keeps running). Safe to call twice."""
        self._stopping.set()
        self._thread.join(10)

    def __enter__(self) -> HandleServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<smppkit live view {self.url} {'running' if self.running else 'stopped'}>"


def serve(handle: Any, port: int = 0, host: str = "127.0.0.1") -> HandleServer:
    """Serve the live view of a simulator started with `smppkit.simulator.start`.

    Returns:
        A `HandleServer`; ``.url`` is the page. It stops with the simulator, or on ``stop()``.

    Raises:
        OSError: the port is taken.
    """
    return HandleServer(handle, port, host)
