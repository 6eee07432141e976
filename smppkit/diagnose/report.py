"""`smppkit analyze`: one or more logs in, summary tables (CSV), plots (PNG) and one
self-contained HTML page out (plots embedded, no other file needed to read it).

Strategy: the report only assembles. The numbers come from `smppkit.analysis`, the pictures
from `smppkit.plots`, the diagnosis from `smppkit.doctor`; each table and plot is made on
its own, so one that cannot be made is listed as skipped with the reason instead of
stopping the rest. The page is the Jinja2 template
``report.html.j2`` (package data) filled with tables rendered by pandas' Styler: words for
headings, numbers with thousands separators, shares as percentages, latency in ms, "—" for
a missing value.
"""

from __future__ import annotations

import argparse
import base64
import io
import os
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from smppkit.diagnose.progress import bar, total_bytes, wanted

__all__ = ["Analysis", "analyze", "register_cli"]

#: rows of a table shown on the page (the CSV has all of them)
MAX_ROWS = 50


@dataclass
class Analysis:
    """What `analyze` wrote.

    Attributes:
        out_dir: the output directory.
        tables: name -> CSV path.
        plots: name -> PNG path.
        html: the HTML report (self-contained: the plots are embedded).
        skipped: name -> why it was not made.
        doctor: the `smppkit.doctor.Report` of the same events.
    """

    out_dir: Path
    tables: dict[str, Path] = field(default_factory=dict)
    plots: dict[str, Path] = field(default_factory=dict)
    html: Path | None = None
    skipped: dict[str, str] = field(default_factory=dict)
    doctor: Any = None


def _read(paths: Iterable[str | os.PathLike[str]]) -> pd.DataFrame:
    from smppkit.diagnose.doctor import (
        _load,  # reads traces, smpplib logs, pcaps and Kannel logs alike
    )

    paths = [os.fspath(p) for p in paths]
    return _load(paths[0] if len(paths) == 1 else paths)


def _event_counts(df: pd.DataFrame) -> pd.DataFrame:
    from smppkit.protocol.constants import status_name

    status = df["command_status"] if "command_status" in df else pd.Series(dtype="Int64")
    table = pd.DataFrame({
        "instance": df.get("instance", pd.Series("", index=df.index)).fillna(""),
        "command": df["command"].fillna(""),
        "command_status": pd.to_numeric(status, errors="coerce").astype("Int64"),
    })
    table = table[table["command"] != ""]
    out = table.groupby(["instance", "command", "command_status"], dropna=False).size()
    out = out.rename("events").reset_index()
    out.insert(3, "status", [
        "" if pd.isna(v) else status_name(int(v)) for v in out["command_status"]])
    return out


def _latency_ms(latency: pd.DataFrame) -> pd.DataFrame:
    from smppkit.diagnose import analysis as a
    p = a.latency_percentiles(latency)
    row = {"messages": int(p["count"])}
    row.update({f"{k} (ms)": v * 1000.0 for k, v in p.items() if k != "count"})
    return pd.DataFrame([row])


@dataclass(frozen=True)
class _Section:
    """One table or plot of the page: its key (file name), heading and caption."""

    key: str
    heading: str
    caption: str
    make: Callable[[], Any]


def _tables(df: pd.DataFrame) -> list[_Section]:
    from smppkit.diagnose import analysis as a
    return [
        _Section("submit_latency", "Submit to response latency",
                 "submit_sm to submit_sm_resp, in milliseconds.",
                 lambda: _latency_ms(a.response_latency(df))),
        _Section("receipt_latency", "Submit to receipt latency",
                 "submit_sm to its delivery receipt (deliver_sm), in milliseconds.",
                 lambda: _latency_ms(a.receipt_latency(df))),
        _Section("errors", "Errors",
                 "Error statuses in responses, and receipts in a state other than DELIVRD.",
                 lambda: a.error_distribution(df)),
        _Section("receipt_match", "Receipt outcomes",
                 "What became of each submit; receipts matching no submit at the end.",
                 lambda: a.receipt_match(df)),
        _Section("parts", "Messages and their parts",
                 "One row per message (long messages have several parts).",
                 lambda: a.part_outcomes(df)),
        _Section("throttling", "Throttling per second",
                 "Submits, responses and ESME_RTHROTTLED answers in 1-second bins.",
                 lambda: a.throttle_rate(df, freq="1s")),
        _Section("throughput", "Events per second",
                 "Events of each command in 1-second bins.",
                 lambda: a.throughput(df, freq="1s")),
    ]


