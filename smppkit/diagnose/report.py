"""`smppkit analyze`: one or more logs in, summary tables (CSV), plots (PNG) and an HTML page out.

Strategy: the report only assembles. The numbers come from `smppkit.analysis`, the pictures
from `smppkit.plots`, the diagnosis from `smppkit.doctor`; each table and plot is made on
its own, so one that cannot be made (an empty log, a module not installed) is listed as
skipped with the reason instead of stopping the rest. The event counts table needs
nothing but pandas and is always written.
"""

from __future__ import annotations

import argparse
import html
import importlib
import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["Analysis", "analyze", "register_cli"]


@dataclass
class Analysis:
    """What `analyze` wrote.

    Attributes:
        out_dir: the output directory.
        tables: name -> CSV path.
        plots: name -> PNG path.
        html: the HTML report.
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
    status = df["command_status"] if "command_status" in df else pd.Series(dtype="Int64")
    table = pd.DataFrame({
        "instance": df.get("instance", pd.Series("", index=df.index)).fillna(""),
        "command": df["command"].fillna(""),
        "command_status": pd.to_numeric(status, errors="coerce").astype("Int64"),
    })
    table = table[table["command"] != ""]
    out = table.groupby(["instance", "command", "command_status"], dropna=False).size()
    return out.rename("events").reset_index()


def _tables(df: pd.DataFrame) -> dict[str, Callable[[], pd.DataFrame]]:
    a = importlib.import_module("smppkit.diagnose.analysis")
    return {
        "throughput": lambda: a.throughput(df, freq="1s"),
        "submit_latency": lambda: a.latency_percentiles(a.response_latency(df)),
        "receipt_latency": lambda: a.latency_percentiles(a.receipt_latency(df)),
        "errors": lambda: a.error_distribution(df),
        "throttling": lambda: a.throttle_rate(df, freq="1s"),
        "receipt_match": lambda: a.receipt_match(df),
        "parts": lambda: a.part_outcomes(df),
    }


def _plots(df: pd.DataFrame) -> dict[str, Callable[[Any], Any]]:
    p = importlib.import_module("smppkit.diagnose.plots")
    a = importlib.import_module("smppkit.diagnose.analysis")
    return {
        "throughput": lambda ax: p.plot_throughput(df, ax=ax),
        "submit_latency": lambda ax: p.plot_latency(a.response_latency(df), ax=ax),
        "errors": lambda ax: p.plot_errors(df, ax=ax),
        "receipt_outcomes": lambda ax: p.plot_receipt_outcomes(df, ax=ax),
        "instances": lambda ax: p.plot_instances(df, ax=ax),
    }


def analyze(paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
            out_dir: str | os.PathLike[str]) -> Analysis:
    """Read logs, write their summary tables, plots and an HTML report into `out_dir`.

    Args:
        paths: one log or several (read together into one event table).
        out_dir: created if needed; existing files of the same names are replaced.

    Returns:
        An `Analysis` listing what was written and what was skipped (and why).

    Raises:
        FileNotFoundError: a log does not exist.
        ValueError: a log's format cannot be told.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    paths = list(paths)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    df = _read(paths)
    result = Analysis(out)
    counts = _event_counts(df)
    result.tables["events"] = out / "events.csv"
    counts.to_csv(result.tables["events"], index=False)
    makers = _tables(df)
    frames: dict[str, pd.DataFrame] = {"events": counts}
    for name, make in makers.items():
        try:
            table = make()
        except Exception as exc:  # one table must not stop the report
            result.skipped[name] = f"{type(exc).__name__}: {exc}"
            continue
        if isinstance(table, pd.Series):
            table = table.to_frame()
        frames[name] = table
        result.tables[name] = out / f"{name}.csv"
        table.to_csv(result.tables[name], index=not isinstance(table.index, pd.RangeIndex))
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    plotters = _plots(df)
    for name, draw in plotters.items():
        fig, ax = plt.subplots(figsize=(8, 4))
        try:
            draw(ax)
            fig.tight_layout()
            result.plots[name] = out / f"{name}.png"
            fig.savefig(result.plots[name], dpi=100)
        except Exception as exc:  # one plot must not stop the report
            result.skipped[f"{name} plot"] = f"{type(exc).__name__}: {exc}"
        finally:
            plt.close(fig)
    from smppkit.diagnose.doctor import diagnose

    result.doctor = diagnose(df)
    (out / "doctor.json").write_text(result.doctor.to_json(), encoding="utf-8")
    result.html = out / "report.html"
    result.html.write_text(_html(paths, frames, result), encoding="utf-8")
    return result


def _html(paths: list[Any], frames: dict[str, pd.DataFrame], result: Analysis) -> str:
    esc = html.escape
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>smppkit analysis</title>",
        "<style>body{font-family:sans-serif;max-width:60em;margin:auto}table{border-collapse:"
        "collapse;font-size:90%}td,th{border:1px solid #ccc;padding:2px 6px}</style></head><body>",
        "<h1>smppkit analysis</h1><p>Logs: " + esc(", ".join(os.fspath(p) for p in paths)) + "</p>",
        "<h2>Diagnosis</h2>", result.doctor._repr_html_(),
    ]
    if result.plots:
        parts.append("<h2>Plots</h2>")
        parts += [f"<h3>{esc(n)}</h3><img src='{esc(p.name)}' alt='{esc(n)}'>" for n, p in result.plots.items()]
    parts.append("<h2>Tables</h2>")
    for name, table in frames.items():
        shown = table.head(50)
        more = f"<p>first 50 of {len(table)} rows; all in {esc(name)}.csv</p>" if len(table) > 50 else ""
        parts.append(f"<h3>{esc(name)}</h3>{shown.to_html(border=0)}{more}")
    if result.skipped:
        parts.append("<h2>Skipped</h2><ul>" + "".join(
            f"<li>{esc(k)}: {esc(v)}</li>" for k, v in result.skipped.items()) + "</ul>")
    parts.append("</body></html>")
    return "\n".join(parts)


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
