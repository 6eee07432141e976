"""Log readers: every source becomes one pandas DataFrame in the trace schema.

Strategy: each reader turns its input into events with the columns of
`smppkit.trace.TRACE_FIELDS` (decoding PDU bytes with the core and building events with
`trace.pdu_event`, so a PDU reads the same whatever the source), then `_finish` fixes the
dtypes listed in `SCHEMA` and adds the derived columns. Nothing is dropped silently: a line
or frame that cannot be read is listed in ``df.attrs["bad_lines"]`` as
``(file, line, reason)`` and summarised in one `BadLineWarning`.

The JSONL trace is read by Arrow's JSON reader in large blocks, on every core and without
one Python object per value; its strings stay in Arrow memory (pandas' "string" dtype is
Arrow-backed). A block holding anything Arrow cannot vouch for (invalid JSON, a value of the
wrong type, a missing required key, a blank line) is halved until the few lines at fault are
read one by one with `json.loads`, which says what is wrong with each.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import warnings
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json

from smppkit.diagnose.arrow import TO_PANDAS_TYPES, strings_from_codes
from smppkit.diagnose.progress import NoBar as _NoBar  # noqa: F401  (tests stub bars with it)
from smppkit.diagnose.progress import bar, total_bytes, wanted
from smppkit.protocol.codec import decode
from smppkit.protocol.constants import status_name
from smppkit.protocol.errors import RemoteProtocolError
from smppkit.sms.ids import plain_ids
from smppkit.sms.receipts import message_id_key as receipts_message_id_key
from smppkit.trace import TRACE_FIELDS, pdu_event

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

FORMATS = ("trace", "smpplib", "pcap", "pcap-raw", "pcapng")
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
    tz: str = "local",
) -> pd.DataFrame:
    """Read one or more logs into one event table.

    Args:
        path_or_paths: a path or an iterable of paths; events keep file then line order.
        format: "auto" (see `sniff`), "trace" (smppkit JSONL), "smpplib" (python-smpplib
            DEBUG logging, or any application log whose lines start with a date and time:
            PDU hex dumps are decoded, every other line is kept as a note), "pcap" (tshark's
            SMPP dissector), "pcap-raw" (pure Python, classic pcap: TCP reassembled by
            sequence number, retransmissions de-duplicated, a capture cut short read up to
            the cut) or "pcapng" (converted to classic pcap by tshark, then read as
            "pcap-raw").
        progress: show a tqdm bar; None: for about a second of reading or more, in a
            terminal or a notebook (`smppkit.diagnose.progress.wanted`).
        ports: TCP ports to decode as SMPP in captures. tshark gets ``-d tcp.port==N,smpp``
            for each; "pcap-raw" also keeps any other TCP stream that starts like SMPP.
        tz: time zone of log timestamps written without one (smpplib's asctime): a zone
            name, "UTC", or "local" (this machine's zone, which is what logging writes).

    Returns:
        A DataFrame with the columns and dtypes of `SCHEMA`, then any unknown trace keys
        (with pandas' `convert_dtypes`: Int64, Float64, string, boolean, or object).
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
    show = wanted(progress, total_bytes(paths))
    frames, bad, formats = [], [], []
    for path in paths:
        fmt = sniff(path) if format == "auto" else format
        formats.append(fmt)
        if fmt == "trace":
            df, b = _read_trace(path, show)
        elif fmt == "smpplib":
            df, b = _read_smpplib(path, show, tz)
        elif fmt == "pcap":
            df, b = _read_pcap_tshark(path, ports)
        elif fmt == "pcap-raw":
            df, b = _read_pcap_raw(path, ports, show)
        elif fmt == "pcapng":
            df, b = _read_pcapng(path, ports, show)
        else:
            raise ValueError(f"unknown format {fmt!r}; expected 'auto' or one of {FORMATS}")
        frames.append(df)
        bad += b
    df = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    df.attrs["bad_lines"] = bad
    df.attrs["format"] = ",".join(dict.fromkeys(formats))
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
        return "pcap-raw"
    if head[:4] == b"\x0a\x0d\x0d\x0a":
        return "pcapng"
    if b"\0" in head:
        raise ValueError(f"{path}: binary data that is not a capture (pcap or pcapng)")
    text = head.decode("utf-8", "replace")
    if text.lstrip().startswith("{"):
        return "trace"
    if _SMPPLIB_RE.search(text) or "smpp.Client" in text or _ASCTIME_RE.match(text.lstrip()):
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


def message_id_key(message_id: str) -> str:
    """The ``id_key`` of a message id (`smppkit.sms.receipts.message_id_key`). Hex/decimal
    forms are paired by `smppkit.diagnose.pairing`, not here."""
    return str(receipts_message_id_key(message_id))


def _id_keys(ids: pd.Series) -> pd.Series:
    """`message_id_key` of each id (NA stays NA), as a "string" Series.

    Plain hex/decimal ids are read at once by `smppkit.sms.ids.plain_ids` (the same numbers
    `smppkit.sms.receipts.message_id_key` gives: all-digit ids as decimal, others as hex);
    every other id goes through that function, once per distinct id.
    """
    keyf = receipts_message_id_key
    arr = pa.chunked_array(pa.array(ids.astype(_STR), type=pa.large_string())).combine_chunks()
    rest = arr.is_valid().to_numpy(zero_copy_only=False)
    r = plain_ids(arr)  # plain hex/decimal ids at once, the numbers message_id_key gives
    plain = r.dec_ok | r.hex_ok  # a hex_ok id of digits only is dec_ok too
    numbers = pa.array(np.where(r.dec_ok, r.dec_value, r.hex_value), mask=~plain)
    keys = pc.cast(numbers, pa.string())
    rest &= ~plain
    if rest.any():
        where = np.flatnonzero(rest)
        codes, uniques = pd.factorize(np.asarray(arr.take(where).to_pylist(), dtype=object))
        values = np.array([str(keyf(u)) for u in uniques], dtype=object)[codes]
        keys = pc.replace_with_mask(keys, pa.array(rest), pa.array(values, type=pa.string()))
    return pd.Series(keys.to_pandas(types_mapper=TO_PANDAS_TYPES), index=ids.index)


def _status_names(status: pd.Series) -> pd.Series:
    """`constants.status_name` of each command_status (NA stays NA)."""
    codes, uniques = pd.factorize(status)
    return strings_from_codes(codes, [status_name(int(c)) for c in uniques], status.index)


def _utc_times(time: pd.Series) -> pd.Series:
    """Seconds since the epoch -> datetime64[ns, UTC]; NaN, non-numbers and times beyond
    pandas' range (years 1677-2262) become NaT."""
    if isinstance(time.dtype, pd.DatetimeTZDtype):
        return time.dt.tz_convert("UTC").astype("datetime64[ns, UTC]")
    seconds = pd.to_numeric(time, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    # float seconds carry ~0.2 us of noise at today's epoch: round to microseconds
    usecs = np.round(seconds * 1e6)
    nat = ~(np.abs(usecs) < 9.2e15)  # NaN too
    ns = np.where(nat, 0, usecs).astype(np.int64) * 1000
    ns[nat] = np.iinfo(np.int64).min  # numpy's NaT
    return pd.Series(pd.DatetimeIndex(ns.view("M8[ns]")).tz_localize("UTC"), index=time.index)


def _finish(df: pd.DataFrame, source_file: str) -> pd.DataFrame:
    """Give `df` the `SCHEMA` columns and dtypes, derived columns included."""
    n = len(df)
    out: dict[str, Any] = {}
    time = df["time"] if "time" in df else pd.Series(np.nan, index=df.index)
    out["time"] = _utc_times(time)
    for name in TRACE_FIELDS[1:]:
        col = df[name] if name in df else pd.Series(None, index=df.index, dtype=object)
        if name in _NUMERIC_FIELDS:
            out[name] = col if col.dtype == _INT else pd.to_numeric(col, errors="coerce").astype(_INT)
        else:
            out[name] = col.astype(_STR)
    out["command_status_name"] = _status_names(out["command_status"])
    out["id_key"] = _id_keys(out["message_id"])
    out["source_file"] = pa.repeat(pa.scalar(source_file, pa.string()), n).to_pandas(
        types_mapper=TO_PANDAS_TYPES)
    line = df["line"] if "line" in df else pd.Series(np.arange(1, n + 1))
    out["line"] = pd.to_numeric(line, errors="coerce").astype(_INT)
    result = pd.DataFrame({k: _values(v) for k, v in out.items()}, copy=False)
    for name in df.columns:
        if name not in SCHEMA:  # unknown keys: the same dtype whichever way they were read
            result[name] = _values(df[name].convert_dtypes())
    return result


def _values(v: Any) -> Any:
    return v.array if isinstance(v, pd.Series) else v


def _show(total: int, desc: str, show: bool):  # type: ignore[no-untyped-def]
    return bar(total, desc, show)


# --- smppkit JSONL trace ------------------------------------------------------------------

#: bytes per chunk handed to Arrow's JSON reader (which parses its blocks on every core)
_CHUNK = 64 * 1024 * 1024
_ARROW_BLOCK = 4 * 1024 * 1024
#: a block Arrow refuses is split in two until it is this small, then read line by line
_SLOW_BYTES = 64 * 1024
_ARROW_SCHEMA = pa.schema([
    (k, pa.float64() if k == "time" else pa.int64() if k in _NUMERIC_FIELDS else pa.string())
    for k in TRACE_FIELDS
])


def _trace_chunks(f: Any, bar: Any) -> Iterable[tuple[int, memoryview, int]]:
    """(first line number, bytes, line count) of whole-line chunks of about _CHUNK bytes.

    The file is read into one reused buffer; each chunk is a view of it, valid until the
    next one is asked for. The unfinished last line moves to the front of the buffer.
    """
    first_line = 1
    buf = bytearray(_CHUNK)
    held = 0  # bytes at the front of buf not yielded yet
    while True:
        if held == len(buf):  # one line longer than the buffer: a bigger one
            buf = bytearray(buf) + bytearray(len(buf))
        with memoryview(buf) as view:
            n = f.readinto(view[held:])
        bar.update(n)
        end = held + n
        if end == 0:
            return
        cut = end if n == 0 else buf.rfind(b"\n", 0, end) + 1
        if cut == 0:
            held = end
            continue
        nlines = buf.count(b"\n", 0, cut) + (buf[cut - 1] != 0x0A)
        with memoryview(buf) as view, view[:cut] as chunk:
            yield first_line, chunk, nlines
        first_line += nlines
        buf[: end - cut] = buf[cut:end]
        held = end - cut


def _read_trace(path: str, show: bool) -> tuple[pd.DataFrame, list]:
    frames: list[pd.DataFrame] = []
    bad: list[tuple[str, int, str]] = []
    with open(path, "rb") as f, _show(os.path.getsize(path), os.path.basename(path), show) as bar:
        for first_line, chunk, nlines in _trace_chunks(f, bar):
            _read_block(chunk, first_line, nlines, path, frames, bad)
    return _assemble(frames, path), bad


def _read_block(block: bytes | memoryview, first_line: int, nlines: int, path: str,
                frames: list[pd.DataFrame], bad: list[tuple[str, int, str]]) -> None:
    """Append the events of `block` (whole lines, the first numbered `first_line`) to
    `frames`, in line order, and its unreadable lines to `bad`.

    Arrow reads the block when every line is a trace event it can vouch for; otherwise the
    block is halved, down to `_SLOW_BYTES`, where `json.loads` reads line by line and
    `_check_event` names what is wrong. A few bad lines cost a few small slow blocks.
    """
    read = _arrow_table(block, nlines)
    if read is not None:
        table, offsets = read
        df = table.to_pandas(types_mapper=TO_PANDAS_TYPES)
        df["line"] = first_line + offsets
        frames.append(df)
        return
    block = bytes(block)  # a view of the reading buffer becomes bytes of its own
    if len(block) <= _SLOW_BYTES or nlines == 1:
        events: list[dict[str, Any]] = []
        for i, raw in enumerate(block.split(b"\n")[:nlines]):
            _slow_line(raw, path, first_line + i, events, bad)
        if events:
            frames.append(pd.DataFrame.from_records(events, columns=[*_columns_of(events), "line"]))
        return
    # cut at the start of a line near the middle (after the first line if it is longer)
    middle = block.rfind(b"\n", 0, len(block) // 2) + 1 or block.find(b"\n") + 1
    head, tail = block[:middle], block[middle:]
    nhead = head.count(b"\n")
    _read_block(head, first_line, nhead, path, frames, bad)
    _read_block(tail, first_line + nhead, nlines - nhead, path, frames, bad)


def _arrow_table(block: bytes | memoryview, nlines: int) -> tuple[pa.Table, np.ndarray] | None:
    """The events of `block` read by Arrow and the line of each (0-based in the block), or
    None unless every line is an event whose values `_slow_line` would take as they are,
    or a blank line.

    Arrow refuses a block with invalid JSON, a value of another type than the trace's
    (`_ARROW_SCHEMA`) or a key given twice. The checks here cover the rest: one row per
    non-blank line (Arrow skips blank lines, and would read two objects on one line), a
    missing or null "time", "direction" or "command" (Arrow cannot tell missing from
    null), and bytes that are not UTF-8 (Arrow does not check them).
    """
    try:
        table = pa_json.read_json(
            pa.BufferReader(block),
            read_options=pa_json.ReadOptions(block_size=_ARROW_BLOCK),
            parse_options=pa_json.ParseOptions(explicit_schema=_ARROW_SCHEMA,
                                               unexpected_field_behavior="infer"),
        )
        offsets = np.arange(nlines)
        if table.num_rows != nlines:  # blank lines?
            lines = bytes(block).split(b"\n")[:nlines]
            offsets = np.array([i for i, line in enumerate(lines) if line.strip(b" \t\r")])
            if table.num_rows != len(offsets):
                return None
        if any(table.column(k).null_count for k in _REQUIRED):
            return None
        times = table.column("time").to_numpy()
        if not (np.abs(times) < 9.2e9).all():  # inf (1e400), NaN or beyond any clock
            return None
        if np.frombuffer(block, dtype=np.uint8).max(initial=0) >= 0x80:
            table.validate(full=True)  # checks that strings are UTF-8
    except (pa.ArrowException, ValueError):
        return None
    return table, offsets


def _assemble(frames: list[pd.DataFrame], path: str) -> pd.DataFrame:
    """One finished DataFrame of the frames (already in line order)."""
    if not frames:
        df = pd.DataFrame({k: [] for k in TRACE_FIELDS})
    elif len(frames) == 1:
        df = frames[0]
    else:
        df = pd.concat(frames, ignore_index=True)
    return _finish(df, path)


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
    if not isinstance(obj["command"], str):  # "" is allowed: a note event has no command
        return "command is not a string"
    for k in ("time", *_NUMERIC_FIELDS):
        v = obj.get(k)
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
            return f"{k} is not a number: {v!r}"
    time = obj["time"]
    if time is not None and not (isinstance(time, (int, float)) and abs(time) < 9.2e9):
        return f"time is not a time in seconds since the epoch: {time!r}"
    for k in _NUMERIC_FIELDS:  # header and body fields are integers (SMPP v3.4 §3.1)
        v = obj.get(k)
        if v is not None and not (float(v).is_integer() and 0 <= v < 2**63):
            return f"{k} is not a whole number in range: {v!r}"
        if isinstance(v, float):
            obj[k] = int(v)
    return None


# --- python-smpplib DEBUG logging ---------------------------------------------------------

#: smpplib/client.py: ``self.logger.debug('>>%s (%d bytes)', binascii.b2a_hex(generated),
#: len(generated))`` and ``'<<%s (%d bytes)'`` -- under Python 3 the %s of bytes prints
#: ``b'...'``; a bare hex string is accepted too.
_SMPPLIB_RE = re.compile(r"(>>|<<)\s*(?:b'([0-9a-fA-F]*)'|([0-9a-fA-F]+))\s*\((\d+) bytes\)")
#: logging's default asctime: "2024-01-31 12:00:00,123"
_ASCTIME_RE = re.compile(r"(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(?:[,.](\d{1,6}))?")
_LOGGER_RE = re.compile(r"\bsmpp\.Client\.[\w.]+")


#: smpplib/client.py connect(): ``self.logger.info('Connecting to %s:%s...', host, port)``
_CONNECT_RE = re.compile(r"Connecting to (\S+?):(\d+)")
#: smpplib's own chatter around each PDU ("Sending submit_sm PDU", "Read deliver_sm PDU",
#: "Waiting for PDU...", "Socket timeout, listening again"): the hex lines say it all
_SMPPLIB_CHATTER = re.compile(r"(?:Sending|Read) \w+ PDU$|Waiting for PDU\.\.\.$|Socket timeout, "
                              r"listening again$|Receiver mode$")


def _log_time(text: str, tz: str) -> float:
    """The time of a log line that starts with a date and time (NaN if none or impossible)."""
    t = _ASCTIME_RE.match(text)
    if not t:
        return float("nan")
    try:
        stamp = datetime.fromisoformat(f"{t.group(1)}T{t.group(2)}")
    except ValueError:
        return float("nan")
    if t.group(3):
        stamp = stamp.replace(microsecond=int(t.group(3).ljust(6, "0")))
    if tz.lower() == "local":
        return stamp.timestamp()
    if tz.upper() == "UTC":
        return stamp.replace(tzinfo=UTC).timestamp()
    return pd.Timestamp(stamp).tz_localize(tz).timestamp()


def _read_smpplib(path: str, show: bool, tz: str) -> tuple[pd.DataFrame, list]:
    """smpplib DEBUG logging, or any application log: each PDU hex dump is one event,
    every other line of the application one note event. The instance of a client's PDUs is
    the SMSC address it logged on connecting ("Connecting to host:port...")."""
    events, lines, bad = [], [], []
    instances: dict[str, str] = {}  # logger name -> "host:port"
    last = ""  # the instance of the last connect, for the application's own lines
    with open(path, encoding="utf-8", errors="replace") as f, _show(
        os.path.getsize(path), os.path.basename(path), show
    ) as bar:
        for number, text in enumerate(f, 1):
            bar.update(len(text))
            text = text.rstrip("\n")
            if not text.strip():
                continue
            logger = _LOGGER_RE.search(text)
            name = logger.group(0) if logger else ""
            when = _log_time(text, tz)
            m = _SMPPLIB_RE.search(text)
            if m is None:
                c = _CONNECT_RE.search(text)
                if c:
                    instances[name] = last = f"{c.group(1)}:{c.group(2)}"
                if _SMPPLIB_CHATTER.search(text):
                    continue
                if math.isnan(when) and _ASCTIME_RE.match(text):
                    bad.append((path, number, f"impossible time: {text[:80]}"))
                    continue
                body = text[_ASCTIME_RE.match(text).end():].strip() if _ASCTIME_RE.match(text) else text
                events.append({"time": when, "system": "smpplib" if name else "app",
                               "instance": instances.get(name, last), "session": name,
                               "direction": "", "command": "",
                               "note": body})
                lines.append(number)
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
            if math.isnan(when) and _ASCTIME_RE.match(text):
                bad.append((path, number, f"impossible time: {text[:40]}"))
                continue
            events.append(pdu_event(
                pdu, time=when, direction="out" if m.group(1) == ">>" else "in",
                system="smpplib", session=name, instance=instances.get(name, ""),
                peer=instances.get(name, ""), raw=raw,
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


#: Requests only an ESME sends, and only an SMSC sends (SMPP v3.4 §4): the first of them
#: on a connection tells which end is the SMSC, whatever the port numbers.
_ESME_SENDS = frozenset({0x00000001, 0x00000002, 0x00000009, 0x00000004, 0x00000021, 0x00000003,
                         0x00000008, 0x00000007})
_SMSC_SENDS = frozenset({0x0000000B, 0x00000005, 0x00000102})


def _roles(raw: bytes, src: tuple[str, int], dst: tuple[str, int], ports: Sequence[int],
           known: dict[frozenset, tuple[str, int]]) -> tuple[tuple[str, int], tuple[str, int]]:
    """(client, server) of the connection carrying `raw` from `src` to `dst`."""
    key = frozenset((src, dst))
    server = known.get(key)
    if server is None:
        command = int.from_bytes(raw[4:8], "big")
        request = command & 0x7FFFFFFF
        by_esme = request in _ESME_SENDS
        by_smsc = request in _SMSC_SENDS
        if by_esme or by_smsc:
            sent_by_esme = by_esme != bool(command & 0x80000000)
            server = known[key] = dst if sent_by_esme else src
        else:  # enquire_link, unbind, generic_nack first: guess from the ports
            return _endpoints(src, dst, ports)
    return (src if server == dst else dst), server


def _capture_event(raw: bytes, time: float, src: tuple[str, int], dst: tuple[str, int],
                   ports: Sequence[int], known: dict[frozenset, tuple[str, int]]) -> dict[str, Any]:
    client, server = _roles(raw, src, dst, ports, known)
    return pdu_event(
        decode(raw), time=time, direction="out" if src == client else "in", system="pcap",
        instance=_host(server), session=f"{_host(client)}-{_host(server)}", peer=_host(server),
        raw=raw,
    )


def _read_pcap_raw(path: str, ports: Sequence[int], show: bool) -> tuple[pd.DataFrame, list]:
    from smppkit.diagnose.pcap import read_tcp_streams
    from smppkit.protocol.codec import DEFAULT_MAX_COMMAND_LENGTH, HEADER_LENGTH, Framer
    from smppkit.protocol.pdus import PDU_CLASSES

    framers: dict[tuple, Framer | None] = {}
    servers: dict[frozenset, tuple[str, int]] = {}
    undecided: dict[tuple, bytes] = {}
    events, lines, bad = [], [], []
    problems: list[tuple[int, str]] = []
    with _show(os.path.getsize(path), os.path.basename(path), show) as bar:
        for chunk in read_tcp_streams(path, problems):
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
                        events.append(_capture_event(frame, chunk.time, chunk.src, chunk.dst, ports,
                                                     servers))
                        lines.append(chunk.frame)
                    except RemoteProtocolError as exc:
                        bad.append((path, chunk.frame, f"undecodable PDU: {exc}"))
            except RemoteProtocolError as exc:
                bad.append((path, chunk.frame, f"stream cannot be framed: {exc}"))
                framers[key] = None
    bad += [(path, frame, reason) for frame, reason in problems]
    df = pd.DataFrame.from_records(events, columns=list(TRACE_FIELDS))
    df["line"] = lines
    return _finish(df, path), bad


def _read_pcapng(path: str, ports: Sequence[int], show: bool) -> tuple[pd.DataFrame, list]:
    """pcapng: tshark rewrites it as classic pcap, which `_read_pcap_raw` reads."""
    import tempfile

    tshark = shutil.which("tshark")
    if tshark is None:
        raise TsharkNotFound("reading pcapng needs tshark on PATH (apt install tshark), or "
                             "convert the file first: editcap -F pcap in.pcapng out.pcap")
    with tempfile.TemporaryDirectory() as tmp:
        classic = os.path.join(tmp, "capture.pcap")
        proc = subprocess.run([tshark, "-r", path, "-F", "pcap", "-w", classic],
                              capture_output=True, text=True, check=False)
        if not os.path.exists(classic):
            raise ValueError(f"{path}: tshark cannot read it: "
                             f"{(proc.stderr.strip().splitlines() or ['?'])[-1]}")
        df, bad = _read_pcap_raw(classic, ports, show)
    if proc.returncode != 0:  # e.g. "cut short in the middle of a packet": read to the cut
        bad.append((path, 0, (proc.stderr.strip().splitlines() or ["tshark failed"])[-1]))
    df["source_file"] = pd.array([path] * len(df), dtype="string")
    return df, [(path, n, reason) for _, n, reason in bad]


def _read_pcap_tshark(path: str, ports: Sequence[int]) -> tuple[pd.DataFrame, list]:
    tshark = shutil.which("tshark")
    if tshark is None:
        raise TsharkNotFound("tshark not found on PATH: install it (apt install tshark) or "
                             "use format='pcap-raw' for classic pcap files")
    # without sequence analysis tshark dissects retransmitted segments too (with it, a PDU
    # whose first copy is not in the capture would be lost); the copies are dropped below
    cmd = [tshark, "-r", path, "-n", "-T", "json", "-x", "--no-duplicate-keys",
           "-o", "tcp.analyze_sequence_numbers:FALSE",
           "-j", "frame ip ipv6 tcp smpp", "-Y", "smpp"]
    for port in ports:
        cmd[1:1] = ["-d", f"tcp.port=={int(port)},smpp"]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    events, lines, bad = [], [], []
    try:
        packets = json.loads(proc.stdout or "[]")
    except ValueError:
        packets = []
    if proc.returncode != 0:
        reason = (proc.stderr.strip().splitlines() or ["tshark failed"])[-1]
        if not packets and "cut short" not in reason:
            raise ValueError(f"{path}: tshark cannot read it: {reason}")
        bad.append((path, 0, reason))
    seen: set[tuple[str, bytes]] = set()  # (connection direction, PDU bytes)
    servers: dict[frozenset, tuple[str, int]] = {}
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
                raw = bytes.fromhex(item[0])
                copy = (f"{src}-{dst}", raw)  # a retransmission carries the same bytes
                if copy in seen:
                    continue
                seen.add(copy)
                events.append(_capture_event(raw, time, src, dst, ports, servers))
                lines.append(number)
            except (RemoteProtocolError, ValueError) as exc:
                bad.append((path, number, f"undecodable PDU: {exc}"))
    df = pd.DataFrame.from_records(events, columns=list(TRACE_FIELDS))
    df["line"] = lines
    return _finish(df, path), bad


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) else value
