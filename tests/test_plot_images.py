"""Golden images: every plot function drawn on a fixed made-up log and compared with its
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
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from helpers_trace import TraceBuilder  # noqa: E402
from matplotlib.testing.compare import compare_images  # noqa: E402

from smppkit import analysis, plots  # noqa: E402
from smppkit.protocol import pdus  # noqa: E402

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


def _traffic(throttle: bool) -> pd.DataFrame:
    """A fixed, made-up log (the plots' input must not change when data/ is regenerated):
    20 s of submits on SMPP1 and SMPP2 at a rate that rises and falls, throttled above
    30/s when `throttle`, receipts in every state after a delay that grows with the id,
    two long messages whose parts went different ways, and MO."""
    import random

    rng = random.Random(4)
    stats = ["DELIVRD"] * 14 + ["UNDELIV", "EXPIRED", "REJECTD", "UNKNOWN"]
    b = TraceBuilder()
    t, n = 0.0, 0
    while t < 20.0:
        rate = 10 + 40 * np.sin(np.pi * t / 20.0) ** 2
        t += rng.expovariate(rate)
        n += 1
        inst = "SMPP1" if n % 2 else "SMPP2"
        status = 0x58 if throttle and rate > 30 and rng.random() < 0.4 else 0
        mid = f"{n:x}"
        b.submit(t, message_id=mid, status=status, resp_after=0.002 + rng.random() * 0.05,
                 instance=inst, session=f"{inst}#1")
        if status == 0 and n % 9:
            stat = stats[n % len(stats)]
            b.receipt(t + rng.lognormvariate(0.2, 0.8), mid, stat=stat,
                      err="000" if stat == "DELIVRD" else f"{n % 12:03d}",
                      instance=inst, session=f"{inst}#1")
    for k in range(6):
        b.add(pdus.DeliverSm(source_addr=f"4477009001{k:02d}", destination_addr="SRC",
                             short_message=b"MO"), 2.0 + k * 3.0, "in")
    return b.frame()


def _cases():
    thr, healthy = _traffic(throttle=True), _traffic(throttle=False)
    rows = _backoff_rows()
    return {
        "throughput_throttled_250ms": lambda: plots.plot_throughput(thr, freq="250ms"),
        "throughput_healthy_2s": lambda: plots.plot_throughput(healthy, freq="2s"),
        "throughput_by_instance": lambda: plots.plot_throughput(healthy, freq="2s", by="instance"),
        "latency_receipt_hist": lambda: plots.plot_latency(
            analysis.receipt_latency(healthy), title="Submit to receipt"),
        "latency_receipt_cdf": lambda: plots.plot_latency(
            analysis.receipt_latency(healthy), kind="cdf", title="Submit to receipt"),
        "latency_response_hist": lambda: plots.plot_latency(
            analysis.response_latency(thr), title="Submit to response"),
        "errors_throttled": lambda: plots.plot_errors(thr),
        "receipt_outcomes_throttled": lambda: plots.plot_receipt_outcomes(thr),
        "receipt_outcomes_no_receipts": lambda: plots.plot_receipt_outcomes(
            thr.loc[thr["command"] != "deliver_sm"]),
        "instances_throttled": lambda: plots.plot_instances(thr),
        "backoff": lambda: plots.plot_backoff(rows, limit=30),
        "throttled_share": lambda: plots.plot_throttled_share(rows),
        "empty_errors": lambda: plots.plot_errors(healthy.iloc[:0]),
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
