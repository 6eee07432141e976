"""Logs of any size: the analyses as queries over JSONL traces or a Parquet dataset.

    >>> with dataset.open("events/") as ds:          # smppkit convert ... --out events/
    ...     ds.throughput("1min")                     # a small pandas DataFrame
    ...     ds.receipt_match()

`open` takes a Parquet dataset directory (`smppkit.diagnose.convert`) or log files, and an
engine: "duckdb" (embedded, the default), "spark" (a local session), or an engine object
(`engines.SparkEngine(session)` for a cluster). Each method runs one query of
`smppkit.diagnose.queries` and returns what the pandas analysis of the same name returns
(`smppkit.diagnose.analysis`), computed without loading the events into pandas: the
engine scans the files, only the answer comes back.

`diagnose` is the receipt doctor with its whole-table checks run as queries
(`smppkit.diagnose.doctor_sql`): the same report as `smppkit.diagnose.doctor.diagnose`.

Inputs DuckDB cannot query as they are -- pcaps, smpplib and Kannel logs, and JSONL with
lines that are not trace events -- are first converted into a temporary Parquet dataset
(the bad lines are then listed in `bad_lines` and announced by a `logs.BadLineWarning`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

from smppkit.diagnose import convert as _convert
from smppkit.diagnose import engines, logs, queries
from smppkit.diagnose.doctor import Inputs, _why_nothing

__all__ = ["Dataset", "open"]


def open(source: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
         engine: str | Any = "duckdb", *, format: str = "auto", tz: str | None = None
         ) -> Dataset:
    """A `Dataset` over a Parquet dataset directory or log files (see the module docstring).

    Args:
        source: a dataset directory, a log path, or several log paths (read together, in
            order: the artifacts of one setup, or the traces of several days).
        engine: "duckdb", "spark" or an engine object.
        format: "auto" or a format of `smppkit.diagnose.convert` for every log.
        tz: the zone of log times written without one (Kannel, smpplib), as for
            `smppkit.diagnose.doctor.diagnose`.

    Raises:
        FileNotFoundError: a path does not exist, or a directory holds no Parquet file.
        ValueError: unknown engine, or a log's format cannot be told.
        engines.EngineError: the engine cannot start or read the files.
    """
    return Dataset(source, engine, format=format, tz=tz)


class Dataset:
    """The events of a Parquet dataset or of logs, queried by an engine; see `open`.

    Attributes:
        engine: the engine the queries run on.
        bad_lines: ``(file, line, reason)`` of the input that could not be read.
        inputs: what was read, for the doctor's report (`smppkit.diagnose.doctor.Inputs`).
    """

    def __init__(self, source: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
                 engine: str | Any = "duckdb", *, format: str = "auto",
                 tz: str | None = None) -> None:
        paths = ([os.fspath(source)] if isinstance(source, (str, os.PathLike))
                 else [os.fspath(p) for p in source])
        if not paths:
            raise ValueError("open: no dataset or log given")
        self._tmp: str | None = None
        self._steps = False  # queries.RECEIPT_STEPS kept
        self.bad_lines: list[tuple[str, int, str]] = []
        self.inputs = Inputs(tz=tz or "local")
        self.engine = _engine(engine)
        try:
            self._load(paths, format, tz)
        except BaseException:
            self.close()
            raise

    def _load(self, paths: list[str], format: str, tz: str | None) -> None:
        if len(paths) == 1 and os.path.isdir(paths[0]):
            self.engine.load_parquet(paths[0])
            return
        for p in paths:
            if not os.path.isfile(p):
                raise FileNotFoundError(f"{p}: no such file or dataset directory")
        formats = [_convert.sniff(p) if format == "auto" else format for p in paths]
        if set(formats) == {"trace"} and isinstance(self.engine, engines.DuckDBEngine):
            try:
                self._read(paths, formats, self.engine.load_jsonl(paths))
                return
            except engines.EngineError:
                pass  # bad lines: convert reads what it can and lists the rest
        self._tmp = tempfile.mkdtemp(prefix="smppkit-dataset-")
        out = os.path.join(self._tmp, "events")
        done = _convert.convert(paths, out, format=format, progress=False, tz=tz)
        self.bad_lines = done.bad_lines
        self._read(paths, formats, done.counts)
        if done.bad_lines:
            file, line, reason = done.bad_lines[0]
            warnings.warn(f"{len(done.bad_lines)} unreadable line(s)/frame(s) skipped, listed "
                          f"in .bad_lines; first: {file}:{line}: {reason}",
                          logs.BadLineWarning, stacklevel=4)
        if done.events == 0:
            raise ValueError(f"no event could be read from {', '.join(paths)}")
        self.engine.load_parquet(out)

    def _read(self, paths: list[str], formats: list[str], counts: dict[str, int]) -> None:
        """What was read, as the doctor tells it (`doctor.Inputs`)."""
        bad = Counter(f for f, _, _ in self.bad_lines)
        for p, fmt in zip(paths, formats, strict=True):
            info = {"file": p, "bytes": os.path.getsize(p), "format": fmt,
                    "events": counts.get(p, 0), "bad lines": bad[p]}
            if not info["events"]:
                info["why"] = _why_nothing(bad[p])
            self.inputs.files.append(info)
        self.inputs.bad_lines = self.bad_lines

    # -- the analyses ------------------------------------------------------------------------

    def query(self, sql: str) -> pd.DataFrame:
        """Any SQL over the views ``events`` and ``raw_events`` (`queries`), as pandas."""
        return self.engine.query(sql)

    def count(self) -> int:
        """The number of events."""
        return int(self.query("SELECT count(*) AS n FROM events")["n"].iloc[0])

    def throughput(self, freq: str = "1s", by: str | Sequence[str] = ("command",)
                   ) -> pd.DataFrame:
        """`analysis.throughput`: events per bin, one column per group."""
        return queries.shape_throughput(self.query(queries.throughput(freq, by)), freq, by)

    def response_latency(self, commands: Iterable[str] | None = ("submit_sm",),
                         percentiles: Sequence[float] = (50, 90, 95, 99)) -> pd.Series:
        """`analysis.latency_percentiles` of `analysis.response_latency` (seconds)."""
        commands = None if commands is None else list(commands)
        sql = queries.latency_percentiles("response", commands, percentiles)
        return queries.shape_latency(self.query(sql), percentiles)

    def receipt_latency(self, percentiles: Sequence[float] = (50, 90, 95, 99)) -> pd.Series:
        """`analysis.latency_percentiles` of `analysis.receipt_latency` (seconds)."""
        self._receipt_steps()
        sql = queries.latency_percentiles("receipt", None, percentiles)
        return queries.shape_latency(self.query(sql), percentiles)

    def error_distribution(self) -> pd.DataFrame:
        """`analysis.error_distribution`: outcomes by command_status and receipt stat."""
        statuses, receipts = (self.query(q) for q in queries.error_distribution())
        return queries.shape_error_distribution(statuses, receipts)

    def throttle_rate(self, freq: str = "1s", limit: float | None = None) -> pd.DataFrame:
        """`analysis.throttle_rate`: submits and ESME_RTHROTTLED answers per bin."""
        return queries.shape_throttle_rate(self.query(queries.throttle_rate(freq)), freq, limit)

    def receipt_match(self) -> pd.DataFrame:
        """`analysis.receipt_match`'s summary: submits per outcome."""
        self._receipt_steps()
        return queries.shape_receipt_match(self.query(queries.receipt_summary()))

    def _receipt_steps(self) -> None:
        if not self._steps:
            for name, sql in queries.RECEIPT_STEPS.items():
                self.engine.table(name, sql)
            self._steps = True

    # -- the doctor ------------------------------------------------------------------------

    def diagnose(self) -> Any:
        """The receipt doctor's `Report` (`smppkit.diagnose.doctor.diagnose`), its checks
        run as queries (`smppkit.diagnose.doctor_sql`): only the answers and the rows it
        shows leave the engine."""
        from smppkit.diagnose import doctor_sql

        return doctor_sql.diagnose(self.engine, self.inputs)

    # -- life --------------------------------------------------------------------------------

    def close(self) -> None:
        """Stop the engine (a Spark session given by you is left running) and remove the
        temporary files."""
        engine = getattr(self, "engine", None)
        if engine is not None:
            engine.close()
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def __enter__(self) -> Dataset:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _engine(engine: str | Any) -> Any:
    if engine == "duckdb":
        return engines.DuckDBEngine()
    if engine == "spark":
        return engines.SparkEngine()
    if isinstance(engine, str):
        raise ValueError(f"unknown engine {engine!r}; expected 'duckdb', 'spark' or an engine")
    return engine
