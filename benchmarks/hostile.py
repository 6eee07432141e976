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
   mean rate alone.

    python benchmarks/hostile.py          # the table, and benchmarks/results/hostile.json
    python benchmarks/hostile.py --quick  # 500 slow connections, 2 s windows
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from smppkit.protocol.codec import encode  # noqa: E402
from smppkit.protocol.pdus import BindTransceiver, EnquireLink, SubmitSm  # noqa: E402

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


def _bound_socket(port: int) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(encode(BindTransceiver(system_id="smppkit", password="secret", sequence_number=1)))
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


def fairness(port: int, seconds: float) -> dict[str, object]:
    proc = start_simulator(port, "--throughput", "0", "--max-binds", "100")
    try:
        alone1 = _result(_run_role("closed-loop", port, seconds))
        flooder = _run_role("flood", port, seconds + 2)
        time.sleep(0.2)  # bound and flooding
        rss_flood_start = rss_mb(proc.pid)
        contended = _result(_run_role("closed-loop", port, seconds))
        rss_flood_end = rss_mb(proc.pid)
        flood_out = _result(flooder)
        alone2 = _result(_run_role("closed-loop", port, seconds))
    finally:
        stop(proc)
    alone = (alone1["per_second"] + alone2["per_second"]) / 2
    return {
        "alone_per_second": round(alone, 1), "alone_runs": [alone1, alone2],
        "with_flooder_per_second": round(contended["per_second"], 1), "with_flooder": contended,
        "ratio": round(contended["per_second"] / alone, 3),
        "flooder_octets_sent": flood_out["octets_sent"],
        "simulator_rss_mb_during_flood": [round(rss_flood_start, 1), round(rss_flood_end, 1)],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
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
    window = 2.0 if args.quick else 4.0
    slow = [
        slow_attack(free_port(), count, (), "default limits"),
        slow_attack(free_port(), count, ("--max-connections", "4096", "--max-connections-per-address",
                                         "4096"), "connection limits raised to 4096"),
    ]
    fair = fairness(free_port(), window)
    print(f"{'slow connections':<36} {'refused':>7} {'timed out':>9} {'all closed':>10} "
          f"{'RSS before':>10} {'peak':>7} {'after':>7} {'fds peak':>8}")
    for r in slow:
        print(f"{r['label']:<36} {r['refused_at_once']:>7} {r['closed_on_pdu_timeout']:>9} "
              f"{r['seconds_until_all_closed']:>9}s {r['rss_before_mb']:>8} MB {r['rss_peak_mb']:>4} MB "
              f"{r['rss_after_mb']:>4} MB {r['fds_peak']:>8}")
    print()
    print(f"fairness: closed-loop submit_sm alone {fair['alone_per_second']}/s, with an enquire_link "
          f"flooder that never reads {fair['with_flooder_per_second']}/s: ratio {fair['ratio']:.2f} "
          f"(worst wait {fair['with_flooder']['worst_wait_s'] * 1000:.1f} ms)")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({"slow_connections": slow, "fairness": fair,
                                   "quick": args.quick}, indent=2) + "\n")
    print(f"written {RESULTS}")


if __name__ == "__main__":
    main()
