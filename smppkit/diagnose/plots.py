"""Plots of an event table: each function takes a DataFrame (and an optional Axes) and
returns the Axes it drew on.

Strategy: the numbers come from `smppkit.analysis`; this module only draws, in one visual
language: one colour per meaning (`COLORS`, from the colour-blind-safe Okabe-Ito palette),
only the series that have data in a legend, time as seconds (or minutes, hours) since the
first event, latency in milliseconds with p50/p95/p99 marked, whole-number ticks for
counts, and a title that says what is drawn and how many. A new figure has the fixed size
`FIGSIZE`, so notebook output is stable; nothing calls ``plt.show()``, so the functions
work under any backend, Agg included.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter, MaxNLocator

from smppkit.diagnose import analysis

__all__ = [
    "COLORS",
    "FIGSIZE",
    "OKABE_ITO",
    "plot_backoff",
    "plot_errors",
    "plot_instances",
    "plot_latency",
    "plot_receipt_outcomes",
    "plot_throttled_share",
    "plot_throughput",
]

FIGSIZE = (8, 4)

#: The Okabe & Ito (2008) palette: eight colours told apart with every common form of
#: colour blindness.
OKABE_ITO = {
    "black": "#000000", "orange": "#E69F00", "sky blue": "#56B4E9", "bluish green": "#009E73",
    "yellow": "#F0E442", "blue": "#0072B2", "vermillion": "#D55E00", "reddish purple": "#CC79A7",
}

#: One colour per meaning, for every plot (and the report's and live view's accents).
COLORS = {
    "submit": OKABE_ITO["blue"],
    "resp OK": OKABE_ITO["sky blue"],
    "throttled": OKABE_ITO["vermillion"],
    "error": OKABE_ITO["orange"],  # any other command_status error
    "delivered": OKABE_ITO["bluish green"],  # a receipt, DELIVRD when the state is known
    "undelivered": OKABE_ITO["reddish purple"],
    "expired": OKABE_ITO["yellow"],
    "other receipt": "#8C8C8C",  # REJECTD, DELETED, UNKNOWN, ACCEPTD
    "mo": OKABE_ITO["black"],
    "missing": "#BDBDBD",  # a submit with no receipt
    "orphan": "#5A5A5A",  # a receipt matching no submit
}
_RECEIPT_STATE_COLOR = {"DELIVRD": "delivered", "UNDELIV": "undelivered", "EXPIRED": "expired"}
_POLICY_COLORS = [OKABE_ITO[c] for c in ("blue", "orange", "bluish green", "reddish purple",
                                         "sky blue", "black", "yellow")]
_PERCENTILES = (("p50", "--"), ("p95", "-."), ("p99", ":"))


def _axes(ax: Axes | None) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=FIGSIZE, layout="constrained")
    return ax


def _style(ax: Axes, grid: str = "y") -> None:
    """The shared look: no top/right frame, a light grid behind the data."""
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis=grid, color="#E3E3E3", lw=0.8)
    ax.set_axisbelow(True)


def _integer_ticks(axis: object) -> None:
    axis.set_major_locator(MaxNLocator(integer=True))  # type: ignore[attr-defined]
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))  # type: ignore[attr-defined]


def _empty(ax: Axes, title: str, text: str = "no events") -> Axes:
    ax.set_title(title)
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="#59636E")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.spines[:].set_visible(False)
    return ax


def _n(count: int, one: str, many: str | None = None) -> str:
    return f"{count:,} {one if count == 1 else (many or one + 's')}"


def _time_axis(index: pd.Index) -> tuple[np.ndarray, float, str]:
    """Bin starts as numbers since the first one, with the unit that keeps ticks short."""
    start = index[0]
    elapsed = np.asarray((index - start).total_seconds(), dtype=float)
    span = float(elapsed[-1]) if len(elapsed) else 0.0
    units = (("seconds", 1.0, 600.0), ("minutes", 60.0, 36_000.0), ("hours", 3600.0, np.inf))
    unit, scale = next((u, sc) for u, sc, limit in units if span <= limit)
    return elapsed / scale, scale, f"{unit} since {start:%H:%M:%S} UTC ({start:%Y-%m-%d})"


# --- throughput -------------------------------------------------------------------------

_SERIES = (  # (label, colour key, line style, width)
    ("submit_sm", "submit", "-", 2.2),
    ("submit_sm_resp OK", "resp OK", (0, (4, 2)), 1.5),
    ("receipts", "delivered", "-", 1.5),
    ("MO messages", "mo", "-", 1.0),
)


def plot_throughput(df: pd.DataFrame, ax: Axes | None = None, freq: str = "1s",
                    by: str = "kind") -> Axes:
    """Messages per second over time: submits, OK responses, throttled responses (shaded),
    receipts and MO, each only when the table has some.

    Args:
        df: an event table.
        freq: bin width, a pandas frequency ("250ms", "1s", "1min").
        by: "kind" (the series above), or a column (e.g. "instance") for one line per value
            of all events.
    """
    ax = _axes(ax)
    secs = analysis._seconds(freq)
    if by != "kind":
        return _throughput_by(df, ax, freq, by, secs)
    kind = analysis.classify(df)
    ok = (kind == "submit_resp") & (df["command_status"].fillna(-1) == 0).to_numpy()
    throttled = (kind == "submit_resp") & (df["command_status"].fillna(-1) == 0x58).to_numpy()
    masks = {
        "submit_sm": kind == "submit", "submit_sm_resp OK": ok, "receipts": kind == "receipt",
        "MO messages": kind == "mo", "ESME_RTHROTTLED": throttled,
    }
    title = "Throughput"
    if not any(m.any() for m in masks.values()):
        return _empty(ax, title, "no submits, responses, receipts or MO")
    counts = pd.DataFrame({name: m.to_numpy() for name, m in masks.items()},
                          index=df["time"].dt.floor(freq))
    counts = counts.loc[counts.any(axis=1).to_numpy()]  # binds, unbinds ... do not widen the axis
    counts = analysis._bins(counts.groupby(level=0).sum().astype(int), freq)
    x, scale, xlabel = _time_axis(counts.index)
    edges = np.r_[x, x[-1] + secs / scale]  # the last bin ends one width after its start

    def step(name: str) -> np.ndarray:
        rate = counts[name].to_numpy() / secs
        return np.r_[rate, rate[-1]]

    handles = {}
    totals = counts.sum()
    if totals["ESME_RTHROTTLED"]:
        ax.fill_between(edges, 0, step("ESME_RTHROTTLED"), step="post",
                        color=COLORS["throttled"], alpha=0.35, lw=0)
    for name, color, style, lw in _SERIES[:2] + (("ESME_RTHROTTLED", "throttled", "-", 1.2),
                                                  *_SERIES[2:]):
        if totals[name]:
            label = "submit_sm_resp ESME_RTHROTTLED" if name == "ESME_RTHROTTLED" else name
            (handles[name],) = ax.step(edges, step(name), where="post", color=COLORS[color],
                                       ls=style, lw=lw, label=f"{label} ({totals[name]:,})")
    n_thr = int(totals["ESME_RTHROTTLED"])
    answered = n_thr + int(totals["submit_sm_resp OK"])
    parts = [_n(int(totals["submit_sm"]), "submit")]
    if n_thr:
        parts.append(f"{n_thr / answered:.0%} throttled")
    if totals["receipts"]:
        parts.append(_n(int(totals["receipts"]), "receipt"))
    if totals["MO messages"]:
        parts.append(_n(int(totals["MO messages"]), "MO", "MO"))
    ax.set_title(f"{title}: {', '.join(parts)} ({freq} bins)")
    ax.set_xlim(0, edges[-1])
    ax.set_ylim(bottom=0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("per second")
    _style(ax)
    ax.legend(handles=list(handles.values()), loc="upper right", fontsize="small", frameon=False)
    return ax


def _throughput_by(df: pd.DataFrame, ax: Axes, freq: str, by: str, secs: float) -> Axes:
    counts = analysis.throughput(df, freq=freq, by=by)
    title = f"Events per second by {by}"
    if counts.empty:
        return _empty(ax, title)
    x, scale, xlabel = _time_axis(counts.index)
    edges = np.r_[x, x[-1] + secs / scale]
    for i, name in enumerate(c for c in counts.columns if counts[c].any()):
        rate = counts[name].to_numpy() / secs
        ax.step(edges, np.r_[rate, rate[-1]], where="post", color=_POLICY_COLORS[i % 7],
                label=f"{name} ({counts[name].sum():,})")
    ax.set_xlim(0, edges[-1])
    ax.set_title(f"{title}: {int(counts.to_numpy().sum()):,} events ({freq} bins)")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("per second")
    ax.set_ylim(bottom=0)
    _style(ax)
    ax.legend(loc="upper right", fontsize="small", frameon=False)
    return ax


# --- latency ----------------------------------------------------------------------------


def plot_latency(latency: pd.DataFrame | pd.Series, ax: Axes | None = None,
                 kind: str = "hist", title: str = "Latency") -> Axes:
    """Histogram or CDF of latencies in milliseconds, with p50, p95 and p99 marked.

    Args:
        latency: `analysis.response_latency` / `receipt_latency` output, or seconds.
        kind: "hist" or "cdf".
        title: what is measured, e.g. "Submit to receipt"; the count is added.

    Raises:
        ValueError: unknown kind.
    """
    if kind not in ("hist", "cdf"):
        raise ValueError(f"kind must be 'hist' or 'cdf', got {kind!r}")
    ax = _axes(ax)
    s = latency["latency"] if isinstance(latency, pd.DataFrame) else latency
    s = pd.to_numeric(s, errors="coerce").dropna().to_numpy(dtype=float)
    if len(s) == 0:
        return _empty(ax, title, "no latencies")
    ms = s * 1000.0
    top = float(ms.max())
    # decimals that keep sub-millisecond latencies readable: 0 from 20 ms up, 3 at 0.01 ms
    digits = 1 if top == 0 else 0 if top >= 20 else min(4, max(1, 1 - int(np.floor(np.log10(max(top, 1e-4))))))
    if kind == "hist":
        ax.hist(ms, bins=min(50, max(5, len(ms) // 5)), range=(0.0, top * 1.02 or 1.0),
                color=COLORS["submit"], alpha=0.85)
        ax.set_ylabel("messages")
        _integer_ticks(ax.yaxis)
    else:
        xs = np.sort(ms)
        ax.plot(xs, np.arange(1, len(xs) + 1) / len(xs), drawstyle="steps-post",
                color=COLORS["submit"], lw=1.8)
        ax.set_ylabel("share at or below")
        ax.set_ylim(0, 1.02)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0%}"))
    p = analysis.latency_percentiles(s, (50, 95, 99)) * 1000.0
    for q, style in _PERCENTILES:
        ax.axvline(p[q], color="#222222", ls=style, lw=1.1, label=f"{q} {p[q]:,.{digits}f} ms")
    ax.set_title(f"{title}: {_n(len(s), 'message')}, p50 {p['p50']:,.{digits}f} ms")
    ax.set_xlabel("latency (ms)")
    ax.set_xlim(left=0)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.{digits}f}"))
    _style(ax)
    ax.legend(loc="center right" if kind == "cdf" else "upper right", fontsize="small",
              frameon=False)
    return ax


# --- errors and outcomes ------------------------------------------------------------------


def _error_color(source: str, name: str) -> str:
    if source != "receipt":
        return COLORS["throttled"] if name == "ESME_RTHROTTLED" else COLORS["error"]
    return COLORS[_RECEIPT_STATE_COLOR.get(name, "other receipt")]


def _annotate_bars(ax: Axes, bars: object, horizontal: bool) -> None:
    ax.bar_label(bars, labels=[f"{v:,.0f}" for v in bars.datavalues],  # type: ignore[attr-defined]
                 padding=3, fontsize="small")
    (ax.margins(x=0.1) if horizontal else ax.margins(y=0.12))


def plot_errors(df: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Horizontal bars: error command_status names, and receipts in a state other than
    DELIVRD, coloured by meaning (throttled, other error, undelivered, expired, other)."""
    ax = _axes(ax)
    title = "Errors"
    dist = analysis.error_distribution(df)
    bad = dist.loc[~dist["name"].isin(["ESME_ROK", "DELIVRD"]).fillna(False).astype(bool)]
    if bad.empty:
        return _empty(ax, title, "no errors")
    labels = [
        f"{r.name} in {r.command}" if r.source == "command_status"
        else f"receipt {r.name} err:{r.receipt_err}"
        for r in bad.itertuples(index=False)
    ]
    colors = [_error_color(str(r.source), str(r.name)) for r in bad.itertuples(index=False)]
    y = np.arange(len(bad))
    bars = ax.barh(y, bad["count"].astype(int), color=colors, height=0.6)
    ax.set_yticks(y, labels, fontsize="small")
    ax.invert_yaxis()
    _annotate_bars(ax, bars, horizontal=True)
    total = int(dist["count"].sum())
    ax.set_title(f"{title}: {int(bad['count'].sum()):,} of {total:,} responses and receipts")
    ax.set_xlabel("count")
    _integer_ticks(ax.xaxis)
    _style(ax, grid="x")
    return ax


