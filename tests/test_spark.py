"""The same SQL on Spark (local mode) equals DuckDB's answers, on a small Parquet dataset.

One Spark session for the module; it needs a Java runtime (CI installs default-jre-headless).
"""

from __future__ import annotations

import shutil
import warnings
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
# small, and together they hold throttling, rejected submits and hex/decimal receipt ids
LOGS = [DATA / "throttled.jsonl", DATA / "id_mismatch.jsonl"]

pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    out = tmp_path_factory.mktemp("spark") / "events"
    convert.convert(LOGS, out, progress=False)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning)  # pyspark on pandas 3
        spark = engines.SparkEngine()
        with dataset.open(out) as duck, dataset.open(out, spark) as sp:
            yield duck, sp


@pytest.mark.parametrize("name, run", [
    ("throughput", lambda ds: ds.throughput("10s", by=("instance", "kind"))),
    ("response-latency", lambda ds: ds.response_latency(None)),
    ("receipt-latency", lambda ds: ds.receipt_latency()),
    ("error-distribution", lambda ds: ds.error_distribution()),
    ("throttle-rate", lambda ds: ds.throttle_rate("10s", limit=30)),
    ("receipt-match", lambda ds: ds.receipt_match()),
])
def test_spark_equals_duckdb(both, name, run):
    duck, sp = both
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning)
        mine, reference = run(sp), run(duck)
    if isinstance(reference, pd.Series):
        assert_series_equal(mine, reference)
    else:
        assert_frame_equal(mine, reference)
        assert mine.attrs == reference.attrs
    assert reference.size > 0  # a case with something in it


def test_spark_refuses_a_missing_dataset(both, tmp_path):
    _, sp = both
    with pytest.raises(FileNotFoundError, match="no Parquet file"):
        sp.engine.load_parquet(str(tmp_path))
