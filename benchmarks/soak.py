"""Soak the simulator: many messages, clients that vanish, and count every receipt.

Three scenarios against `smppkit.simulator.start()` (its public API only):

* ``disconnects`` -- `--count` messages (default 100,000) over a client that aborts its
  connection at random moments (on average every `--disconnect-every` submits), reconnects
  and binds again at once;
* ``flaky-link`` -- the built-in scenario: SMPP1 drops each connection after 20 PDUs;
* ``duplicate-receipts`` -- the built-in scenario: every receipt arrives twice.

The client is the sans-IO `Session` over an asyncio stream, one transceiver bind, a window
of `--window` submits. Every submit asks for a receipt (registered_delivery 1) and goes to
its own destination number, so a receipt can be checked against the submit it names:

* **lost**: a submit_sm_resp message_id with no receipt by the end (after `--drain` s of
  quiet);
* **duplicated**: a receipt for an id already received; each one must be *traced*, i.e.
  the simulator's trace shows that deliver_sm sent again as a resend or a fault;
* **mis-correlated**: a receipt whose id names a submit to another number, or names no
  submit at all (other than one whose resp was lost in a disconnect: those are counted
  apart, as "receipts for a resp lost in a disconnect").

Ids are read as the provider writes them (smpp-facts §1.6: hex in the resp, decimal in
the receipt) with `smppkit.sms.receipts.message_id_key`. Prints a table and writes
benchmarks/results/soak.json.

Usage: python benchmarks/soak.py [--count 100000] [--scenarios disconnects flaky-link
duplicate-receipts] [--flaky-count 5000] [--seed 1]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import random
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

from smppkit import simulator  # noqa: E402
from smppkit.protocol.constants import CommandStatus  # noqa: E402
from smppkit.protocol.pdus import BindTransceiver, DeliverSmResp, SubmitSm  # noqa: E402
from smppkit.protocol.session import (  # noqa: E402
    CONNECTION_CLOSED,
    NEED_DATA,
    InvalidPdu,
    Rejected,
    Role,
    Session,
)
from smppkit.sms.receipts import is_receipt, message_id_key, parse_receipt  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "soak.json"
_RETRY_BIND = {int(CommandStatus.ESME_RALYBND), int(CommandStatus.ESME_RBINDFAIL)}


@dataclass
class Ledger:
    """What the client saw, keyed by the message id's numeric reading."""

    submitted: int = 0
    acknowledged: dict[int | str, str] = field(default_factory=dict)  # id key -> destination
    refused: int = 0  # submit_sm_resp with an error status
    resp_lost: set[str] = field(default_factory=set)  # destinations whose resp never came
    receipts: collections.Counter[int | str] = field(default_factory=collections.Counter)
    miscorrelated: list[str] = field(default_factory=list)
    for_lost_resp: int = 0
    unreadable: int = 0
    disconnects: int = 0
    connections: int = 0
    last_receipt: float = 0.0


def _destination(n: int) -> str:
    return f"4477{n:08d}"


