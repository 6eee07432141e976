"""Vectorised readings of plain message ids, for the log readers and analyses.

`smppkit.receipts.message_id_key` reads one id at a time; a million-event log has hundreds of
thousands of distinct ids, and calling it (a regex or two, an `int`, a `str`) for each costs
seconds. Almost every real id is "plain": ASCII hex digits, perhaps after a ``0x``. This
module reads all plain ids at once with numpy; the callers send every other id (spaces,
letters beyond f, non-ASCII, longer than `MAX_DIGITS` digits) through the scalar function,
so results are exactly those of the scalar function.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

__all__ = ["MAX_DIGITS", "plain_ids"]

#: Longest digit string read here: 16**15 < 2**63, so every value fits in int64.
MAX_DIGITS = 15
_WIDTH = 2 + MAX_DIGITS
_HEX_VALUE = np.full(256, 255, dtype=np.uint8)
for _i, _c in enumerate(b"0123456789abcdef"):
    _HEX_VALUE[_c] = _i
for _i, _c in enumerate(b"ABCDEF", 10):
    _HEX_VALUE[_c] = _i


def plain_ids(ids: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Which ids are plain, and their readings.

    Args:
        ids: a 1-d sequence of str (no missing values), or an Arrow string array (its
            nulls are not plain).

    Returns:
        ``(plain, prefixed, digits, hex_value, dec_value)``, arrays as long as `ids`.
        ``plain``: the id is ``(0[xX])?[0-9A-Fa-f]{1,15}`` exactly (no spaces). For plain
        ids: ``prefixed`` (it starts with 0x/0X), ``digits`` (no prefix and only 0-9),
        ``hex_value`` (the digits after any prefix read as hex) and ``dec_value`` (the
        same read as decimal, where ``digits``). Values of other ids are meaningless.
    """
    if isinstance(ids, (pa.Array, pa.ChunkedArray)):
        return _plain_arrow(ids)
    u = np.asarray(ids, dtype=object)
    n = len(u)
    if n == 0:
        return _read(np.zeros(0, np.uint8), np.zeros(0, np.int64), np.zeros(0, np.int64))
    lens = np.fromiter(map(len, u), dtype=np.int64, count=n)
    cand = (lens >= 1) & (lens <= _WIDTH) & np.fromiter(map(str.isascii, u), dtype=bool, count=n)
    rows = np.flatnonzero(cand)
    text = "\n".join(u[rows])
    if text.count("\n") != max(len(rows) - 1, 0):  # an id holds a newline: leave all
        rows = rows[:0]
        text = ""
    starts = np.zeros(len(rows), dtype=np.int64)
    np.cumsum(lens[rows][:-1] + 1, out=starts[1:])
    return _scatter(n, rows, *_read(np.frombuffer(text.encode("ascii"), dtype=np.uint8),
                                    starts, lens[rows]))


def _plain_arrow(ids: pa.Array | pa.ChunkedArray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
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
    rows = np.flatnonzero(valid & (lens >= 1) & (lens <= _WIDTH))
    return _scatter(n, rows, *_read(data, offsets[rows], lens[rows]))


def _scatter(n: int, rows: np.ndarray, *readings: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Readings of the candidate `rows` placed into arrays for all `n` ids."""
    out = []
    for r in readings:
        full = np.zeros(n, dtype=r.dtype)
        full[rows] = r
        out.append(full)
    return tuple(out)  # type: ignore[return-value]


def _read(data: np.ndarray, starts: np.ndarray, ln: np.ndarray
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Readings of the ids at data[starts : starts + ln] (each 1 to _WIDTH bytes long)."""
    m = len(starts)
    if m == 0:
        empty = np.zeros(0, dtype=bool)
        return empty, empty, empty, np.zeros(0, np.int64), np.zeros(0, np.int64)
    pad = 16  # room to read 16 bytes before and after any id
    buf = np.concatenate([np.zeros(pad, np.uint8), data, np.zeros(pad, np.uint8)])
    first, second = buf[starts + pad], buf[starts + pad + 1]
    pre = (ln >= 3) & (first == ord("0")) & ((second == ord("x")) | (second == ord("X")))
    body_len = ln - 2 * pre
    # digit j of a 15-wide window that ends where the body ends: right-aligned, so the
    # bytes before a short body count as leading zeros
    end = starts + ln + pad
    hv = np.zeros(m, dtype=np.int64)
    dv = np.zeros(m, dtype=np.int64)
    hexdigits = np.ones(m, dtype=bool)
    decdigits = np.ones(m, dtype=bool)
    for j in range(MAX_DIGITS):  # most significant first
        v = _HEX_VALUE[buf[end - (MAX_DIGITS - j)]]
        v[body_len < MAX_DIGITS - j] = 0
        hexdigits &= v < 16
        decdigits &= v < 10
        hv *= 16
        hv += v
        dv *= 10
        dv += v
    ok = (body_len >= 1) & (body_len <= MAX_DIGITS) & hexdigits
    dig = ok & ~pre & decdigits
    return ok, pre & ok, dig, hv, dv
