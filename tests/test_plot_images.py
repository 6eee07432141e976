"""Golden images: every plot function drawn on committed sample data and compared with its
baseline in tests/baseline/plots/ (matplotlib's RMS image comparison, with a tolerance).

After a deliberate change of a plot, look at the new images and update the baselines:
``SMPPKIT_UPDATE_BASELINES=1 pytest tests/test_plot_images.py``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.testing.compare import compare_images  # noqa: E402

from smppkit import analysis, datasets, plots  # noqa: E402

BASELINE = Path(__file__).parent / "baseline" / "plots"
TOLERANCE = 6.0  # RMS over 0-255 pixel values: text antialiasing may differ, a changed plot does not fit
DPI = 60  # small committed files; still every line and label drawn
STYLE = {"font.family": "DejaVu Sans", "font.size": 10, "savefig.facecolor": "white"}


def _backoff_rows() -> pd.DataFrame:
    return pd.DataFrame({
        "policy": ["fixed"] * 3 + ["aimd"] * 3 + ["none"] * 3,
        "done": [0.1, 1.2, 1.3, 0.05, 0.4, 0.9, 0.05, 0.06, 0.07],
        "tries": [1, 2, 2, 1, 1, 2, 1, 1, 1],
        "throttled": [0, 1, 1, 0, 0, 1, 0, 1, 1],
        "command_status": [0, 0, 0, 0, 0, 0, 0, 0x58, 0x58],
    })


def _cases():
    thr, healthy = datasets.load("throttled"), datasets.load("healthy")
    rows = _backoff_rows()
    return {
        "throughput_throttled_250ms": lambda: plots.plot_throughput(thr, freq="250ms"),
        "throughput_healthy_10s": lambda: plots.plot_throughput(healthy, freq="10s"),
        "throughput_by_instance": lambda: plots.plot_throughput(healthy, freq="10s", by="instance"),
        "latency_receipt_hist": lambda: plots.plot_latency(
            analysis.receipt_latency(healthy), title="Submit to receipt"),
        "latency_receipt_cdf": lambda: plots.plot_latency(
            analysis.receipt_latency(healthy), kind="cdf", title="Submit to receipt"),
        "errors_throttled": lambda: plots.plot_errors(thr),
        "errors_split_parts": lambda: plots.plot_errors(datasets.load("split_parts")),
        "receipt_outcomes_throttled": lambda: plots.plot_receipt_outcomes(thr),
        "receipt_outcomes_transmitter_only": lambda: plots.plot_receipt_outcomes(
            datasets.load("transmitter_only")),
        "instances_healthy": lambda: plots.plot_instances(healthy),
        "backoff": lambda: plots.plot_backoff(rows, limit=30),
        "throttled_share": lambda: plots.plot_throttled_share(rows),
        "empty_errors": lambda: plots.plot_errors(datasets.load("healthy").iloc[:0]),
    }


CASES = _cases()


@pytest.mark.parametrize("name", list(CASES))
def test_plot_matches_its_baseline(name, tmp_path):
    with matplotlib.rc_context(STYLE):
        ax = CASES[name]()
        actual = tmp_path / f"{name}.png"
        ax.figure.savefig(actual, dpi=DPI)
        plt.close(ax.figure)
    expected = BASELINE / f"{name}.png"
    if os.environ.get("SMPPKIT_UPDATE_BASELINES"):
        BASELINE.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(actual, expected)
    assert expected.exists(), f"no baseline {expected}; see this module's docstring"
    result = compare_images(str(expected), str(actual), tol=TOLERANCE, in_decorator=True)
    assert result is None, (f"{name} differs from its baseline (RMS {result['rms']:.1f}); "
                            f"diff image: {result['diff']}")


def test_the_comparison_catches_a_changed_plot(tmp_path):
    """A plot drawn in another colour does not pass for the baseline."""
    with matplotlib.rc_context(STYLE):
        ax = CASES["errors_throttled"]()
        for bar in ax.patches:
            bar.set_color("black")
        actual = tmp_path / "changed.png"
        ax.figure.savefig(actual, dpi=DPI)
        plt.close(ax.figure)
    result = compare_images(str(BASELINE / "errors_throttled.png"), str(actual), tol=TOLERANCE,
                            in_decorator=True)
    assert result is not None and result["rms"] > TOLERANCE
