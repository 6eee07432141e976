"""plots: every function draws on the given Axes (or a fixed-size new one) and returns it."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from helpers_trace import TraceBuilder  # noqa: E402

from smppkit import analysis, logs, plots  # noqa: E402
from smppkit.protocol import pdus  # noqa: E402


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


def test_one_colour_per_meaning_from_a_colour_blind_safe_palette():
    assert len(set(plots.COLORS.values())) == len(plots.COLORS)
    greys = {"other receipt", "missing", "orphan"}  # the palette's eight, plus greys
    assert {c for k, c in plots.COLORS.items() if k not in greys} <= set(plots.OKABE_ITO.values())


def _legend(ax) -> list[str]:
    legend = ax.get_legend()
    return [t.get_text() for t in legend.get_texts()] if legend else []


def test_plot_throughput_draws_only_series_with_data(df):
    fig, ax = plt.subplots()
    assert plots.plot_throughput(df, ax=ax) is ax
    assert _legend(ax) == ["submit_sm (21)", "submit_sm_resp OK (17)",
                           "submit_sm_resp ESME_RTHROTTLED (4)", "receipts (10)"]
    colors = {line.get_label().split(" (")[0]: line.get_color() for line in ax.get_lines()}
    assert colors["submit_sm_resp ESME_RTHROTTLED"] == plots.COLORS["throttled"]
    assert colors["receipts"] == plots.COLORS["delivered"]
    assert colors["submit_sm"] != colors["submit_sm_resp OK"]
    assert ax.get_title() == "Throughput: 21 submits, 19% throttled, 10 receipts (1s bins)"
    assert ax.get_xlabel() == "seconds since 22:13:20 UTC (2023-11-14)"
    assert ax.get_ylabel() == "per second"


def test_plot_throughput_ticks_are_short_at_any_bin_width(df):
    for freq, unit in (("250ms", "seconds"), ("1min", "seconds")):
        ax = plots.plot_throughput(df, freq=freq)
        ax.figure.canvas.draw()
        ticks = [t.get_text() for t in ax.get_xticklabels()]
        assert all(len(t) <= 4 for t in ticks), ticks
        assert ax.get_xlabel().startswith(unit)
    long = TraceBuilder()
    for i in range(4):
        long.submit(i * 4 * 3600.0, message_id=f"{i + 1:x}")
    assert plots.plot_throughput(long.frame(), freq="10min").get_xlabel().startswith("hours")


def test_plot_throughput_by_a_column(df):
    ax = plots.plot_throughput(df, by="instance")
    assert [t.split(" (")[0] for t in _legend(ax)] == ["SMPP1", "SMPP2"]
    assert ax.get_title().startswith("Events per second by instance:")


@pytest.mark.parametrize("kind", ["hist", "cdf"])
def test_plot_latency_in_milliseconds_with_percentiles(df, kind):
    lat = analysis.response_latency(df)
    ax = plots.plot_latency(lat, kind=kind, title="Submit to response")
    p = analysis.latency_percentiles(lat, (50, 95, 99)) * 1000
    assert ax.get_xlabel() == "latency (ms)"
    assert ax.get_title().startswith("Submit to response: 21 messages, p50 ")
    assert [t.split(" ")[0] for t in _legend(ax)] == ["p50", "p95", "p99"]
    xs = {line.get_label().split(" ")[0]: line.get_xdata()[0] for line in ax.get_lines()
          if line.get_label().startswith("p")}
    assert xs == pytest.approx({"p50": p["p50"], "p95": p["p95"], "p99": p["p99"]})
    with pytest.raises(ValueError):
        plots.plot_latency(lat, kind="box")


def test_plot_latency_of_seconds_reads_as_whole_milliseconds():
    import pandas as pd

    ax = plots.plot_latency(pd.Series([0.5, 1.0, 1.5, 2.0]))
    assert _legend(ax)[0] == "p50 1,250 ms"


def test_plot_errors_lists_errors_only_with_whole_number_ticks(df):
    ax = plots.plot_errors(df)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["ESME_RTHROTTLED in submit_sm_resp", "receipt UNDELIV err:000"]
    assert [p.get_width() for p in ax.patches] == [4, 5]
    assert [p.get_facecolor()[:3] for p in ax.patches] == [
        matplotlib.colors.to_rgb(plots.COLORS["throttled"]),
        matplotlib.colors.to_rgb(plots.COLORS["undelivered"])]
    assert all(float(v).is_integer() for v in ax.get_xticks())


def test_plot_receipt_outcomes_leaves_out_empty_outcomes(df):
    ax = plots.plot_receipt_outcomes(df)
    m = analysis.receipt_match(df)
    m = m.loc[m["count"] > 0]
    assert [p.get_height() for p in ax.patches] == m["count"].tolist()
    assert [t.get_text().replace("\n", " ") for t in ax.get_xticklabels()] == list(m.index)
    assert all(float(v).is_integer() for v in ax.get_yticks())


def test_plot_instances(df):
    ax = plots.plot_instances(df)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["SMPP1", "SMPP2"]
    assert [t.split(" (")[0] for t in _legend(ax)] == [
        "submit_sm", "submit_sm_resp OK", "ESME_RTHROTTLED", "receipts"]
    assert all(float(v).is_integer() for v in ax.get_yticks())


def test_plot_instances_mo_and_throttled_differ():
    b = TraceBuilder()
    b.submit(0.0, status=0x58)
    b.add(pdus.DeliverSm(source_addr="447700900123", destination_addr="smppkit",
                         short_message=b"hi"), 0.5, "out")
    ax = plots.plot_instances(b.frame())
    colors = {h.get_label().split(" (")[0]: h.patches[0].get_facecolor()
              for h in ax.containers}
    assert colors["ESME_RTHROTTLED"] != colors["MO messages"]


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
