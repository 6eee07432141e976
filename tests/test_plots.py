"""plots: every function draws on the given Axes (or a fixed-size new one) and returns it."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from helpers_trace import TraceBuilder  # noqa: E402

from smppkit import analysis, logs, plots  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture
def df():
    b = TraceBuilder()
    for i in range(20):
        b.submit(i * 0.2, status=0x58 if i % 5 == 4 else 0, message_id=f"{i + 1:x}")
    for i in range(0, 20, 2):
        b.receipt(5 + i * 0.1, str(i + 1), stat="DELIVRD" if i % 4 else "UNDELIV")
    b.submit(1.0, message_id="zz", session="SMPP2#1", instance="SMPP2")
    return b.frame()


def test_new_figures_have_the_fixed_size(df):
    for draw in (plots.plot_throughput, plots.plot_errors, plots.plot_receipt_outcomes,
                 plots.plot_instances):
        ax = draw(df)
        assert tuple(ax.figure.get_size_inches()) == plots.FIGSIZE
        assert ax.get_title()


def test_plot_throughput_marks_throttling(df):
    fig, ax = plt.subplots()
    assert plots.plot_throughput(df, ax=ax) is ax
    labels = [line.get_label() for line in ax.get_lines()]
    assert {"submit", "submit_resp", "receipt", "ESME_RTHROTTLED"} <= set(labels)
    assert "throttled" in ax.get_title()
    assert ax.get_ylabel() == "events per second (1s bins)"
    assert ax.get_xlabel() == "time (UTC)"
    assert len(ax.patches) == 4  # four 1-second bins had a throttled response


@pytest.mark.parametrize("kind", ["hist", "cdf"])
def test_plot_latency(df, kind):
    lat = analysis.response_latency(df)
    ax = plots.plot_latency(lat, kind=kind)
    assert ax.get_xlabel() == "latency (s)"
    assert "21 values" in ax.get_title()
    assert any(line.get_label().startswith("p95") for line in ax.get_lines())
    with pytest.raises(ValueError):
        plots.plot_latency(lat, kind="box")


def test_plot_errors_lists_errors_only(df):
    ax = plots.plot_errors(df)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["ESME_RTHROTTLED (submit_sm_resp)", "receipt UNDELIV err:000"]
    assert [p.get_width() for p in ax.patches] == [4, 5]


def test_plot_receipt_outcomes(df):
    ax = plots.plot_receipt_outcomes(df)
    heights = [p.get_height() for p in ax.patches]
    assert heights == analysis.receipt_match(df)["count"].tolist()


def test_plot_instances(df):
    ax = plots.plot_instances(df)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["SMPP1", "SMPP2"]
    assert "throttled" in [t.get_text() for t in ax.get_legend().get_texts()]


def test_empty_table_draws_a_message():
    empty = logs.from_events([])
    for draw in (plots.plot_throughput, plots.plot_errors, plots.plot_receipt_outcomes,
                 plots.plot_instances):
        ax = draw(empty)
        assert ax.texts
    assert plots.plot_latency(analysis.response_latency(empty)).texts


@pytest.fixture
def backoff_rows():
    import pandas as pd

    return pd.DataFrame({
        "policy": ["fixed"] * 3 + ["none"] * 3,
        "n": [0, 1, 2] * 2,
        "sent": [0.0, 0.0, 0.1, 0.0, 0.0, 0.0],
        "done": [0.1, 1.2, 1.3, 0.05, 0.06, 0.07],
        "tries": [1, 2, 2, 1, 1, 1],
        "throttled": [0, 1, 1, 0, 1, 1],
        "command_status": [0, 0, 0, 0, 0x58, 0x58],
        "rate": [None] * 6,
    })


def test_plot_backoff_draws_accepted_messages_and_the_limit(backoff_rows):
    ax = plots.plot_backoff(backoff_rows, limit=30)
    assert tuple(ax.figure.get_size_inches()) == plots.FIGSIZE
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert set(lines) == {"fixed (3 of 3)", "none (1 of 3)", "account limit 30 msg/s"}
    assert list(lines["fixed (3 of 3)"].get_ydata()) == [0, 1, 2, 3]
    assert list(lines["none (1 of 3)"].get_xdata()) == [0.0, 0.05]
    assert ax.get_xlabel() == "seconds since the first submit"
    assert ax.get_ylabel() == "messages accepted (ESME_ROK)"
    fig, ax2 = plt.subplots()
    assert plots.plot_backoff(backoff_rows, ax=ax2) is ax2
    assert not any("limit" in line.get_label() for line in ax2.get_lines())


def test_plot_backoff_without_accepted_messages(backoff_rows):
    ax = plots.plot_backoff(backoff_rows.assign(command_status=0x58))
    assert [t.get_text() for t in ax.texts] == ["no accepted messages"]


def test_plot_throttled_share(backoff_rows):
    ax = plots.plot_throttled_share(backoff_rows)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["fixed", "none"]
    assert [round(p.get_width(), 3) for p in ax.patches] == [0.4, 0.667]  # 2 of 5, 2 of 3
    assert [t.get_text() for t in ax.texts] == [" 2 of 5", " 2 of 3"]
    assert "ESME_RTHROTTLED" in ax.get_title()
