"""A local SMSC that behaves like the provider in the source document.

Start it from Python (it runs in a background thread with its own event loop)::

    import smppkit
    with smppkit.simulator.start(seed=7) as sim:
        print(sim.address("SMPP1"))      # bind here with any SMPP client
        ...
        df = sim.trace()                 # every PDU in and out, as a DataFrame

or from a shell: ``smppkit sim`` (see ``smppkit sim --help``).

Every rule lives in `smppkit.simulator.engine.Engine` (sans-IO); `server` runs it on
asyncio sockets, `virtual` on virtual time with scripted ESMEs (the sample logs).
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from smppkit.simulator.config import (
    DEFAULT_EPOCH,
    PROFILES,
    TEST_NUMBERS,
    Account,
    Outcome,
    SimConfig,
)
from smppkit.simulator.engine import ERR_SPLIT_PARTS, Engine
from smppkit.simulator.scenarios import (
    BUILTIN_SCENARIOS,
    FAULT_KINDS,
    Fault,
    Scenario,
    load_scenario,
)
from smppkit.simulator.server import Simulator
from smppkit.sms.meanings import DELIVER_SM_RESP_RETRY as DELIVER_RETRY_STATUSES

__all__ = [
    "Account",
    "BUILTIN_SCENARIOS",
    "DEFAULT_EPOCH",
    "DELIVER_RETRY_STATUSES",
    "ERR_SPLIT_PARTS",
    "Engine",
    "FAULT_KINDS",
    "Fault",
    "Outcome",
    "PROFILES",
    "Scenario",
    "SimConfig",
    "Simulator",
    "SimulatorHandle",
    "TEST_NUMBERS",
    "load_scenario",
    "start",
]


class SimulatorHandle:
    """A simulator running in a background thread. Every method is safe to call from any thread.

    Use it as a context manager, or call `stop()`; either leaves no thread, socket or task.
    """

    def __init__(self, sim: Simulator, timeout: float = 10.0) -> None:
        self.sim = sim
        self._timeout = timeout
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="smppkit-simulator", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError(f"the simulator did not start within {timeout:.0f} s")
        if self._error is not None:
            self._thread.join(timeout)
            raise self._error

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self.sim.serve())
        except BaseException as exc:  # report start-up failures to the caller
            self._error = exc
            self._ready.set()
            self._loop.close()
            return
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(self._loop.shutdown_asyncgens())
        self._loop.close()

    def _call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(self._timeout)

    def _call_soon(self, fn: Any, *args: Any) -> Any:
        async def run() -> Any:
            return fn(*args)

        return self._call(run())

    # -- addresses --
    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    @property
    def instances(self) -> list[str]:
        return list(self.sim.instances)

    @property
    def host(self) -> str:
        return self.sim.config.host

    def port(self, instance: str = "SMPP1") -> int:
        port = self.sim.instances[instance].port
        if port is None:
            raise RuntimeError("no plain port: the simulator listens with TLS only; use tls_address()")
        return port

    def address(self, instance: str = "SMPP1") -> str:
        """"host:port" of one instance."""
        return f"{self.host}:{self.port(instance)}"

    @property
    def addresses(self) -> dict[str, str]:
        return {name: self.address(name) for name in self.sim.instances}

    def tls_address(self, instance: str = "SMPP1") -> str:
        port = self.sim.instances[instance].tls_port
        if port is None:
            raise RuntimeError("TLS is off; start the simulator with tls=True")
        return f"{self.host}:{port}"

    @property
    def tls_cert(self) -> str | None:
        return self.sim.tls_cert

    @property
    def account(self) -> Account:
        """The first account (what `smppkit.client.connect` binds with by default)."""
        return self.sim.config.accounts[0]

    # -- control --
    def stop_instance(self, name: str) -> None:
        """An outage: the instance stops listening and drops its connections."""
        self._call(self.sim.stop_instance(name))

    def start_instance(self, name: str) -> None:
        self._call(self.sim.start_instance(name))

    def inject_mo(
        self,
        source_addr: str,
        destination_addr: str,
        text: str,
        *,
        account: str | None = None,
        instance: str = "SMPP1",
        reference: int = 0,
        encoding: str = "auto",
    ) -> int:
        """Send a mobile-originated message to the account's receiving binds.

        Long texts are split with a UDH (8-bit reference `reference`). Returns the number of
        deliver_sm PDUs queued.
        """
        pdus = self.sim.mo_pdus(source_addr, destination_addr, text, reference=reference,
                                encoding=encoding)
        self._call_soon(self.sim.inject, account or self.account.system_id, pdus, instance)
        return len(pdus)

    @property
    def counters(self) -> dict[str, int]:
        """Counters (binds, submits, throttled, deliver_sm, ...) and live gauges."""
        return self._call_soon(self.sim.snapshot)

    def trace(self) -> Any:
        """Every PDU in and out so far, as a DataFrame in the `smppkit.trace` schema."""
        from smppkit.diagnose.logs import from_events

        return from_events(self._call_soon(lambda: list(self.sim.events)))

    def trace_events(self) -> list[dict[str, Any]]:
        return self._call_soon(lambda: list(self.sim.events))

    def clear_trace(self) -> None:
        self._call_soon(self.sim.events.clear)

    def stop(self) -> None:
        """Unbind every client, close every socket and task, and end the thread."""
        if not self._thread.is_alive():
            return
        try:
            self._call(self.sim.close())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(self._timeout)

    def __enter__(self) -> SimulatorHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        where = ", ".join(f"{n} {self.host}:{i.port or i.tls_port}" for n, i in self.sim.instances.items())
        return f"<smppkit simulator {self.sim.config.profile!r} seed={self.sim.config.seed} {state}: {where}>"


def start(profile: str = "nexmo", seed: int = 0, **options: Any) -> SimulatorHandle:
    """Start a simulator in a background thread and return its handle.

    Args:
        profile: "nexmo" (SMPP1+SMPP2 cluster and stand-alone SMPP0) or "single".
        seed: makes ids, outcomes, delays and receipt dates reproducible.
        **options: any `SimConfig` field (port, accounts, dlr_delay, id_format, scenario,
            trace_path, tls, throughput=..., max_binds=..., ...). `throughput`, `max_binds`
            and `max_pending` set the limits of the default account.

    Raises:
        OSError: a port is taken.
    """
    limits = {k: options.pop(k) for k in ("throughput", "max_binds", "max_pending") if k in options}
    if limits:
        base = options.get("accounts", (Account(),))
        options["accounts"] = tuple(
            Account(a.system_id, a.password, **{**_limits_of(a), **limits}) for a in base
        )
    config = SimConfig(profile=profile, seed=seed, **options)
    return SimulatorHandle(Simulator(config))


def _limits_of(account: Account) -> dict[str, Any]:
    return {
        "throughput": account.throughput,
        "max_binds": account.max_binds,
        "allow_ips": account.allow_ips,
        "max_pending": account.max_pending,
    }
