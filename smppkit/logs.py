"""Log readers: every source becomes one pandas DataFrame in the trace schema.

Strategy: each reader turns its input into events with the columns of
`smppkit.trace.TRACE_FIELDS` (decoding PDU bytes with the core and building events with
`trace.pdu_event`, so a PDU reads the same whatever the source), then `_finish` fixes the
dtypes listed in `SCHEMA` and adds the derived columns. Nothing is dropped silently: a line
or frame that cannot be read is listed in ``df.attrs["bad_lines"]`` as
``(file, line, reason)`` and summarised in one `BadLineWarning`.

The JSONL trace has a fast path. `trace.dump_event` writes every line with the same keys in
the same order, so after one C-level rewrite (``":`` -> ``",``) a line is a CSV record of
alternating keys and values, and pandas' C parser reads the values without building one
dict per line. Lines the fast path cannot vouch for (a backslash escape, another key order,
extra keys, too few fields) are read again one by one with `json.loads`.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import warnings
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from ._ids import plain_ids
from .codec import decode
from .constants import status_name
from .errors import RemoteProtocolError
from .trace import TRACE_FIELDS, pdu_event

__all__ = [
    "FORMATS",
    "SCHEMA",
    "BadLineWarning",
    "TsharkNotFound",
    "from_events",
    "message_id_key",
    "read",
    "sniff",
]

_INT = "Int64"
_STR = "string"
_NUMERIC_FIELDS = (
    "command_status", "sequence", "esm_class", "data_coding", "registered_delivery",
    "part_ref", "part_total", "part_seq",
)

#: Column -> dtype of every DataFrame `read` returns, in column order. The first columns are
#: `trace.TRACE_FIELDS` (documented there); the last four are derived:
#: ``command_status_name`` (`constants.status_name`), ``id_key`` (the message id
#: normalised for matching, see `message_id_key`), ``source_file`` and ``line`` (1-based
#: line, or capture frame number, the event came from).
SCHEMA: dict[str, str] = {
    "time": "datetime64[ns, UTC]",
    **{k: (_INT if k in _NUMERIC_FIELDS else _STR) for k in TRACE_FIELDS if k != "time"},
    "command_status_name": _STR,
    "id_key": _STR,
    "source_file": _STR,
    "line": _INT,
}

FORMATS = ("trace", "smpplib", "pcap", "pcap-raw")
_REQUIRED = ("time", "direction", "command")


class BadLineWarning(UserWarning):
    """Some lines or frames of a log could not be read; see ``df.attrs["bad_lines"]``."""


class TsharkNotFound(RuntimeError):
    """format="pcap" needs tshark on PATH."""


# --- public entry point -------------------------------------------------------------------


def read(
    path_or_paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    format: str = "auto",
    progress: bool | None = None,
    *,
    ports: Sequence[int] = (2775,),
    tz: str = "UTC",
) -> pd.DataFrame:
    """Read one or more logs into one event table.

    Args:
        path_or_paths: a path or an iterable of paths; events keep file then line order.
        format: "auto" (see `sniff`), "trace" (smppkit JSONL), "smpplib" (python-smpplib
            DEBUG logging), "pcap" (tshark's SMPP dissector) or "pcap-raw" (pure Python,
            classic pcap only).
        progress: show a tqdm bar; None means only when stderr is a terminal.
        ports: TCP ports to decode as SMPP in captures. tshark gets ``-d tcp.port==N,smpp``
            for each; "pcap-raw" also keeps any other TCP stream that starts like SMPP.
        tz: time zone of log timestamps written without one (smpplib's asctime).

    Returns:
        A DataFrame with the columns and dtypes of `SCHEMA` (plus any unknown trace keys).
        ``df.attrs["bad_lines"]`` lists ``(file, line, reason)`` for input not read.

    Raises:
        ValueError: unknown format, or "auto" cannot tell.
        TsharkNotFound: format="pcap" without tshark.
        FileNotFoundError: a path does not exist.
    """
    if isinstance(path_or_paths, (str, os.PathLike)):
        paths = [os.fspath(path_or_paths)]
    else:
        paths = [os.fspath(p) for p in path_or_paths]
    show = sys.stderr.isatty() if progress is None else progress
    frames, bad = [], []
    for path in paths:
        fmt = sniff(path) if format == "auto" else format
        if fmt == "trace":
            df, b = _read_trace(path, show)
        elif fmt == "smpplib":
            df, b = _read_smpplib(path, show, tz)
        elif fmt == "pcap":
            df, b = _read_pcap_tshark(path, ports)
        elif fmt == "pcap-raw":
            df, b = _read_pcap_raw(path, ports, show)
        else:
            raise ValueError(f"unknown format {fmt!r}; expected 'auto' or one of {FORMATS}")
        frames.append(df)
        bad += b
    df = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    df.attrs["bad_lines"] = bad
    if bad:
        file, line, reason = bad[0]
        warnings.warn(
            f"{len(bad)} unreadable line(s)/frame(s) skipped, listed in df.attrs['bad_lines']; "
            f"first: {file}:{line}: {reason}",
            BadLineWarning,
            stacklevel=2,
        )
    return df


def sniff(path: str | os.PathLike[str]) -> str:
    """Guess a file's format from its first bytes, then its extension.

    Raises:
        ValueError: the format cannot be told; pass `format=` to `read`.
    """
    path = os.fspath(path)
    with open(path, "rb") as f:
        head = f.read(4096)
    if head[:4] in (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d"):
        return "pcap" if shutil.which("tshark") else "pcap-raw"
    if head[:4] == b"\x0a\x0d\x0d\x0a":
        return "pcap"
    text = head.decode("utf-8", "replace")
    if text.lstrip().startswith("{"):
        return "trace"
    if _SMPPLIB_RE.search(text) or "smpp.Client" in text:
        return "smpplib"
    ext = os.path.splitext(path)[1].lower()
    if ext in (".jsonl", ".ndjson", ".json"):
        return "trace"
    if ext in (".pcap", ".cap", ".pcapng"):
        return "pcap"
    raise ValueError(f"{path}: cannot tell the log format; pass format= one of {FORMATS}")


def from_events(
    events: Iterable[dict[str, Any]],
    *,
    source_file: str = "",
    lines: Sequence[int] | None = None,
) -> pd.DataFrame:
    """The canonical DataFrame (`SCHEMA`) for trace events, e.g. from `trace.pdu_event`.

    Args:
        events: dicts with (some of) `TRACE_FIELDS`; "time" in seconds since the epoch.
        source_file: value of the ``source_file`` column.
        lines: value of the ``line`` column, one per event (default 1, 2, ...).
    """
    events = list(events)
    df = pd.DataFrame.from_records(events, columns=_columns_of(events))
    df["line"] = np.arange(1, len(df) + 1) if lines is None else list(lines)
    return _finish(df, source_file)


def _columns_of(events: list[dict[str, Any]]) -> list[str]:
    extra: dict[str, None] = {}
    for e in events:
        for k in e:
            if k not in SCHEMA:
                extra[k] = None
    return [*TRACE_FIELDS, *extra]


# --- normalisation ------------------------------------------------------------------------


def _local_id_key(message_id: str) -> str:
    return message_id.strip().lower()


def _id_key_function() -> Callable[[str], Any]:
    try:
        from . import receipts  # type: ignore[attr-defined]

        return receipts.message_id_key  # type: ignore[no-any-return]
    except (ImportError, AttributeError):
        return _local_id_key


def message_id_key(message_id: str) -> str:
    """The ``id_key`` of a message id: `smppkit.receipts.message_id_key` when that exists,
    else the id stripped and lower-cased. Hex/decimal forms are matched by
    `smppkit.analysis.receipt_latency`, not here."""
    return str(_id_key_function()(message_id))


def _id_keys(uniques: np.ndarray) -> np.ndarray:
    """`message_id_key` of each of `uniques` (distinct str ids), as an object array.

    With `smppkit.receipts.message_id_key`, plain hex/decimal ids are read at once by
    `smppkit._ids.plain_ids` (the same numbers that function gives: all-digit ids as
    decimal, others as hex); every other id goes through the function itself.
    """
    keyf = _id_key_function()
    out = np.empty(len(uniques), dtype=object)
    rest = np.ones(len(uniques), dtype=bool)
    if getattr(keyf, "__module__", None) == "smppkit.receipts":
        plain, _, digits, hex_value, dec_value = plain_ids(uniques)
        out[plain] = np.where(digits, dec_value, hex_value)[plain].astype(str).astype(object)
        rest = ~plain
    out[rest] = [str(keyf(u)) for u in uniques[rest]]
    return out


def _finish(df: pd.DataFrame, source_file: str) -> pd.DataFrame:
    """Give `df` the `SCHEMA` columns and dtypes, derived columns included."""
    n = len(df)
    out: dict[str, Any] = {}
    time = df["time"] if "time" in df else pd.Series(np.nan, index=df.index)
    if isinstance(time.dtype, pd.DatetimeTZDtype):
        out["time"] = time.dt.tz_convert("UTC").astype("datetime64[ns, UTC]")
    else:
        # float seconds carry ~0.2 us of noise at today's epoch: round to microseconds
        usecs = (pd.to_numeric(time, errors="coerce").astype("float64") * 1e6).round()
        out["time"] = pd.to_datetime(usecs, unit="us", utc=True).astype("datetime64[ns, UTC]")
    for name in TRACE_FIELDS[1:]:
        col = df[name] if name in df else pd.Series(None, index=df.index, dtype=object)
        if name in _NUMERIC_FIELDS:
            out[name] = pd.to_numeric(col, errors="coerce").astype(_INT)
        else:
            out[name] = col.astype(_STR)
    status = out["command_status"]
    codes = status.dropna().unique()
    names = {int(c): status_name(int(c)) for c in codes}
    out["command_status_name"] = status.map(names, na_action="ignore").astype(_STR)
    codes, uniques = pd.factorize(out["message_id"])
    keys = np.append(_id_keys(np.asarray(uniques, dtype=object)), None)
    out["id_key"] = pd.array(keys[codes], dtype=_STR)  # code -1 (NA) takes the last: None
    out["source_file"] = pd.array(np.full(n, source_file, dtype=object), dtype=_STR)
    line = df["line"] if "line" in df else pd.Series(np.arange(1, n + 1))
    out["line"] = pd.to_numeric(line, errors="coerce").astype(_INT)
    result = pd.DataFrame({k: _values(v) for k, v in out.items()}, copy=False)
    for name in df.columns:
        if name not in SCHEMA:
            result[name] = _values(df[name])
    return result


def _values(v: Any) -> Any:
    return v.array if isinstance(v, pd.Series) else v


class _NoBar:
    """Stands in for a hidden tqdm bar (a tqdm, even disabled, starts tqdm's monitor
    thread, which then outlives it)."""

    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, n: int = 1) -> None:
        return None


def _show(total: int, desc: str, show: bool):  # type: ignore[no-untyped-def]
    if not show:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="B", unit_scale=True, disable=not show,
                leave=False)


# --- smppkit JSONL trace ------------------------------------------------------------------

_CHUNK = 8 * 1024 * 1024
_FAST_USECOLS = [2 * i + 1 for i in range(len(TRACE_FIELDS))]
#: key columns checked on every fast-path row (first, middle and last keys)
_FAST_KEYS = {0: '{"time"', 16: "command", 44: "hex", 46: "note"}
_FAST_DTYPE: dict[int, Any] = {
    2 * i + 1: ("float64" if k == "time" or k in _NUMERIC_FIELDS else object)
    for i, k in enumerate(TRACE_FIELDS)
}
_FAST_DTYPE.update({k: object for k in _FAST_KEYS})


#: trace files of at least this many bytes are read in two parts, the second in a forked
#: worker process, when the machine has more than one CPU (see `_read_trace_parallel`)
_PARALLEL_MIN_BYTES = 64 * 1024 * 1024
#: share of the file parsed by this process; the worker's share costs more, as its result
#: is pickled, piped and unpickled
_PARENT_SHARE = 0.55


def _trace_chunks(f: Any, bar: Any, start: int = 0, end: int | None = None
                  ) -> Iterable[tuple[int, bytes, int]]:
    """(first line number, bytes, line count) of whole-line chunks of about _CHUNK bytes.

    Reads from byte `start` (a line start) up to byte `end` (a line start, or the end of the
    file when None); line numbers count from 1 at `start`.
    """
    first_line = 1
    pos = f.seek(start)
    while end is None or pos < end:
        chunk = f.read(_CHUNK if end is None else min(_CHUNK, end - pos))
        if not chunk:
            return
        if not chunk.endswith(b"\n"):
            chunk += f.readline()  # `end` is a line start: this never passes it
        pos += len(chunk)
        if bar is not None:
            bar.update(len(chunk))
        nlines = chunk.count(b"\n") + (0 if chunk.endswith(b"\n") else 1)
        yield first_line, chunk, nlines
        first_line += nlines


_Range = tuple[list[pd.DataFrame], list[dict[str, Any]], list[tuple[str, int, str]], int]


def _parse_range(path: str, start: int, end: int | None, bar: Any, threads: bool) -> _Range:
    """The fast parts, slow events and bad lines of the lines of `path` in [start, end), with
    line numbers counted from 1 at `start`, and the number of lines read."""
    parts: list[pd.DataFrame] = []
    slow: list[dict[str, Any]] = []
    bad: list[tuple[str, int, str]] = []
    nlines_total = 0

    def collect(first_line: int, chunk: bytes, nlines: int, result: Any) -> None:
        nonlocal nlines_total
        fast, redo = result.result() if threads else result
        if fast is not None:
            fast["line"] = first_line + fast.index.to_numpy()
            parts.append(fast)
        if redo:
            lines = chunk.split(b"\n")
            for i in redo:
                _slow_line(lines[i], path, first_line + i, slow, bad)
        nlines_total = first_line + nlines - 1

    with open(path, "rb") as f:
        chunks = _trace_chunks(f, bar, start, end)
        if not threads:
            for first_line, chunk, nlines in chunks:
                collect(first_line, chunk, nlines, _fast_chunk(chunk, nlines))
            return parts, slow, bad, nlines_total
        # pandas' C tokenizer releases the GIL, so two chunks parse at once on two cores
        with ThreadPoolExecutor(max_workers=2) as pool:
            pending: deque = deque()
            for first_line, chunk, nlines in chunks:
                pending.append((first_line, chunk, nlines,
                                pool.submit(_fast_chunk, chunk, nlines)))
                if len(pending) > 2:
                    collect(*pending.popleft())
            while pending:
                collect(*pending.popleft())
    return parts, slow, bad, nlines_total


def _parse_range_worker(path: str, start: int, end: int | None) -> _Range:
    """`_parse_range` in a worker process: the fast parts come back as one DataFrame (one
    pickle instead of many; the parts share their columns and dtypes)."""
    parts, slow, bad, nlines = _parse_range(path, start, end, None, threads=False)
    if len(parts) > 1:
        parts = [pd.concat(parts, ignore_index=True)]
    return parts, slow, bad, nlines


def _split_point(path: str, size: int) -> int:
    """The start of the first line that begins at or after `_PARENT_SHARE` of the file."""
    if size < 2:
        return size
    at = min(max(int(size * _PARENT_SHARE), 1), size)
    with open(path, "rb") as f:
        f.seek(at - 1)
        f.readline()
        return f.tell()


def _fork_context() -> Any:
    """The "fork" multiprocessing context when forking is safe here, else None.

    Forking copies only the calling thread, so it is used only while no other thread runs
    that could hold a lock the child needs. The one thread let pass is tqdm's monitor (a
    progress bar shown earlier leaves it running): it only takes tqdm's own lock, which the
    worker never uses.
    """
    import multiprocessing
    import threading

    if (os.cpu_count() or 1) < 2:
        return None
    me = threading.current_thread()
    if any(t is not me and t.name != "tqdm_monitor" for t in threading.enumerate()):
        return None
    if "fork" not in multiprocessing.get_all_start_methods():
        return None
    return multiprocessing.get_context("fork")


def _read_trace_parallel(path: str, size: int, show: bool) -> tuple[pd.DataFrame, list] | None:
    """`_read_trace` with the last part of the file (from a line start near
    `_PARENT_SHARE`) parsed in a forked worker process while this one parses the first;
    None when that cannot be done here.

    Gives the same DataFrame as the single-process path: the worker returns the raw parts
    (before `_finish`), its line numbers are shifted by the first part's line count, and
    the parts are assembled and finished exactly as there. If the worker fails in any way
    (a broken pool, an exception), this process parses that part itself.
    """
    from concurrent.futures import ProcessPoolExecutor

    ctx = _fork_context()
    if ctx is None:
        return None
    middle = _split_point(path, size)
    if middle >= size:
        return None
    pool = None
    future = None
    try:
        try:
            pool = ProcessPoolExecutor(max_workers=1, mp_context=ctx)
            with warnings.catch_warnings():
                # Python >= 3.12 warns of forking with threads: only tqdm's monitor is left
                warnings.simplefilter("ignore", DeprecationWarning)
                future = pool.submit(_parse_range_worker, path, middle, None)
        except Exception:  # cannot fork: parse the second part here too
            future = None
        with _show(size, os.path.basename(path), show) as bar:
            parts, slow, bad, offset = _parse_range(path, 0, middle, bar, threads=False)
            if len(parts) > 1:  # while the worker finishes (same columns and dtypes)
                parts = [pd.concat(parts, ignore_index=True)]
            second: _Range | None = None
            if future is not None:
                try:
                    second = future.result()
                except Exception:  # BrokenProcessPool, pickling, the worker's own error
                    second = None
                bar.update(size - middle)
            if second is None:
                second = _parse_range(path, middle, None, None, threads=False)
                if future is None:
                    bar.update(size - middle)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    parts2, slow2, bad2, _ = second
    for part in parts2:
        part["line"] += offset
    for event in slow2:
        event["line"] += offset
    parts += parts2
    slow += slow2
    bad += [(file, line + offset, reason) for file, line, reason in bad2]
    return _assemble(parts, slow, path), bad


def _read_trace(path: str, show: bool) -> tuple[pd.DataFrame, list]:
    size = os.path.getsize(path)
    if size >= _PARALLEL_MIN_BYTES:
        result = _read_trace_parallel(path, size, show)
        if result is not None:
            return result
    with _show(size, os.path.basename(path), show) as bar:
        parts, slow, bad, _ = _parse_range(path, 0, None, bar, threads=True)
    return _assemble(parts, slow, path), bad


def _assemble(parts: list[pd.DataFrame], slow: list[dict[str, Any]], path: str) -> pd.DataFrame:
    """One finished DataFrame, in line order, of the fast parts and the slow events."""
    if slow:
        parts.append(pd.DataFrame.from_records(slow, columns=[*_columns_of(slow), "line"]))
    if not parts:
        df = pd.DataFrame({k: [] for k in TRACE_FIELDS})
    elif len(parts) == 1:
        df = parts[0]
    else:
        df = pd.concat(parts, ignore_index=True)
    if slow and len(parts) > 1:
        df = df.sort_values("line", kind="stable", ignore_index=True)
    return _finish(df.reset_index(drop=True), path)


def _fast_chunk(chunk: bytes, nlines: int) -> tuple[pd.DataFrame | None, list[int]]:
    """Values of the canonical lines of `chunk` (index = line offset) and the other lines."""
    redo: list[int] = []
    if b"\\" in chunk:  # JSON escapes: the CSV reading would get them wrong
        redo = [i for i, line in enumerate(chunk.split(b"\n")) if b"\\" in line]
        lines = chunk.split(b"\n")
        for i in redo:
            lines[i] = b""
        chunk = b"\n".join(lines)
    try:
        df = pd.read_csv(
            io.BytesIO(chunk.replace(b'":', b'",')),
            sep=",",
            header=None,
            quotechar='"',
            usecols=[*_FAST_KEYS, *_FAST_USECOLS],
            dtype=_FAST_DTYPE,
            na_values=["null", "null}"],
            keep_default_na=False,
            skip_blank_lines=False,
            engine="c",
        )
    except (ValueError, pd.errors.ParserError):
        return None, sorted(set(range(nlines)))
    ok = np.ones(len(df), dtype=bool)
    for col, key in _FAST_KEYS.items():
        ok &= (df[col] == key).to_numpy(dtype=bool, na_value=False)
    for name in ("direction", "command"):
        ok &= df[2 * TRACE_FIELDS.index(name) + 1].notna().to_numpy()
    # The last value keeps the closing brace; without it the line had more fields.
    last = df[_FAST_USECOLS[-1]]
    ok &= (last.isna() | last.str.endswith("}")).to_numpy(dtype=bool, na_value=False)
    blank_or_redo = set(redo)
    bad_rows = np.flatnonzero(~ok)
    redo = sorted(blank_or_redo | {int(i) for i in bad_rows})
    df = df.loc[ok, _FAST_USECOLS]
    df.columns = list(TRACE_FIELDS)
    note = df["note"]
    if note.notna().any():  # the closing brace sticks to the last value
        df["note"] = note.str.slice(0, -1)
    return df, redo


def _slow_line(raw: bytes, path: str, line: int, out: list, bad: list) -> None:
    if not raw.strip():
        return
    try:
        obj = json.loads(raw)
    except ValueError as exc:
        bad.append((path, line, f"invalid JSON: {getattr(exc, 'msg', exc)}"))
        return
    reason = _check_event(obj)
    if reason:
        bad.append((path, line, reason))
        return
    obj["line"] = line
    out.append(obj)


def _check_event(obj: Any) -> str | None:
    if not isinstance(obj, dict):
        return "not a JSON object"
    missing = [k for k in _REQUIRED if k not in obj]
    if missing:
        return "missing key(s): " + ", ".join(missing)
    if not isinstance(obj["command"], str) or not obj["command"]:
        return "command is not a non-empty string"
    for k in ("time", *_NUMERIC_FIELDS):
        v = obj.get(k)
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
            return f"{k} is not a number: {v!r}"
    return None


# --- python-smpplib DEBUG logging ---------------------------------------------------------

#: smpplib/client.py: ``self.logger.debug('>>%s (%d bytes)', binascii.b2a_hex(generated),
#: len(generated))`` and ``'<<%s (%d bytes)'`` -- under Python 3 the %s of bytes prints
#: ``b'...'``; a bare hex string is accepted too.
_SMPPLIB_RE = re.compile(r"(>>|<<)\s*(?:b'([0-9a-fA-F]*)'|([0-9a-fA-F]+))\s*\((\d+) bytes\)")
#: logging's default asctime: "2024-01-31 12:00:00,123"
_ASCTIME_RE = re.compile(r"(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(?:[,.](\d{1,6}))?")
_LOGGER_RE = re.compile(r"\bsmpp\.Client\.[\w.]+")


def _read_smpplib(path: str, show: bool, tz: str) -> tuple[pd.DataFrame, list]:
    events, lines, bad = [], [], []
    zone = UTC if tz.upper() == "UTC" else None
    with open(path, encoding="utf-8", errors="replace") as f, _show(
        os.path.getsize(path), os.path.basename(path), show
    ) as bar:
        for number, text in enumerate(f, 1):
            bar.update(len(text))
            m = _SMPPLIB_RE.search(text)
            if m is None:
                continue
            hexa = m.group(2) if m.group(2) is not None else m.group(3)
            raw = bytes.fromhex(hexa) if len(hexa) % 2 == 0 else None
            if raw is None or len(raw) != int(m.group(4)):
                bad.append((path, number, f"hex dump does not hold {m.group(4)} bytes"))
                continue
            try:
                pdu = decode(raw)
            except RemoteProtocolError as exc:
                bad.append((path, number, f"undecodable PDU: {exc}"))
                continue
            when = float("nan")
            t = _ASCTIME_RE.match(text)
            if t:
                stamp = datetime.fromisoformat(f"{t.group(1)}T{t.group(2)}")
                if t.group(3):
                    stamp = stamp.replace(microsecond=int(t.group(3).ljust(6, "0")))
                if zone is not None:
                    when = stamp.replace(tzinfo=zone).timestamp()
                else:
                    when = pd.Timestamp(stamp).tz_localize(tz).timestamp()
            logger = _LOGGER_RE.search(text)
            events.append(pdu_event(
                pdu, time=when, direction="out" if m.group(1) == ">>" else "in",
                system="smpplib", session=logger.group(0) if logger else "", raw=raw,
            ))
            lines.append(number)
    df = pd.DataFrame.from_records(events, columns=list(TRACE_FIELDS))
    df["line"] = lines
    return _finish(df, path), bad


# --- packet captures ----------------------------------------------------------------------


def _endpoints(a: tuple[str, int], b: tuple[str, int], ports: Sequence[int]
               ) -> tuple[tuple[str, int], tuple[str, int]]:
    """(client, server) of a connection: the server has a port in `ports`, else 2775, else
    the lower port."""
    for known in (tuple(ports), (2775,)):
        if b[1] in known and a[1] not in known:
            return a, b
        if a[1] in known and b[1] not in known:
            return b, a
    return (a, b) if a[1] > b[1] else (b, a)


def _host(ep: tuple[str, int]) -> str:
    return f"[{ep[0]}]:{ep[1]}" if ":" in ep[0] else f"{ep[0]}:{ep[1]}"


def _capture_event(raw: bytes, time: float, src: tuple[str, int], dst: tuple[str, int],
                   ports: Sequence[int]) -> dict[str, Any]:
    client, server = _endpoints(src, dst, ports)
    return pdu_event(
        decode(raw), time=time, direction="out" if src == client else "in", system="pcap",
        session=f"{_host(client)}-{_host(server)}", peer=_host(server), raw=raw,
    )


def _read_pcap_raw(path: str, ports: Sequence[int], show: bool) -> tuple[pd.DataFrame, list]:
    from .codec import DEFAULT_MAX_COMMAND_LENGTH, HEADER_LENGTH, Framer
    from .pcap import read_tcp_streams
    from .pdus import PDU_CLASSES

    framers: dict[tuple, Framer | None] = {}
    undecided: dict[tuple, bytes] = {}
    events, lines, bad = [], [], []
    with _show(os.path.getsize(path), os.path.basename(path), show) as bar:
        for chunk in read_tcp_streams(path):
            bar.update(len(chunk.data))
            key = (chunk.src, chunk.dst)
            framer = framers.get(key, False)
            data = chunk.data
            if framer is False:  # undecided: is this direction SMPP?
                data = undecided.pop(key, b"") + data
                smpp_port = chunk.src[1] in ports or chunk.dst[1] in ports
                if len(data) < 8 and not smpp_port:
                    undecided[key] = data
                    continue
                looks = (HEADER_LENGTH <= int.from_bytes(data[:4], "big")
                         <= DEFAULT_MAX_COMMAND_LENGTH
                         and int.from_bytes(data[4:8], "big") in PDU_CLASSES)
                framer = framers[key] = Framer() if (smpp_port or looks) else None
            if framer is None:
                continue
            if chunk.gap:
                bad.append((path, chunk.frame, f"{chunk.gap} bytes missing from the capture "
                                               f"before this frame; framing restarted"))
                framer = framers[key] = Framer()
            framer.feed(data)
            try:
                for frame in framer:
                    try:
                        events.append(_capture_event(frame, chunk.time, chunk.src, chunk.dst, ports))
                        lines.append(chunk.frame)
                    except RemoteProtocolError as exc:
                        bad.append((path, chunk.frame, f"undecodable PDU: {exc}"))
            except RemoteProtocolError as exc:
                bad.append((path, chunk.frame, f"stream cannot be framed: {exc}"))
                framers[key] = None
    df = pd.DataFrame.from_records(events, columns=list(TRACE_FIELDS))
    df["line"] = lines
    return _finish(df, path), bad


def _read_pcap_tshark(path: str, ports: Sequence[int]) -> tuple[pd.DataFrame, list]:
    tshark = shutil.which("tshark")
    if tshark is None:
        raise TsharkNotFound("tshark not found on PATH: install it (apt install tshark) or "
                             "use format='pcap-raw' for classic pcap files")
    cmd = [tshark, "-r", path, "-n", "-T", "json", "-x", "--no-duplicate-keys",
           "-j", "frame ip ipv6 tcp smpp", "-Y", "smpp"]
    for port in ports:
        cmd[1:1] = ["-d", f"tcp.port=={int(port)},smpp"]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"tshark failed on {path}: {proc.stderr.strip().splitlines()[-1:]}")
    packets = json.loads(proc.stdout or "[]")
    events, lines, bad = [], [], []
    for packet in packets:
        layers = packet["_source"]["layers"]
        frame = layers["frame"]
        number = int(_first(frame["frame.number"]))
        time = float(_first(frame["frame.time_epoch"]))
        ip = layers.get("ip") or layers.get("ipv6") or {}
        tcp = layers["tcp"]
        src_ip = _first(ip.get("ip.src") or ip.get("ipv6.src"))
        dst_ip = _first(ip.get("ip.dst") or ip.get("ipv6.dst"))
        src = (src_ip, int(_first(tcp["tcp.srcport"])))
        dst = (dst_ip, int(_first(tcp["tcp.dstport"])))
        raws = layers.get("smpp_raw", [])
        if raws and not isinstance(raws[0], list):
            raws = [raws]
        for item in raws:
            try:
                events.append(_capture_event(bytes.fromhex(item[0]), time, src, dst, ports))
                lines.append(number)
            except (RemoteProtocolError, ValueError) as exc:
                bad.append((path, number, f"undecodable PDU: {exc}"))
    df = pd.DataFrame.from_records(events, columns=list(TRACE_FIELDS))
    df["line"] = lines
    return _finish(df, path), bad


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) else value
