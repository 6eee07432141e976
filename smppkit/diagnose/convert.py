"""Logs at rest: any log the kit reads becomes a partitioned Parquet dataset.

``smppkit convert LOG... --out DIR`` (or `convert`) writes the event table of
`smppkit.diagnose.logs.read` -- the same columns and values, bad lines listed the same way --
as Parquet files under hive partitions ``day=YYYY-MM-DD/instance=NAME/``, which DuckDB,
Spark, pyarrow and pandas all read as columns (an event without a time goes to
``day=__HIVE_DEFAULT_PARTITION__``, one without an instance to
``instance=__HIVE_DEFAULT_PARTITION__``: both read back as null). Each file of the dataset
holds row groups of one partition; the column ``ord`` numbers the events in input order
(file by file, line by line), which the queries use to break ties as the pandas analyses do.

Strategy: a JSONL trace is cut into whole-line chunks of about `CHUNK_BYTES`, each read by
`logs.read` on its own (through a small temporary file) and appended to the open writer of
each partition, so memory is bounded by one chunk whatever the size of the trace. Other
formats (pcap, smpplib debug logs, Kannel bearerbox/access logs) are read whole by their
readers, one file at a time, then written the same way.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from urllib.parse import quote

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from smppkit.diagnose import logs

__all__ = ["CHUNK_BYTES", "FORMATS", "NULL_PARTITION", "PARTITIONS", "Converted", "convert", "read_events",
           "read_kannel", "register_cli", "sniff"]

#: Bytes of JSONL read per chunk (a chunk of the 1M-event benchmark trace is ~110k events).
CHUNK_BYTES = 64 * 1024 * 1024
#: The hive partition columns, in directory order.
PARTITIONS = ("day", "instance")
#: `convert`'s formats: those of `logs.read`, and Kannel's logs
FORMATS = ("auto", *logs.FORMATS, "kannel")
#: Hive's directory value for null, read back as null by DuckDB, Spark and pyarrow.
NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"


@dataclass
class Converted:
    """What `convert` wrote."""

    out: str
    events: int = 0
    files: list[str] = field(default_factory=list)
    #: ``(file, line, reason)`` of input not converted, as ``df.attrs["bad_lines"]``
    bad_lines: list[tuple[str, int, str]] = field(default_factory=list)
    #: events written per input log
    counts: dict[str, int] = field(default_factory=dict)

    def __str__(self) -> str:
        parts = len({os.path.dirname(f) for f in self.files})
        text = f"{self.events:,} events -> {self.out} ({len(self.files)} files, {parts} partitions)"
        if self.bad_lines:
            file, line, reason = self.bad_lines[0]
            text += (f"; {len(self.bad_lines)} unreadable line(s) skipped, first "
                     f"{file}:{line}: {reason}")
        return text


# --- reading, chunk by chunk ----------------------------------------------------------------


def _whole_line_chunks(path: str, chunk_bytes: int, bar: object) -> Iterator[tuple[int, bytes]]:
    """(first line number, bytes) of consecutive chunks of whole lines."""
    first, held = 1, b""
    with open(path, "rb") as f:
        while True:
            data = f.read(chunk_bytes)
            bar.update(len(data))  # type: ignore[attr-defined]
            if not data:
                if held:
                    yield first, held
                return
            data = held + data
            cut = data.rfind(b"\n") + 1
            if cut == 0:  # no line end yet: read on
                held = data
                continue
            chunk, held = data[:cut], data[cut:]
            yield first, chunk
            first += chunk.count(b"\n")


def sniff(path: str | os.PathLike[str]) -> str:
    """"kannel" for a Kannel bearerbox/access log, else `logs.sniff`.

    Raises:
        ValueError: the format cannot be told.
    """
    from smppkit.kannel.logs import is_kannel_file

    path = os.fspath(path)
    if is_kannel_file(path):
        return "kannel"
    return logs.sniff(path)


def read_kannel(path: str, tz: str | None = None) -> pd.DataFrame:
    """A Kannel bearerbox or access log as an event table (`smppkit.kannel.logs`), its
    unreadable lines in ``attrs["bad_lines"]``; `tz` as for `convert`."""
    from smppkit.kannel.logs import read_kannel_log

    events, lines, bad = read_kannel_log(path, tz=tz)
    df = logs.from_events(events, source_file=path, lines=lines)
    df.attrs["bad_lines"] = [(path, n, text[:120]) for n, text in bad]
    return df


def _read_whole(path: str, format: str, tz: str | None = None) -> pd.DataFrame:
    if format == "kannel":
        return read_kannel(path, tz)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", logs.BadLineWarning)  # listed in bad_lines instead
        return logs.read(path, format, False, tz=tz or "local")


def read_events(path: str | os.PathLike[str], format: str = "auto",
                chunk_bytes: int = CHUNK_BYTES, bar: object | None = None,
                tz: str | None = None) -> Iterator[pd.DataFrame]:
    """The event table of one log (`logs.SCHEMA`), in chunks of bounded size.

    Each chunk's ``attrs["bad_lines"]`` lists its unreadable lines with their line in the
    whole file. A JSONL trace is read `chunk_bytes` at a time; other formats in one chunk;
    `tz` as for `convert`.

    Raises:
        FileNotFoundError, IsADirectoryError, PermissionError: the file cannot be opened.
        ValueError: the format cannot be told, or is unknown.
    """
    path = os.fspath(path)
    bar = bar or _NoBar()
    with open(path, "rb"):  # the OS's clear error for a missing or unreadable file
        pass
    fmt = sniff(path) if format == "auto" else format
    if fmt != "trace":
        df = _read_whole(path, fmt, tz)
        bar.update(os.path.getsize(path))  # type: ignore[attr-defined]
        yield df
        return
    with tempfile.TemporaryDirectory(prefix="smppkit-convert-") as tmp:
        part = os.path.join(tmp, "chunk.jsonl")
        for first_line, chunk in _whole_line_chunks(path, chunk_bytes, bar):
            with open(part, "wb") as f:
                f.write(chunk)
            df = _read_whole(part, "trace")
            bad = [(path, line + first_line - 1, reason) for _, line, reason in
                   df.attrs.get("bad_lines", [])]
            df["source_file"] = pd.array([path] * len(df), dtype="string")
            df["line"] = df["line"] + (first_line - 1)
            df.attrs["bad_lines"] = bad
            yield df


class _NoBar:
    def update(self, n: int = 1) -> None:
        return None

    def close(self) -> None:
        return None


# --- writing --------------------------------------------------------------------------------


def _partition_values(df: pd.DataFrame) -> pd.DataFrame:
    day = df["time"].dt.strftime("%Y-%m-%d").astype("string")
    return pd.DataFrame({"day": day, "instance": df["instance"].astype("string")})


def _directory(values: tuple[object, ...]) -> str:
    bits = []
    for name, value in zip(PARTITIONS, values, strict=True):
        text = NULL_PARTITION if value is None or pd.isna(value) or value == "" else quote(
            str(value), safe=" #@:+,;-_.")
        bits.append(f"{name}={text}")
    return os.path.join(*bits)


def _arrow(df: pd.DataFrame) -> pa.Table:
    """The chunk as Arrow, partition columns dropped, times in microseconds (the readers
    round them to microseconds, so nothing is lost)."""
    table = pa.Table.from_pandas(df.drop(columns=["instance"]), preserve_index=False)
    at = table.schema.get_field_index("time")
    return table.set_column(at, "time", table.column("time").cast(pa.timestamp("us", "UTC")))


class _Writers:
    """One open ParquetWriter per partition; every chunk is appended to them."""

    def __init__(self, out: str, schema_of: Callable[[pd.DataFrame], pa.Table]) -> None:
        self.out, self.schema_of = out, schema_of
        self.open: dict[str, pq.ParquetWriter] = {}
        self.schema: pa.Schema | None = None
        self.files: list[str] = []

    def write(self, df: pd.DataFrame) -> None:
        keys = _partition_values(df)
        for values, rows in df.groupby([keys["day"], keys["instance"]], dropna=False,
                                       sort=True).indices.items():
            table = self.schema_of(df.iloc[rows])
            if self.schema is None:
                self.schema = table.schema
            table = _conform(table, self.schema)
            folder = _directory(values)
            writer = self.open.get(folder)
            if writer is None:
                path = os.path.join(self.out, folder, "part-0.parquet")
                os.makedirs(os.path.dirname(path), exist_ok=True)
                writer = self.open[folder] = pq.ParquetWriter(path, self.schema,
                                                              compression="zstd")
                self.files.append(path)
            writer.write_table(table)

    def close(self) -> None:
        for writer in self.open.values():
            writer.close()
        self.open.clear()


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """`table` with the dataset's columns: missing ones as nulls, null-typed ones cast;
    an unknown trace key that appears after the first chunk is not kept (say so)."""
    columns = []
    for f in schema:
        if f.name in table.column_names:
            col = table.column(f.name)
            columns.append(col if col.type == f.type else col.cast(f.type))
        else:
            columns.append(pa.nulls(len(table), f.type))
    return pa.Table.from_arrays(columns, schema=schema)


def convert(paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
            out: str | os.PathLike[str], *, format: str = "auto", overwrite: bool = False,
            chunk_bytes: int = CHUNK_BYTES, progress: bool | None = None,
            tz: str | None = None) -> Converted:
    """Write the events of one or more logs as a Parquet dataset under `out`.

    Args:
        paths: log files (JSONL traces, pcap/pcapng, smpplib debug logs, Kannel logs).
        out: the dataset directory; it must not exist or be empty, unless `overwrite`.
        format: "auto" (Kannel logs are told by their lines, others by `logs.sniff`), "kannel" or a
            format of `logs.read`, for every path.
        overwrite: replace an existing dataset at `out`.
        chunk_bytes: bytes of JSONL read at a time (memory is about 20x this).
        progress: a tqdm bar over the input bytes; None means only on a terminal.
        tz: the zone of log times written without one (Kannel, smpplib): a zone name or
            "UTC"; None: this machine's local time, which is what they write.

    Returns:
        A `Converted`: the event count, the files written and the unreadable lines.

    Raises:
        FileNotFoundError: a log does not exist (nothing is written).
        FileExistsError: `out` holds files and `overwrite` is false.
        ValueError: a log's format cannot be told.
    """
    paths = [os.fspath(paths)] if isinstance(paths, (str, os.PathLike)) else [
        os.fspath(p) for p in paths]
    if not paths:
        raise ValueError("convert: no log given")
    for p in paths:
        if not os.path.isfile(p):
            raise FileNotFoundError(f"{p}: no such file")
    out = os.fspath(out)
    if os.path.exists(out) and (not os.path.isdir(out) or os.listdir(out)):
        if not overwrite:
            raise FileExistsError(f"{out} exists and is not empty; choose a new directory "
                                  "or pass overwrite=True (--overwrite)")
        shutil.rmtree(out) if os.path.isdir(out) else os.remove(out)
    os.makedirs(out, exist_ok=True)
    show = sys.stderr.isatty() if progress is None else progress
    result = Converted(out)
    writers = _Writers(out, _arrow)
    total = sum(os.path.getsize(p) for p in paths)
    bar = _bar(total, show)
    try:
        for path in paths:
            result.counts[path] = 0
            for df in read_events(path, format, chunk_bytes, bar, tz):
                result.bad_lines += df.attrs.get("bad_lines", [])
                result.counts[path] += len(df)
                if len(df) == 0:
                    continue
                df = df.assign(ord=pd.array(range(result.events, result.events + len(df)),
                                            dtype="int64"))
                writers.write(df)
                result.events += len(df)
    finally:
        writers.close()
        bar.close()
    result.files = writers.files
    return result


def _bar(total: int, show: bool) -> object:
    if not show:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="convert", unit="B", unit_scale=True, leave=False)


# --- command line -------------------------------------------------------------------------


def _build(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Write the events of one or more logs (smppkit JSONL traces, pcaps, smpplib debug "
        "logs, Kannel logs) as a Parquet dataset partitioned by day and instance, for "
        "`smppkit.diagnose.dataset.open`, DuckDB or Spark. Exit status 0 when written, "
        "2 when a log cannot be read or DIR is not empty.")
    parser.add_argument("logs", nargs="+", metavar="LOG")
    parser.add_argument("--out", required=True, metavar="DIR", help="the dataset directory")
    parser.add_argument("--format", default="auto", choices=FORMATS)
    parser.add_argument("--overwrite", action="store_true", help="replace an existing DIR")
    parser.add_argument("--tz", metavar="ZONE", default=None,
                        help="zone of Kannel and smpplib log times (default: this machine's "
                             "local time, which is what they write), e.g. UTC, Europe/Berlin")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def _run(args: argparse.Namespace) -> int:
    try:
        result = convert(args.logs, args.out, format=args.format, overwrite=args.overwrite,
                         progress=False if args.no_progress else None, tz=args.tz)
    except (OSError, ValueError) as exc:
        print(f"smppkit convert: {exc}", file=sys.stderr)
        return 2
    print(result)
    return 0


def register_cli(register: Callable[..., None]) -> None:
    """Add ``smppkit convert LOG... --out DIR`` (see `smppkit.cli.register`)."""
    register("convert", "turn logs into a partitioned Parquet dataset", _build, _run)

