"""The simulator under hostile clients: memory under a slow-connection attack, and fairness.

The simulator runs in its own process (`smppkit sim --profile single`), every client in
others, all on 127.0.0.1. Two measurements:

1. **Slow connections.** 2,000 connections (from 127.0.0.2, 127.0.0.3, ... so that the
   per-address limit alone does not stop them) each send a submit_sm header announcing
   66,559 octets and then all but the last octet, and never finish. The simulator's RSS
   is read before, at the peak (sampled every 0.1 s) and after every connection has been
   closed. Run twice: with the default limits, and with the connection limits raised to
   4,096 so that all 2,000 are held at once.
2. **Fairness.** A well-behaved client sends submit_sm one at a time (closed loop), in
   windows of `--window` s (1): alone, then while another bound client floods
   enquire_link without ever reading its socket, then alone... (`--rounds` flooded
   windows, 8). Each ratio is its rate in a flooded window over the mean of the alone
   windows either side, so a drift in the machine's load cancels out; the median is the
   figure, every ratio is listed.
3. **A receiver that stops reading.** A receiver binds and never reads while 3,000 (and
   30,000) receipts are due; the simulator's largest write buffer, the deliver_sm it sent
   and its RSS are read while it holds them, more than `deliver_timeout` later, and after
   the receiver has read (and answered) everything: each receipt once, in order, or a
   traced resend.

    python benchmarks/hostile.py          # the table, and benchmarks/results/hostile.json
    python benchmarks/hostile.py --quick  # 500 slow connections, 4 rounds, 3,000 receipts
    python benchmarks/hostile.py --only fairness --rounds 8 --window 1
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
sys.path.insert(0, str(Path(__file__).resolve().parent))

from launch import free_port, start_simulator  # noqa: E402

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


def closed_loop(port: int, start: float, seconds: float) -> dict[str, Any]:
    """From wall-clock `start`, submit_sm → submit_sm_resp one at a time for `seconds`;
    how many completed in each 0.1 s, and the worst wait."""
    s = _bound_socket(port)
    template = SubmitSm(source_addr="bench", destination_addr="447700900000",
                        short_message=b"fairness", registered_delivery=0)
    body = encode(template)
    buckets = [0] * int(seconds * 10 + 1)
    worst = 0.0
    seq = 2
    time.sleep(max(0.0, start - time.time()))
    end = start + seconds
    while (now := time.time()) < end:
        s.sendall(body[:12] + seq.to_bytes(4, "big") + body[16:])
        header = _recv_exactly(s, 16)
        _recv_exactly(s, int.from_bytes(header[:4], "big") - 16)
        done = time.time()
        worst = max(worst, done - now)
        buckets[min(int((done - start) * 10), len(buckets) - 1)] += 1
        seq = seq + 1 if seq < 0x7FFFFFFF else 1
    s.close()
    return {"buckets": buckets, "worst_wait_s": worst}


def flood(port: int, start: float, window: float, rounds: int) -> None:
    """In windows 1, 3, 5... (each `window` s from wall-clock `start`): bind, write
    enquire_link and never read, close at the window's end."""
    burst = b"".join(encode(EnquireLink(sequence_number=i)) for i in range(2, 1026))
    sent = []
    for k in range(1, 2 * rounds, 2):
        time.sleep(max(0.0, start + k * window - time.time()))
        s = _bound_socket(port)
        s.settimeout(0.05)
        end = start + (k + 1) * window
        octets = 0
        while time.time() < end:
            try:
                octets += s.send(burst)
            except TimeoutError:
                continue  # the simulator stopped reading us: good
            except OSError:
                break
        s.close()
        sent.append(octets)
    print(json.dumps({"octets_sent": sent}), flush=True)


def _run_role(role: str, port: int, *args: object) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, __file__, "--role", role, "--port", str(port),
                             "--role-args", json.dumps(args)], stdout=subprocess.PIPE, text=True)


def _result(proc: subprocess.Popen[str]) -> Any:
    out, _ = proc.communicate(timeout=300)
    return json.loads(out.strip().splitlines()[-1])


def fairness(port: int, window: float, rounds: int) -> dict[str, Any]:
    """One closed-loop client for 2 * `rounds` + 1 windows; an enquire_link flooder in
    every other one. Both are started first and wait for a shared wall-clock start, so no
    process start-up falls in a window. Each flooded window's rate is compared with the
    mean of the windows either side (how the machine's load drifts cancels out)."""
    proc = start_simulator(port, "--throughput", "0", "--max-binds", "100")
    windows = 2 * rounds + 1
    try:
        start = time.time() + 2.0  # both processes up and bound by then
        client = _run_role("closed-loop", port, start, windows * window)
        flooder = _run_role("flood", port, start, window, rounds)
        time.sleep(max(0.0, start + window * 1.5 - time.time()))
        rss_during = round(rss_mb(proc.pid), 1)
        loop = _result(client)
        flood_out = _result(flooder)
    finally:
        stop(proc)
    per = int(window * 10)
    rates = [sum(loop["buckets"][k * per:(k + 1) * per]) / window for k in range(windows)]
    alone = rates[0::2]
    flooded = rates[1::2]
    ratios = [round(flooded[i] / ((alone[i] + alone[i + 1]) / 2), 3) for i in range(rounds)]
    return {
        "window_s": window, "alone_per_second": round(sum(alone) / len(alone), 1),
        "with_flooder_per_second": round(sum(flooded) / len(flooded), 1),
        "alone_rates": [round(r) for r in alone], "flooded_rates": [round(r) for r in flooded],
        "ratios": ratios, "ratio": sorted(ratios)[len(ratios) // 2], "ratio_min": min(ratios),
        "worst_wait_s": loop["worst_wait_s"], "flooder_octets_sent": flood_out["octets_sent"],
        "simulator_rss_mb_during_flood": rss_during,
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
    parser.add_argument("--rounds", type=int, default=8, help="fairness: flooded windows")
    parser.add_argument("--window", type=float, default=1.0, help="fairness: seconds per window")
    parser.add_argument("--role", choices=("closed-loop", "flood"), help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--role-args", default="[]", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role == "closed-loop":
        print(json.dumps(closed_loop(args.port, *json.loads(args.role_args))), flush=True)
        return
    if args.role == "flood":
        flood(args.port, *json.loads(args.role_args))
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    count = 500 if args.quick else 2000
    rounds = 4 if args.quick else args.rounds
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
        fair = results["fairness"] = fairness(free_port(), args.window, rounds)
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
