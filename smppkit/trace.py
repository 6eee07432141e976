"""The one event schema: every PDU seen by the simulator or a client as one JSON line.

This module is the single place the schema is documented. The same keys are the columns of
the DataFrame that `smppkit.logs.read` returns, whatever the source (trace, smpplib debug
log, Kannel log, pcap), so analyses and the receipt doctor work on all of them.

=================== ======== ================================================================
key                 type     meaning
=================== ======== ================================================================
time                float    seconds since the epoch (the simulator's clock, which may be
                             simulated) when the PDU was read or written
system              str      who wrote the event: "simulator", "esme", "smpplib", "kannel",
                             "pcap"
instance            str      SMSC instance ("SMPP1", "SMPP2", "SMPP0") or "" if unknown
session             str      connection id, unique within one trace ("SMPP1#3")
peer                str      the other end, "host:port"
system_id           str      the account bound on this session ("" before bind)
bind                str      "transmitter", "receiver", "transceiver" or "" before bind
direction           str      "in" (read by the writer) or "out" (written by the writer)
command             str      SMPP command name, e.g. "submit_sm_resp"
command_status      int      header command_status
sequence            int      header sequence_number
message_id          str      submit_sm_resp/data_sm_resp/query_sm message_id, or the id a
                             receipt refers to (receipted_message_id TLV, else text `id:`)
source_addr         str      source_addr, when the PDU has one
destination_addr    str      destination_addr, when the PDU has one
esm_class           int      esm_class, when the PDU has one
data_coding         int      data_coding, when the PDU has one
registered_delivery int      registered_delivery, when the PDU has one
receipt_stat        str      receipt `stat:` word (DELIVRD, UNDELIV, ...) for receipts
receipt_err         str      receipt `err:` field for receipts, as written
part_ref            int      concatenation reference (UDH IEI 0x00/0x08 or sar_msg_ref_num)
part_total          int      total parts
part_seq            int      this part's number (1-based)
hex                 str      the PDU's bytes in hex; bind passwords replaced by "********"
note                str      free text: an injected fault, a retry, a dropped frame
=================== ======== ================================================================

Absent values are JSON null. Unknown keys are allowed and kept by the readers.
"""

from __future__ import annotations

import json
from typing import Any

from smppkit.protocol.codec import encode
from smppkit.protocol.constants import SECRET_MASK, EsmClass, TlvTag
from smppkit.protocol.pdus import Pdu
from smppkit.sms.receipts import RECEIPT_COMMANDS, ReceiptError, is_receipt, parse_receipt
from smppkit.sms.udh import concat_of

__all__ = ["TRACE_FIELDS", "concat_info", "dump_event", "pdu_event", "receipt_summary"]

TRACE_FIELDS: tuple[str, ...] = (
    "time",
    "system",
    "instance",
    "session",
    "peer",
    "system_id",
    "bind",
    "direction",
    "command",
    "command_status",
    "sequence",
    "message_id",
    "source_addr",
    "destination_addr",
    "esm_class",
    "data_coding",
    "registered_delivery",
    "receipt_stat",
    "receipt_err",
    "part_ref",
    "part_total",
    "part_seq",
    "hex",
    "note",
)

def concat_info(pdu: Pdu) -> tuple[int, int, int] | None:
    """(reference, total, seq) of a concatenated-message part, from its UDH or SAR TLVs.

    UDH IEs: 0x00 "Concatenated short messages, 8-bit reference number" and 0x08 "...,
    16-bit reference number" (3GPP TS 23.040 §9.2.3.24.1/.8); SAR TLVs -- SMPP v3.4 §5.3.2.22-24.
    """
    ref = pdu.tlv(TlvTag.sar_msg_ref_num)
    if ref is not None:
        return ref, pdu.tlv(TlvTag.sar_total_segments, 0), pdu.tlv(TlvTag.sar_segment_seqnum, 0)
    sm = getattr(pdu, "short_message", b"")
    if not (getattr(pdu, "esm_class", 0) & EsmClass.udhi) or not sm:
        return None
    concat = concat_of(sm)
    return None if concat is None else (concat.reference, concat.total, concat.seq)


def receipt_summary(pdu: Pdu) -> tuple[str | None, str | None, str | None]:
    """(id, stat, err) of a delivery receipt: the TLVs first, then the text.

    Uses `smppkit.receipts.parse_receipt` leniently, so a vendor-shaped receipt still
    yields what it has; an unreadable one yields Nones (the hex keeps the evidence).
    """
    try:
        receipt = parse_receipt(pdu, strict=False)
    except ReceiptError as exc:
        receipt = exc.receipt
        if receipt is None:
            return None, None, None
    return receipt.message_id, receipt.stat or _state_word(receipt.message_state), receipt.err


def _state_word(state: Any) -> str | None:
    return state.stat if hasattr(state, "stat") else None


def pdu_event(
    pdu: Pdu,
    *,
    time: float,
    direction: str,
    system: str = "",
    instance: str = "",
    session: str = "",
    peer: str = "",
    system_id: str = "",
    bind: str = "",
    raw: bytes | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """One trace event (a dict with exactly `TRACE_FIELDS`) for a PDU."""
    message_id = getattr(pdu, "message_id", None) or None
    stat = err = None
    esm = getattr(pdu, "esm_class", None)
    if is_receipt(esm) and pdu.command_name in RECEIPT_COMMANDS:
        message_id, stat, err = receipt_summary(pdu)
    parts = concat_info(pdu) if esm is not None else None
    if hasattr(pdu, "password"):
        raw = encode(pdu.replace(password=SECRET_MASK if pdu.password else ""))
    elif raw is None:
        raw = encode(pdu)
    return {
        "time": time,
        "system": system,
        "instance": instance,
        "session": session,
        "peer": peer,
        "system_id": system_id,
        "bind": bind,
        "direction": direction,
        "command": pdu.command_name,
        "command_status": pdu.command_status,
        "sequence": pdu.sequence_number,
        "message_id": message_id,
        "source_addr": getattr(pdu, "source_addr", None),
        "destination_addr": getattr(pdu, "destination_addr", None),
        "esm_class": esm,
        "data_coding": getattr(pdu, "data_coding", None),
        "registered_delivery": getattr(pdu, "registered_delivery", None),
        "receipt_stat": stat,
        "receipt_err": err,
        "part_ref": parts[0] if parts else None,
        "part_total": parts[1] if parts else None,
        "part_seq": parts[2] if parts else None,
        "hex": raw.hex(),
        "note": note,
    }


def dump_event(event: dict[str, Any]) -> str:
    """One JSON line (no trailing newline), keys in schema order."""
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False)
