"""The two SQL engines the analyses run on: DuckDB (embedded, the default) and Spark.

An engine turns files into the view ``raw_events`` of `smppkit.diagnose.queries` (the only
SQL here that differs between the two: reading the files, times as integer microseconds,
the readings of a message id), adds the portable ``events`` view on top, and runs queries,
handing back small pandas DataFrames. ``raw_events`` also carries the columns the receipt
doctor reads (`DOCTOR_COLUMNS`: the PDU bytes, notes, file and line of each event).

- `DuckDBEngine` reads a Parquet dataset (`smppkit.diagnose.convert`) in place, or JSONL
  traces, which it loads once into a table: in memory, or for traces larger than
  `memory_limit` in a database file in a temporary directory (out of core). Input order is
  the table's ``rowid``; line numbers assume one event per line (blank lines would shift
  them).
- `SparkEngine` reads a Parquet dataset with a `pyspark.sql.SparkSession`: local mode
  by default, or any session you build for a cluster (see the README).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from typing import Any

import pandas as pd

from smppkit.diagnose.queries import EVENTS_VIEW
from smppkit.trace import TRACE_FIELDS

__all__ = ["DuckDBEngine", "EngineError", "SparkEngine", "parquet_files"]

_NUMERIC = ("command_status", "sequence", "esm_class", "data_coding", "registered_delivery",
            "part_ref", "part_total", "part_seq")
#: the trace columns the queries read (with ``ord`` and ``t_us``)
COLUMNS = ("instance", "session", "command", "command_status", "sequence", "message_id",
           "source_addr", "destination_addr", "esm_class", "registered_delivery",
           "receipt_stat", "receipt_err", "part_ref", "part_total", "part_seq")
#: the further columns the receipt doctor reads (`smppkit.diagnose.doctor_sql`)
DOCTOR_COLUMNS = ("system", "system_id", "bind", "direction", "data_coding", "note", "hex",
                  "source_file", "line")
#: Python's str.strip() whitespace in ASCII: what `analysis` strips from an id
_WHITESPACE = (9, 10, 11, 12, 13, 28, 29, 30, 31, 32)


class EngineError(RuntimeError):
    """An engine cannot read its input (the message says which file and why)."""


def parquet_files(directory: str) -> list[str]:
    """The Parquet files of a dataset directory, sorted.

    Raises:
        FileNotFoundError: no such directory, or no Parquet file in it.
    """
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"{directory}: no such dataset directory")
    found = sorted(os.path.join(root, f) for root, _, files in os.walk(directory)
                   for f in files if f.endswith(".parquet"))
    if not found:
        raise FileNotFoundError(f"{directory}: no Parquet file (make one with smppkit convert)")
    return found


def _bytes(size: str) -> int:
    """A size as DuckDB writes one ("1GB", "512MiB", "2 TB") in bytes.

    Raises:
        ValueError: not such a size.
    """
    units = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
             "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}
    text = size.strip().upper()
    number = text.rstrip("KMGTIB ")
    try:
        return int(float(number) * units[text[len(number):].strip()])
    except (KeyError, ValueError):
        raise ValueError(f"memory_limit {size!r} is not a size like '1GB' or '512MiB'") from None


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _with_ids(source: str, columns: str, strip: str, hex_value: str, matches: str) -> str:
    """SELECT `columns` of `source` (which has ``message_id``) and the id readings
    ``id_text``, ``id_hex``, ``id_dec``, given the engine's SQL for the stripped id, the
    number of hex digits ``{body}`` and a regular expression ``{p}`` matching ``{x}``."""
    text = f"nullif(lower({strip}), '')"
    body = "regexp_replace(id_text, '^0x', '')"
    return (
        f"SELECT {columns}, id_text, "
        f"CASE WHEN {matches.format(x='id_text', p='^(0x)?[0-9a-f]{1,16}$')} "
        f"THEN CAST({hex_value.format(body=body)} AS DECIMAL(38,0)) END AS id_hex, "
        f"CASE WHEN {matches.format(x='id_text', p='^[0-9]{1,38}$')} "
        "THEN CAST(id_text AS DECIMAL(38,0)) END AS id_dec "
        f"FROM (SELECT *, {text} AS id_text FROM {source}) s"
    )


def _raw_view(source: str, t_us: str, strip: str, hex_value: str, matches: str,
              create: str = "TEMPORARY VIEW") -> str:
    """``raw_events`` over `source` (a relation with ``ord`` and the trace columns), given
    the engine's SQL for the time in us and the id readings (`_with_ids`)."""
    cols = ", ".join(COLUMNS + DOCTOR_COLUMNS)
    return (f"CREATE OR REPLACE {create} raw_events AS "
            + _with_ids(f"(SELECT ord, {t_us} AS t_us, {cols} FROM {source}) r",
                        f"ord, t_us, {cols}", strip, hex_value, matches))