class Client:
    """One connection at a time; `run()` reconnects until `count` submits are acknowledged."""

    def __init__(self, host: str, port: int, count: int, window: int, disconnect_every: float,
                 rng: random.Random, ledger: Ledger) -> None:
        self.host, self.port, self.count, self.window = host, port, count, window
        self.disconnect_every, self.rng, self.ledger = disconnect_every, rng, ledger
        self.next_number = 0

    async def run(self, drain: float, deadline: float) -> None:
        while time.monotonic() < deadline:
            done = len(self.ledger.acknowledged) + self.ledger.refused >= self.count
            if done and time.monotonic() - self.ledger.last_receipt > drain:
                if len(self.ledger.receipts) >= len(self.ledger.acknowledged):
                    return
                if time.monotonic() - self.ledger.last_receipt > 4 * drain:
                    return
            await self.connection(drain, deadline)

    async def connection(self, drain: float, deadline: float) -> None:
        ledger = self.ledger
        try:
            reader, writer = await asyncio.open_connection(self.host, self.port)
        except OSError:
            await asyncio.sleep(0.05)
            return
        ledger.connections += 1
        session = Session(Role.ESME)
        in_flight: dict[int, str] = {}  # sequence_number -> destination
        abort_after = (self.rng.expovariate(1 / self.disconnect_every)
                       if self.disconnect_every else float("inf"))
        sent_here = 0
        bound = False
        session.send(BindTransceiver(system_id="smppkit", password="secret"))
        writer.write(session.data_to_send())
        try:
            while time.monotonic() < deadline:
                if bound:
                    while (len(in_flight) < self.window and sent_here < abort_after
                           and ledger.submitted - len(ledger.resp_lost) - len(in_flight)
                           < self.count):
                        number = self.next_number
                        self.next_number += 1
                        sent = session.send(SubmitSm(
                            source_addr="soak", destination_addr=_destination(number),
                            registered_delivery=1, short_message=b"soak"))
                        in_flight[sent.sequence_number] = _destination(number)
                        ledger.submitted += 1
                        sent_here += 1
                    writer.write(session.data_to_send())
                    if sent_here >= abort_after:  # vanish: no unbind, unread data dropped
                        ledger.disconnects += 1
                        await asyncio.sleep(self.rng.random() * 0.01)  # some of it may arrive
                        writer.transport.abort()
                        return
                try:
                    data = await asyncio.wait_for(reader.read(65536), timeout=drain)
                except TimeoutError:
                    if not in_flight and len(ledger.acknowledged) + ledger.refused >= self.count:
                        return  # quiet and done: let run() decide whether to drain more
                    continue
                session.receive_data(data)
                while (event := session.next_event()) not in (NEED_DATA, CONNECTION_CLOSED):
                    if isinstance(event, InvalidPdu | Rejected):
                        continue
                    name = event.command_name
                    if name == "bind_transceiver_resp":
                        if event.command_status in _RETRY_BIND:
                            await asyncio.sleep(0.05)
                            return
                        if event.command_status:
                            raise RuntimeError(f"bind refused: {event.command_status:#x}")
                        bound = True
                    elif name == "submit_sm_resp":
                        destination = in_flight.pop(event.sequence_number)
                        if event.command_status:
                            ledger.refused += 1
                        else:
                            ledger.acknowledged[message_id_key(event.message_id, "hex")] = destination
                    elif name == "deliver_sm":
                        session.send(DeliverSmResp(sequence_number=event.sequence_number))
                        if is_receipt(event.esm_class):
                            self.receipt(event)
                writer.write(session.data_to_send())
                if data == b"" or session.state.name == "CLOSED":
                    return
        except (ConnectionError, OSError):
            return
        finally:
            ledger.resp_lost.update(in_flight.values())
            if not writer.transport.is_closing():
                writer.transport.abort()

    def receipt(self, pdu: object) -> None:
        ledger = self.ledger
        ledger.last_receipt = time.monotonic()
        try:
            receipt = parse_receipt(pdu, strict=False)
            key = message_id_key(receipt.message_id or "", "decimal")
        except ValueError:
            ledger.unreadable += 1
            return
        ledger.receipts[key] += 1
        number = pdu.source_addr  # type: ignore[attr-defined]  # the receipt comes from the handset
        expected = ledger.acknowledged.get(key)
        if expected is None:
            if number in ledger.resp_lost:
                ledger.for_lost_resp += 1
            else:
                ledger.miscorrelated.append(f"{receipt.message_id} from {number}: no such submit")
        elif expected != number:
            ledger.miscorrelated.append(f"{receipt.message_id} from {number}: sent to {expected}")


def traced_resends(trace_path: Path) -> collections.Counter[int | str]:
    """How many times the trace shows each receipt's deliver_sm sent *again*.

    The simulator traces the deliver_sm, then (same session) a note line saying why it was
    sent again ("resend: ...", "fault duplicate_receipt"); the note names the receipt just
    sent on that session.
    """
    sent_again: collections.Counter[int | str] = collections.Counter()
    last_receipt: dict[str, str] = {}  # session -> message_id of its last deliver_sm out
    with trace_path.open() as f:
        for line in f:
            event = json.loads(line)
            session = event.get("session") or ""
            if event["command"] == "deliver_sm" and event["direction"] == "out":
                if event.get("message_id"):
                    last_receipt[session] = event["message_id"]
            elif not event["command"] and session in last_receipt:
                note = event.get("note") or ""
                if note.startswith("resend") or "duplicate_receipt" in note:
                    sent_again[message_id_key(last_receipt.pop(session), "decimal")] += 1
    return sent_again


