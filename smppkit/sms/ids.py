"""Vectorised readings of plain message ids, for the log readers and analyses.

`smppkit.receipts.message_id_key` reads one id at a time; a million-event log has hundreds of
thousands of distinct ids, and calling it (a regex or two, an `int`, a `str`) for each costs
seconds. Almost every real id is "plain": ASCII hex digits, perhaps after a ``0x``, like the
provider's 16-digit hex submit_sm_resp ids and their 18-19 digit decimal receipt ids. This
module reads all plain ids at once with numpy; the callers send every other id (spaces,
letters beyond f, non-ASCII, too many digits) through the scalar function, so results are
exactly those of the scalar function.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["MAX_DEC_DIGITS", "MAX_HEX_DIGITS", "IdReadings", "id_keys", "plain_ids"]

#: Longest hex reading: 16 digits, 16**16 = 2**64 (uint64).
MAX_HEX_DIGITS = 16
#: Longest decimal reading: 19 digits, 10**19 < 2**64 (uint64).
MAX_DEC_DIGITS = 19
_WIDTH = 2 + MAX_HEX_DIGITS  # longest id that can have a reading (a 0x prefix counts)
_HEX_VALUE = np.full(256, 255, dtype=np.uint8)
for _i, _c in enumerate(b"0123456789abcdef"):
    _HEX_VALUE[_c] = _i
for _i, _c in enumerate(b"ABCDEF", 10):
    _HEX_VALUE[_c] = _i


class IdReadings(NamedTuple):
    """Readings of each id (arrays as long as the ids). Values are meaningless where the
    matching flag is False."""

    #: the id is ``(0[xX])?[0-9A-Fa-f]{1,16}`` exactly (no spaces)
    hex_ok: np.ndarray
    #: it starts with 0x or 0X (where hex_ok)
    prefixed: np.ndarray
    #: the id is ``[0-9]{1,19}`` exactly
    dec_ok: np.ndarray
    #: the digits after any prefix read as hex (uint64)
    hex_value: np.ndarray
    #: the digits read as decimal (uint64)
    dec_value: np.ndarray


def plain_ids(ids: Any) -> IdReadings:
    """Which ids are plain, and their readings.

    Args:
        ids: a 1-d sequence of str (no missing values), or an Arrow string array (its
            nulls are not plain).
    """
    if isinstance(ids, (pa.Array, pa.ChunkedArray)):
        return _plain_arrow(ids)
    u = np.asarray(ids, dtype=object)
    n = len(u)
    if n == 0:
        return _read(np.zeros(0, np.uint8), np.zeros(0, np.int64), np.zeros(0, np.int64))
    lens = np.fromiter(map(len, u), dtype=np.int64, count=n)
    width = max(_WIDTH, MAX_DEC_DIGITS)
    cand = (lens >= 1) & (lens <= width) & np.fromiter(map(str.isascii, u), dtype=bool, count=n)
    rows = np.flatnonzero(cand)
    text = "\n".join(u[rows])
    if text.count("\n") != max(len(rows) - 1, 0):  # an id holds a newline: leave all
        rows = rows[:0]
        text = ""
    starts = np.zeros(len(rows), dtype=np.int64)
    np.cumsum(lens[rows][:-1] + 1, out=starts[1:])
    return _scatter(n, rows, _read(np.frombuffer(text.encode("ascii"), dtype=np.uint8),
                                   starts, lens[rows]))


def _plain_arrow(ids: pa.Array | pa.ChunkedArray) -> IdReadings:
    """`plain_ids` straight from the offsets and bytes of an Arrow string array."""
    arr = ids.combine_chunks() if isinstance(ids, pa.ChunkedArray) else ids
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        raise TypeError(f"plain_ids: an Arrow string array, not {arr.type}")
    n = len(arr)
    width = 8 if pa.types.is_large_string(arr.type) else 4
    bufs = arr.buffers()
    offsets = np.frombuffer(bufs[1], dtype=np.int64 if width == 8 else np.int32,
                            count=n + 1, offset=arr.offset * width).astype(np.int64)
    data = np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None else np.zeros(0, np.uint8)
    lens = np.diff(offsets)
    valid = arr.is_valid().to_numpy(zero_copy_only=False)
    rows = np.flatnonzero(valid & (lens >= 1) & (lens <= max(_WIDTH, MAX_DEC_DIGITS)))
    return _scatter(n, rows, _read(data, offsets[rows], lens[rows]))


def _scatter(n: int, rows: np.ndarray, readings: IdReadings) -> IdReadings:
    """Readings of the candidate `rows` placed into arrays for all `n` ids."""
    out = []
    for r in readings:
        full = np.zeros(n, dtype=r.dtype)
        full[rows] = r
        out.append(full)
    return IdReadings(*out)


def _read(data: np.ndarray, starts: np.ndarray, ln: np.ndarray) -> IdReadings:
    """Readings of the ids at data[starts : starts + ln] (each 1 to 19 bytes long)."""
    m = len(starts)
    if m == 0:
        empty = np.zeros(0, dtype=bool)
        return IdReadings(empty, empty, empty, np.zeros(0, np.uint64), np.zeros(0, np.uint64))
    pad = 32  # room to read before and after any id
    buf = np.concatenate([np.zeros(pad, np.uint8), data, np.zeros(pad, np.uint8)])
    first, second = buf[starts + pad], buf[starts + pad + 1]
    pre = (ln >= 3) & (first == ord("0")) & ((second == ord("x")) | (second == ord("X")))
    body_len = ln - 2 * pre
    # digit j of a window that ends where the body ends: right-aligned, so the bytes
    # before a short body count as leading zeros (uint64 arithmetic wraps on overflow;
    # such values are flagged as not read)
    end = starts + ln + pad
    window = max(MAX_HEX_DIGITS, MAX_DEC_DIGITS)
    hv = np.zeros(m, dtype=np.uint64)
    dv = np.zeros(m, dtype=np.uint64)
    hexdigits = np.ones(m, dtype=bool)
    decdigits = np.ones(m, dtype=bool)
    for j in range(window):  # most significant first
        v = _HEX_VALUE[buf[end - (window - j)]]
        v[body_len < window - j] = 0
        hexdigits &= v < 16
        decdigits &= v < 10
        hv *= np.uint64(16)
        hv += v
        dv *= np.uint64(10)
        dv += v
    hex_ok = (body_len >= 1) & (body_len <= MAX_HEX_DIGITS) & hexdigits
    dec_ok = ~pre & (body_len >= 1) & (body_len <= MAX_DEC_DIGITS) & decdigits
    return IdReadings(hex_ok, pre & hex_ok, dec_ok, hv, dv)


def id_keys(*columns: Any, read_one: Callable[[str], tuple[Any, Any, Any]]
            ) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Integer keys of the ids in `columns` (pandas Series of str), comparable across
    them: for each column (normalised text, hex reading, decimal reading) as int64 arrays,
    -1 where there is none.

    `read_one(id)` defines the three readings (text, int, int, each None when there is none)
    and is called for every id that is not plain; for plain ids (hex digits, perhaps after
    0x) it must agree with: the lower-cased id, `hex_value`, and `dec_value` where
    `dec_ok` (else None). Plain readings below 2**63 are the numbers themselves, and the
    text key packs the hex value with the length and the 0x (two plain ids have the same
    lower-cased text exactly when these agree). Texts, and numbers outside [0, 2**63)
    (keyed by their hex digits), get codes below -1 shared by all the columns.
    """
    arr = pa.concat_arrays([
        pa.chunked_array(pa.array(c.astype("string"), type=pa.large_string())).combine_chunks()
        for c in columns
    ]) if columns else pa.array([], type=pa.large_string())
    r = plain_ids(arr)
    # 17-19 digits without a leading zero: the hex reading is at least 16**16, keyed by its
    # digits, which are the id itself
    zero = pc.fill_null(pc.starts_with(arr, "0"), False).to_numpy(zero_copy_only=False)
    long_digits = r.dec_ok & ~r.hex_ok & ~zero
    valid = arr.is_valid().to_numpy(zero_copy_only=False)
    slow = np.flatnonzero(valid & ~(r.hex_ok | long_digits))
    readings = [read_one(t) for t in arr.take(slow).to_pylist()]
    hexs, decs = _number_keys(arr, r, long_digits, slow, readings)
    texts = _text_keys(arr, r, valid, slow, [t for t, _, _ in readings])
    bounds = np.cumsum([0, *(len(c) for c in columns)])
    return [(texts[i:j], hexs[i:j], decs[i:j])
            for i, j in zip(bounds, bounds[1:], strict=False)]