def _plots(df: pd.DataFrame) -> list[_Section]:
    from smppkit.diagnose import analysis as a
    from smppkit.diagnose import plots as p
    return [
        _Section("throughput", "Throughput over time",
                 "Messages per second; shaded: submits answered ESME_RTHROTTLED.",
                 lambda: lambda ax: p.plot_throughput(df, ax=ax)),
        _Section("submit_latency", "Submit to response latency",
                 "How long the SMSC took to answer submit_sm.",
                 lambda: lambda ax: p.plot_latency(a.response_latency(df), ax=ax,
                                                   title="Submit to response")),
        _Section("receipt_latency", "Submit to receipt latency",
                 "From submit_sm to its delivery receipt, for messages that got one.",
                 lambda: lambda ax: p.plot_latency(a.receipt_latency(df), ax=ax,
                                                   title="Submit to receipt")),
        _Section("errors", "Errors", "Error statuses and receipts not DELIVRD, by count.",
                 lambda: lambda ax: p.plot_errors(df, ax=ax)),
        _Section("receipt_outcomes", "Receipt outcomes",
                 "Submits with and without a receipt.",
                 lambda: lambda ax: p.plot_receipt_outcomes(df, ax=ax)),
        _Section("instances", "Traffic per SMSC instance",
                 "Submits, responses, receipts and MO on each instance.",
                 lambda: lambda ax: p.plot_instances(df, ax=ax)),
    ]


