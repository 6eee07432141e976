"""The SQL path against the pandas path: Parquet conversion and the DuckDB analyses (the
doctor: tests/test_doctor_sql.py).

Both sides are computed from the files in data/ every time (nothing hard-coded): the pandas
analyses of `logs.read` are the reference the queries must equal.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pandas as pd
import pyarrow.dataset as pads
import pytest
from pandas.testing import assert_frame_equal, assert_series_equal

from smppkit import cli
from smppkit.diagnose import analysis as A
from smppkit.diagnose import convert, dataset, engines, logs
from smppkit.diagnose.pcap import Flow, write_pcap
from smppkit.kannel.logs import read_kannel_log
from smppkit.protocol import pdus
from smppkit.protocol.codec import encode

DATA = Path(__file__).resolve().parent.parent / "data"
LOGS = sorted((DATA / "logs").glob("*.jsonl"))
KANNEL = DATA / "kannel" / "bearerbox-receipts.log"

# (name, query on a Dataset, the pandas analysis on an event table)
ANALYSES = [
    ("throughput", lambda ds: ds.throughput(), lambda df: A.throughput(df)),
    ("throughput-7s-instance-kind", lambda ds: ds.throughput("7s", by=("instance", "kind")),
     lambda df: A.throughput(df, "7s", by=("instance", "kind"))),
    ("throughput-total", lambda ds: ds.throughput("1min", by=()),
     lambda df: A.throughput(df, "1min", by=())),
    ("response-latency", lambda ds: ds.response_latency(),
     lambda df: A.latency_percentiles(A.response_latency(df))),
    ("response-latency-all", lambda ds: ds.response_latency(None, (10, 50, 99.9)),
     lambda df: A.latency_percentiles(A.response_latency(df, None), (10, 50, 99.9))),
    ("receipt-latency", lambda ds: ds.receipt_latency(),
     lambda df: A.latency_percentiles(A.receipt_latency(df))),
    ("error-distribution", lambda ds: ds.error_distribution(), A.error_distribution),
    ("throttle-rate", lambda ds: ds.throttle_rate(limit=30),
     lambda df: A.throttle_rate(df, limit=30)),
    ("throttle-rate-10s", lambda ds: ds.throttle_rate("10s"),
     lambda df: A.throttle_rate(df, "10s")),
    ("receipt-match", lambda ds: ds.receipt_match(), A.receipt_match),
]


def assert_same(mine, reference):
    if isinstance(reference, pd.Series):
        assert_series_equal(mine, reference)
    else:
        assert_frame_equal(mine, reference)
        assert mine.attrs == reference.attrs


@pytest.mark.parametrize("path", LOGS, ids=[p.stem for p in LOGS])
def test_duckdb_over_jsonl_equals_pandas(path):
    df = logs.read(path, progress=False)
    with dataset.open(path) as ds:
        assert ds.count() == len(df)
        for name, query, reference in ANALYSES:
            try:
                assert_same(query(ds), reference(df))
            except AssertionError as exc:
                raise AssertionError(f"{name}: {exc}") from None


@pytest.fixture(scope="module")
def all_logs(tmp_path_factory):
    """Every sample log in one Parquet dataset, written in small chunks."""
    out = tmp_path_factory.mktemp("ds") / "events"
    done = convert.convert(LOGS, out, chunk_bytes=40_000, progress=False)
    return out, done, logs.read(LOGS, progress=False)


def test_convert_keeps_every_event_in_order(all_logs):
    out, done, df = all_logs
    assert done.events == len(df) and done.bad_lines == []
    table = pads.dataset(out, format="parquet", partitioning="hive").to_table()
    back = table.to_pandas().sort_values("ord", ignore_index=True)
    assert back["ord"].tolist() == list(range(len(df)))
    assert back["day"].astype(str).tolist() == df["time"].dt.strftime("%Y-%m-%d").tolist()
    for column in ("time", "command", "sequence", "message_id", "hex", "source_file", "line",
                   "command_status_name", "id_key"):
        assert back[column].tolist() == df[column].tolist(), column
    assert back["instance"].astype(str).tolist() == df["instance"].astype(str).tolist()
    folders = {Path(f).parent.relative_to(out).as_posix() for f in done.files}
    assert folders == {f"day={d}/instance={i}" for d, i in zip(
        df["time"].dt.strftime("%Y-%m-%d"), df["instance"], strict=True)}


def test_duckdb_over_parquet_equals_pandas(all_logs):
    out, _, df = all_logs
    with dataset.open(out) as ds:
        for name, query, reference in ANALYSES:
            try:
                assert_same(query(ds), reference(df))
            except AssertionError as exc:
                raise AssertionError(f"{name}: {exc}") from None


def test_bad_lines_are_listed_with_their_line(tmp_path):
    lines = LOGS[0].read_text().splitlines()
    lines[150] = '{"time": "soon", "command": "submit_sm"'
    path = tmp_path / "broken.jsonl"
    path.write_text("\n".join(lines) + "\n")
    done = convert.convert([path], tmp_path / "out", chunk_bytes=5_000, progress=False)
    assert [(f, n) for f, n, _ in done.bad_lines] == [(str(path), 151)]
    assert done.events == len(lines) - 1
    with pytest.warns(logs.BadLineWarning, match="broken.jsonl:151"):
        ds = dataset.open(path)  # DuckDB refuses the line: converted first, line listed
    with ds, warnings.catch_warnings():
        warnings.simplefilter("ignore", logs.BadLineWarning)
        assert ds.bad_lines == done.bad_lines
        assert_same(ds.receipt_match(), A.receipt_match(logs.read(path, progress=False)))


def test_convert_reads_captures_and_kannel_logs(tmp_path):
    sub = encode(pdus.SubmitSm(sequence_number=1, source_addr="SRC", destination_addr="4477",
                               registered_delivery=1, short_message=b"hello"))
    resp = encode(pdus.SubmitSmResp(sequence_number=1, message_id="1a"))
    dlr = encode(pdus.DeliverSm(sequence_number=5, esm_class=4,
                                short_message=b"id:26 sub:001 dlvrd:001 submit date:2401011200 "
                                              b"done date:2401011201 stat:DELIVRD err:000"))
    capture = tmp_path / "c.pcap"
    write_pcap(str(capture), [Flow(("10.0.0.1", 40000), ("10.0.0.2", 2775),
                                   [(1_700_000_000.0, "out", sub),
                                    (1_700_000_000.2, "in", resp + dlr)])])
    done = convert.convert([capture, KANNEL], tmp_path / "out", format="auto", progress=False)
    events, lines, _ = read_kannel_log(KANNEL)
    reference = pd.concat([logs.read(capture, progress=False),
                           logs.from_events(events, lines=lines)], ignore_index=True)
    assert done.events == len(reference)
    with dataset.open(tmp_path / "out") as ds:
        assert_same(ds.receipt_match(), A.receipt_match(reference))
        assert_same(ds.error_distribution(), A.error_distribution(reference))


def test_convert_command_line(tmp_path, capsys):
    out = tmp_path / "ds"
    assert cli.main(["convert", str(LOGS[0]), "--out", str(out), "--no-progress"]) == 0
    assert f"-> {out}" in capsys.readouterr().out
    assert cli.main(["convert", str(LOGS[0]), "--out", str(out)]) == 2
    assert "not empty" in capsys.readouterr().err
    assert cli.main(["convert", str(tmp_path / "nope.jsonl"), "--out", str(tmp_path / "x")]) == 2
    assert "no such file" in capsys.readouterr().err
    odd = tmp_path / "notes.txt"
    odd.write_text("nothing an SMPP reader knows\n")
    assert cli.main(["convert", str(odd), "--out", str(tmp_path / "y")]) == 2
    assert "cannot tell the log format" in capsys.readouterr().err


def test_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no Parquet file"):
        dataset.open(tmp_path)
    with pytest.raises(FileNotFoundError, match="no such file"):
        dataset.open(tmp_path / "missing.jsonl")
    with pytest.raises(ValueError, match="unknown engine"):
        dataset.open(LOGS[0], engine="sqlite")
    with dataset.open(LOGS[0]) as ds:
        with pytest.raises(ValueError, match="fixed bin width"):
            ds.throughput("1M")
        with pytest.raises(ValueError, match="cannot group by"):
            ds.throughput(by="hex")
    empty = tmp_path / "empty.jsonl"
    empty.write_text(json.dumps({"note": "no event"}) + "\n")
    with pytest.warns(logs.BadLineWarning), pytest.raises(ValueError, match="no event"):
        dataset.open(empty)


def test_engine_error_names_the_problem(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text('{"time": 1.0, "direction": "out"}\n')
    engine = engines.DuckDBEngine()
    try:
        with pytest.raises(engines.EngineError, match="lack time, direction or command"):
            engine.load_jsonl([str(path)])
    finally:
        engine.close()
