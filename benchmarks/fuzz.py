"""Fuzz the protocol core: mutated PDUs through decode, Framer, Session and explain.

Every input is a valid PDU (one of every command, plus richer ones: a UDH submit_sm, a
receipt, submit_multi, binds with passwords, TLVs) mutated by a seeded random choice of:
bit flips, random octets (often 0x80-0xFF, non-ASCII), inserted/deleted/truncated octets,
a random command_id (known or not), a random command_length, stray or broken TLVs, and a
field run overwritten. Half the mutants get a command_length that matches their size so
they reach the body decoder rather than the framer.

Each mutant goes through:

* `decode` -- a `Pdu` or `RemoteProtocolError`; a decoded PDU must encode again;
* `Framer` -- fed in random chunks: frames or `RemoteProtocolError`;
* `Session` -- both roles, a random state, fed in random chunks, events pulled until
  NEED_DATA / CONNECTION_CLOSED (more than 64 events for one input counts as a hang);
  each request the session returns is answered as an application would;
* `explain` -- never raises, and shows an error row exactly when `decode` fails.

Anything else raised is a *foreign* exception, counted and its first examples kept (hex).
Memory is the process RSS, sampled ten times. Prints a table and writes
benchmarks/results/fuzz.json.

Usage: python benchmarks/fuzz.py [--count 1000000] [--seed 1]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
import traceback
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

from smppkit.protocol.codec import Framer, decode, encode  # noqa: E402
from smppkit.protocol.constants import CommandId, MessageState  # noqa: E402
from smppkit.protocol.errors import ProtocolError, RemoteProtocolError  # noqa: E402
from smppkit.protocol.pdus import (  # noqa: E402
    PDU_CLASSES,
    RESPONSE_OF,
    BindTransceiver,
    DataSm,
    DeliverSm,
    DistributionList,
    QuerySmResp,
    SmeAddress,
    SubmitMulti,
    SubmitSm,
)
from smppkit.protocol.session import (  # noqa: E402
    CONNECTION_CLOSED,
    NEED_DATA,
    InvalidPdu,
    Rejected,
    Role,
    Session,
    State,
)
from smppkit.sms.explain import explain  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "fuzz.json"
MAX_EVENTS = 64  # events one mutant may produce before it counts as a hang
_KNOWN_IDS = sorted(int(c) for c in CommandId)
_STATES = {
    Role.ESME: [State.OPEN, State.OUTBOUND, State.BOUND_TX, State.BOUND_RX, State.BOUND_TRX,
                State.CLOSED],
    Role.SMSC: [State.OPEN, State.BOUND_TX, State.BOUND_RX, State.BOUND_TRX, State.CLOSED],
}


def seeds() -> list[bytes]:
    """One PDU of every command (default fields) and a few with every kind of field."""
    out = [encode(cls(sequence_number=7)) for cls in PDU_CLASSES.values()]
    receipt = (b"id:0000001a sub:001 dlvrd:001 submit date:2401011200 done date:2401011201"
               b" stat:DELIVRD err:000 text:Hello")
    out += [
        encode(SubmitSm(sequence_number=9, source_addr_ton=5, source_addr="smppkit",
                        dest_addr_ton=1, dest_addr_npi=1, destination_addr="447700900001",
                        esm_class=0x40, registered_delivery=1, data_coding=8,
                        validity_period="000001000000000R",
                        short_message=bytes.fromhex("0500032a0201") + "héllo".encode("utf-16-be"),
                        tlvs={"source_port": 80, "user_message_reference": 3})),
        encode(DeliverSm(sequence_number=10, esm_class=0x04, short_message=receipt,
                         tlvs={"receipted_message_id": "1a",
                               "message_state": MessageState.DELIVERED,
                               "network_error_code": (3, 0)})),
        encode(SubmitMulti(sequence_number=11, dest_addresses=(SmeAddress("447700900001", 1, 1),
                                                               DistributionList("friends")),
                           short_message=b"hi", schedule_delivery_time="240101120000000+")),
        encode(BindTransceiver(sequence_number=12, system_id="esme", password="secret",
                               system_type="SMPP", interface_version=0x34)),
        encode(DataSm(sequence_number=13, destination_addr="1", esm_class=0x40,
                      tlvs={"message_payload": bytes.fromhex("0608040001020148656c6c6f"),
                            "sar_msg_ref_num": 1, "alert_on_message_delivery": None})),
        encode(QuerySmResp(sequence_number=14, message_id="1",
                           final_date="240101120000000+", message_state=2)),
    ]
    return out


def mutate(rng: random.Random, data: bytes) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.choice((1, 1, 1, 2, 3, 8))):
        how = rng.randrange(9)
        pos = rng.randrange(len(buf)) if buf else 0
        if how == 0 and buf:  # flip a bit
            buf[pos] ^= 1 << rng.randrange(8)
        elif how == 1 and buf:  # any octet, often a high one
            buf[pos] = rng.randrange(0x80, 0x100) if rng.random() < 0.5 else rng.randrange(256)
        elif how == 2:  # insert octets
            buf[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 6)))
        elif how == 3 and len(buf) > 1:  # delete octets
            del buf[pos:pos + rng.randrange(1, 6)]
        elif how == 4:  # truncate
            del buf[rng.randrange(len(buf) + 1):]
        elif how == 5 and len(buf) >= 8:  # another command_id, known or not
            cid = rng.choice(_KNOWN_IDS) if rng.random() < 0.8 else rng.randrange(1 << 32)
            buf[4:8] = cid.to_bytes(4, "big")
        elif how == 6 and len(buf) >= 4:  # any command_length
            buf[0:4] = rng.choice((0, 15, 16, 0xFFFFFFFF, rng.randrange(1 << 17))).to_bytes(4, "big")
        elif how == 7:  # a TLV, well-formed or not
            tag = rng.choice((0x0204, 0x020A, 0x0424, 0x001E, 0x0427, 0x0423, 0x130C,
                              rng.randrange(1 << 16)))
            length = rng.randrange(0, 8)
            value = bytes(rng.randrange(256) for _ in range(rng.choice((length, length + 1, 0))))
            buf += tag.to_bytes(2, "big") + length.to_bytes(2, "big") + value
        elif how == 8 and buf:  # overwrite a run with one value (0x00, 0xFF, '²'...)
            fill = rng.choice((0x00, 0xFF, 0xB2, 0x30, 0x80))
            buf[pos:pos + rng.randrange(1, 20)] = bytes([fill]) * min(20, len(buf) - pos)
    if rng.random() < 0.5 and len(buf) >= 4:  # a length that lets it reach the body decoder
        buf[0:4] = len(buf).to_bytes(4, "big")
    return bytes(buf)


def chunks(rng: random.Random, data: bytes) -> list[bytes]:
    out, pos = [], 0
    while pos < len(data):
        size = rng.choice((1, 3, 16, len(data)))
        out.append(data[pos:pos + size])
        pos += size
    return out


class Tally:
    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.examples: dict[str, list[str]] = {}

    def foreign(self, stage: str, data: bytes, exc: BaseException) -> None:
        key = f"{stage}: {type(exc).__name__}"
        self.counts["foreign"] += 1
        self.counts[key] += 1
        kept = self.examples.setdefault(key, [])
        if len(kept) < 3:
            kept.append(data.hex() + "  " + traceback.format_exception_only(exc)[-1].strip())


def run_decode(data: bytes, tally: Tally) -> bool:
    """True when `data` decodes."""
    try:
        pdu = decode(data)
    except RemoteProtocolError:
        tally.counts["decode: RemoteProtocolError"] += 1
        return False
    except Exception as exc:  # noqa: BLE001 - counting what escapes is the point
        tally.foreign("decode", data, exc)
        return False
    tally.counts["decode: Pdu"] += 1
    try:
        encode(pdu)
    except Exception as exc:  # noqa: BLE001
        tally.foreign("encode(decode(x))", data, exc)
    return True


def run_framer(rng: random.Random, data: bytes, tally: Tally) -> None:
    framer = Framer()
    try:
        for chunk in chunks(rng, data):
            framer.feed(chunk)
            while framer.next_frame() is not None:
                tally.counts["framer: frame"] += 1
    except RemoteProtocolError:
        tally.counts["framer: RemoteProtocolError"] += 1
    except Exception as exc:  # noqa: BLE001
        tally.foreign("framer", data, exc)


def _answer(session: Session, pdu: object) -> None:
    """Answer a returned request the way an application would (its *_resp, status 0)."""
    seq = pdu.sequence_number  # type: ignore[attr-defined]
    owed = session.owed.get(seq)
    if owed is not None:
        session.send(RESPONSE_OF[PDU_CLASSES[owed]](sequence_number=seq))


def run_session(rng: random.Random, data: bytes, tally: Tally) -> None:
    role = rng.choice((Role.ESME, Role.SMSC))
    session = Session(role)
    session.state = rng.choice(_STATES[role])
    events = 0
    try:
        for chunk in [*chunks(rng, data), b""]:
            session.receive_data(chunk)
            while True:
                event = session.next_event()
                if event is NEED_DATA or event is CONNECTION_CLOSED:
                    break
                events += 1
                if events > MAX_EVENTS:
                    tally.counts["hangs"] += 1
                    return
                if isinstance(event, InvalidPdu):
                    tally.counts["session: InvalidPdu"] += 1
                elif isinstance(event, Rejected):
                    tally.counts["session: Rejected"] += 1
                else:
                    tally.counts["session: Pdu"] += 1
                    _answer(session, event)
            session.data_to_send()
    except ProtocolError as exc:
        tally.foreign("session", data, exc)  # the session must not raise for peer input
    except Exception as exc:  # noqa: BLE001
        tally.foreign("session", data, exc)


def run_explain(data: bytes, decoded: bool, tally: Tally) -> None:
    try:
        exp = explain(data)
        str(exp)
    except Exception as exc:  # noqa: BLE001
        tally.foreign("explain", data, exc)
        return
    tally.counts["explain: error row" if exp.error is not None else "explain: clean"] += 1
    if (exp.error is None) != decoded:
        tally.counts["explain disagrees with decode"] += 1
        tally.examples.setdefault("explain disagrees with decode", []).append(data.hex())


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1_000_000, help="mutants (default 1,000,000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    corpus = seeds()
    tally = Tally()
    memory: list[tuple[int, float]] = [(0, rss_mb())]
    slowest = 0.0
    started = time.perf_counter()
    step = max(1, args.count // 10)
    for i in range(1, args.count + 1):
        data = mutate(rng, rng.choice(corpus))
        t0 = time.perf_counter()
        decoded = run_decode(data, tally)
        run_framer(rng, data, tally)
        run_session(rng, data, tally)
        run_explain(data, decoded, tally)
        slowest = max(slowest, time.perf_counter() - t0)
        if i % step == 0:
            memory.append((i, rss_mb()))
            print(f"  {i:>9,} mutants, {tally.counts['foreign']} foreign, "
                  f"RSS {memory[-1][1]:.1f} MB", file=sys.stderr, flush=True)
    elapsed = time.perf_counter() - started
    first_tenth = memory[1][1] if len(memory) > 1 else memory[0][1]
    result = {
        "mutants": args.count,
        "seed": args.seed,
        "seconds": round(elapsed, 1),
        "foreign_exceptions": tally.counts["foreign"],
        "hangs": tally.counts["hangs"],
        "explain_disagrees_with_decode": tally.counts["explain disagrees with decode"],
        "slowest_input_ms": round(slowest * 1000, 2),
        "rss_mb": [[n, round(mb, 1)] for n, mb in memory],
        "rss_growth_after_first_tenth_mb": round(memory[-1][1] - first_tenth, 1),
        "counts": dict(sorted(tally.counts.items())),
        "examples": tally.examples,
    }
    print(f"{'outcome':<36}{'count':>12}")
    for key, value in sorted(tally.counts.items()):
        print(f"{key:<36}{value:>12,}")
    print(f"{'mutants':<36}{args.count:>12,}")
    print(f"{'foreign exceptions':<36}{result['foreign_exceptions']:>12,}")
    print(f"{'hangs (> 64 events for one input)':<36}{result['hangs']:>12,}")
    print(f"{'slowest input (ms)':<36}{result['slowest_input_ms']:>12}")
    print(f"{'RSS start / end (MB)':<36}{memory[0][1]:>6.1f} / {memory[-1][1]:.1f}")
    print(f"{'RSS growth after the first tenth':<36}{result['rss_growth_after_first_tenth_mb']:>9} MB")
    print(f"{'seconds':<36}{elapsed:>12.1f}")
    for key, kept in tally.examples.items():
        print(f"\n{key}:")
        for line in kept:
            print("  " + line)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    return 1 if result["foreign_exceptions"] or result["hangs"] else 0


if __name__ == "__main__":
    sys.exit(main())
