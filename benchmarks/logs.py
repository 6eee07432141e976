"""Read + analyse 1M, 3M and 10M trace events: DuckDB, pandas and a json.loads baseline.

    python benchmarks/logs.py [--sizes 1000000,3000000,10000000] [--tmp DIR]

The trace is generated deterministically (no randomness) from real PDUs: per message a
submit_sm out, its submit_sm_resp in (hex message id; every 20th is ESME_RTHROTTLED), a
receipt deliver_sm in (decimal id, as many providers do) and its deliver_sm_resp out, on two
instances. Each event is what `trace.pdu_event` gives; only time, sequence, ids and the
matching hex bytes vary, so lines are produced by filling templates.

Each path runs in a child process of its own, so its wall time and peak RSS (``wait4``'s
ru_maxrss) are its alone:

- baseline: ``[json.loads(line) for line in f]`` then ``pd.DataFrame(records)`` (read),
  then plain-Python dict loops for the same answers (analyse). Its strings stay Python
  objects, as before pandas 3: with pyarrow installed pandas 3 would store them in Arrow,
  which makes this baseline about 1.5x slower, and the comparison easier than it should be;
- smppkit: `logs.read` (read, with dtypes and derived columns), then
  `analysis.throughput`, `response_latency`, `receipt_latency`, `error_distribution` and
  `throttle_rate` (analyse).

- duckdb: `dataset.open` on the JSONL (DuckDB loads it into an on-disk table, 1 GB memory
  limit), then the same analyses as queries (`smppkit.diagnose.queries`);
- parquet: `convert` to a Parquet dataset (once, at the smallest size), then the duckdb
  analyses over it;
- the receipt doctor: `doctor.diagnose(logs.read(...))` (pandas) against
  `dataset.open(...).diagnose()` (its whole-table checks as DuckDB queries,
  `smppkit.diagnose.doctor_sql`), over the JSONL and over the Parquet dataset; their
  findings and summaries must be equal.

The pandas paths hold every event in memory (about 1.4 GB per million events): they run
only up to --pandas-max events, the json.loads baseline up to --baseline-max.

The machine's load average (1 min) is recorded as each path starts: the benchmark shares
the machine, and its times are worth what the load lets them be.

Results go to benchmarks/results/logs.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from collections import Counter

import pandas as pd

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from smppkit import analysis, doctor, logs, pdus  # noqa: E402
from smppkit.diagnose import convert, dataset  # noqa: E402
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


def duckdb_analyse(ds: dataset.Dataset) -> dict:
    tp = ds.throughput("1s", by="command")
    lat = ds.response_latency()
    rl = ds.receipt_latency()
    ds.error_distribution()
    thr = ds.throttle_rate("1s")
    ds.receipt_match()
    return {"bins": int((tp > 0).to_numpy().sum()), "p95": lat["p95"],
            "receipts": int(rl["count"]), "throttled": int(thr["throttled"].sum())}


def _child(mode: str, path: str) -> dict:
    """Run one path; the seconds of its steps and its answers."""
    t0 = time.perf_counter()
    out: dict = {}
    if mode == "json":
        df = baseline_read(path)
        out["read"] = time.perf_counter() - t0
        out["answers"] = baseline_analyse(df)
    elif mode in ("pandas", "pandas-doctor"):
        df = logs.read(path, "trace", False)
        out["read"] = time.perf_counter() - t0
        if mode == "pandas":
            out["answers"] = smppkit_analyse(df)
        else:
            out.update(_doctor(lambda: doctor.diagnose(df)))
    elif mode == "convert":
        done = convert.convert([path], path + ".parquet", overwrite=True, progress=False)
        out["events"] = done.events
    else:  # duckdb, duckdb-doctor, parquet, parquet-doctor
        source = path + ".parquet" if mode.startswith("parquet") else path
        with dataset.open(source) as ds:
            out["read"] = time.perf_counter() - t0
            if mode.endswith("-doctor"):
                out.update(_doctor(ds.diagnose))
            else:
                out["answers"] = duckdb_analyse(ds)
    out["total"] = time.perf_counter() - t0
    if "answers" in out:
        out["answers"] = {k: float(v) for k, v in out["answers"].items()}
    return out


def _doctor(run) -> dict:  # type: ignore[no-untyped-def]
    """The doctor's seconds (beyond reading), findings and summary."""
    t = time.perf_counter()
    report = run()
    return {"diagnose": time.perf_counter() - t, "findings": report.codes,
            "summary": report.summary}


