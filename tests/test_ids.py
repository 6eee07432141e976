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
from smppkit.sms.ids import id_keys, plain_ids
from smppkit.sms.receipts import message_id_key

_HEXISH = st.text(alphabet="0123456789abcdefABCDEFxX gG_-\n\u00e9\u0663", max_size=20)

def _scalar_key(message_id: object) -> object:
    return None if message_id is None else str(message_id_key(message_id))


def _reference(ids):
    """The readings `plain_ids` documents, one id at a time: (hex_ok, prefixed, dec_ok,
    hex value, decimal value)."""
    out = []
    for i in ids:
        h = re.fullmatch(r"(0[xX])?([0-9A-Fa-f]{1,16})", i)
        d = re.fullmatch(r"[0-9]{1,19}", i)
        out.append((h is not None, h is not None and h.group(1) is not None, d is not None,
                    int(h.group(2), 16) if h else None, int(i) if d else None))
    return out


def _check(got, want, exact=True):
    for i, (hex_ok, prefixed, dec_ok, hv, dv) in enumerate(want):
        if exact:
            assert (bool(got.hex_ok[i]), bool(got.dec_ok[i])) == (hex_ok, dec_ok)
        if got.hex_ok[i]:
            assert hex_ok and bool(got.prefixed[i]) == prefixed and int(got.hex_value[i]) == hv
        if got.dec_ok[i]:
            assert dec_ok and int(got.dec_value[i]) == dv


_LONG = st.from_regex(r"(0[xX])?[0-9a-fA-F]{1,21}|[0-9]{15,21}", fullmatch=True)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_HEXISH, _LONG, st.text(max_size=6)), max_size=40),
       st.integers(0, 3))
def test_plain_ids_match_their_definition(ids, offset):
    want = _reference(ids)
    arrays = (pa.array(["pad"] * offset + ids, type=pa.large_string())[offset:],
              pa.chunked_array([pa.array(ids, type=pa.string())], type=pa.string()))
    for arr in arrays:  # Arrow input: exact
        _check(plain_ids(arr), want)
    # str input: may leave ids to the caller (all of them when one holds a newline)
    _check(plain_ids(np.array(ids, dtype=object)), want, exact=not any("\n" in i for i in ids))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), _HEXISH, _LONG), max_size=40))
def test_id_keys_equal_message_id_key_one_by_one(ids):
    keys = logs._id_keys(pd.Series(ids, dtype="string"))
    assert keys.dtype == "string"
    assert [None if pd.isna(k) else k for k in keys] == [_scalar_key(i) for i in ids]


def test_plain_ids_reads_the_providers_ids():
    r = plain_ids(pa.array(["1a", "0x1A", "26", None, "zz", "0B00000700000001",
                            "792633564481978369", "FFFFFFFFFFFFFFFF", "12345678901234567890"]))
    assert r.hex_ok.tolist() == [True, True, True, False, False, True, False, True, False]
    assert r.dec_ok.tolist() == [False, False, True, False, False, False, True, False, False]
    assert r.prefixed.tolist()[:3] == [False, True, False]
    assert r.hex_value.tolist()[:3] == [26, 26, 38] and r.dec_value[2] == 26
    assert int(r.hex_value[5]) == int(r.dec_value[6]) == 792633564481978369
    assert int(r.hex_value[7]) == 2**64 - 1
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
       st.lists(st.one_of(st.none(), _HEXISH, _LONG), max_size=12))
def test_analysis_id_keys_pair_ids_as_the_rules_say(left, right):
    from smppkit.diagnose.pairing import id_readings

    keys = id_keys(pd.Series(left, dtype="string"), pd.Series(right, dtype="string"),
                   read_one=id_readings)
    ids = left + right
    for kind in range(3):
        codes = np.concatenate([keys[0][kind], keys[1][kind]])
        readings = [_python_reading(i, kind) for i in ids]
        for a in range(len(ids)):
            assert (codes[a] == -1) == (readings[a] is None)
            for b in range(len(ids)):
                if readings[a] is not None and readings[b] is not None:
                    assert (codes[a] == codes[b]) == (readings[a] == readings[b])
