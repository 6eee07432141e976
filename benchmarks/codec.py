"""Codec speed: PDUs per second, smppkit beside python-smpplib, in one run.

For three PDUs (a submit_sm with a concatenation UDH and two TLVs, a deliver_sm delivery
receipt with receipted_message_id and message_state, and enquire_link) it times:

* encode: smppkit `encode(pdu)` against smpplib `pdu.generate()`, both on a PDU object built
  beforehand;
* decode: smppkit `decode(data)` against smpplib `smpp.parse_pdu(data)`, both building a
  new PDU object from the same bytes (the bytes each library itself produced, checked to be
  identical first).

Each figure is the best of several repeats. Prints a table and writes
benchmarks/results/codec.json.

Usage: python benchmarks/codec.py [--seconds 0.3] [--profile]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import timeit
from functools import partial
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

import smpplib.smpp  # noqa: E402

from smppkit import DeliverSm, EnquireLink, MessageState, SubmitSm, decode, encode  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "codec.json"
TARGET = 3.0

UDH = bytes([0x05, 0x00, 0x03, 0x2A, 0x02, 0x01])
TEXT = b"Hello from the smppkit benchmark, part one of two, with some more text." * 2
RECEIPT = (b"id:0000001a sub:001 dlvrd:001 submit date:2401011200 done date:2401011201"
           b" stat:DELIVRD err:000 text:Hello from the smppk")


class _Sequence:
    """What smpplib's PDUs need from a client: a sequence number source."""

    sequence = 0

    def next_sequence(self) -> int:
        self.sequence += 1
        return self.sequence


def _cases() -> list[tuple[str, object, object]]:
    """(label, smppkit PDU, smpplib PDU) with the same fields."""
    client = _Sequence()
    submit_fields = dict(
        source_addr_ton=5, source_addr="smppkit", dest_addr_ton=1, dest_addr_npi=1,
        destination_addr="447700900001", esm_class=0x40, registered_delivery=1,
        short_message=UDH + TEXT,
    )
    submit_tlvs = {"user_message_reference": 4242, "more_messages_to_send": 1}
    receipt_fields = dict(
        source_addr_ton=1, source_addr_npi=1, source_addr="447700900001",
        destination_addr="smppkit", esm_class=0x04, short_message=RECEIPT,
    )
    cases = [
        ("submit_sm (UDH + 2 TLVs)",
         SubmitSm(sequence_number=7, **submit_fields, tlvs=submit_tlvs),
         smpplib.smpp.make_pdu("submit_sm", client=client, **submit_fields, **submit_tlvs)),
        ("deliver_sm receipt",
         DeliverSm(sequence_number=7, **receipt_fields,
                   tlvs={"message_state": MessageState.DELIVERED,  # smpplib's TLV order
                         "receipted_message_id": "0000001a"}),
         smpplib.smpp.make_pdu("deliver_sm", client=client, **receipt_fields,
                               receipted_message_id="0000001a", message_state=2)),
        ("enquire_link", EnquireLink(sequence_number=7),
         smpplib.smpp.make_pdu("enquire_link", client=client)),
    ]
    for _, _, theirs in cases:
        theirs.sequence = 7
    return cases


def _rates(mine, other, seconds: float, repeats: int = 7) -> tuple[float, float]:
    """Calls per second of both, the best of `repeats` loops of about `seconds` each.

    The two are timed in turns (A B A B ...), so a busy machine slows both alike and the
    ratio stays meaningful even when the absolute figures wander.
    """
    timers, numbers, best = [], [], []
    for func in (mine, other):
        timer = timeit.Timer(func)
        number, took = timer.autorange()
        timers.append(timer)
        numbers.append(max(1, int(number * seconds / took)))
        best.append(float("inf"))
    for _ in range(repeats):
        for i, timer in enumerate(timers):
            best[i] = min(best[i], timer.timeit(numbers[i]))
    return numbers[0] / best[0], numbers[1] / best[1]


def run(seconds: float) -> list[dict]:
    rows = []
    client = _Sequence()
    for label, ours, theirs in _cases():
        data = encode(ours)
        if theirs.generate() != data:  # the comparison is only fair on the same bytes
            raise SystemExit(f"{label}: smppkit and smpplib produce different bytes")
        # partial() and bound methods: no Python-level wrapper around either library's call
        for op, mine, other in (
            ("encode", partial(encode, ours), theirs.generate),
            ("decode", partial(decode, data),
             partial(smpplib.smpp.parse_pdu, data, client=client)),
        ):
            a, b = _rates(mine, other, seconds)
            rows.append({"pdu": label, "op": op, "octets": len(data),
                         "smppkit_per_s": round(a), "smpplib_per_s": round(b),
                         "ratio": round(a / b, 2)})
    return rows


def table(rows: list[dict]) -> str:
    head = f"{'PDU':26} {'op':6} {'octets':>6} {'smppkit/s':>11} {'smpplib/s':>11} {'ratio':>6}"
    lines = [head, "-" * len(head)]
    for r in rows:
        flag = "" if r["ratio"] >= TARGET else f"  < {TARGET:g}x target"
        lines.append(f"{r['pdu']:26} {r['op']:6} {r['octets']:>6} {r['smppkit_per_s']:>11,} "
                     f"{r['smpplib_per_s']:>11,} {r['ratio']:>5.2f}x{flag}")
    return "\n".join(lines)


def profile() -> None:
    import cProfile
    import pstats

    for label, ours, _ in _cases():
        data = encode(ours)
        for op, stmt in (("encode", partial(encode, ours)), ("decode", partial(decode, data))):
            prof = cProfile.Profile()
            prof.enable()
            for _ in range(20000):
                stmt()
            prof.disable()
            print(f"\n== {label} {op} (20,000 calls) ==")
            pstats.Stats(prof).sort_stats("tottime").print_stats(8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=0.2, help="time per timed loop")
    parser.add_argument("--profile", action="store_true", help="cProfile smppkit instead")
    args = parser.parse_args()
    if args.profile:
        profile()
        return
    rows = run(args.seconds)
    print(table(rows))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({
        "python": platform.python_version(),
        "machine": platform.machine(),
        "smppkit": version("smppkit"),
        "smpplib": version("smpplib"),
        "target_ratio": TARGET,
        "rows": rows,
    }, indent=2) + "\n")
    print(f"\nwrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
