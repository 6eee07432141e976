"""submit_sm → submit_sm_resp throughput against the simulator, receipts on, throttling off.

The simulator runs in its own process (`smppkit sim`), so client and server each get a
core of this 2-core machine. Clients: smppkit's asyncio `Esme` at window 1, 10 and 100,
and python-smpplib's synchronous client (one request at a time, as it is built). Every
message asks for a receipt (registered_delivery=1); receipts are answered and counted.

    python benchmarks/simulator.py            # the table, and benchmarks/results/simulator.json
    python benchmarks/simulator.py --million  # also: simulator RSS over 1,000,000 messages
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from launch import free_port, start_simulator  # noqa: E402

import smppkit  # noqa: E402
from smppkit.clients.esme import Esme  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "simulator.json"


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def run_esme(port: int, window: int, count: int) -> dict[str, float]:
    esme = Esme(window=window, keep_received=False, response_timeout=30)
    await esme.connect("127.0.0.1", port)
    await esme.bind("smppkit", "secret")
    pdu = smppkit.SubmitSm(source_addr="bench", destination_addr="447700900000",
                           short_message=b"benchmark message", registered_delivery=1)
    workers = window * 2  # enough submitters to keep the window full

    async def worker(n: int) -> None:
        for _ in range(n):
            await esme.submit(pdu)

    start = time.perf_counter()
    await asyncio.gather(*(worker(count // workers + (i < count % workers)) for i in range(workers)))
    elapsed = time.perf_counter() - start
    deadline = time.monotonic() + 10
    while esme.counters["delivered"] < count and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    receipts = esme.counters["delivered"]
    await esme.close()
    return {"messages": count, "seconds": elapsed, "per_second": count / elapsed, "receipts": receipts}


def run_smpplib(port: int, count: int) -> dict[str, float]:
    import smpplib.client

    client = smpplib.client.Client("127.0.0.1", port, timeout=10)
    acked = [0]
    received = [0]
    client.set_message_sent_handler(lambda pdu: acked.__setitem__(0, acked[0] + 1))
    client.set_message_received_handler(lambda pdu: received.__setitem__(0, received[0] + 1))
    client.connect()
    client.bind_transceiver(system_id="smppkit", password="secret")
    start = time.perf_counter()
    for i in range(count):
        client.send_message(source_addr="bench", destination_addr="447700900000",
                            short_message=b"benchmark message", registered_delivery=1)
        while acked[0] <= i:
            client.read_once()
    elapsed = time.perf_counter() - start
    client._socket.settimeout(0.2)
    deadline = time.monotonic() + 10
    while received[0] < count and time.monotonic() < deadline:
        with contextlib.suppress(Exception):  # socket timeout: nothing more yet
            client.read_once()
    client.unbind()
    client.disconnect()
    return {"messages": count, "seconds": elapsed, "per_second": count / elapsed, "receipts": received[0]}


async def million(port: int, pid: int) -> list[tuple[int, float]]:
    esme = Esme(window=100, keep_received=False, response_timeout=60)
    await esme.connect("127.0.0.1", port)
    await esme.bind("smppkit", "secret")
    pdu = smppkit.SubmitSm(source_addr="bench", destination_addr="447700900000",
                           short_message=b"benchmark message", registered_delivery=1)
    samples = [(0, rss_mb(pid))]

    async def worker(n: int) -> None:
        for _ in range(n):
            await esme.submit(pdu)

    for block in range(10):
        await asyncio.gather(*(worker(500) for _ in range(200)))
        samples.append(((block + 1) * 100_000, rss_mb(pid)))
        print(f"  {samples[-1][0]:>9,} messages: simulator RSS {samples[-1][1]:.1f} MB", flush=True)
    await esme.close()
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20_000, help="messages per windowed run")
    parser.add_argument("--million", action="store_true")
    args = parser.parse_args()
    port = free_port()
    proc = start_simulator(port, "--throughput", "0", "--dlr-delay", "0.01", "--max-binds", "1000")
    results: dict[str, object] = {"machine_cpus": os.cpu_count()}
    try:
        rows = []
        for window in (1, 10, 100):
            count = args.count // 10 if window == 1 else args.count
            r = asyncio.run(run_esme(port, window, count))
            rows.append((f"smppkit Esme, window {window}", r))
        rows.append(("python-smpplib (sync)", run_smpplib(port, args.count // 10)))
        base = rows[-1][1]["per_second"]
        print(f"{'client':<28} {'messages':>9} {'submit/s':>10} {'receipts':>9} {'vs smpplib':>11}")
        for name, r in rows:
            print(f"{name:<28} {r['messages']:>9,} {r['per_second']:>10,.0f} {r['receipts']:>9,} "
                  f"{r['per_second'] / base:>10.1f}x")
        results["runs"] = {name: r for name, r in rows}
        results["simulator_rss_mb"] = rss_mb(proc.pid)
        if args.million:
            results["million_rss_mb"] = asyncio.run(million(port, proc.pid))
    finally:
        proc.terminate()
        proc.wait(10)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2))
    print(f"written {RESULTS}")


if __name__ == "__main__":
    main()
