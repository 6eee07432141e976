"""Fixtures for the simulator integration tests: every simulator and client is cleaned up.

* `start_sim(**options)` starts a simulator (seed 7, dlr_delay 0.05 unless given) and stops
  it after the test; `sim` is one started with the defaults.
* `esme(address)` → a connected smpplib `Esme`; `raw(address)` → a `RawEsme` (simclients.py).
  Both are closed before the simulators stop.
"""

from __future__ import annotations

from typing import Any

import pytest
from simclients import Esme, RawEsme

from smppkit import simulator


@pytest.fixture
def start_sim():
    """Start simulators (stopped after the test): `start_sim(**options)` → handle."""
    handles: list[simulator.SimulatorHandle] = []

    def start(**options: Any) -> simulator.SimulatorHandle:
        options.setdefault("seed", 7)
        options.setdefault("dlr_delay", 0.05)
        handle = simulator.start(**options)
        handles.append(handle)
        return handle

    yield start
    for handle in handles:
        handle.stop()


@pytest.fixture
def sim(start_sim):
    return start_sim()


def _clients(cls: Any) -> Any:
    """`make(address, **kw)` → a connected `cls`; every one is closed after the test."""
    clients: list[Any] = []

    def make(address: str, **kwargs: Any) -> Any:
        client = cls(address, **kwargs)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def esme(start_sim):
    """`esme(address, **kw)` → a connected `Esme`, closed before the simulator stops."""
    yield from _clients(Esme)


@pytest.fixture
def raw(start_sim):
    """`raw(address)` → a connected `RawEsme`, closed before the simulator stops."""
    yield from _clients(RawEsme)
