"""Read + analyse 1,000,000 trace events: smppkit against a plain json.loads baseline.

    python benchmarks/logs.py [--events N] [--keep]

The trace is generated deterministically (no randomness) from real PDUs: per message a
submit_sm out, its submit_sm_resp in (hex message id; every 20th is ESME_RTHROTTLED), a
receipt deliver_sm in (decimal id, as many providers do) and its deliver_sm_resp out, on two
instances. Each event is what `trace.pdu_event` gives; only time, sequence, ids and the
matching hex bytes vary, so lines are produced by filling templates.

Both sides run in this process, one after the other:

- baseline: ``[json.loads(line) for line in f]`` then ``pd.DataFrame(records)`` (read),
  then plain-Python dict loops for the same answers (analyse). Its strings stay Python
  objects, as before pandas 3: with pyarrow installed pandas 3 would store them in Arrow,
  which makes this baseline about 1.5x slower, and the comparison easier than it should be;
- smppkit: `logs.read` (read, with dtypes and derived columns), then
  `analysis.throughput`, `response_latency`, `receipt_latency`, `error_distribution` and
  `throttle_rate` (analyse).

Then, smppkit alone: `doctor.diagnose` on the same table (every receipt check).

Results go to benchmarks/results/logs.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import sys
import tempfile
import time
import warnings
from collections import Counter

import pandas as pd

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from smppkit import analysis, doctor, logs, pdus  # noqa: E402
from smppkit.trace import dump_event, pdu_event  # noqa: E402

T0 = 1_700_000_000.0
SEQ = 0x7EADBEEF  # placeholder sequence number, unique in the templates
RID, DID = "RRRRRRRR", "DDDDDDDDDD"  # placeholder ids (8 hex / 10 decimal characters)


def _template(pdu: pdus.Pdu, direction: str) -> str:
    ev = pdu_event(pdu, time=1.5, direction=direction, system="esme", instance="SMPP1",
                   session="SMPP1#1", peer="10.0.0.2:2775", system_id="acct",
                   bind="transceiver")
    line = dump_event(ev).replace("{", "{{").replace("}", "}}")
    for old, new in (('"time":1.5', '"time":{t}'), (f"{SEQ:08x}", "{sh}"),
                     (f'"sequence":{SEQ}', '"sequence":{seq}'), ('"SMPP1#1"', '"{inst}#1"'),
                     ('"SMPP1"', '"{inst}"'), (RID.encode().hex(), "{rid_hex}"),
                     (DID.encode().hex(), "{did_hex}"), (RID, "{rid}"), (DID, "{did}")):
        line = line.replace(old, new)
    return line + "\n"


def templates() -> dict[str, str]:
    text = (f"id:{DID} sub:001 dlvrd:001 submit date:2311142213 done date:2311142213 "
            f"stat:DELIVRD err:000 text:hello").encode()
    return {
        "submit": _template(pdus.SubmitSm(
            sequence_number=SEQ, source_addr="SRC", destination_addr="447700900001",
            registered_delivery=1, short_message=b"Your code is 123456"), "out"),
        "resp": _template(pdus.SubmitSmResp(sequence_number=SEQ, message_id=RID), "in"),
        "throttled": _template(pdus.SubmitSmResp(sequence_number=SEQ, command_status=0x58),
                               "in"),
        "receipt": _template(pdus.DeliverSm(
            sequence_number=SEQ, source_addr="447700900001", destination_addr="SRC",
            esm_class=0x04, short_message=text, tlvs={"receipted_message_id": DID}), "in"),
        "receipt_resp": _template(pdus.DeliverSmResp(sequence_number=SEQ), "out"),
    }


def generate(path: str, n_events: int) -> int:
    tpl = templates()
    n = i = 0
    with open(path, "w", encoding="utf-8") as f:
        while n < n_events:
            inst = ("SMPP1", "SMPP2")[i % 2]
            seq = 2 * i + 1
            rid, did = f"{i + 1:08x}", f"{i + 1:010d}"
            t = T0 + i * 0.002
            kw = dict(inst=inst, seq=seq, sh=f"{seq:08x}", rid=rid, did=did,
                      rid_hex=rid.encode().hex(), did_hex=did.encode().hex())
            f.write(tpl["submit"].format(t=round(t, 6), **kw))
            if i % 20 == 19:
                f.write(tpl["throttled"].format(t=round(t + 0.03, 6), **kw))
                n += 2
            else:
                f.write(tpl["resp"].format(t=round(t + 0.03, 6), **kw))
                kw2 = dict(kw, seq=seq + 1, sh=f"{seq + 1:08x}")
                f.write(tpl["receipt"].format(t=round(t + 2.5 + (i % 7) * 0.1, 6), **kw2))
                f.write(tpl["receipt_resp"].format(t=round(t + 2.51 + (i % 7) * 0.1, 6), **kw2))
                n += 4
            i += 1
    return n


# --- the two contenders -------------------------------------------------------------------


def baseline_read(path: str) -> pd.DataFrame:
    with open(path, encoding="utf-8") as f:
        records = [json.loads(line) for line in f if line.strip()]
    with _object_strings():
        return pd.DataFrame(records)


def _object_strings():  # type: ignore[no-untyped-def]
    """Keep strings as Python objects while building the baseline's DataFrame (the
    faster way for it), where this pandas still lets one choose."""
    warnings.filterwarnings("ignore", message=".*infer_string.*")  # deprecated in pandas 3
    try:
        pd.get_option("future.infer_string")
    except KeyError:
        return contextlib.nullcontext()
    return pd.option_context("future.infer_string", False)


def baseline_analyse(df: pd.DataFrame) -> dict:
    """The same answers with plain Python loops over the records."""
    rows = df.to_dict("records")
    per_second: Counter = Counter()
    sent: dict = {}
    resp_lat, statuses, stats = [], Counter(), Counter()
    by_id: dict = {}
    receipt_lat = []
    for r in rows:
        per_second[(int(r["time"]), r["command"])] += 1
        key = (r["session"], r["sequence"])
        if r["command"] == "submit_sm":
            sent[key] = r["time"]
        elif r["command"] == "submit_sm_resp":
            statuses[r["command_status"]] += 1
            t = sent.pop(key, None)
            if t is not None:
                resp_lat.append(r["time"] - t)
                if isinstance(r["message_id"], str):
                    by_id[str(int(r["message_id"], 16))] = t
        elif r["command"] == "deliver_sm" and isinstance(r["receipt_stat"], str):
            stats[(r["receipt_stat"], r["receipt_err"])] += 1
            t = by_id.get(str(int(r["message_id"])))
            if t is not None:
                receipt_lat.append(r["time"] - t)
    s = pd.Series(resp_lat)
    return {"bins": len(per_second), "p95": s.quantile(0.95), "receipts": len(receipt_lat),
            "throttled": statuses[0x58]}


def smppkit_analyse(df: pd.DataFrame) -> dict:
    tp = analysis.throughput(df, "1s", by="command")
    lat = analysis.response_latency(df)
    rl = analysis.receipt_latency(df)
    analysis.error_distribution(df)
    thr = analysis.throttle_rate(df, "1s")
    return {"bins": int((tp > 0).to_numpy().sum()),
            "p95": analysis.latency_percentiles(lat)["p95"], "receipts": len(rl),
            "throttled": int(thr["throttled"].sum())}


def timed(fn, *args):  # type: ignore[no-untyped-def]
    t = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the generated trace")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="smppkit-bench-")
    path = os.path.join(tmp, "trace.jsonl")
    n, t_gen = timed(generate, path, args.events)
    size = os.path.getsize(path)
    print(f"generated {n:,} events, {size / 1e6:.0f} MB in {t_gen:.1f} s")

    df_b, t_read_b = timed(baseline_read, path)
    res_b, t_an_b = timed(baseline_analyse, df_b)
    del df_b
    df_s, t_read_s = timed(logs.read, path, "trace", False)
    res_s, t_an_s = timed(smppkit_analyse, df_s)
    report, t_doc = timed(doctor.diagnose, df_s)
    assert len(df_s) == n and not df_s.attrs["bad_lines"]
    assert res_s["receipts"] == res_b["receipts"] and res_s["throttled"] == res_b["throttled"]

    rows = [("read", t_read_b, t_read_s), ("analyse", t_an_b, t_an_s),
            ("read + analyse", t_read_b + t_an_b, t_read_s + t_an_s)]
    print(f"\n{'step':<16}{'baseline s':>12}{'smppkit s':>12}{'speed-up':>10}")
    for name, b, s in rows:
        print(f"{name:<16}{b:>12.2f}{s:>12.2f}{b / s:>9.1f}x")
    total_s = t_read_s + t_an_s
    verdict = "met" if (rows[2][1] / total_s >= 5 and total_s < 10) else "NOT met"
    print(f"\ntarget >= 5x baseline and < 10 s: {verdict}")
    print(f"the receipt doctor on the same table: {t_doc:.2f} s, findings {report.codes}")
    result = {
        "events": n, "bytes": size,
        "machine": {"python": platform.python_version(), "pandas": pd.__version__,
                    "cpus": os.cpu_count(), "platform": platform.platform()},
        "seconds": {name: {"baseline": round(b, 3), "smppkit": round(s, 3),
                           "speedup": round(b / s, 2)} for name, b, s in rows},
        "answers": {"smppkit": {k: float(v) for k, v in res_s.items()},
                    "baseline": {k: float(v) for k, v in res_b.items()}},
        "target_met": verdict == "met",
        "doctor": {"seconds": round(t_doc, 3), "findings": report.codes},
    }
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "logs.json")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    print(f"wrote {out}")
    if args.keep:
        print(f"trace kept at {path}")
    else:
        os.remove(path)
        os.rmdir(tmp)


if __name__ == "__main__":
    main()
