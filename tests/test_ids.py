"""The vectorised id readings agree with the scalar functions they stand in for."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smppkit import logs
from smppkit._ids import plain_ids
from smppkit.receipts import message_id_key

_HEXISH = st.text(alphabet="0123456789abcdefABCDEFxX gG_-\n\u00e9\u0663", max_size=20)
_IDS = st.lists(st.one_of(_HEXISH, st.from_regex(r"(0[xX])?[0-9a-fA-F]{1,17}", fullmatch=True),
                          st.text(max_size=6)), max_size=40)


def _scalar_key(message_id: object) -> object:
    return None if message_id is None else str(message_id_key(message_id))


def _reference(ids):
    """The readings `plain_ids` documents, one id at a time."""
    out = []
    for i in ids:
        m = re.fullmatch(r"(0[xX])?([0-9A-Fa-f]{1,15})", i)
        if m is None:
            out.append((False, None, None, None, None))
            continue
        body = m.group(2)
        digits = m.group(1) is None and body.isdigit()
        out.append((True, m.group(1) is not None, digits, int(body, 16),
                    int(body) if digits else None))
    return out


@settings(max_examples=300, deadline=None)
@given(_IDS, st.integers(0, 3))
def test_plain_ids_match_their_definition(ids, offset):
    want = _reference(ids)
    arrays = (pa.array(["pad"] * offset + ids, type=pa.large_string())[offset:],
              pa.chunked_array([pa.array(ids, type=pa.string())], type=pa.string()))
    for arr in arrays:  # Arrow input: exact
        got = plain_ids(arr)
        assert got[0].tolist() == [w[0] for w in want]
        for i, w in enumerate(want):
            if w[0]:
                assert (got[1][i], got[2][i], got[3][i]) == w[1:4]
                assert not w[2] or got[4][i] == w[4]
    got = plain_ids(np.array(ids, dtype=object))  # str input: may leave ids to the caller
    for i, w in enumerate(want):
        assert not got[0][i] or (w[0] and (got[1][i], got[2][i], got[3][i]) == w[1:4])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), _HEXISH,
                          st.from_regex(r"(0[xX])?[0-9a-fA-F]{1,17}", fullmatch=True)),
                max_size=40))
def test_id_keys_equal_message_id_key_one_by_one(ids):
    keys = logs._id_keys(pd.Series(ids, dtype="string"))
    assert keys.dtype == "string"
    assert [None if pd.isna(k) else k for k in keys] == [_scalar_key(i) for i in ids]


def test_plain_ids_reads_hex_and_decimal():
    plain, prefixed, digits, hex_value, dec_value = plain_ids(
        pa.array(["1a", "0x1A", "26", None, "zz", "1234567890abcdef"]))
    assert plain.tolist() == [True, True, True, False, False, False]
    assert prefixed.tolist()[:3] == [False, True, False]
    assert digits.tolist()[:3] == [False, False, True]
    assert hex_value.tolist()[:3] == [26, 26, 38] and dec_value[2] == 26
    with pytest.raises(TypeError, match="Arrow string array"):
        plain_ids(pa.array([1, 2]))


def _python_reading(text, kind):
    """The id_match rules' readings, straight from the analysis module docstring."""
    if text is None or not text.strip():
        return None
    s = text.strip().lower()
    if kind == 0:
        return s
    if kind == 1:
        body = s[2:] if s.startswith("0x") else s
        try:
            return int(body, 16) if body and "_" not in body else None
        except ValueError:
            return None
    return int(s) if s.isdigit() and s.isascii() else None


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), _HEXISH, st.sampled_from([
    "FFFFFFFFFFFFFFFFFFFF", " 1A ", "99999999999999999999", "FFFFFFFFFFFFFFF",
    "fffffffffffffff", "0x7ffffffffffffff", "400000000000000", "0400000000000000"])),
                max_size=12),
       st.lists(st.one_of(st.none(), _HEXISH), max_size=12))
def test_analysis_id_keys_pair_ids_as_the_rules_say(left, right):
    from smppkit import analysis

    keys = analysis._id_keys(pd.Series(left, dtype="string"), pd.Series(right, dtype="string"))
    ids = left + right
    for kind in range(3):
        codes = np.concatenate([keys[0][kind], keys[1][kind]])
        readings = [_python_reading(i, kind) for i in ids]
        for a in range(len(ids)):
            assert (codes[a] == -1) == (readings[a] is None)
            for b in range(len(ids)):
                if readings[a] is not None and readings[b] is not None:
                    assert (codes[a] == codes[b]) == (readings[a] == readings[b])
