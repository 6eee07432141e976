"""analysis: throughput, windows, latencies, errors, throttling, receipts, parts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers_trace import T0, TraceBuilder

from smppkit import analysis as A


def ts(seconds: float) -> pd.Timestamp:
    return pd.Timestamp(round((T0 + seconds) * 1e6), unit="us", tz="UTC")


@pytest.fixture
def df() -> pd.DataFrame:
    b = TraceBuilder()
    b.submit(0.0, message_id="1a")  # seq 1; hex resp id ...
    b.receipt(2.0, "26")  # ... decimal receipt id of the same number
    b.submit(0.1, status=0x58)  # seq 3: throttled
    b.submit(0.2, message_id="abc", registered_delivery=0)  # seq 4: no receipt asked
    b.submit(0.3, message_id="xyz", resp_after=0.25)  # seq 5: no receipt
    b.receipt(3.0, "zzz", stat="UNDELIV", err="001")  # orphan receipt
    b.submit(1.0, message_id="p1", part=(7, 2, 1))  # seq 7/8: two parts, two instances
    b.submit(1.0, message_id="p2", part=(7, 2, 2), session="SMPP2#1", instance="SMPP2")
    b.receipt(4.0, "p2")
    b.submit(1.5, resp_after=None)  # seq 10: never answered
    b.submit(1.6, message_id="00000abc", registered_delivery=1)  # seq 11: same number as abc
    b.receipt(5.0, "ABC")
    return b.frame()


def test_classify(df):
    kinds = A.classify(df)
    assert kinds[df["command"] == "submit_sm"].unique().tolist() == ["submit"]
    assert kinds[df["command"] == "deliver_sm"].unique().tolist() == ["receipt"]
    assert set(kinds) == {"submit", "submit_resp", "receipt", "deliver_resp"}


def test_throughput_by_kind_fills_empty_bins(df):
    t = A.throughput(df, "1s", by="kind")
    assert t.index[0] == ts(0) and t.index[-1] == ts(5) and len(t) == 6
    assert t.loc[ts(0), "submit"] == 4 and t.loc[ts(1), "submit"] == 4
    assert t["receipt"].tolist() == [0, 0, 1, 1, 1, 1]
    assert int(t.to_numpy().sum()) == len(df)
    by_two = A.throughput(df, "1min", by=("instance", "command"))
    assert by_two.loc[:, ("SMPP2", "submit_sm")].sum() == 1
    assert A.throughput(df, "1s", by=()).columns.tolist() == ["events"]


def test_response_latency_pairs_by_session_and_sequence(df):
    lat = A.response_latency(df)
    assert len(lat) == 8
    row = lat.set_index("sequence").loc[5]
    assert row["latency"] == pytest.approx(0.25)
    assert lat.set_index("sequence").loc[3, "command_status_name"] == "ESME_RTHROTTLED"
    unanswered = lat.set_index("sequence").loc[10]
    assert pd.isna(unanswered["latency"]) and pd.isna(unanswered["command_status"])
    assert lat["latency"].dropna().round(6).unique().tolist() == [0.05, 0.25]


def test_response_latency_reused_sequence_numbers():
    b = TraceBuilder()
    b.submit(0.0, seq=1, resp_after=None)  # lost response
    b.submit(1.0, seq=1, message_id="b")  # same sequence again, answered
    lat = A.response_latency(b.frame())
    assert pd.isna(lat.loc[0, "latency"]) and lat.loc[1, "latency"] == pytest.approx(0.05)


def test_generic_nack_answers_a_request():
    from smppkit import pdus

    b = TraceBuilder()
    b.submit(0.0, seq=4, resp_after=None)
    b.add(pdus.GenericNack(sequence_number=4, command_status=0x3), 0.5, "in")
    lat = A.response_latency(b.frame())
    assert lat.loc[0, "command_status_name"] == "ESME_RINVCMDID"
    assert lat.loc[0, "latency"] == pytest.approx(0.5)


def test_window_occupancy():
    b = TraceBuilder()
    for i in range(3):
        b.submit(0.1 * i, resp_after=1.5)  # 3 in flight at 0.2s, answered at 1.5-1.7s
    b.submit(2.5, resp_after=None)  # stays in flight
    w = A.window_occupancy(b.frame(), "1s")
    assert w.columns.tolist() == ["SMPP1#1"]
    assert w["SMPP1#1"].tolist() == [3, 2, 1]  # max per bin: 3, then 2 at 1.5s, then 1


def test_latency_percentiles():
    p = A.latency_percentiles(pd.Series(np.arange(1, 101, dtype=float)))
    assert p["count"] == 100 and p["min"] == 1 and p["max"] == 100
    assert p["p50"] == pytest.approx(50.5) and p["p99"] == pytest.approx(99.01)
    assert A.latency_percentiles(pd.DataFrame({"latency": [1.0, np.nan]}))["count"] == 1


def test_error_distribution(df):
    e = A.error_distribution(df)
    sub = e[(e["source"] == "command_status") & (e["command"] == "submit_sm_resp")]
    assert dict(zip(sub["name"], sub["count"], strict=True)) == {"ESME_ROK": 6, "ESME_RTHROTTLED": 1}
    thr = sub[sub["name"] == "ESME_RTHROTTLED"].iloc[0]
    assert thr["command_status"] == 0x58 and thr["share"] == pytest.approx(1 / 7)
    assert "Throttling" in thr["meaning"]
    rec = e[e["source"] == "receipt"].set_index("name")
    assert rec.loc["DELIVRD", "count"] == 3
    assert rec.loc["UNDELIV", "receipt_err"] == "001"
    assert rec.loc["UNDELIV", "meaning"] == "undeliverable"


def test_throttle_rate(df):
    t = A.throttle_rate(df, "1s", limit=3)
    assert t.loc[ts(0), "submits"] == 4 and t.loc[ts(0), "throttled"] == 1
    assert t.loc[ts(0), "throttle_share"] == pytest.approx(0.25)
    assert t.loc[ts(0), "over_limit"] and t.loc[ts(0), "submit_rate"] == 4.0
    assert t.attrs["throttle_share"] == pytest.approx(1 / 7)


def test_receipt_latency_matches_hex_resp_to_decimal_receipt(df):
    r = A.receipt_latency(df).set_index("message_id")
    assert r.loc["1a", "receipt_message_id"] == "26"
    assert r.loc["1a", "id_match"] == "hex-to-decimal"
    assert r.loc["1a", "latency"] == pytest.approx(2.0)
    assert r.loc["p2", "id_match"] == "exact"
    assert r.loc["p2", "receipt_instance"] == "SMPP1" and r.loc["p2", "instance"] == "SMPP2"
    # "ABC" is the same number as the zero-padded "00000abc" (and as "abc", submitted
    # earlier, which keeps it since it is found first)
    assert r.loc["abc", "id_match"] == "exact"
    assert len(r) == 3


def test_receipt_match_summary(df):
    m = A.receipt_match(df)
    assert m["count"].to_dict() == {
        "receipt": 3,
        "no receipt": 3,  # xyz, p1, 00000abc
        "no receipt (none requested)": 0,
        "rejected": 1,
        "unanswered": 1,
        "receipt without submit": 1,
    }
    assert m.loc["receipt", "share"] == pytest.approx(3 / 8)
    assert m.loc["receipt without submit", "share"] == pytest.approx(1 / 4)
    assert m.attrs["id_match"] == {"exact": 2, "hex-to-decimal": 1}
    detail = A.receipt_match(df, detail=True)
    assert detail.loc[detail["receipt_message_id"] == "zzz", "outcome"].item() == "receipt without submit"


def test_padding_and_case_match_as_same_number():
    b = TraceBuilder()
    b.submit(0, message_id="00000ABC")
    b.receipt(1, "abc")
    assert A.receipt_latency(b.frame())["id_match"].tolist() == ["same-number"]


def test_part_outcomes(df):
    msgs = A.part_outcomes(df)
    two = msgs[msgs["part_total"] == 2].iloc[0]
    assert (two["parts_sent"], two["parts_accepted"], two["parts_with_receipt"]) == (2, 2, 1)
    assert two["instances"] == 2 and two["outcome"] == "delivered"
    outcomes = msgs[msgs["part_total"] == 1]["outcome"].value_counts().to_dict()
    # 1a and abc delivered; xyz and 00000abc without receipt; the throttled one rejected
    assert outcomes == {"no receipt": 2, "delivered": 2, "rejected": 1, "unanswered": 1}
    parts = A.part_outcomes(df, level="part")
    assert parts.loc[parts["part_ref"] == 7, "outcome"].tolist() == ["no receipt", "DELIVRD"]
    with pytest.raises(ValueError, match="level"):
        A.part_outcomes(df, level="x")


def test_incomplete_and_partly_rejected_messages():
    b = TraceBuilder()
    b.submit(0, message_id="a", part=(1, 3, 1))
    b.submit(0, message_id="b", part=(1, 3, 2))  # part 3 never sent
    b.submit(1, message_id="c", part=(2, 2, 1))
    b.submit(1, status=0x58, part=(2, 2, 2))
    msgs = A.part_outcomes(b.frame()).set_index("part_ref")
    assert msgs.loc[1, "outcome"] == "incomplete"
    assert msgs.loc[2, "outcome"] == "partly rejected"


def test_empty_table():
    from smppkit import logs

    empty = logs.from_events([])
    assert A.throughput(empty).empty
    assert A.response_latency(empty).empty
    assert A.window_occupancy(empty).empty
    assert A.receipt_latency(empty).empty
    assert A.receipt_match(empty)["count"].sum() == 0
