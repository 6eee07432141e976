"""The simulator's own CPU per message, without sockets, against the codec work it contains.

    python benchmarks/simulator_inprocess.py [--messages N]

One process drives the simulator's `Engine` directly (as a driver does, without sockets): submit_sm in
batches of 100 (a full window), each answered with submit_sm_resp, then a receipt
deliver_sm, answered with deliver_sm_resp. No kernel, no second process: the CPU time is the
simulator's (plus a little framing on the driver's side), so changes to its hot path show
here when the loopback benchmark (`simulator.py`) is lost in noise. For counts that repeat
within 0.1%, run it under ``valgrind --tool=callgrind`` with two sizes and take the
difference.

The comparison in the same run is the codec floor: the wire work the simulator does per
message (decode the submit_sm and the deliver_sm_resp, encode the submit_sm_resp and the
receipt) with `smppkit.encode`/`decode` alone. The ratio says how much the simulator does
on top of it.

Results go to benchmarks/results/simulator_inprocess.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import struct
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from smppkit import pdus  # noqa: E402
from smppkit.protocol.codec import Framer, decode, encode, peek_header  # noqa: E402
from smppkit.simulator import Account, SimConfig  # noqa: E402
from smppkit.simulator.engine import Engine, Send  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "simulator_inprocess.json"
# the driver answers receipts with prebuilt bytes (as the stdlib load client does), so
# what is measured is the simulator's work, not the driver's
_DELIVER_SM_RESP = struct.Struct(">IIII").pack
_DELIVER_SM_RESP_ID = int(pdus.DeliverSmResp.command_id)
WINDOW = 100
SUBMIT = pdus.SubmitSm(source_addr="bench", destination_addr="447700900000",
                       short_message=b"benchmark message", registered_delivery=1)


def simulator_cpu(messages: int) -> tuple[float, int]:
    """(CPU seconds, receipts answered) for `messages` submits through the engine, driven
    as the asyncio driver drives it: bytes in, actions out, timers advanced."""
    account = Account.parse("smppkit:secret", throughput=None, max_binds=10, max_pending=None)
    clock = 1_767_225_600.0
    engine = Engine(SimConfig(profile="single", accounts=(account,), dlr_delay=0.01,
                              trace_memory=0), clock)
    engine.connection_opened(1, "SMPP0", "127.0.0.1:40000", clock)
    engine.data_received(1, encode(pdus.BindTransceiver(sequence_number=1, system_id="smppkit",
                                                        password="secret")), clock)
    engine.actions()
    batches = [b"".join(encode(SUBMIT.with_sequence(2 + b * WINDOW + i)) for i in range(WINDOW))
               for b in range(messages // WINDOW)]
    framer = Framer()
    receipts = 0

    def answer_receipts(now: float) -> None:
        nonlocal receipts
        framer.feed(b"".join(a.data for a in engine.actions() if type(a) is Send))
        replies = []
        for frame in framer:
            _, command_id, _, seq = peek_header(frame)
            if command_id == pdus.DeliverSm.command_id:
                receipts += 1
                replies.append(_DELIVER_SM_RESP(17, _DELIVER_SM_RESP_ID, 0, seq) + b"\x00")
        if replies:
            engine.data_received(1, b"".join(replies), now)

    start = time.process_time()
    for batch in batches:
        clock += 0.005  # a window every 5 ms of simulated time
        engine.data_received(1, batch, clock)
        engine.advance(clock)
        answer_receipts(clock)
    for _ in range(1000):
        if receipts >= len(batches) * WINDOW:
            break
        clock += 0.005
        engine.advance(clock)
        answer_receipts(clock)
    return time.process_time() - start, receipts


def codec_cpu(messages: int) -> float:
    """CPU seconds of the simulator's wire work per message: decode the submit_sm, encode
    the submit_sm_resp and the receipt deliver_sm, decode the deliver_sm_resp."""
    resp = pdus.SubmitSmResp(sequence_number=2, message_id="0B00000700000001")
    receipt = pdus.DeliverSm(
        sequence_number=3, source_addr="447700900000", destination_addr="bench", esm_class=4,
        short_message=b"id:792633564481978369 sub:001 dlvrd:001 submit date:2401011200 "
                      b"done date:2401011200 stat:DELIVRD err:000 text:none",
        tlvs={"receipted_message_id": "792633564481978369", "message_state": 2})
    submit_bytes = encode(SUBMIT.with_sequence(2))
    receipt_resp_bytes = encode(pdus.DeliverSmResp(sequence_number=3))
    start = time.process_time()
    for _ in range(messages):
        decode(submit_bytes)
        encode(resp)
        encode(receipt)
        decode(receipt_resp_bytes)
    return time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=40_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each; the best counts")
    args = parser.parse_args()
    n = args.messages - args.messages % WINDOW
    sim_runs, codec_runs = [], []
    for _ in range(args.repeat):  # interleaved, so both see the machine in the same state
        sim_runs.append(simulator_cpu(n))
        codec_runs.append(codec_cpu(n))
    assert all(receipts == n for _, receipts in sim_runs), "every receipt must be answered"
    sim_s = min(cpu for cpu, _ in sim_runs)
    codec_s = min(codec_runs)
    rows = [("simulator, per message", sim_s), ("codec floor, per message", codec_s)]
    print(f"{'what':<28}{'us/message':>12}")
    for name, seconds in rows:
        print(f"{name:<28}{seconds / n * 1e6:>12.1f}")
    print(f"simulator / codec floor: {sim_s / codec_s:.1f}x")
    result = {
        "messages": n, "repeat": args.repeat,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                    "platform": platform.platform()},
        "us_per_message": {"simulator": round(sim_s / n * 1e6, 2),
                           "codec_floor": round(codec_s / n * 1e6, 2)},
        "ratio": round(sim_s / codec_s, 2),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written {RESULTS}")


if __name__ == "__main__":
    main()
