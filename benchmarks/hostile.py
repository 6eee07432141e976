"""The simulator under hostile clients: memory under a slow-connection attack, and fairness.

The simulator runs in its own process (`smppkit sim --profile single`), every client in
others, all on 127.0.0.1. Two measurements:

1. **Slow connections.** 2,000 connections (from 127.0.0.2, 127.0.0.3, ... so that the
   per-address limit alone does not stop them) each send a submit_sm header announcing
   66,559 octets and then all but the last octet, and never finish. The simulator's RSS
   is read before, at the peak (sampled every 0.1 s) and after every connection has been
   closed. Run twice: with the default limits, and with the connection limits raised to
   4,096 so that all 2,000 are held at once.
2. **Fairness.** A well-behaved client sends submit_sm one at a time (closed loop) for a
   few seconds, alone, then while another bound client floods enquire_link without ever
   reading its socket, then alone again. The ratio is its rate with the flooder over its
   mean rate alone. Alone and contended windows alternate (`--rounds` contended ones, each
   compared with the alone windows either side), so a change in the machine's load shows
   in the spread of the ratios; the median is the figure.
3. **A receiver that stops reading.** A receiver binds and never reads while 3,000 (and
   30,000) receipts are due; the simulator's largest write buffer, the deliver_sm it sent
   and its RSS are read while it holds them, more than `deliver_timeout` later, and after
   the receiver has read (and answered) everything: each receipt once, in order, or a
   traced resend.

    python benchmarks/hostile.py          # the table, and benchmarks/results/hostile.json
    python benchmarks/hostile.py --quick  # 500 slow connections, 1 s windows, 3,000 receipts
    python benchmarks/hostile.py --only fairness --rounds 5 --window 2
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from smppkit.protocol.codec import Framer, decode, encode  # noqa: E402
from smppkit.protocol.pdus import (  # noqa: E402
    BindReceiver,
    BindTransceiver,
    BindTransmitter,
    DeliverSmResp,
    EnquireLink,
    SubmitSm,
)

RESULTS = Path(__file__).parent / "results" / "hostile.json"
ANNOUNCED = 66_559  # the figure: just under the default max_command_length


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_simulator(port: int, *options: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "smppkit", "sim", "--port", str(port), "--profile", "single",
         "--no-trace-memory", *options],
        stdout=subprocess.PIPE,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().decode()
    if "listening" not in line:
        proc.kill()
        raise RuntimeError(f"simulator did not start: {line!r}")
    return proc


def stop(proc: subprocess.Popen[bytes]) -> dict[str, str]:
    """SIGTERM; the counters the simulator prints as it stops."""
    proc.terminate()
    try:
        out, _ = proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate(timeout=10)
    for line in out.decode().splitlines():
        if line.startswith("stopped at"):
            return dict(item.split("=", 1) for item in line.split(": ", 1)[1].split(", ") if "=" in item)
    return {}


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def settle(pid: int, seconds: float = 2.0) -> float:
    """RSS once it stops moving (or after `seconds`)."""
    last = rss_mb(pid)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(0.25)
        now = rss_mb(pid)
        if abs(now - last) < 0.05:
            return now
        last = now
    return last


# -- 1. slow connections ---------------------------------------------------------------------


def slow_attack(port: int, count: int, options: tuple[str, ...], label: str) -> dict[str, object]:
    proc = start_simulator(port, *options)
    try:
        time.sleep(0.5)
        before = settle(proc.pid)
        fds_before = open_fds(proc.pid)
        header = (ANNOUNCED).to_bytes(4, "big") + (4).to_bytes(4, "big") + bytes(4) + (1).to_bytes(4, "big")
        unfinished = header + b"\x00" * (ANNOUNCED - len(header) - 1)
        socks: list[socket.socket] = []
        refused = 0
        peak = before
        peak_fds = fds_before
        start = time.monotonic()
        for i in range(count):
            source = f"127.0.{2 + i // 50 // 250}.{2 + i // 50 % 250}"  # 50 per address
            s = socket.socket()
            s.settimeout(5)
            try:
                s.bind((source, 0))
                s.connect(("127.0.0.1", port))
                s.sendall(unfinished)
            except OSError:
                refused += 1
                s.close()
                continue
            socks.append(s)
            if i % 100 == 99:
                peak = max(peak, rss_mb(proc.pid))
                peak_fds = max(peak_fds, open_fds(proc.pid))
        opened = time.monotonic() - start
        # which of them the simulator closed (EOF or reset), until all are, or 60 s
        alive = set(range(len(socks)))
        closed_by_sim = 0
        deadline = time.monotonic() + 60
        while alive and time.monotonic() < deadline:
            peak = max(peak, rss_mb(proc.pid))
            peak_fds = max(peak_fds, open_fds(proc.pid))
            for idx in list(alive):
                s = socks[idx]
                s.setblocking(False)
                try:
                    data = s.recv(4096)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if not data:
                    alive.discard(idx)
                    closed_by_sim += 1
                # data: the generic_nack of a refused connection... keep reading
            time.sleep(0.1)
        all_closed = time.monotonic() - start
        for s in socks:
            s.close()
        time.sleep(1.0)
        after = settle(proc.pid, 5.0)
        fds_after = open_fds(proc.pid)
        counters = stop(proc)
        return {
            "label": label, "connections": count, "sent": len(socks), "send_failed": refused,
            "refused_at_once": int(counters.get("connections_refused", 0)),
            "closed_on_pdu_timeout": int(counters.get("pdu_timeouts", 0)),
            "closed_on_bind_timeout": int(counters.get("bind_timeouts", 0)),
            "closed_by_simulator": closed_by_sim, "still_open_after_60s": len(alive),
            "seconds_to_open": round(opened, 2), "seconds_until_all_closed": round(all_closed, 2),
            "rss_before_mb": round(before, 1), "rss_peak_mb": round(peak, 1),
            "rss_after_mb": round(after, 1), "rss_after_minus_before_mb": round(after - before, 1),
            "fds_before": fds_before, "fds_peak": peak_fds, "fds_after": fds_after,
        }
    finally:
        if proc.poll() is None:
            stop(proc)


# -- 2. fairness -----------------------------------------------------------------------------


def _bound_socket(port: int, bind: type = BindTransceiver) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(encode(bind(system_id="smppkit", password="secret", sequence_number=1)))
    header = _recv_exactly(s, 16)
    _recv_exactly(s, int.from_bytes(header[:4], "big") - 16)
    assert int.from_bytes(header[8:12], "big") == 0, "bind failed"
    return s


def _recv_exactly(s: socket.socket, n: int) -> bytes:
    out = b""
    while len(out) < n:
        chunk = s.recv(n - len(out))
        if not chunk:
            raise ConnectionError("closed")
        out += chunk
    return out


def closed_loop(port: int, seconds: float) -> dict[str, float]:
    """submit_sm → submit_sm_resp, one at a time, for `seconds`; the rate and worst wait."""
    s = _bound_socket(port)
    template = SubmitSm(source_addr="bench", destination_addr="447700900000",
                        short_message=b"fairness", registered_delivery=0)
    body = encode(template)
    count = 0
    worst = 0.0
    start = time.perf_counter()
    end = start + seconds
    seq = 2
    while (now := time.perf_counter()) < end:
        s.sendall(body[:12] + seq.to_bytes(4, "big") + body[16:])
        header = _recv_exactly(s, 16)
        _recv_exactly(s, int.from_bytes(header[:4], "big") - 16)
        worst = max(worst, time.perf_counter() - now)
        count += 1
        seq = seq + 1 if seq < 0x7FFFFFFF else 1
    elapsed = time.perf_counter() - start
    s.close()
    return {"messages": count, "seconds": elapsed, "per_second": count / elapsed, "worst_wait_s": worst}


def flood(port: int, seconds: float) -> None:
    """Bind, then write enquire_link for `seconds` and never read."""
    s = _bound_socket(port)
    s.settimeout(0.2)
    burst = b"".join(encode(EnquireLink(sequence_number=i)) for i in range(2, 1026))
    end = time.monotonic() + seconds
    sent = 0
    while time.monotonic() < end:
        try:
            sent += s.send(burst)
        except TimeoutError:
            continue  # the simulator stopped reading us: good
        except OSError:
            break
    print(json.dumps({"octets_sent": sent}), flush=True)
    s.close()


def _run_role(role: str, port: int, seconds: float) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, __file__, "--role", role, "--port", str(port),
                             "--seconds", str(seconds)], stdout=subprocess.PIPE, text=True)


def _result(proc: subprocess.Popen[str]) -> dict[str, float]:
    out, _ = proc.communicate(timeout=120)
    return json.loads(out.strip().splitlines()[-1])


def fairness(port: int, seconds: float, rounds: int = 1) -> dict[str, Any]:
    """`rounds` times: alone, with the flooder; then alone once more. Each contended
    window is compared with the mean of the alone windows either side of it."""
    proc = start_simulator(port, "--throughput", "0", "--max-binds", "100")
    alone_runs: list[dict[str, float]] = []
    contended_runs: list[dict[str, float]] = []
    flood_octets = []
    rss_during = []
    try:
        alone_runs.append(_result(_run_role("closed-loop", port, seconds)))
        for _ in range(rounds):
            flooder = _run_role("flood", port, seconds + 2)
            time.sleep(0.2)  # bound and flooding
            contended_runs.append(_result(_run_role("closed-loop", port, seconds)))
            rss_during.append(round(rss_mb(proc.pid), 1))
            flood_octets.append(_result(flooder)["octets_sent"])
            alone_runs.append(_result(_run_role("closed-loop", port, seconds)))
    finally:
        stop(proc)
    ratios = [
        round(c["per_second"] / ((alone_runs[i]["per_second"] + alone_runs[i + 1]["per_second"]) / 2), 3)
        for i, c in enumerate(contended_runs)
    ]
    alone = sum(r["per_second"] for r in alone_runs) / len(alone_runs)
    contended = sum(r["per_second"] for r in contended_runs) / len(contended_runs)
    return {
        "alone_per_second": round(alone, 1), "alone_runs": alone_runs,
        "with_flooder_per_second": round(contended, 1), "with_flooder": contended_runs,
        "ratios": ratios, "ratio": sorted(ratios)[len(ratios) // 2], "ratio_min": min(ratios),
        "worst_wait_s": max(r["worst_wait_s"] for r in contended_runs),
        "flooder_octets_sent": flood_octets, "simulator_rss_mb_during_flood": rss_during,
    }


# -- 3. a receiver that stops reading --------------------------------------------------------


def _stats(http: int) -> dict[str, int]:
    with urllib.request.urlopen(f"http://127.0.0.1:{http}/stats.json", timeout=5) as reply:
        counters: dict[str, int] = json.loads(reply.read())["counters"]
        return counters


def _wait(http: int, test: Callable[[dict[str, int]], bool], timeout: float) -> dict[str, int]:
    deadline = time.monotonic() + timeout
    while True:
        counters = _stats(http)
        if test(counters) or time.monotonic() > deadline:
            return counters
        time.sleep(0.1)


def stalled_receiver(port: int, count: int) -> dict[str, Any]:
    http = free_port()
    proc = start_simulator(port, "--throughput", "0", "--dlr-delay", "0", "--enquire-link-interval", "0",
                           "--http", str(http))
    try:
        rx = _bound_socket(port, BindReceiver)
        tx = _bound_socket(port, BindTransmitter)
        time.sleep(0.3)
        rss_before = settle(proc.pid)
        template = encode(SubmitSm(source_addr="bench", destination_addr="447700123456",
                                   short_message=b"stall", registered_delivery=1))
        ids: list[str] = []
        framer = Framer()
        for start in range(0, count, 1000):  # in batches, reading the resps between them
            tx.sendall(b"".join(template[:12] + (2 + i).to_bytes(4, "big") + template[16:]
                                for i in range(start, min(count, start + 1000))))
            want = min(count, start + 1000)
            while len(ids) < want:
                while (frame := framer.next_frame()) is not None:
                    ids.append(str(int(decode(frame).message_id, 16)))  # type: ignore[attr-defined]
                if len(ids) < want:
                    framer.feed(tx.recv(65536))
        held = _wait(http, lambda c: c.get("receipts_held", 0) == count, 30)
        rss_held = rss_mb(proc.pid)
        time.sleep(6.0)  # more than deliver_timeout (5 s)
        later = _stats(http)
        rss_later = rss_mb(proc.pid)
        rx.settimeout(1.0)
        got: list[str] = []
        rframer = Framer()
        start_read = time.monotonic()
        idle_since = None
        while time.monotonic() - start_read < 60:
            try:
                data = rx.recv(65536)
            except TimeoutError:
                data = None
            if data:
                rframer.feed(data)
                resps = []
                while (frame := rframer.next_frame()) is not None:
                    pdu = decode(frame)
                    if pdu.command_name == "deliver_sm":
                        text = pdu.short_message  # type: ignore[attr-defined]
                        got.append(text.split(b" ")[0].removeprefix(b"id:").decode())
                        resps.append(encode(DeliverSmResp(sequence_number=pdu.sequence_number)))
                rx.sendall(b"".join(resps))
                idle_since = None
            elif idle_since is None:
                idle_since = time.monotonic()
            elif _stats(http).get("receipts_held", 0) == 0:
                break
        read_s = time.monotonic() - start_read
        end = _stats(http)
        rss_after = settle(proc.pid)
        rx.close()
        tx.close()
    finally:
        stop(proc)
    unique = list(dict.fromkeys(got))
    return {
        "receipts": count, "deliver_sm_while_held": held.get("deliver_sm", 0),
        "deliver_sm_after_deliver_timeout": later.get("deliver_sm", 0),
        "retries_while_held": later.get("deliver_retries", 0),
        "waiting_in_store": later.get("receipts_waiting", 0),
        "write_buffer_max_octets": max(held.get("write_buffer_max", 0), later.get("write_buffer_max", 0)),
        "rss_before_mb": round(rss_before, 1), "rss_held_mb": round(rss_held, 1),
        "rss_held_later_mb": round(rss_later, 1), "rss_after_mb": round(rss_after, 1),
        "received": len(got), "received_unique": len(unique), "in_order": unique == ids,
        "duplicates": len(got) - len(unique), "resends_traced": end.get("deliver_retries", 0),
        "held_at_end": end.get("receipts_held", 0), "seconds_to_read": round(read_s, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", choices=("slow", "fairness", "stalled"), action="append",
                        help="run only these measurements (repeatable)")
    parser.add_argument("--rounds", type=int, default=5, help="fairness: contended windows")
    parser.add_argument("--window", type=float, default=2.0, help="fairness: seconds per window")
    parser.add_argument("--role", choices=("closed-loop", "flood"), help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, default=3.0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role == "closed-loop":
        print(json.dumps(closed_loop(args.port, args.seconds)), flush=True)
        return
    if args.role == "flood":
        flood(args.port, args.seconds)
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    count = 500 if args.quick else 2000
    window = 1.0 if args.quick else args.window
    only = set(args.only or ("slow", "fairness", "stalled"))
    results: dict[str, object] = {"quick": args.quick}
    if "slow" in only:
        slow = results["slow_connections"] = [
            slow_attack(free_port(), count, (), "default limits"),
            slow_attack(free_port(), count, ("--max-connections", "4096", "--max-connections-per-address",
                                             "4096"), "connection limits raised to 4096"),
        ]
        print(f"{'slow connections':<36} {'refused':>7} {'timed out':>9} {'all closed':>10} "
              f"{'RSS before':>10} {'peak':>7} {'after':>7} {'fds peak':>8}")
        for r in slow:
            print(f"{r['label']:<36} {r['refused_at_once']:>7} {r['closed_on_pdu_timeout']:>9} "
                  f"{r['seconds_until_all_closed']:>9}s {r['rss_before_mb']:>8} MB {r['rss_peak_mb']:>4} MB "
                  f"{r['rss_after_mb']:>4} MB {r['fds_peak']:>8}")
        print()
    if "fairness" in only:
        fair = results["fairness"] = fairness(free_port(), window, args.rounds)
        print(f"fairness: closed-loop submit_sm alone {fair['alone_per_second']}/s, with an enquire_link "
              f"flooder that never reads {fair['with_flooder_per_second']}/s: ratio median "
              f"{fair['ratio']:.2f} of {', '.join(f'{r:.2f}' for r in fair['ratios'])} "
              f"(worst wait {fair['worst_wait_s'] * 1000:.1f} ms)")
        print()
    if "stalled" in only:
        stalled = results["stalled_receiver"] = [stalled_receiver(free_port(), n)
                                                 for n in ((3000,) if args.quick else (3000, 30_000))]
        print(f"{'receiver not reading':<22} {'sent':>6} {'+6 s':>6} {'held':>6} {'buffer max':>11} "
              f"{'RSS before':>10} {'held':>7} {'after':>7} {'read':>6} {'dups':>5} {'resends':>7} order")
        for r in stalled:
            print(f"{r['receipts']:>6} receipts due{'':<9} {r['deliver_sm_while_held']:>6} "
                  f"{r['deliver_sm_after_deliver_timeout']:>6} {r['waiting_in_store']:>6} "
                  f"{r['write_buffer_max_octets']:>8} oct {r['rss_before_mb']:>7} MB {r['rss_held_mb']:>4} MB "
                  f"{r['rss_after_mb']:>4} MB {r['received_unique']:>6} {r['duplicates']:>5} "
                  f"{r['resends_traced']:>7} {'yes' if r['in_order'] else 'NO'}")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written {RESULTS}")


if __name__ == "__main__":
    main()
