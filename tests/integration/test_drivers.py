"""One engine, two drivers: the same scenario over asyncio sockets and on virtual time gives
the same trace (same PDUs, same order per connection, times within a tolerance)."""

from __future__ import annotations

import random
import select
import socket
import time
from typing import Any

from simclients import hostport

from smppkit.protocol.pdus import BindTransceiver, DeliverSmResp, SubmitSm, Unbind
from smppkit.protocol.session import CONNECTION_CLOSED, NEED_DATA, Role, Session
from smppkit.simulator import SimConfig
from smppkit.simulator.virtual import EsmeBehaviour, VirtualNetwork

#: The scenario: bind, one message to each test number every SPACING s (forced outcomes:
#: delivered, failed, ACCEPTD first, 10x late...), answer every deliver_sm, unbind at END.
SPACING, DLR_DELAY, END = 0.4, 0.2, 6.0
NUMBERS = [f"44770090000{d}" for d in range(10)]
#: How far the asyncio run's times may be from the virtual ones (a loaded 2-core machine).
TOLERANCE = 0.15


def _submit(n: int) -> SubmitSm:
    return SubmitSm(source_addr="smppkit", destination_addr=NUMBERS[n], registered_delivery=1,
                    short_message=f"message {n}".encode())


def _virtual_trace() -> list[dict[str, Any]]:
    config = SimConfig(seed=11, dlr_delay=DLR_DELAY, trace_memory=1)
    net = VirtualNetwork(config, rng=random.Random(0), latency=(0.0002, 0.0005))
    client = EsmeBehaviour(enquire_link=None, reconnect=None, resubmit_throttled=None)
    link = net.connect("SMPP1", client)
    t0 = net.now
    for n in range(len(NUMBERS)):
        net.at(t0 + SPACING * (n + 1), net.submit, link, _submit(n))
    net.at(t0 + END, net.unbind_all)
    net.run(until=t0 + END + 1.0)
    return net.events


def _socket_run(address: str) -> None:
    """The same ESME over a real socket: a sans-IO Session and a bounded select loop."""
    session = Session(Role.ESME)
    with socket.create_connection(hostport(address), timeout=5) as sock:
        t0 = time.monotonic()
        plan = [(t0 + SPACING * (n + 1), _submit(n)) for n in range(len(NUMBERS))]
        plan.append((t0 + END, Unbind()))
        session.send(BindTransceiver(system_id="smppkit", password="secret"))
        deadline = t0 + END + 3.0
        closed = False
        while not closed and time.monotonic() < deadline:
            while plan and plan[0][0] <= time.monotonic():
                session.send(plan.pop(0)[1])
            out = session.data_to_send()
            if out:
                sock.sendall(out)
            wait = max(0.0, min(plan[0][0] if plan else deadline, deadline) - time.monotonic())
            ready, _, _ = select.select([sock], [], [], min(wait, 0.05))
            if ready:
                data = sock.recv(65536)
                session.receive_data(data)
                while (event := session.next_event()) is not NEED_DATA:
                    if event is CONNECTION_CLOSED:
                        closed = True
                        break
                    if getattr(event, "command_name", "") == "deliver_sm":
                        session.send(DeliverSmResp(sequence_number=event.sequence_number))
                if not data:
                    closed = True
            out = session.data_to_send()
            if out:
                sock.sendall(out)


_KEYS = ("direction", "command", "command_status", "sequence", "message_id", "destination_addr",
         "esm_class", "receipt_stat", "receipt_err")


def _pdus(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = [e for e in events if e["system"] == "simulator" and e["command"]]
    t0 = rows[0]["time"]
    return [{**{k: e[k] for k in _KEYS}, "t": e["time"] - t0, "session": e["session"]} for e in rows]


def test_the_asyncio_and_the_virtual_driver_give_the_same_trace(start_sim) -> None:
    sim = start_sim(seed=11, dlr_delay=DLR_DELAY)
    _socket_run(sim.address("SMPP1"))
    deadline = time.monotonic() + 3
    while sim.counters["bound_sessions"] and time.monotonic() < deadline:
        time.sleep(0.02)
    live = _pdus(sim.trace_events())
    virtual = _pdus(_virtual_trace())
    assert {e["session"] for e in live} == {e["session"] for e in virtual} == {"SMPP1#1"}
    assert [{k: e[k] for k in _KEYS} for e in live] == [{k: e[k] for k in _KEYS} for e in virtual]
    late = [(a["command"], round(a["t"], 3), round(b["t"], 3)) for a, b in zip(live, virtual, strict=True)
            if abs(a["t"] - b["t"]) > TOLERANCE]
    assert not late, late
    assert sum(e["command"] == "deliver_sm" for e in live) == 10  # 9 receipts + 1 ACCEPTD
