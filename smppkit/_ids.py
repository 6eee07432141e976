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
        ids: a 1-d sequence of str (no missing values).

    Returns:
        ``(plain, prefixed, digits, hex_value, dec_value)``, arrays as long as `ids`.
        ``plain``: the id is ``(0[xX])?[0-9A-Fa-f]{1,15}`` exactly (no spaces). For plain
        ids: ``prefixed`` (it starts with 0x/0X), ``digits`` (no prefix and only 0-9),
        ``hex_value`` (the digits after any prefix read as hex) and ``dec_value`` (the
        same read as decimal, where ``digits``). Values of other ids are meaningless.
    """
    u = np.asarray(ids, dtype=object)
    n = len(u)
    plain = np.zeros(n, dtype=bool)
    prefixed = np.zeros(n, dtype=bool)
    digits = np.zeros(n, dtype=bool)
    hex_value = np.zeros(n, dtype=np.int64)
    dec_value = np.zeros(n, dtype=np.int64)
    if n == 0:
        return plain, prefixed, digits, hex_value, dec_value
    lens = np.fromiter(map(len, u), dtype=np.int64, count=n)
    cand = (lens >= 1) & (lens <= _WIDTH) & np.fromiter(map(str.isascii, u), dtype=bool, count=n)
    rows = np.flatnonzero(cand)
    if len(rows) == 0:
        return plain, prefixed, digits, hex_value, dec_value
    text = "\n".join(u[rows])
    if text.count("\n") != len(rows) - 1:  # an id holds a newline: leave all to the caller
        return plain, prefixed, digits, hex_value, dec_value
    buf = np.frombuffer(text.encode("ascii") + b"\n" * 32, dtype=np.uint8)
    ln = lens[rows]
    starts = np.zeros(len(rows), dtype=np.int64)
    np.cumsum(ln[:-1] + 1, out=starts[1:])
    first, second = buf[starts], buf[starts + 1]
    pre = (ln >= 3) & (first == ord("0")) & ((second == ord("x")) | (second == ord("X")))
    body_len = ln - 2 * pre
    # 16 bytes of each body, read as two 8-byte words through an overlapping view
    words = np.ndarray((len(buf) - 7,), dtype=np.uint64, buffer=buf, strides=(1,))
    body = words[(starts + 2 * pre)[:, None] + np.array([0, 8])].view(np.uint8)
    value = _HEX_VALUE[body[:, :MAX_DIGITS]]
    inside = np.arange(MAX_DIGITS) < body_len[:, None]
    ok = (body_len >= 1) & (body_len <= MAX_DIGITS) & np.all((value < 16) | ~inside, axis=1)
    dig = ok & ~pre & np.all((value < 10) | ~inside, axis=1)
    hv = np.zeros(len(rows), dtype=np.int64)
    dv = np.zeros(len(rows), dtype=np.int64)
    for j in range(int(body_len[ok].max()) if ok.any() else 0):
        v, inj = value[:, j].astype(np.int64), inside[:, j]
        np.multiply(hv, 16, out=hv, where=inj)
        np.add(hv, v, out=hv, where=inj)
        np.multiply(dv, 10, out=dv, where=inj)
        np.add(dv, v, out=dv, where=inj)
    plain[rows], prefixed[rows], digits[rows] = ok, pre & ok, dig
    hex_value[rows], dec_value[rows] = hv, dv
    return plain, prefixed, digits, hex_value, dec_value