def _number_keys(arr: pa.Array, r: IdReadings, long_digits: np.ndarray, slow: np.ndarray,
                 readings: list[tuple[Any, Any, Any]]) -> tuple[np.ndarray, np.ndarray]:
    """The hex and decimal reading keys of `id_keys`."""
    hexs = np.full(len(arr), -1, dtype=np.int64)
    decs = np.full(len(arr), -1, dtype=np.int64)
    big_rows: list[tuple[np.ndarray, np.ndarray]] = []  # (keys, rows) of numbers >= 2**63
    big_digits: list[pa.Array] = []  # their hex digits
    for keys, ok, value in ((hexs, r.hex_ok, r.hex_value), (decs, r.dec_ok, r.dec_value)):
        small = ok & (value < 2**63)
        keys[small] = value[small].astype(np.int64)
        rows = np.flatnonzero(ok & ~small)
        big_rows.append((keys, rows))
        big_digits.append(pa.array([format(int(v), "x") for v in value[rows]], pa.large_string()))
    rows = np.flatnonzero(long_digits)
    big_rows.append((hexs, rows))
    big_digits.append(arr.take(rows))
    for keys, at in ((hexs, 1), (decs, 2)):  # the ids read one by one
        values = [reading[at] for reading in readings]
        small = np.array([v is not None and 0 <= v < 2**63 for v in values], dtype=bool)
        big = np.array([v is not None for v in values], dtype=bool) & ~small
        keys[slow[small]] = [v for v, s in zip(values, small, strict=True) if s]
        big_rows.append((keys, slow[big]))
        big_digits.append(pa.array([format(v, "x") for v, b in zip(values, big, strict=True) if b],
                                   pa.large_string()))
    codes = _codes(pa.concat_arrays(big_digits))
    start = 0
    for keys, rows in big_rows:
        keys[rows] = -2 - codes[start:start + len(rows)]
        start += len(rows)
    return hexs, decs


