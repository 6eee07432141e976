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

Inputs DuckDB cannot query as they are -- pcaps, smpplib and Kannel logs, and JSONL with
lines that are not trace events -- are first converted into a temporary Parquet dataset
(the bad lines are then listed in `bad_lines` and announced by a `logs.BadLineWarning`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

import pandas as pd
import pyarrow as pa

from smppkit.diagnose import convert as _convert
from smppkit.diagnose import engines, logs, queries
from smppkit.diagnose.arrow import TO_PANDAS_TYPES

__all__ = ["Dataset", "open"]

#: the doctor's columns (`smppkit.diagnose.doctor`), all but the PDU bytes of most rows
_DOCTOR_COLUMNS = ("system", "instance", "session", "peer", "system_id", "bind", "direction",
                   "command", "command_status", "sequence", "message_id", "source_addr",
                   "destination_addr", "esm_class", "data_coding", "registered_delivery",
                   "receipt_stat", "receipt_err", "part_ref", "part_total", "part_seq", "note")
#: requests whose bytes the doctor decodes (its text checks)
_DECODED = ("submit_sm", "data_sm")


def open(source: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
         engine: str | Any = "duckdb", *, format: str = "auto") -> Dataset:
    """A `Dataset` over a Parquet dataset directory or log files (see the module docstring).

    Raises:
        FileNotFoundError: a path does not exist, or a directory holds no Parquet file.
        ValueError: unknown engine, or a log's format cannot be told.
        engines.EngineError: the engine cannot start or read the files.
    """
    return Dataset(source, engine, format=format)


class Dataset:
    """The events of a Parquet dataset or of logs, queried by an engine; see `open`."""

    def __init__(self, source: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
                 engine: str | Any = "duckdb", *, format: str = "auto") -> None:
        paths = ([os.fspath(source)] if isinstance(source, (str, os.PathLike))
                 else [os.fspath(p) for p in source])
        if not paths:
            raise ValueError("open: no dataset or log given")
        self._tmp: str | None = None
        self.bad_lines: list[tuple[str, int, str]] = []
        self.engine = _engine(engine)
        try:
            self._load(paths, format)
        except BaseException:
            self.close()
            raise

    def _load(self, paths: list[str], format: str) -> None:
        if len(paths) == 1 and os.path.isdir(paths[0]):
            self.engine.load_parquet(paths[0])
            return
        for p in paths:
            if not os.path.isfile(p):
                raise FileNotFoundError(f"{p}: no such file or dataset directory")
        formats = {_convert.sniff(p) if format == "auto" else format for p in paths}
        if formats == {"trace"} and isinstance(self.engine, engines.DuckDBEngine):
            try:
                self.engine.load_jsonl(paths)
                return
            except engines.EngineError:
                pass  # bad lines: convert reads what it can and lists the rest
        self._tmp = tempfile.mkdtemp(prefix="smppkit-dataset-")
        out = os.path.join(self._tmp, "events")
        done = _convert.convert(paths, out, format=format, progress=False)
        self.bad_lines = done.bad_lines
        if done.bad_lines:
            file, line, reason = done.bad_lines[0]
            warnings.warn(f"{len(done.bad_lines)} unreadable line(s)/frame(s) skipped, listed "
                          f"in .bad_lines; first: {file}:{line}: {reason}",
                          logs.BadLineWarning, stacklevel=4)
        if done.events == 0:
            raise ValueError(f"no event could be read from {', '.join(paths)}")
        self.engine.load_parquet(out)

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
        return queries.shape_receipt_match(self.query(queries.receipt_summary()))

    # -- the doctor ------------------------------------------------------------------------

    def doctor_events(self) -> pd.DataFrame:
        """The event table the receipt doctor needs, slim: its columns only, and the PDU
        bytes (``hex``) only of the submits it decodes and of events without a sequence
        number; every other row's bytes stay in the files. Strings stay in Arrow memory."""
        decoded = ", ".join(f"'{c}'" for c in _DECODED)
        columns = (f"{', '.join(_DOCTOR_COLUMNS)}, CASE WHEN command IN ({decoded}) "
                   "OR sequence IS NULL THEN hex END AS hex")
        tables = [self._duckdb().con.sql(q).to_arrow_table()
                  for q in self._duckdb().doctor_scans(columns)]
        df = pa.concat_tables(tables).to_pandas(types_mapper=TO_PANDAS_TYPES)
        if df["time"].dt.tz is None:
            df["time"] = df["time"].dt.tz_localize("UTC")
        return df

    def _duckdb(self) -> engines.DuckDBEngine:
        if not isinstance(self.engine, engines.DuckDBEngine):
            raise ValueError("the doctor runs on the DuckDB engine")
        return self.engine

    def diagnose(self) -> Any:
        """The receipt doctor's `Report` (`smppkit.diagnose.doctor.diagnose`) over the
        slim `doctor_events`; its examples show the bytes of submits only."""
        from smppkit.diagnose.doctor import diagnose

        return self._with_bytes(diagnose(self.doctor_events()))

    def _with_bytes(self, report: Any) -> Any:
        """`report` with the bytes of its examples fetched from the files (``file:line``)."""
        wanted: set[tuple[str, int]] = set()
        for f in report.findings:
            for e in f.examples:
                name, _, line = e.where.rpartition(":")
                if e.hex is None and name and line.isdigit():
                    wanted.add((name, int(line)))
        if not wanted:
            return report
        lines = ", ".join(str(n) for n in sorted({n for _, n in wanted}))
        found = []
        for scan in self._duckdb().doctor_scans("hex"):
            found += self._duckdb().con.sql(
                f"SELECT source_file, line, hex FROM ({scan}) r WHERE line IN ({lines}) "
                "AND hex IS NOT NULL").fetchall()
        by_where = {f"{os.path.basename(f)}:{n}": h for f, n, h in found
                    if (os.path.basename(f), n) in wanted}

        def fill(e: Any) -> Any:
            return replace(e, hex=by_where.get(e.where)) if e.hex is None else e

        report.findings[:] = [replace(f, examples=tuple(fill(e) for e in f.examples))
                              for f in report.findings]
        return report

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
