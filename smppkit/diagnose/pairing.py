"""Pair receipts with the submit_sm_resp that gave their message id: the one routine the
analyses and the receipt doctor share.

The resp's ``message_id`` is compared with the receipt's id (receipted_message_id TLV, else
the text's ``id:``) under these rules, tried in order, each receipt taking the first
eligible resp with its key; a later rule only sees the receipts the earlier ones left:

============== ===============================================================
rule           resp id ~ receipt id
============== ===============================================================
exact          equal after stripping spaces and lower-casing
same-number    equal as hex numbers (zero padding or case differ)
hex-to-decimal resp id read as hex == receipt id read as decimal ("1a" ~ "26")
decimal-to-hex resp id read as decimal == receipt id read as hex ("26" ~ "1a")
============== ===============================================================

The last two can pair unrelated messages when ids are short numbers (resp "10" and another
message's receipt "16"), which is why they come last.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from smppkit.sms.ids import id_keys

__all__ = ["FORMS", "RULES", "id_readings", "pair_ids"]

#: (rule, reading of the resp id, reading of the receipt id); readings index `id_keys`:
#: 0 text, 1 hex, 2 decimal.
RULES: tuple[tuple[str, int, int], ...] = (
    ("exact", 0, 0), ("same-number", 1, 1), ("hex-to-decimal", 1, 2), ("decimal-to-hex", 2, 1))
#: rule -> (form of the resp ids, form of the receipt ids)
FORMS: dict[str, tuple[str, str]] = {
    "exact": ("string", "string"), "same-number": ("hex", "hex"),
    "hex-to-decimal": ("hex", "decimal"), "decimal-to-hex": ("decimal", "hex"),
}


def id_readings(text: str) -> tuple[str | None, int | None, int | None]:
    """(normalised text, hex reading, decimal reading) of one id: the rules' definitions."""
    s = text.strip().lower()
    if not s:
        return None, None, None
    body = s[2:] if s.startswith("0x") else s
    try:
        hex_value = int(body, 16) if body and "_" not in body else None
    except ValueError:
        hex_value = None
    return s, hex_value, (int(s) if s.isdigit() and s.isascii() else None)


def pair_ids(resp_ids: pd.Series, receipt_ids: pd.Series, eligible: np.ndarray | None = None
             ) -> tuple[np.ndarray, np.ndarray]:
    """For each receipt id, the position of its resp in `resp_ids` and the rule that paired it.

    Args:
        resp_ids: submit_sm_resp message ids (str; NA for none).
        receipt_ids: receipt ids (str; NA for none).
        eligible: which resps may be paired (e.g. command_status 0); default all with an id.

    Returns:
        ``(owner, rule)``: int64 positions (-1: no resp) and the rule names (None: unpaired).
    """
    owner = np.full(len(receipt_ids), -1, dtype="int64")
    rule = np.full(len(receipt_ids), None, dtype=object)
    if not len(resp_ids) or not len(receipt_ids):
        return owner, rule
    ok = resp_ids.notna().to_numpy() if eligible is None else eligible & resp_ids.notna().to_numpy()
    s_keys, r_keys = id_keys(resp_ids, receipt_ids, read_one=id_readings)
    for name, si, ri in RULES:
        free = owner < 0
        if not free.any():
            break
        lkey, rkey = s_keys[si], r_keys[ri]
        lrows = np.flatnonzero(ok & (lkey != -1))
        rrows = np.flatnonzero(free & (rkey != -1))
        if len(lrows) == 0 or len(rrows) == 0:
            continue
        codes, uniques = pd.factorize(np.concatenate([lkey[lrows], rkey[rrows]]))
        lcodes = codes[: len(lrows)]
        once = np.flatnonzero(~pd.Series(lcodes).duplicated().to_numpy())
        first = np.full(len(uniques), -1, dtype="int64")
        first[lcodes[once]] = lrows[once]
        hit = first[codes[len(lrows):]]
        matched = hit >= 0
        owner[rrows[matched]] = hit[matched]
        rule[rrows[matched]] = name
    return owner, rule