def _text_keys(arr: pa.Array, r: IdReadings, valid: np.ndarray, slow: np.ndarray,
               texts_slow: list[str | None]) -> np.ndarray:
    """The normalised-text keys of `id_keys`: the id itself when it needs no normalising,
    else `read_one`'s text, which may itself be a plain id ("0 " -> "0")."""
    lengths = pc.fill_null(pc.binary_length(arr), 0).to_numpy(zero_copy_only=False)
    if len(slow):
        again = plain_ids(np.array([t or "" for t in texts_slow], dtype=object))
        r = IdReadings(*(np.array(x) for x in r))
        for mine, theirs in zip(r, again, strict=True):
            mine[slow] = theirs
        lengths = lengths.copy()
        lengths[slow] = [len(t or "") for t in texts_slow]
    compact = valid & r.hex_ok & (r.hex_value < 2**58)
    texts = np.full(len(arr), -1, dtype=np.int64)
    texts[compact] = (r.hex_value[compact].astype(np.int64) * 32
                      + (lengths - 2 * r.prefixed)[compact] * 2 + r.prefixed[compact])
    rest = valid & ~compact  # texts keyed by their value
    if rest.any():
        by_value = pc.ascii_lower(arr.filter(pa.array(rest)))
        if len(slow):
            is_slow = np.zeros(len(arr), dtype=bool)
            is_slow[slow] = True
            by_value = pc.replace_with_mask(
                by_value, pa.array(is_slow[rest]),
                pa.array([t for t, c in zip(texts_slow, compact[slow], strict=True) if not c],
                         pa.large_string()))
        codes = _codes(by_value)
        texts[rest] = np.where(codes < 0, -1, -2 - codes)
    return texts


def _codes(values: pa.Array) -> np.ndarray:
    """Dictionary codes of `values` (int64, -1 for null)."""
    indices = pc.dictionary_encode(values).indices
    return pc.fill_null(indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
