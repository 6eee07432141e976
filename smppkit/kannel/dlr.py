"""What Kannel did with each receipt: dlr-url ``%d`` values in words, and the DLR lookups
bearerbox.log records (stored under one id, looked up under another: "not found")."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from smppkit.sms.meanings import DLR_MASK_BITS

__all__ = ["dlr_lookups", "dlr_type_name"]


def dlr_type_name(d: int | None) -> str:
    """A dlr-url ``%d`` value in words: its dlr-mask bits' names, e.g. 34 -> "failure+expired".

    The names are those of `smppkit.meanings.DLR_MASK_BITS`; Kannel 1.4.5 reports an EXPIRED
    receipt as 34 (2+32), measured against the simulator. 0 or None gives "".
    """
    if not d:
        return ""
    names = [b.name for b in DLR_MASK_BITS if d & b.bit]
    rest = d & ~sum(b.bit for b in DLR_MASK_BITS)
    return "+".join(names + ([str(rest)] if rest else []))


def dlr_lookups(events: Iterable[Mapping[str, Any]]) -> Any:
    """How Kannel matched each receipt to a pending message, from bearerbox.log events.

    Kannel stores a pending DLR under the submit_sm_resp id as *it* reads it (msg-id-type)
    and looks a receipt up under the receipt id as it reads that; the two must be the same
    string. One row per lookup ("Looking for DLR" at log-level 0), in log order; the
    "not found" and "Ignoring ... because of mask" lines that follow a lookup in the same
    thread decide its outcome.

    Args:
        events: `smppkit.kannel_logs.read_bearerbox_log` events (or `KannelLab.events()[0]`).

    Returns:
        A DataFrame with columns ``destination_addr``, ``stored_id`` (the pending DLR the
        receipt matched, else the oldest one still pending for that destination, as Kannel
        wrote it; "" if none), ``receipt_id`` (the id Kannel looked up), ``d`` (the DLR
        type, Int64), ``found`` (False when Kannel logged "DLR ... not found") and
        ``outcome``: "matched", "not found" or "ignored (dlr-mask N)" -- found, then
        deleted unreported because its type is not in the message's dlr-mask.
    """
    import pandas as pd

    pending: dict[str, list[str]] = {}  # destination -> ids stored, oldest first
    rows: list[dict[str, Any]] = []
    last: dict[str, dict[str, Any]] = {}  # thread -> its latest lookup

    for e in events:
        note, dst = e.get("note") or "", e.get("destination_addr") or ""
        thread = str(e.get("session") or "").rpartition("#")[2]
        if note.startswith("pending DLR stored"):
            pending.setdefault(dst, []).append(e["message_id"])
        elif note.startswith("receipt arrived: looking up"):
            m = re.search(r"type (\d+)", note)
            d = int(m.group(1)) if m else None
            waiting, receipt_id = pending.get(dst, []), e["message_id"]
            stored = receipt_id if receipt_id in waiting else (waiting[0] if waiting else "")
            if receipt_id in waiting and d is not None and not d & 4:
                waiting.remove(receipt_id)  # a final receipt ends the pending DLR
            row = {"destination_addr": dst, "stored_id": stored, "receipt_id": receipt_id, "d": d,
                   "found": True, "outcome": "matched"}
            rows.append(row)
            last[thread] = row
        elif note.startswith("DLR not found") and thread in last:
            last[thread].update(found=False, outcome="not found")
        elif "(Ignoring DLR message because of mask)" in note and thread in last:
            m = re.search(r"dlr-mask (-?\d+)", note)
            last[thread]["outcome"] = f"ignored (dlr-mask {m.group(1) if m else '?'})"
    columns = ["destination_addr", "stored_id", "receipt_id", "d", "found", "outcome"]
    frame = pd.DataFrame(rows, columns=columns)
    frame["d"] = frame["d"].astype("Int64")
    frame["found"] = frame["found"].astype(bool)
    return frame
