"""The simulator against two bare stdlib SMSCs, with the same stdlib load client, in one run.

Every server runs in its own process (`smppkit sim`, `benchmarks/stdlib/bare_smsc.py`,
`benchmarks/stdlib/bare_streams_smsc.py`), so server and client each get a core of this
2-core machine. Runs alternate (bare, streams, sim, bare, ...) so a slow phase of the
machine hits all three; the table gives each run, the medians and the simulator's ratio to
each reference. Receipts on (registered_delivery=1, every receipt answered), throttling
off, window 100. The two references do the same (no) work and differ only in their I/O:
`bare` is an asyncio.Protocol that parses a whole read at once and writes once per read
(the fastest stdlib form), `streams` is the common way (asyncio streams, `readexactly`
per PDU, one write per PDU). Then the virtual driver's speed: messages per second of real
time, the whole engine in-process with a scripted ESME.

    python benchmarks/simulator_vs_bare.py              # table + benchmarks/results/simulator_vs_bare.json
    python benchmarks/simulator_vs_bare.py --million    # also: simulator RSS over 1,000,000 messages
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks" / "stdlib"))

import loadclient  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "simulator_vs_bare.json"


def start(argv: list[str]) -> tuple[subprocess.Popen[bytes], int]:
    proc = subprocess.Popen([sys.executable, *argv], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    line = proc.stdout.readline().decode()
    if "listening on" not in line:
        proc.kill()
        raise RuntimeError(f"server did not start: {line!r}")
    return proc, int(line.rsplit(":", 1)[-1].split()[-1])


def simulator() -> tuple[subprocess.Popen[bytes], int]:
    return start(["-m", "smppkit", "sim", "--port", "0", "--throughput", "0", "--dlr-delay", "0.01",
                  "--max-binds", "1000", "--no-trace-memory", "--profile", "single"])


def bare() -> tuple[subprocess.Popen[bytes], int]:
    return start([str(ROOT / "benchmarks" / "stdlib" / "bare_smsc.py"), "0"])


def bare_streams() -> tuple[subprocess.Popen[bytes], int]:
    return start([str(ROOT / "benchmarks" / "stdlib" / "bare_streams_smsc.py"), "0"])


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def virtual_speed(count: int) -> dict[str, float]:
    """Messages per second of real time through the virtual driver (tracing off and on)."""
    from smppkit.protocol.pdus import SubmitSm
    from smppkit.simulator import Account, SimConfig
    from smppkit.simulator.virtual import EsmeBehaviour, VirtualNetwork

    out = {}
    for trace in (0, 1):
        config = SimConfig(accounts=(Account(throughput=None),), dlr_delay=0.5, trace_memory=trace)
        net = VirtualNetwork(config, rng=random.Random(1))
        link = net.connect("SMPP1", EsmeBehaviour(enquire_link=None))
        t0 = net.now + 1
        for n in range(count):  # 1,000 a second of virtual time
            net.at(t0 + n / 1000, net.submit, link, SubmitSm(
                source_addr="smppkit", destination_addr="447946012345", registered_delivery=1,
                short_message=b"hello"))
        start = time.perf_counter()
        net.run(until=t0 + count / 1000 + 10)
        wall = time.perf_counter() - start
        receipts = net.engine.counters["deliver_acked"]
        out["traced" if trace else "untraced"] = count / wall
        assert receipts == count, receipts
    return out


async def million(port: int, pid: int, total: int = 1_000_000, step: int = 100_000) -> list[list[float]]:
    samples = [[0, rss_mb(pid)]]
    print(f"  {0:>9,} messages: simulator RSS {samples[0][1]:.1f} MB", flush=True)
    for done in range(step, total + 1, step):
        result = await loadclient.run("127.0.0.1", port, step, 100, timeout=600)
        assert result["receipts"] == step, result
        samples.append([done, rss_mb(pid)])
        print(f"  {done:>9,} messages: simulator RSS {samples[-1][1]:.1f} MB", flush=True)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20_000, help="messages per run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--million", action="store_true")
    args = parser.parse_args()
    names = ("bare", "streams", "simulator")
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in names}
    servers = {"bare": bare(), "streams": bare_streams(), "simulator": simulator()}
    try:
        for _, port in servers.values():  # warm-up
            asyncio.run(loadclient.run("127.0.0.1", port, 2000, 100))
        for _ in range(args.rounds):
            for name, (_, port) in servers.items():
                result = asyncio.run(loadclient.run("127.0.0.1", port, args.count, 100))
                assert result["receipts"] == args.count and not result["refused"], result
                runs[name].append(result)
        memory = asyncio.run(million(servers["simulator"][1], servers["simulator"][0].pid)) \
            if args.million else None
    finally:
        for proc, _ in servers.values():
            stop(proc)
    key = "with_receipts_per_s"
    print("submit_sm/s with every receipt answered (window 100)")
    print(f"{'run':>4} {'bare':>10} {'streams':>10} {'simulator':>10} {'sim/bare':>9} {'sim/streams':>12}")

    def row(label: str, b: float, st: float, sim: float) -> None:
        print(f"{label:>4} {b:>10,.0f} {st:>10,.0f} {sim:>10,.0f} {sim / b:>9.2f} {sim / st:>12.2f}")

    for i, (b, st, sim) in enumerate(zip(*(runs[n] for n in names), strict=True), 1):
        row(str(i), b[key], st[key], sim[key])
    med = {name: {k: statistics.median(r[k] for r in rs) for k in ("submit_per_s", key)}
           for name, rs in runs.items()}
    row("med", med["bare"][key], med["streams"][key], med["simulator"][key])
    ratio = {ref: {k: med["simulator"][k] / med[ref][k] for k in med[ref]} for ref in ("bare", "streams")}
    virtual = virtual_speed(20_000)
    print(f"virtual driver: {virtual['untraced']:,.0f} messages/s of real time "
          f"({virtual['traced']:,.0f}/s with the trace on)")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({
        "machine": "see README (2 cores, shared)", "window": 100, "count": args.count,
        "runs": runs, "median": med, "ratio_sim_to_bare": ratio["bare"],
        "ratio_sim_to_bare_streams": ratio["streams"], "virtual_messages_per_s": virtual,
        "memory_mb_by_messages": memory,
    }, indent=1) + "\n")
    print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
