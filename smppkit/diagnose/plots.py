"""Plots of an event table: each function takes a DataFrame (and an optional Axes) and
returns the Axes it drew on.

Strategy: the numbers come from `smppkit.analysis`; this module only draws. A new figure
has the fixed size `FIGSIZE`, so notebook output is stable; nothing calls ``plt.show()``,
so the functions work under any backend, Agg included.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from smppkit.diagnose import analysis

__all__ = [
    "FIGSIZE",
    "plot_backoff",
    "plot_errors",
    "plot_instances",
    "plot_latency",
    "plot_receipt_outcomes",
    "plot_throttled_share",
    "plot_throughput",
]

FIGSIZE = (8, 4)
_THROTTLE_COLOR = "tab:red"


def _axes(ax: Axes | None) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=FIGSIZE, layout="constrained")
    return ax


def _empty(ax: Axes, title: str, text: str = "no events") -> Axes:
    ax.set_title(title)
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes)
    return ax


def plot_throughput(df: pd.DataFrame, ax: Axes | None = None, freq: str = "1s",
                    by: str = "kind") -> Axes:
    """Events per second over time, one line per `by` group, with throttling marked.

    Bins with ESME_RTHROTTLED answers are shaded and their count drawn as red crosses.
    """
    ax = _axes(ax)
    title = "Throughput"
    counts = analysis.throughput(df, freq=freq, by=by)
    if counts.empty:
        return _empty(ax, title)
    secs = analysis._seconds(freq)
    rates = counts / secs
    for name in rates.columns:
        ax.plot(rates.index, rates[name], label=str(name), drawstyle="steps-post")
    thr = analysis.throttle_rate(df, freq=freq)
    hit = thr.loc[thr["throttled"] > 0]
    if len(hit):
        width = pd.Timedelta(seconds=secs)
        for start in hit.index:
            ax.axvspan(start, start + width, color=_THROTTLE_COLOR, alpha=0.12, lw=0)
        ax.plot(hit.index, hit["throttled"] / secs, "x", color=_THROTTLE_COLOR,
                label="ESME_RTHROTTLED")
        share = thr.attrs["throttle_share"]
        title += f" ({share:.0%} of submit responses throttled)"
    ax.set_title(title)
    ax.set_xlabel("time (UTC)")
    ax.set_ylabel(f"events per second ({freq} bins)")
    ax.legend(loc="upper right", fontsize="small")
    return ax


def plot_latency(latency: pd.DataFrame | pd.Series, ax: Axes | None = None,
                 kind: str = "hist", title: str = "Latency") -> Axes:
    """Histogram or CDF of latencies in seconds, with p50 and p95 marked.

    Args:
        latency: `analysis.response_latency` / `receipt_latency` output, or seconds.
        kind: "hist" or "cdf".

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
    if kind == "hist":
        ax.hist(s, bins=min(50, max(5, len(s) // 5)), color="tab:blue")
        ax.set_ylabel("count")
    else:
        xs = np.sort(s)
        ax.plot(xs, np.arange(1, len(xs) + 1) / len(xs), drawstyle="steps-post")
        ax.set_ylabel("fraction at or below")
        ax.set_ylim(0, 1.02)
    p = analysis.latency_percentiles(s, (50, 95))
    for q, style in (("p50", "--"), ("p95", ":")):
        ax.axvline(p[q], color="black", ls=style, lw=1, label=f"{q} = {p[q]:.3g} s")
    ax.set_title(f"{title} ({len(s)} values)")
    ax.set_xlabel("latency (s)")
    ax.legend(loc="best", fontsize="small")
    return ax


def plot_errors(df: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Horizontal bars: error command_status names and non-DELIVRD receipt stats."""
    ax = _axes(ax)
    title = "Errors"
    dist = analysis.error_distribution(df)
    bad = dist.loc[~dist["name"].isin(["ESME_ROK", "DELIVRD"]).fillna(False).astype(bool)]
    if bad.empty:
        return _empty(ax, title, "no errors")
    labels = [
        f"{r.name} ({r.command})" if r.source == "command_status"
        else f"receipt {r.name} err:{r.receipt_err}"
        for r in bad.itertuples(index=False)
    ]
    colors = [_THROTTLE_COLOR if n == "ESME_RTHROTTLED" else "tab:orange" for n in bad["name"]]
    y = np.arange(len(bad))
    ax.barh(y, bad["count"], color=colors)
    ax.set_yticks(y, labels, fontsize="small")
    ax.invert_yaxis()
    total = int(dist["count"].sum())
    ax.set_title(f"{title}: {int(bad['count'].sum())} of {total} responses and receipts")
    ax.set_xlabel("count")
    return ax


def plot_receipt_outcomes(df: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Bars of `analysis.receipt_match`: submits with/without receipt, orphan receipts."""
    ax = _axes(ax)
    m = analysis.receipt_match(df)
    if int(m["count"].sum()) == 0:
        return _empty(ax, "Receipt outcomes", "no submits or receipts")
    colors = {"receipt": "tab:green", "no receipt": "tab:red",
              "receipt without submit": "tab:purple"}
    x = np.arange(len(m))
    ax.bar(x, m["count"], color=[colors.get(o, "tab:gray") for o in m.index])
    ax.set_xticks(x, [o.replace(" (", "\n(") for o in m.index], fontsize="small")
    for xi, c in zip(x, m["count"], strict=True):
        ax.annotate(str(c), (xi, c), ha="center", va="bottom", fontsize="small")
    ax.set_title("Receipt outcomes (submits, and receipts matching no submit)")
    ax.set_ylabel("count")
    return ax


def plot_instances(df: pd.DataFrame, ax: Axes | None = None,
                   kinds: tuple[str, ...] = ("submit", "submit_resp", "receipt", "mo")) -> Axes:
    """Grouped bars: events of each kind per SMSC instance, plus throttled responses."""
    ax = _axes(ax)
    title = "Per-instance comparison"
    kind = analysis.classify(df)
    inst = df["instance"].fillna("").replace("", "(unknown)")
    table = pd.crosstab(inst, kind).reindex(columns=list(kinds), fill_value=0)
    throttled = (df["command_status"] == 0x58).fillna(False) & (kind == "submit_resp")
    table["throttled"] = throttled.groupby(inst).sum().reindex(table.index, fill_value=0)
    if table.empty:
        return _empty(ax, title)
    x = np.arange(len(table))
    width = 0.8 / len(table.columns)
    for i, col in enumerate(table.columns):
        color = _THROTTLE_COLOR if col == "throttled" else None
        ax.bar(x + (i - (len(table.columns) - 1) / 2) * width, table[col], width,
               label=col, color=color)
    ax.set_xticks(x, list(table.index))
    ax.set_title(title)
    ax.set_xlabel("instance")
    ax.set_ylabel("events")
    ax.legend(fontsize="small")
    return ax


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
    for name, g in rows.groupby("policy", sort=False):
        done = np.sort(g.loc[g["command_status"] == 0, "done"].to_numpy(dtype=float))
        ax.step(np.r_[0.0, done], np.arange(len(done) + 1), where="post",
                label=f"{name} ({len(done)} of {len(g)})")
        end = max(end, float(done[-1]) if len(done) else 0.0)
    if limit:
        top = float(accepted.groupby("policy").size().max())
        span = min(end, top / limit)
        ax.plot([0.0, span], [0.0, span * limit], "--", color=_THROTTLE_COLOR, lw=1,
                label=f"account limit {limit:g} msg/s")
    ax.set_title(title)
    ax.set_xlabel("seconds since the first submit")
    ax.set_ylabel("messages accepted (ESME_ROK)")
    ax.legend(loc="lower right", fontsize="small")
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
    ax.barh(y, share.fillna(0.0), color=_THROTTLE_COLOR)
    ax.set_yticks(y, [str(p) for p in share.index])
    ax.invert_yaxis()
    for yi, s, t, n in zip(y, share.fillna(0.0), throttled, submits, strict=True):
        ax.annotate(f" {int(t)} of {int(n)}", (s, yi), va="center", fontsize="small")
    ax.set_xlim(0, 1.15)
    ax.set_title(title)
    ax.set_xlabel("share of submit_sm answered ESME_RTHROTTLED")
    return ax
