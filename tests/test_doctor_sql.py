"""The receipt doctor as queries (`doctor_sql`, via `Dataset.diagnose`) against the pandas
doctor: the same report on every sample log (every corpus case: tests/test_corpus.py),
computed from the files each time; and what leaves the engine stays small however long
the log.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pandas.testing import assert_frame_equal, assert_series_equal

from smppkit.diagnose import analysis, convert, dataset, doctor, engines, logs
from smppkit.protocol import pdus
from smppkit.trace import dump_event, pdu_event

DATA = Path(__file__).resolve().parent.parent / "data"
LOGS = sorted((DATA / "logs").glob("*.jsonl"))


@pytest.mark.parametrize("path", LOGS, ids=[p.stem for p in LOGS])
def test_the_sql_doctor_gives_the_pandas_doctors_report_on_each_log(path: Path) -> None:
    reference = doctor.diagnose(path)
    with dataset.open(path) as ds:  # JSONL loaded by DuckDB
        assert ds.diagnose().to_dict() == reference.to_dict()
    assert reference.findings  # every sample log has something to say


def test_traces_loaded_into_a_database_file_give_the_same_answers() -> None:
    # what DuckDBEngine does with traces larger than its memory_limit
    path = DATA / "logs" / "throttled.jsonl"
    df = logs.read(path, progress=False)
    with dataset.open(path, engines.DuckDBEngine(on_disk=True)) as ds:
        assert ds.diagnose().to_dict() == doctor.diagnose(path).to_dict()
        assert_frame_equal(ds.receipt_match(), analysis.receipt_match(df))
        assert_series_equal(ds.response_latency(), analysis.latency_percentiles(
            analysis.response_latency(df)))


def test_the_sql_doctor_over_a_parquet_dataset_of_every_log(tmp_path: Path) -> None:
    convert.convert(LOGS, tmp_path / "ds", chunk_bytes=40_000, progress=False)
    reference = doctor.diagnose(logs.read(LOGS, progress=False))
    with dataset.open(tmp_path / "ds") as ds:
        mine = ds.diagnose()
    assert [f.to_dict() for f in mine.findings] == [f.to_dict() for f in reference.findings]
    assert mine.summary == reference.summary
    assert len(set(reference.codes)) >= 10


@pytest.mark.parametrize("name", ["data_coding_0_unicode", "udh_without_udhi"])
def test_too_many_bodies_to_decode_are_sampled_alike(name: str, monkeypatch) -> None:
    path = DATA / "logs" / f"{name}.jsonl"
    monkeypatch.setattr(doctor, "_MAX_DECODED", 7)  # far fewer than the log's bodies
    reference = doctor.diagnose(path)
    text = next(f for f in reference.findings if f.code in ("data-coding-0-non-gsm",
                                                            "udh-without-udhi"))
    assert text.counts["submits checked"] == 7
    with dataset.open(path) as ds:
        assert ds.diagnose().to_dict() == reference.to_dict()


def _trace(path: Path, messages: int) -> None:
    """Per message a submit_sm, its resp, a receipt and its resp; one body for all."""
    lines = []
    for i in range(messages):
        t, seq, rid = 1_700_000_000.0 + i * 0.01, 2 * i + 1, f"{i + 1:08x}"
        text = (f"id:{i + 1:010d} sub:001 dlvrd:001 submit date:2311142213 done date:2311142213 "
                "stat:DELIVRD err:000 text:hi").encode()
        for pdu, when, direction in (
                (pdus.SubmitSm(sequence_number=seq, source_addr="SRC", destination_addr="4477",
                               registered_delivery=1, short_message=b"code 1234"), t, "out"),
                (pdus.SubmitSmResp(sequence_number=seq, message_id=rid), t + 0.03, "in"),
                (pdus.DeliverSm(sequence_number=seq + 1, esm_class=4, short_message=text),
                 t + 2.0, "in"),
                (pdus.DeliverSmResp(sequence_number=seq + 1), t + 2.01, "out")):
            lines.append(dump_event(pdu_event(pdu, time=when, direction=direction,
                                              system="esme", instance="SMPP1",
                                              session="SMPP1#1")))
    path.write_text("\n".join(lines) + "\n")


def test_only_small_answers_leave_the_engine(tmp_path: Path) -> None:
    fetched = {}
    for messages in (100, 1000):
        path = tmp_path / f"t{messages}.jsonl"
        _trace(path, messages)
        with dataset.open(path) as ds:
            query = ds.engine.query
            rows = []

            def counting(sql: str, query=query, rows=rows):  # type: ignore[no-untyped-def]
                out = query(sql)
                rows.append(len(out))
                return out

            ds.engine.query = counting
            report = ds.diagnose()
        assert report.summary["events"] == 4 * messages
        fetched[messages] = sum(rows)
    assert max(fetched.values()) < 60  # a few rows, whatever the length