_OUTCOME_COLORS = {"receipt": "delivered", "no receipt": "missing", "rejected": "error",
                   "unanswered": "error", "receipt without submit": "orphan"}


def plot_receipt_outcomes(df: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Bars of `analysis.receipt_match`: submits with a receipt, without one, rejected or
    unanswered, and receipts matching no submit; outcomes with no messages are left out."""
    ax = _axes(ax)
    title = "Receipt outcomes"
    m = analysis.receipt_match(df)
    m = m.loc[m["count"] > 0]
    if m.empty:
        return _empty(ax, title, "no submits or receipts")
    x = np.arange(len(m))
    colors = [COLORS[_OUTCOME_COLORS.get(o.split(" (")[0], "missing")] for o in m.index]
    bars = ax.bar(x, m["count"].astype(int), color=colors, width=0.6,
                  hatch=["//" if o.startswith("no receipt") else "" for o in m.index],
                  edgecolor="white")
    pad = max(0.0, (3 - len(m)) / 2)  # one or two bars stay bar-shaped, centred
    ax.set_xlim(-0.5 - pad, len(m) - 0.5 + pad)
    ax.set_xticks(x, [o.replace(" (", "\n(") for o in m.index], fontsize="small")
    _annotate_bars(ax, bars, horizontal=False)
    submits = int(m["count"].drop("receipt without submit", errors="ignore").sum())
    got = int(m["count"].get("receipt", 0))
    ax.set_title(f"{title}: {got:,} of {_n(submits, 'submit')} got a receipt")
    ax.set_ylabel("messages")
    _integer_ticks(ax.yaxis)
    _style(ax)
    return ax


_INSTANCE_SERIES = {"submit": ("submit_sm", "submit"), "submit_resp": ("submit_sm_resp OK", "resp OK"),
                    "throttled": ("ESME_RTHROTTLED", "throttled"),
                    "receipt": ("receipts", "delivered"), "mo": ("MO messages", "mo")}


def plot_instances(df: pd.DataFrame, ax: Axes | None = None,
                   kinds: Sequence[str] = ("submit", "submit_resp", "throttled", "receipt", "mo")
                   ) -> Axes:
    """Grouped bars per SMSC instance: submits, OK and throttled responses, receipts and MO
    (each kind only when some instance has it)."""
    ax = _axes(ax)
    title = "Events per SMSC instance"
    kind = analysis.classify(df)
    inst = df["instance"].fillna("").replace("", "(unknown)")
    status = df["command_status"].fillna(-1)
    throttled = (kind == "submit_resp") & (status == 0x58).to_numpy()
    kind = kind.where(~((kind == "submit_resp") & (status != 0).to_numpy()), "submit_error")
    kind = kind.where(~throttled, "throttled")
    table = pd.crosstab(inst, kind).reindex(columns=list(kinds), fill_value=0)
    table = table.loc[:, table.sum() > 0]
    if table.empty:
        return _empty(ax, title)
    x = np.arange(len(table))
    width = 0.8 / len(table.columns)
    for i, col in enumerate(table.columns):
        label, color = _INSTANCE_SERIES.get(col, (col, "other receipt"))
        ax.bar(x + (i - (len(table.columns) - 1) / 2) * width, table[col], width,
               label=f"{label} ({int(table[col].sum()):,})", color=COLORS[color])
    ax.set_xticks(x, list(table.index))
    ax.set_title(f"{title}: {_n(len(table), 'instance')}, "
                 f"{_n(int(table.get('submit', pd.Series([0])).sum()), 'submit')}")
    ax.set_xlabel("instance")
    ax.set_ylabel("events")
    ax.set_ylim(0, float(table.to_numpy().max()) * 1.3)  # room for the legend above the bars
    _integer_ticks(ax.yaxis)
    _style(ax)
    ax.legend(fontsize="small", frameon=False, loc="upper center", ncols=min(len(table.columns), 3))
    return ax


# --- back-off ---------------------------------------------------------------------------


def plot_backoff(rows: pd.DataFrame, ax: Axes | None = None, limit: float | None = None) -> Axes:
    """Messages accepted over time, one step line per back-off policy, with the account limit.

    Args:
        rows: `smppkit.throttling.compare` output (policy, done, command_status, ...).
        limit: the account's msg/s; drawn as a dashed line of that slope from 0.
    """
    ax = _axes(ax)
    title = "Accepted messages over time, by back-off policy"
    accepted = rows.loc[rows["command_status"] == 0]
    if accepted.empty:
        return _empty(ax, title, "no accepted messages")
    end = 0.0
    for i, (name, g) in enumerate(rows.groupby("policy", sort=False)):
        done = np.sort(g.loc[g["command_status"] == 0, "done"].to_numpy(dtype=float))
        ax.step(np.r_[0.0, done], np.arange(len(done) + 1), where="post", lw=1.8,
                color=_POLICY_COLORS[i % len(_POLICY_COLORS)],
                label=f"{name} ({len(done)} of {len(g)})")
        end = max(end, float(done[-1]) if len(done) else 0.0)
    if limit:
        top = float(accepted.groupby("policy").size().max())
        span = min(end, top / limit)
        ax.plot([0.0, span], [0.0, span * limit], "--", color=COLORS["throttled"], lw=1,
                label=f"account limit {limit:g} msg/s")
    ax.set_title(f"{title} ({rows['policy'].nunique()} policies)")
    ax.set_xlabel("seconds since the first submit")
    ax.set_ylabel("messages accepted (ESME_ROK)")
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0)
    _integer_ticks(ax.yaxis)
    _style(ax)
    ax.legend(loc="lower right", fontsize="small", frameon=False)
    return ax


def plot_throttled_share(rows: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Horizontal bars per back-off policy: the share of its submits answered ESME_RTHROTTLED.

    Args:
        rows: `smppkit.throttling.compare` output (policy, tries, throttled, ...).
    """
    ax = _axes(ax)
    title = "Submits answered ESME_RTHROTTLED (0x58), by back-off policy"
    if rows.empty:
        return _empty(ax, title, "no submits")
    g = rows.groupby("policy", sort=False)
    submits = g["tries"].sum()
    throttled = g["throttled"].sum()
    share = throttled / submits.where(submits > 0)
    y = np.arange(len(share))
    ax.barh(y, share.fillna(0.0), color=COLORS["throttled"])
    ax.set_yticks(y, [str(p) for p in share.index])
    ax.invert_yaxis()
    for yi, s, t, n in zip(y, share.fillna(0.0), throttled, submits, strict=True):
        ax.annotate(f" {int(t)} of {int(n)}", (s, yi), va="center", fontsize="small")
    ax.set_xlim(0, 1.15)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0%}" if v <= 1 else ""))
    ax.set_title(title)
    ax.set_xlabel("share of submit_sm answered ESME_RTHROTTLED")
    _style(ax, grid="x")
    return ax
