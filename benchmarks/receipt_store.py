"""Memory per receipt held in the simulator's store (no receiver bound, so every receipt stays).

The engine runs in-process on a simulated clock: one transmitter bind submits N messages,
each asks for a receipt, all messages finish, and nobody can take the receipts. tracemalloc
measures what the engine holds per receipt (its Job with the receipt's fields, the queue slot)
and, apart, the finished-message record kept for query_sm (capped at 100,000).

    python benchmarks/receipt_store.py [--messages N]   # writes benchmarks/results/receipt_store.json
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from smppkit.protocol import pdus  # noqa: E402
from smppkit.protocol.codec import encode  # noqa: E402
from smppkit.simulator import Account, SimConfig  # noqa: E402
from smppkit.simulator.engine import Engine  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "receipt_store.json"


def held_bytes(messages: int) -> tuple[float, float, int]:
    """(bytes per held receipt, bytes per finished message, receipts held)."""
    now = 1_767_225_600.0
    engine = Engine(SimConfig(profile="single", accounts=(Account(throughput=None),),
                              dlr_delay=0.01, trace_memory=0), now)
    engine.connection_opened(1, "SMPP0", "127.0.0.1:1", now)
    engine.data_received(1, encode(pdus.BindTransmitter(system_id="smppkit", password="secret",
                                                        sequence_number=1)), now)
    engine.actions()
    submit = pdus.SubmitSm(source_addr="smppkit", destination_addr="447946012345",
                           registered_delivery=1, short_message=b"hello")
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    for start in range(0, messages, 100):
        batch = b"".join(encode(submit.with_sequence(2 + start + i)) for i in range(100))
        now += 0.01
        engine.data_received(1, batch, now)
        engine.actions()
    engine.advance(now + 1)
    engine.actions()
    gc.collect()
    total = tracemalloc.get_traced_memory()[0] - base
    finished = sum(len(c.finished) for c in engine.clusters.values())
    # the finished-message records alone: drop them and measure again
    for cluster in engine.clusters.values():
        cluster.finished.clear()
    gc.collect()
    receipts_only = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    held = engine.held_receipts
    return receipts_only / held, (total - receipts_only) / max(finished, 1), held


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=50_000)
    args = parser.parse_args()
    per_receipt, per_message, held = held_bytes(args.messages)
    print(f"{held:,} receipts held: {per_receipt:,.0f} bytes per held receipt; "
          f"{per_message:,.0f} bytes per finished-message record (query_sm, capped at 100,000)")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({"messages": args.messages, "receipts_held": held,
                                   "bytes_per_held_receipt": round(per_receipt),
                                   "bytes_per_finished_message": round(per_message)}, indent=1) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