def analyze(paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
            out_dir: str | os.PathLike[str], progress: bool | None = None) -> Analysis:
    """Read logs, write their summary tables, plots and an HTML report into `out_dir`.

    Args:
        paths: one log or several (read together into one event table).
        out_dir: created if needed; existing files of the same names are replaced.
        progress: a progress bar (see `smppkit.diagnose.progress`; None: for big logs).

    Returns:
        An `Analysis` listing what was written and what was skipped (and why).

    Raises:
        FileNotFoundError: a log does not exist.
        ValueError: a log's format cannot be told, or nothing could be read from the logs.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    paths = list(paths)
    show = wanted(progress, total_bytes(paths))
    df = _read(paths)  # with a progress bar for a second or more of reading
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    result = Analysis(out)
    counts = _event_counts(df)
    result.tables["events"] = out / "events.csv"
    counts.to_csv(result.tables["events"], index=False)
    tables = _tables(df)
    import matplotlib

    matplotlib.use("Agg", force=False)
    plots = _plots(df)
    frames: dict[str, pd.DataFrame] = {"events": counts}
    images: dict[str, tuple[str, int, int]] = {}
    with bar(len(tables) + len(plots) + 2, "analyze", show, unit="step") as steps:
        for section in tables:
            steps.set_description_str(f"table {section.key}")
            try:
                table = section.make()
            except Exception as exc:  # one table must not stop the report
                result.skipped[section.heading] = f"{type(exc).__name__}: {exc}"
                continue
            finally:
                steps.update()
            if isinstance(table, pd.Series):
                table = table.to_frame()
            frames[section.key] = table
            result.tables[section.key] = out / f"{section.key}.csv"
            table.to_csv(result.tables[section.key],
                         index=not isinstance(table.index, pd.RangeIndex))
        for section in plots:
            steps.set_description_str(f"plot {section.key}")
            try:
                images[section.key] = _draw(section.make(), out / f"{section.key}.png")
                result.plots[section.key] = out / f"{section.key}.png"
            except Exception as exc:  # one plot must not stop the report
                result.skipped[f"{section.heading} (plot)"] = f"{type(exc).__name__}: {exc}"
            finally:
                steps.update()
        steps.set_description_str("doctor")
        from smppkit.diagnose.doctor import diagnose

        result.doctor = diagnose(df)
        (out / "doctor.json").write_text(result.doctor.to_json(), encoding="utf-8")
        steps.update()
        result.html = out / "report.html"
        result.html.write_text(_html(paths, df, frames, images, tables, plots, result),
                               encoding="utf-8")
        steps.update()
    return result


def _draw(draw: Callable[[Any], Any], path: Path) -> tuple[str, int, int]:
    """Draw on a new figure, save it as `path`; return the PNG as base64 and its size."""
    import matplotlib.pyplot as plt

    from smppkit.diagnose import plots as p
    fig, ax = plt.subplots(figsize=p.FIGSIZE, layout="constrained")
    try:
        draw(ax)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=100)
    finally:
        plt.close(fig)
    data = buf.getvalue()
    path.write_bytes(data)
    width, height = (int(v * 100) for v in p.FIGSIZE)
    return base64.b64encode(data).decode("ascii"), width, height


# --- the page -----------------------------------------------------------------------------

#: column names on the page (the CSVs keep the code names)
_HEADERS = {
    "command_status": "status code", "events": "events", "source_addr": "from",
    "destination_addr": "to", "part_ref": "reference", "part_total": "parts",
    "parts_sent": "sent", "parts_answered": "answered", "parts_accepted": "accepted",
    "parts_with_receipt": "with receipt", "parts_delivered": "delivered",
    "receipt_err": "receipt err", "throttle_share": "throttled share",
    "submit_rate": "submits per s", "name": "status or state",
}


def _page_table(key: str, table: pd.DataFrame) -> pd.DataFrame:
    """The rows and columns worth reading on the page."""
    if key == "errors":
        table = table.loc[~table["name"].isin(["ESME_ROK", "DELIVRD"]).fillna(False).astype(bool)]
    if key == "receipt_match":
        table = table.loc[table["count"] > 0]
    named = table.index.name is not None or isinstance(table.index, pd.MultiIndex)
    table = table.reset_index(drop=not named)
    if "time" in table and isinstance(table["time"].dtype, pd.DatetimeTZDtype):
        table = table.assign(time=table["time"].dt.strftime("%H:%M:%S"))
    return table.rename(columns=lambda c: _HEADERS.get(str(c), str(c).replace("_", " ")))


def _formatter(column: pd.Series) -> Callable[[Any], str]:
    name = str(column.name)
    values = pd.to_numeric(column, errors="coerce")
    numeric = pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(
        column.dtype)
    if not numeric:
        return lambda v: "—" if v is None or v is pd.NA or v != v or v == "" else str(v)
    if "share" in name:
        return lambda v: "—" if pd.isna(v) else f"{v:.1%}"
    if name == "status code":
        return lambda v: "—" if pd.isna(v) else f"0x{int(v):02X}"
    whole = bool(np.all(np.mod(values.dropna().to_numpy(dtype=float), 1) == 0))
    if whole and "(ms)" not in name:
        return lambda v: "—" if pd.isna(v) else f"{v:,.0f}"
    return lambda v: "—" if pd.isna(v) else f"{v:,.1f}"


def _styled(key: str, table: pd.DataFrame) -> tuple[str, str]:
    """The table as HTML (pandas Styler) and the note on rows left out."""
    from pandas.io.formats.style import Styler

    shown = _page_table(key, table)
    more = ""
    if len(shown) > MAX_ROWS:
        more = f"First {MAX_ROWS} of {len(shown):,} rows; all of them in {key}.csv."
        shown = shown.head(MAX_ROWS)
    if shown.empty:
        return "<p class='note'>Nothing to show.</p>", more
    shown = shown.reset_index(drop=True)
    classes = pd.DataFrame(
        {c: "num" if pd.api.types.is_numeric_dtype(shown[c].dtype) else "" for c in shown},
        index=shown.index)
    styler = (Styler(shown, uuid=re.sub(r"\W", "_", key), cell_ids=False)
              .format({c: _formatter(shown[c]) for c in shown.columns}, escape="html")
              .format_index(escape="html", axis=1)
              .hide(axis="index")
              .set_td_classes(classes))
    return styler.to_html(doctype_html=False), more


def _summary(df: pd.DataFrame, result: Analysis) -> list[tuple[str, str]]:
    from smppkit.diagnose import analysis as a
    kind = a.classify(df)
    out = [("events", f"{len(df):,}")]
    if len(df) and df["time"].notna().any():
        span = (df["time"].max() - df["time"].min()).total_seconds()
        out.append(("seconds of traffic", f"{span:,.1f}"))
    submits = int((kind == "submit").sum())
    out += [("submits", f"{submits:,}"), ("receipts", f"{int((kind == 'receipt').sum()):,}")]
    responses = (kind == "submit_resp").to_numpy()
    if responses.any():
        thr = (df["command_status"].fillna(-1).to_numpy() == 0x58) & responses
        out.append(("responses throttled", f"{thr.sum() / responses.sum():.1%}"))
    findings = result.doctor.findings if result.doctor is not None else []
    serious = sum(1 for f in findings if f.severity in ("error", "warning"))
    out.append(("errors and warnings", f"{serious:,}"))
    return out


def _html(paths: list[Any], df: pd.DataFrame, frames: dict[str, pd.DataFrame],
          images: dict[str, tuple[str, int, int]], tables: list[_Section],
          plots: list[_Section], result: Analysis) -> str:
    import jinja2
    from markupsafe import Markup

    from smppkit import __version__

    env = jinja2.Environment(autoescape=True, keep_trailing_newline=True,
                             undefined=jinja2.StrictUndefined)
    template = env.from_string(
        resources.files(__package__).joinpath("report.html.j2").read_text(encoding="utf-8"))
    from smppkit.diagnose import plots as p
    names = [os.path.basename(os.fspath(x)) for x in paths]
    sections = [_Section("events", "Events by instance, command and status",
                         "Every PDU, counted.", lambda: None), *tables]
    table_parts = []
    for s in sections:
        if s.key not in frames:
            continue
        html, more = _styled(s.key, frames[s.key])
        table_parts.append({"id": f"table-{s.key}", "heading": s.heading, "caption": s.caption,
                            "html": Markup(html), "more": more})
    plot_parts = [
        {"id": f"plot-{s.key}", "heading": s.heading, "caption": s.caption,
         "png": images[s.key][0], "width": images[s.key][1], "height": images[s.key][2]}
        for s in plots if s.key in images
    ]
    return template.render(
        version=__version__, title=", ".join(names), accent=p.COLORS["submit"],
        logs_line=("Log: " if len(names) == 1 else "Logs: ") + ", ".join(map(str, paths)),
        summary=_summary(df, result), diagnosis=Markup(result.doctor._repr_html_()),
        plots=plot_parts, tables=table_parts, skipped=sorted(result.skipped.items()),
    )


def _build(parser: argparse.ArgumentParser) -> None:
    parser.description = ("Write summary tables (CSV), plots (PNG), the doctor's findings "
                          "(doctor.json) and report.html for one or more logs.")
    parser.add_argument("logs", nargs="+", metavar="LOG")
    parser.add_argument("--out", required=True, metavar="DIR", help="output directory")


def _run(args: argparse.Namespace) -> int:
    try:
        result = analyze(args.logs, args.out)
    except (OSError, ValueError) as exc:
        print(f"smppkit analyze: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {len(result.tables)} tables, {len(result.plots)} plots and {result.html}")
    for name, why in result.skipped.items():
        print(f"  skipped {name}: {why}")
    return 0


def register_cli(register: Callable[..., None]) -> None:
    """Add ``smppkit analyze LOG... --out DIR`` (see `smppkit.cli.register`)."""
    register("analyze", "write summary tables, plots and an HTML report for logs", _build, _run)