class DuckDBEngine:
    """Queries over JSONL traces or a Parquet dataset, with DuckDB.

    Args:
        memory_limit: DuckDB's memory limit ("1GB"); beyond it, work spills to disk.
        threads: worker threads (default: DuckDB's, one per core).
        on_disk: load JSONL traces into a database file in a temporary directory
            (stored compressed, read back in pages) rather than into memory; None: when
            the traces are larger than `memory_limit` (an in-memory table would spill
            uncompressed).
    """

    name = "duckdb"

    def __init__(self, memory_limit: str = "1GB", threads: int | None = None,
                 on_disk: bool | None = None) -> None:
        import duckdb

        self._tmp = tempfile.mkdtemp(prefix="smppkit-duckdb-")
        self.con = duckdb.connect()
        self.con.execute(f"SET memory_limit = {_quote(memory_limit)}")
        self._limit = _bytes(memory_limit)
        self.on_disk = on_disk
        self.con.execute(f"SET temp_directory = {_quote(os.path.join(self._tmp, 'spill'))}")
        self.con.execute("SET preserve_insertion_order = true")
        self.con.execute("SET enable_progress_bar = false")
        if threads:
            self.con.execute(f"SET threads = {int(threads)}")
        self._registered: set[str] = set()

    # -- sources -----------------------------------------------------------------------------

    def load_parquet(self, directory: str) -> None:
        """Query the dataset under `directory` in place (hive partitions day/instance)."""
        files = parquet_files(directory)
        self._views(f"read_parquet([{', '.join(map(_quote, files))}], hive_partitioning = true, "
                    "hive_types = {'day': 'VARCHAR', 'instance': 'VARCHAR'}, "
                    "union_by_name = true)", "epoch_us(time)")

    def _read_json(self, paths: Sequence[str]) -> str:
        types = {k: ("DOUBLE" if k == "time" else "BIGINT" if k in _NUMERIC else "VARCHAR")
                 for k in TRACE_FIELDS}
        columns = "{" + ", ".join(f"{_quote(k)}: {_quote(v)}" for k, v in types.items()) + "}"
        files = "[" + ", ".join(_quote(os.fspath(p)) for p in paths) + "]"
        return f"read_json({files}, columns = {columns}, format = 'newline_delimited')"

    def load_jsonl(self, paths: Sequence[str]) -> dict[str, int]:
        """Load JSONL traces (one event per line) into a table, with each event's file and
        line; the events per file.

        Raises:
            EngineError: a line is not a trace event DuckDB can read, or an event lacks
                time, direction or command (`smppkit convert` reads such files and lists
                the bad lines).
        """
        import duckdb

        on_disk = self.on_disk
        if on_disk is None:
            on_disk = sum(os.path.getsize(p) for p in paths) > self._limit
        if on_disk:
            self.con.execute(f"ATTACH {_quote(os.path.join(self._tmp, 'events.duckdb'))} AS disk")
            self.con.execute("USE disk")
        t_us = "CAST(round_even(time * 1000000.0, 0) AS BIGINT)"  # as logs.read rounds
        cols = ", ".join(c for c in COLUMNS + DOCTOR_COLUMNS if c not in ("source_file", "line"))
        counts, first = {}, []
        try:
            for k, path in enumerate(map(os.fspath, paths)):
                # one pass per file, the ids read on the way: the table's rowid is the input
                # order (preserve_insertion_order), so rowid - the file's first is the line
                rows = _with_ids(f"(SELECT {t_us} AS t_us, {cols}, {_quote(path)} AS source_file "
                                 f"FROM {self._read_json([path])}) j",
                                 f"t_us, {cols}, source_file", *self._readings())
                first.append(self._scalar("SELECT count(*) FROM loaded") if k else 0)
                self.con.execute(f"INSERT INTO loaded {rows}" if k else
                                 f"CREATE OR REPLACE TABLE loaded AS {rows}")
                counts[path] = self._scalar("SELECT count(*) FROM loaded") - first[-1]
            missing = self._scalar("SELECT count(*) FROM loaded WHERE t_us IS NULL "
                                   "OR direction IS NULL OR command IS NULL")
        except duckdb.Error as exc:
            raise EngineError(f"DuckDB cannot read the trace: {exc}") from exc
        if missing:
            raise EngineError(f"{missing} event(s) lack time, direction or command")
        line = "CASE " + " ".join(f"WHEN rowid >= {n} THEN rowid - {n} + 1"
                                  for n in reversed(first)) + " END"
        self.con.execute(f"CREATE OR REPLACE TEMPORARY VIEW raw_events AS SELECT rowid AS ord, "
                         f"t_us, {cols}, source_file, {line} AS line, id_text, id_hex, id_dec "
                         "FROM loaded")
        self.con.execute(EVENTS_VIEW)
        return counts

    def _scalar(self, sql: str) -> int:
        row = self.con.execute(sql).fetchone()
        return int(row[0]) if row else 0

    def load_frame(self, frame: pd.DataFrame) -> None:
        """Query an event table held in memory (the trace columns, ``time`` as datetimes)."""
        import pyarrow as pa

        table = pa.Table.from_pandas(frame.assign(ord=range(len(frame))), preserve_index=False)
        self.con.register("frame_events", table)
        self._views("frame_events", "epoch_us(time)")

    @staticmethod
    def _readings() -> tuple[str, str, str]:
        """`_with_ids`' SQL for DuckDB."""
        strip = "trim(message_id, " + " || ".join(f"chr({c})" for c in _WHITESPACE) + ")"
        return strip, "CAST('0x' || {body} AS UBIGINT)", "regexp_full_match({x}, '{p}')"

    def _views(self, source: str, t_us: str, create: str = "TEMPORARY VIEW") -> None:
        self.con.execute(_raw_view(source, t_us, *self._readings(), create))
        self.con.execute(EVENTS_VIEW)

    # -- queries -------------------------------------------------------------------------

    def query(self, sql: str) -> pd.DataFrame:
        """The result of `sql` (over ``events``) as a pandas DataFrame."""
        return self.con.sql(sql).to_arrow_table().to_pandas()

    def execute(self, sql: str) -> None:
        """Run a statement (CREATE VIEW ...)."""
        self.con.execute(sql)

    def table(self, name: str, sql: str) -> None:
        """Keep the result of `sql` as the temporary table `name` (a step several queries
        read)."""
        self.con.execute(f"CREATE OR REPLACE TEMPORARY TABLE {name} AS {sql}")

    def register(self, name: str, frame: pd.DataFrame) -> None:
        """A small pandas frame as the view `name`."""
        self._registered.add(name)
        self.con.register(name, frame)

    def drop(self, *names: str) -> None:
        """Forget the tables `table` and `register` made."""
        for name in names:
            if name in self._registered:
                self.con.unregister(name)
                self._registered.discard(name)
            else:
                self.con.execute(f"DROP TABLE IF EXISTS {name}")

    def close(self) -> None:
        self.con.close()
        shutil.rmtree(self._tmp, ignore_errors=True)