def run_child(mode: str, path: str) -> dict:
    """`_child` in a fresh interpreter: its result with wall seconds and peak RSS in MB."""
    load = os.getloadavg()[0]
    t = time.perf_counter()
    proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--child", mode, path],
                            stdout=subprocess.PIPE, text=True)
    stdout = proc.stdout.read()  # type: ignore[union-attr]
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{mode} on {path} failed with exit status {proc.returncode}")
    out = json.loads(stdout.strip().splitlines()[-1])
    out["wall"] = time.perf_counter() - t
    out["peak_rss_mb"] = usage.ru_maxrss / 1024  # KiB on Linux
    out["load_1min"] = load
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000000,3000000,10000000",
                        help="comma-separated event counts")
    parser.add_argument("--pandas-max", type=int, default=3_000_000,
                        help="largest size for the in-memory pandas path")
    parser.add_argument("--baseline-max", type=int, default=1_000_000,
                        help="largest size for the json.loads baseline")
    parser.add_argument("--tmp", default=None, help="where the traces go (deleted after)")
    parser.add_argument("--child", nargs=2, metavar=("MODE", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(*args.child)))
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    tmp = tempfile.mkdtemp(prefix="smppkit-bench-", dir=args.tmp)
    need = max(sizes) * 650  # bytes of JSONL per event, about
    free = shutil.disk_usage(tmp).free
    if free < need * 1.2:
        sys.exit(f"{tmp}: {free / 1e9:.1f} GB free, the largest trace needs {need / 1e9:.1f} GB")
    runs: list[dict] = []
    try:
        for size in sizes:
            path = os.path.join(tmp, f"trace-{size}.jsonl")
            n, t_gen = timed(generate, path, size)
            mb = os.path.getsize(path) / 1e6
            print(f"generated {n:,} events, {mb:,.0f} MB in {t_gen:.0f} s", flush=True)
            modes = ["duckdb", "duckdb-doctor"]
            if size <= args.pandas_max:
                modes += ["pandas", "pandas-doctor"]
            if size <= args.baseline_max:
                modes += ["json"]
            if size == min(sizes):
                modes += ["convert", "parquet", "parquet-doctor"]
            for mode in modes:
                r = run_child(mode, path)
                r.update(mode=mode, events=n, mb=round(mb))
                runs.append(r)
                print(f"  {mode:<15}{r['total']:>8.2f} s{r['peak_rss_mb']:>9,.0f} MB"
                      f"   (load {r['load_1min']:.1f})", flush=True)
            shutil.rmtree(path + ".parquet", ignore_errors=True)
            os.remove(path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    report(runs, sizes)


def report(runs: list[dict], sizes: list[int]) -> None:
    by = {(r["mode"], r["events"]): r for r in runs}
    names = {"duckdb": "DuckDB: read + analyse", "parquet": "DuckDB over Parquet: analyse",
             "pandas": "pandas: read + analyse", "json": "json.loads baseline: read + analyse",
             "duckdb-doctor": "doctor as DuckDB queries: read + diagnose",
             "parquet-doctor": "doctor as queries over Parquet",
             "pandas-doctor": "doctor, pandas: read + diagnose", "convert": "convert to Parquet"}
    events = sorted({r["events"] for r in runs})
    print(f"\n{'path':<42}" + "".join(f"{f'{n / 1e6:g}M events':>24}" for n in events))
    for mode, name in names.items():
        cells = []
        for n in events:
            r = by.get((mode, n))
            cells.append(f"{r['total']:>9.2f} s {r['peak_rss_mb']:>7,.0f} MB" if r else
                         f"{'(not run: memory)' if mode.startswith(('pandas', 'json')) else '':>22}")
        print(f"{name:<42}" + "".join(f"{c:>24}" for c in cells))
    goals = {}
    small = min(events)
    if ("pandas", small) in by:
        goals["1M read + analyse >= 2x faster than pandas"] = (
            by[("pandas", small)]["total"] / by[("duckdb", small)]["total"])
    big = max(events)
    goals["largest: DuckDB peak RSS (MB) < 2000"] = max(
        by[(m, big)]["peak_rss_mb"] for m in ("duckdb",))
    goals["largest: doctor seconds (read + diagnose) < 60"] = by[("duckdb-doctor", big)]["total"]
    goals["largest: doctor seconds (diagnose alone)"] = by[("duckdb-doctor", big)]["diagnose"]
    goals["largest: doctor peak RSS (MB)"] = by[("duckdb-doctor", big)]["peak_rss_mb"]
    for mode in ("duckdb", "duckdb-doctor"):
        goals[f"{mode} seconds per million events, by size"] = {
            n: by[(mode, n)]["total"] / (n / 1e6) for n in events}
    goals["load average (1 min) at the start of each path"] = [
        round(r["load_1min"], 1) for r in runs]
    for k, v in goals.items():
        print(f"{k}: {v if isinstance(v, (dict, list)) else round(v, 2)}")
    for n in events:
        a, b = by.get(("duckdb", n), {}).get("answers"), by.get(("pandas", n), {}).get("answers")
        if a and b:
            assert a["receipts"] == b["receipts"] and a["throttled"] == b["throttled"], (a, b)
            assert a["bins"] == b["bins"] and abs(a["p95"] - b["p95"]) < 1e-9, (a, b)
        doctors = [by[(m, n)] for m in ("duckdb-doctor", "parquet-doctor", "pandas-doctor")
                   if (m, n) in by]
        for d in doctors[1:]:  # the same report, whichever way it is computed
            assert (d["findings"], d["summary"]) == (doctors[0]["findings"],
                                                    doctors[0]["summary"]), (d, doctors[0])
    result = {
        "machine": {"python": platform.python_version(), "pandas": pd.__version__,
                    "cpus": os.cpu_count(), "platform": platform.platform()},
        "runs": [{k: (round(v, 3) if isinstance(v, float) else v) for k, v in r.items()}
                 for r in runs],
        "goals": goals,
    }
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "logs.json")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        json.dump(result, f, indent=2, default=float)
        f.write("\n")
    print(f"wrote {out}")


def timed(fn, *args):  # type: ignore[no-untyped-def]
    t = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t


if __name__ == "__main__":
    main()