def run_scenario(name: str, count: int, args: argparse.Namespace) -> dict[str, object]:
    rng = random.Random(args.seed)
    ledger = Ledger()
    with tempfile.TemporaryDirectory() as tmp:
        trace_path = Path(tmp) / "trace.jsonl"
        options: dict[str, object] = dict(seed=args.seed, dlr_delay=0.02, throughput=None,
                                          max_binds=20, failure_rate=0.0, trace_path=str(trace_path),
                                          trace_memory=0, deliver_timeout=1.0, retry_delay=0.05)
        if name != "disconnects":
            options["scenario"] = name
        started = time.perf_counter()
        with simulator.start(**options) as sim:  # type: ignore[arg-type]
            client = Client(sim.host, sim.port("SMPP1"), count, args.window,
                            args.disconnect_every if name == "disconnects" else 0, rng, ledger)
            asyncio.run(client.run(args.drain, time.monotonic() + args.timeout))
        seconds = time.perf_counter() - started
        sent_again = traced_resends(trace_path)
    duplicated = {k: n - 1 for k, n in ledger.receipts.items() if n > 1}
    untraced = {k: n for k, n in duplicated.items() if sent_again.get(k, 0) < n}
    lost = [k for k in ledger.acknowledged if k not in ledger.receipts]
    return {
        "scenario": name,
        "messages_acknowledged": len(ledger.acknowledged),
        "submits_sent": ledger.submitted,
        "submits_refused": ledger.refused,
        "resps_lost_in_disconnects": len(ledger.resp_lost),
        "client_disconnects": ledger.disconnects,
        "connections": ledger.connections,
        "receipts_received": sum(ledger.receipts.values()),
        "receipts_lost": len(lost),
        "receipts_duplicated": sum(duplicated.values()),
        "duplicates_not_traced": sum(untraced.values()),
        "receipts_miscorrelated": len(ledger.miscorrelated),
        "receipts_for_a_lost_resp": ledger.for_lost_resp,
        "receipts_unreadable": ledger.unreadable,
        "seconds": round(seconds, 1),
        "examples": {"lost": [str(k) for k in lost[:5]], "miscorrelated": ledger.miscorrelated[:5],
                     "untraced": [str(k) for k in list(untraced)[:5]]},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000, help="messages for 'disconnects'")
    parser.add_argument("--flaky-count", type=int, default=5_000,
                        help="messages for flaky-link and duplicate-receipts")
    parser.add_argument("--scenarios", nargs="+",
                        default=["disconnects", "flaky-link", "duplicate-receipts"])
    parser.add_argument("--window", type=int, default=50)
    parser.add_argument("--disconnect-every", type=float, default=2000.0,
                        help="mean submits between client disconnects")
    parser.add_argument("--drain", type=float, default=3.0, help="seconds of quiet that end a run")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per scenario at most")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    results = []
    for name in args.scenarios:
        count = args.count if name == "disconnects" else args.flaky_count
        print(f"{name}: {count:,} messages ...", file=sys.stderr, flush=True)
        results.append(run_scenario(name, count, args))
    keys = [k for k in results[0] if k not in ("scenario", "examples")]
    print(f"{'':<30}" + "".join(f"{r['scenario']:>20}" for r in results))
    for key in keys:
        print(f"{key:<30}" + "".join(f"{r[key]:>20,}" if isinstance(r[key], int)
                                     else f"{r[key]:>20}" for r in results))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"seed": args.seed, "results": results}, indent=2) + "\n")
    bad = any(r["receipts_lost"] or r["receipts_miscorrelated"] or r["duplicates_not_traced"]
              for r in results)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
