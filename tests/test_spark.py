"""The same SQL on Spark (local mode) equals DuckDB's answers, on a small Parquet dataset:
every analysis of `Dataset` and the receipt doctor.

One Spark session for the module, and each answer computed once on each engine; it needs a
Java runtime (CI installs default-jre-headless).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal, assert_series_equal

from smppkit.diagnose import convert, dataset, engines

pytest.importorskip("pyspark", reason="the Spark engine needs pyspark")
if shutil.which("java") is None:
    pytest.skip("Spark needs a Java runtime: apt-get install default-jre-headless",
                allow_module_level=True)

DATA = Path(__file__).resolve().parent.parent / "data" / "logs"
# small, and together they hold throttling, rejected submits, hex/decimal receipt ids, the
# client's lines about unknown receipts and receipts delivered twice
LOGS = [DATA / "throttled.jsonl", DATA / "id_mismatch.jsonl"]

pytestmark = pytest.mark.timeout(600)

ANALYSES = {
    "throughput": lambda ds: ds.throughput("10s", by=("instance", "kind")),
    "response-latency": lambda ds: ds.response_latency(None),
    "receipt-latency": lambda ds: ds.receipt_latency(),
    "error-distribution": lambda ds: ds.error_distribution(),
    "throttle-rate": lambda ds: ds.throttle_rate("10s", limit=30),
    "receipt-match": lambda ds: ds.receipt_match(),
    "doctor": lambda ds: ds.diagnose(),
}


@pytest.fixture(scope="module")
def answers(tmp_path_factory):
    """Every answer from DuckDB and from Spark: name -> (Spark's, DuckDB's)."""
    out = tmp_path_factory.mktemp("spark") / "events"
    convert.convert(LOGS, out, progress=False)
    spark = engines.local_session()
    try:
        with dataset.open(out) as duck, dataset.open(out, engines.SparkEngine(spark)) as sp:
            yield {name: (run(sp), run(duck)) for name, run in ANALYSES.items()}, sp
    finally:
        spark.stop()


@pytest.mark.parametrize("name", [n for n in ANALYSES if n != "doctor"])
def test_spark_equals_duckdb(answers, name):
    mine, reference = answers[0][name]
    if isinstance(reference, pd.Series):
        assert_series_equal(mine, reference)
    else:
        assert_frame_equal(mine, reference)
        assert mine.attrs == reference.attrs
    assert reference.size > 0  # a case with something in it


def test_the_doctor_on_spark_equals_the_doctor_on_duckdb(answers):
    mine, reference = answers[0]["doctor"]
    assert mine.to_dict() == reference.to_dict()
    assert {"id-mismatch", "throttled", "duplicate-receipts"} <= set(reference.codes)


def test_spark_refuses_a_missing_dataset(answers, tmp_path):
    with pytest.raises(FileNotFoundError, match="no Parquet file"):
        answers[1].engine.load_parquet(str(tmp_path))