class SparkEngine:
    """Queries over a Parquet dataset, with Spark.

    Args:
        spark: a SparkSession (for a cluster: ``SparkSession.builder.master(URL)``...);
            None builds a local one (`local_session`).
        cache: keep the events (``raw_events``, read and parsed once) in the executors'
            memory and disk between queries, as Spark's CACHE TABLE does; without it every
            query reads the files again.
    """

    name = "spark"

    def __init__(self, spark: Any = None, cache: bool = True) -> None:
        self.spark = spark if spark is not None else local_session()
        self._own = spark is None
        self.cache = cache

    def load_parquet(self, directory: str) -> None:
        """Query the dataset at `directory` (a local path, hdfs://, s3a://...)."""
        if "://" not in directory:
            parquet_files(directory)  # a clear error for a missing or empty directory
        reader = self.spark.read.option("basePath", directory)
        reader.parquet(directory).createOrReplaceTempView("parquet_events")
        strip = ("trim(BOTH " + " || ".join(f"chr({c})" for c in _WHITESPACE)
                 + " FROM message_id)")
        self.spark.sql(_raw_view("parquet_events", "unix_micros(time)", strip,
                                 "conv({body}, 16, 10)",
                                 "{x} RLIKE '{p}'"))
        if self.cache:
            self.spark.sql("CACHE LAZY TABLE raw_events")
        self.spark.sql(EVENTS_VIEW)

    def query(self, sql: str) -> pd.DataFrame:
        return self.spark.sql(sql).toPandas()

    def execute(self, sql: str) -> None:
        self.spark.sql(sql)

    def table(self, name: str, sql: str) -> None:
        self.spark.sql(sql).cache().createOrReplaceTempView(name)

    def register(self, name: str, frame: pd.DataFrame) -> None:
        self.spark.createDataFrame(frame).createOrReplaceTempView(name)

    def drop(self, *names: str) -> None:
        for name in names:
            self.spark.catalog.dropTempView(name)  # uncached too

    def close(self) -> None:
        if self._own:
            self.spark.stop()


def local_session(cores: int = 1) -> Any:
    """A Spark session in local mode, quiet and small (UI off, few shuffle partitions).

    Raises:
        EngineError: pyspark is not installed, or Java cannot be started.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise EngineError("the Spark engine needs pyspark: pip install pyspark") from exc
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        raise EngineError("Spark needs a Java runtime: apt-get install default-jre-headless")
    builder = (SparkSession.builder.master(f"local[{cores}]").appName("smppkit")
               .config("spark.ui.enabled", "false")
               .config("spark.sql.shuffle.partitions", str(cores))
               .config("spark.ui.showConsoleProgress", "false")
               # small answers from many small stages: no adaptive re-planning
               .config("spark.sql.adaptive.enabled", "false")
               .config("spark.sql.session.timeZone", "UTC")
               .config("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
               .config("spark.driver.extraJavaOptions", "-Dlog4j.rootLogger=ERROR"))
    try:
        spark = builder.getOrCreate()
    except Exception as exc:  # py4j raises plain Exceptions when Java fails to start
        raise EngineError(f"Spark could not start: {exc}") from exc
    spark.sparkContext.setLogLevel("ERROR")
    return spark
