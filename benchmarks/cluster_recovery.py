"""Recovery times of the clients, measured against the simulator on 127.0.0.1.

Three cases, each repeated:

* **outage**: `connect_cluster` bound to SMPP1 and SMPP2; SMPP1 stops (its sockets close) and
  starts again 2 s later. Reported: seconds from the stop to the cluster noticing
  ("detect"), and from the restart to SMPP1 back in service after its probation ("return").
* **half-open**: SMPP1 stops answering enquire_link (the connection stays open, as after a
  silent network failure). Reported: seconds from the bind to the cluster declaring SMPP1
  dead, with this kit's cluster defaults (enquire_link after 1 s idle, 1 s to answer) and
  with the settings the cluster used before (5 s idle, 2 s to answer: 7.1 s in issue 14).
* **single bind**: `connect()` to SMPP0; SMPP0 stops and starts again 1 s later. Reported:
  seconds from the restart to the rebind.

Wall-clock figures on a shared machine: compare rows of one run. Prints a table and writes
benchmarks/results/cluster_recovery.json.

Usage: python benchmarks/cluster_recovery.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

from smppkit import client, simulator  # noqa: E402
from smppkit.clients.reconnect import Reconnect  # noqa: E402
from smppkit.simulator import Fault, Scenario  # noqa: E402

POLICY = Reconnect(base=0.1, cap=2.0, seed=1)


def _until(predicate, timeout: float = 30.0) -> float:
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            raise TimeoutError("condition not reached")
        time.sleep(0.005)
    return time.monotonic()


def outage() -> tuple[float, float]:
    with simulator.start(seed=7) as sim, client.connect_cluster(sim, reconnect=POLICY) as cluster:
        stopped = time.monotonic()
        sim.stop_instance("SMPP1")
        detected = _until(lambda: "SMPP1" not in [c.name for c in cluster.live()])
        time.sleep(2.0)
        started = time.monotonic()
        sim.start_instance("SMPP1")
        back = _until(lambda: "SMPP1" in [c.name for c in cluster.live()])
        return detected - stopped, back - started


def half_open(interval: float, timeout: float) -> float:
    scenario = Scenario("half-open SMPP1", faults=(Fault("ignore_enquire_link", "SMPP1"),))
    with simulator.start(seed=7, scenario=scenario) as sim:
        bound = time.monotonic()
        with client.connect_cluster(sim, reconnect=POLICY, enquire_link_interval=interval,
                                    timeout=timeout) as cluster:
            dead = _until(lambda: any("bind died" in w for _, b, w in cluster.events if b == "SMPP1"))
        return dead - bound


def single_bind() -> float:
    with simulator.start(seed=7) as sim, client.connect(sim, instance="SMPP0", reconnect=POLICY) as conn:
        sim.stop_instance("SMPP0")
        _until(lambda: not conn.alive)
        time.sleep(1.0)
        started = time.monotonic()
        sim.start_instance("SMPP0")
        return _until(lambda: conn.alive) - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rows: dict[str, list[float]] = {k: [] for k in (
        "outage: detect", "outage: return after restart", "half-open: detect (1 s + 1 s)",
        "half-open: detect (5 s + 2 s, before)", "single bind: rebind after restart")}
    for _ in range(args.repeats):
        detect, back = outage()
        rows["outage: detect"].append(detect)
        rows["outage: return after restart"].append(back)
        rows["half-open: detect (1 s + 1 s)"].append(half_open(1.0, 1.0))
        rows["half-open: detect (5 s + 2 s, before)"].append(half_open(5.0, 2.0))
        rows["single bind: rebind after restart"].append(single_bind())
    print(f"{'case':40} {'median s':>9} {'min s':>7} {'max s':>7}")
    results = {}
    for name, values in rows.items():
        results[name] = {"median": statistics.median(values), "min": min(values), "max": max(values),
                         "runs": values}
        print(f"{name:40} {results[name]['median']:9.3f} {min(values):7.3f} {max(values):7.3f}")
    out = ROOT / "benchmarks" / "results" / "cluster_recovery.json"
    out.write_text(json.dumps({"python": platform.python_version(), "repeats": args.repeats,
                               "results": results}, indent=2) + "\n")
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
