"""Annotated dumps: a PDU's bytes, field by field, with what each value means.

Strategy: `explain` walks the one field declaration in `pdus.py` (`Pdu.body`, a tuple of
``(name, kind)``), calling each kind's own `read` so every row knows its offset and its
octets; nothing here restates a PDU layout. The meanings come from `constants.py` and the
spec sections quoted next to them. Three places are broken down further than the codec
does: short_message (its User Data Header, and the text), submit_multi's destination lists
and the TLVs (tag, length and value rows each).

Bad input never raises: the rows show what could be read and a final ``error`` row names
the `RemoteProtocolError` that `decode` raises for the same bytes, with its command_status.
Bind passwords are masked in both the value and the hex column.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

from smppkit.protocol.codec import HEADER_LENGTH, body_may_be_absent, decode, encode
from smppkit.protocol.constants import (
    SECRET_MASK,
    CommandId,
    MessageState,
    Npi,
    TlvTag,
    Ton,
    describe_status,
    status_name,
)
from smppkit.protocol.errors import ProtocolError, RemoteProtocolError
from smppkit.protocol.pdus import PDU_CLASSES, Pdu
from smppkit.protocol.wire import CString, Int, ShortMessage, read_tlvs
from smppkit.sms.receipts import MESSAGE_TYPE_MASK
from smppkit.sms.text import decode_text
from smppkit.sms.udh import IEI_CONCAT_8, IEI_CONCAT_16, parse_udh

__all__ = ["COLUMNS", "Explanation", "Row", "explain"]

#: The columns of every explanation, in order.
COLUMNS = ("offset", "hex", "field", "value", "meaning")
MASK = SECRET_MASK
_MASKED = frozenset({"password"})


@dataclass(frozen=True, slots=True)
class Row:
    """One line of an explanation: `length` octets at `offset`."""

    offset: int
    hex: str
    field: str
    value: str
    meaning: str


class Explanation:
    """The field-by-field breakdown of one PDU.

    Attributes:
        rows: the `Row`s, in wire order (the last one is ``error`` when the bytes are bad).
        pdu: the decoded `Pdu`, or None when the bytes do not decode.
        error: the `RemoteProtocolError` `decode` raised, or None.
    """

    def __init__(self, rows: list[Row], pdu: Pdu | None, error: ProtocolError | None) -> None:
        self.rows = rows
        self.pdu = pdu
        self.error = error

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.rows)

    def __getitem__(self, index: int) -> Row:
        return self.rows[index]

    def row(self, field: str) -> Row:
        """The first row for `field`.

        Raises:
            KeyError: no such row.
        """
        for row in self.rows:
            if row.field == field:
                return row
        raise KeyError(field)

    def to_frame(self):  # type: ignore[no-untyped-def]
        """The rows as a pandas DataFrame with columns offset, hex, field, value, meaning."""
        import pandas as pd  # lazily: the protocol core does not need pandas

        frame = pd.DataFrame(
            [[getattr(r, c) for c in COLUMNS] for r in self.rows], columns=list(COLUMNS)
        )
        return frame.astype({"offset": "int64"})

    def __str__(self) -> str:
        cells = [COLUMNS] + [
            (str(r.offset), _clip(r.hex, 36), r.field, _clip(r.value, 40), r.meaning)
            for r in self.rows
        ]
        widths = [max(len(c[i]) for c in cells) for i in range(len(COLUMNS) - 1)]
        lines = []
        for c in cells:
            head = [c[0].rjust(widths[0])] + [c[i].ljust(widths[i]) for i in range(1, 4)]
            lines.append("  ".join(head + [c[4]]).rstrip())
        return "\n".join(lines)

    def __repr__(self) -> str:
        what = self.pdu.command_name if self.pdu is not None else "invalid PDU"
        return f"<Explanation of {what}: {len(self.rows)} rows>\n{self}"

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{c}</th>" for c in COLUMNS)
        body = []
        for r in self.rows:
            style = ' style="color:#b00020"' if r.field == "error" else ""
            cells = "".join(
                f"<td><code>{html.escape(str(v))}</code></td>"
                if c in ("hex", "value")
                else f"<td>{html.escape(str(v))}</td>"
                for c, v in ((c, getattr(r, c)) for c in COLUMNS)
            )
            body.append(f"<tr{style}>{cells}</tr>")
        return (
            '<table class="smppkit-explain"><thead><tr>'
            + head
            + "</tr></thead><tbody>"
            + "".join(body)
            + "</tbody></table>"
        )


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _hex(data: bytes) -> str:
    return data.hex(" ")


# --- meanings -----------------------------------------------------------------------------


def _enum_name(enum_cls: Any, value: int) -> str:
    try:
        return str(enum_cls(value).name)
    except ValueError:
        return f"reserved ({value})"


def _mean_command_id(value: int) -> str:
    try:
        cid = CommandId(value)
    except ValueError:
        return "unknown command_id"
    if cid == CommandId.generic_nack:
        return "generic_nack: the peer could not read a PDU's header"
    if cid.is_response:
        return f"{cid.name}: the response to {CommandId(value & ~0x80000000).name}"
    doc = (PDU_CLASSES[cid].__doc__ or "").strip().splitlines()[0]
    return f"{cid.name}: {doc.split(' -- ')[0].rstrip('.')}"


def _mean_esm_class(value: int, command: str) -> str:
    # "esm_class ... bits 1-0 Messaging Mode, bits 5-2 Message Type, bits 7-6 GSM Network
    # Specific Features" -- SMPP v3.4 §5.2.12
    parts = []
    if command in ("deliver_sm", "data_sm") or value & MESSAGE_TYPE_MASK:
        mtype = {
            0x00: "default message type (normal message)",
            0x04: "SMSC delivery receipt",
            0x08: "SME delivery acknowledgement",
            0x10: "SME manual/user acknowledgement",
            0x18: "conversation abort",
            0x20: "intermediate delivery notification",
        }.get(value & MESSAGE_TYPE_MASK, f"reserved message type 0x{value & MESSAGE_TYPE_MASK:02X}")
        parts.append(mtype)
    if command not in ("deliver_sm",):
        mode = ("default SMSC mode", "datagram mode", "forward (transaction) mode",
                "store and forward mode")[value & 0x03]
        parts.append(mode)
    if value & 0x40:
        parts.append("UDHI set: short_message starts with a User Data Header")
    if value & 0x80:
        parts.append("reply path set")
    return "; ".join(parts)


def _mean_registered_delivery(value: int) -> str:
    # SMPP v3.4 §5.2.17: bits 1-0 SMSC receipt, bits 3-2 SME acknowledgement, bit 4
    # intermediate notification.
    parts = [
        ("no SMSC delivery receipt", "SMSC delivery receipt on success or failure",
         "SMSC delivery receipt on failure only", "reserved receipt value 3")[value & 0x03]
    ]
    ack = (value >> 2) & 0x03
    if ack:
        parts.append(("", "SME delivery acknowledgement", "SME manual/user acknowledgement",
                      "SME delivery and manual/user acknowledgement")[ack])
    if value & 0x10:
        parts.append("intermediate notification requested")
    if value & 0xE0:
        parts.append("reserved bits set")
    return "; ".join(parts)


_DATA_CODINGS = {
    0x00: "SMSC default alphabet (usually GSM 03.38 7-bit)",
    0x01: "IA5 (CCITT T.50) / ASCII",
    0x02: "octet unspecified (8-bit binary)",
    0x03: "Latin-1 (ISO-8859-1)",
    0x04: "octet unspecified (8-bit binary)",
    0x05: "JIS (X 0208-1990)",
    0x06: "Cyrillic (ISO-8859-5)",
    0x07: "Latin/Hebrew (ISO-8859-8)",
    0x08: "UCS2 (ISO/IEC-10646), UTF-16 big-endian",
    0x09: "pictogram encoding",
    0x0A: "ISO-2022-JP (music codes)",
    0x0D: "extended Kanji JIS (X 0212-1990)",
    0x0E: "KS C 5601",
}


def _mean_data_coding(value: int) -> str:
    # SMPP v3.4 §5.2.19; 0xC0-0xFF are GSM 03.38 data coding groups.
    if value in _DATA_CODINGS:
        return _DATA_CODINGS[value]
    if value >= 0xF0:
        alphabet = "8-bit data" if value & 0x04 else "GSM 7-bit default alphabet"
        return f"GSM 03.38 data coding/message class group: {alphabet}, class {value & 0x03}"
    if value >= 0xC0:
        return "GSM 03.38 message waiting indication group"
    return "reserved"


def _mean_time(value: str, field: str) -> str:
    if not value:
        return {
            "schedule_delivery_time": "empty: deliver immediately",
            "validity_period": "empty: the SMSC's default validity",
            "final_date": "empty: the message has not reached a final state",
        }.get(field, "empty")
    # "YYMMDDhhmmsstnnp ... p: '+' or '-' (local time ahead/behind UTC), 'R' relative"
    # -- SMPP v3.4 §7.1.1. Only ASCII digits count ('²'.isdigit() is True, int('²') fails).
    match = _TIME.fullmatch(value)
    if match is None:
        return "malformed time (expected YYMMDDhhmmsstnnp)"
    yy, mo, dd, hh, mi, ss, t, nn, p = match.groups()
    if p == "R":
        return f"relative: {int(yy)}y {int(mo)}m {int(dd)}d {hh}:{mi}:{ss} from now"
    quarters = int(nn)
    return (f"absolute: 20{yy}-{mo}-{dd} {hh}:{mi}:{ss}.{t} UTC{p}"
            f"{quarters // 4:02d}:{quarters % 4 * 15:02d}")


_TIME = re.compile(r"([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})([0-9])([0-9]{2})([-+R])")
_PRIORITIES = ("level 0 (lowest)", "level 1", "level 2", "level 3 (highest)")


def _field_meaning(name: str, value: Any, command: str) -> str:
    if name.endswith("_ton"):
        return f"TON {_enum_name(Ton, value)}"
    if name.endswith("_npi"):
        return f"NPI {_enum_name(Npi, value)}"
    if name == "esm_class":
        return _mean_esm_class(value, command)
    if name == "registered_delivery":
        return _mean_registered_delivery(value)
    if name == "data_coding":
        return _mean_data_coding(value)
    if name == "priority_flag":
        return _PRIORITIES[value] if value < 4 else "reserved"
    if name == "protocol_id":
        return "default (plain SMS)" if value == 0 else "GSM 03.40 TP-Protocol-Identifier"
    if name == "replace_if_present_flag":
        return ("don't replace", "replace a pending message with the same source/dest/"
                "service_type")[value] if value < 2 else "reserved"
    if name == "sm_default_msg_id":
        return "no canned message" if value == 0 else "index of a predefined (canned) message"
    if name == "interface_version":
        # "0x34 ... SMPP version 3.4; 0x00-0x33 ... 3.3 or earlier" -- SMPP v3.4 §5.2.4
        return "SMPP v3.4" if value == 0x34 else ("SMPP v3.3 or earlier" if value < 0x34
                                                   else "later than v3.4")
    if name in ("schedule_delivery_time", "validity_period", "final_date"):
        return _mean_time(value, name)
    if name == "message_state":
        return _enum_name(MessageState, value)
    if name == "error_code":
        return "network error code (network-specific)" if value else "no error"
    if name == "message_id":
        return "SMSC message id" if value else "empty"
    if name == "password":
        return "masked" if value else "empty"
    return ""


# --- short_message: UDH and text ----------------------------------------------------------

def _udh_rows(sm: bytes, base: int, rows: list[Row]) -> int:
    """Rows for the User Data Header at the start of `sm`; returns the header's length."""
    udh = parse_udh(sm)
    if udh.size > len(sm):
        rows.append(Row(base, _hex(sm[:1]), "UDHL", str(udh.length),
                        f"User Data Header length {udh.length} runs past short_message"))
        return 1
    rows.append(Row(base, _hex(sm[:1]), "UDHL", str(udh.length),
                    f"User Data Header length: {udh.length} octets follow"))
    for ie in udh.elements:
        at = base + ie.offset
        rows.append(Row(at, f"{ie.iei:02x}", "IEI", f"0x{ie.iei:02X}", ie.name))
        rows.append(Row(at + 1, f"{ie.length:02x}", "IEDL", str(ie.length),
                        f"{ie.length} octets of element data"))
        data, data_at = ie.data, at + 2
        if not ie.complete:
            rows.append(Row(data_at, _hex(data), "IE data", "", "runs past the UDH"))
            return udh.size
        if ie.iei in (IEI_CONCAT_8, IEI_CONCAT_16) and ie.length == (
            3 if ie.iei == IEI_CONCAT_8 else 4
        ):
            ref_len = 1 if ie.iei == IEI_CONCAT_8 else 2
            ref = int.from_bytes(data[:ref_len], "big")
            total, seq = data[ref_len], data[ref_len + 1]
            rows.append(Row(data_at, _hex(data[:ref_len]), "reference", str(ref),
                            "concatenation reference, the same in every part"))
            rows.append(Row(data_at + ref_len, _hex(data[ref_len:ref_len + 1]),
                            "total", str(total), f"{total} parts in all"))
            rows.append(Row(data_at + ref_len + 1, _hex(data[ref_len + 1:]), "seq",
                            str(seq), f"this is part {seq} of {total}"))
        elif ie.iei in (0x04, 0x05) and ie.length == (2 if ie.iei == 0x04 else 4):
            half = ie.length // 2
            rows.append(Row(data_at, _hex(data[:half]), "destination port",
                            str(int.from_bytes(data[:half], "big")), "application port"))
            rows.append(Row(data_at + half, _hex(data[half:]), "originator port",
                            str(int.from_bytes(data[half:], "big")), "application port"))
        else:
            rows.append(Row(data_at, _hex(data), "IE data", data.hex(), ""))
    if udh.leftover:
        rows.append(Row(base + udh.size - len(udh.leftover), _hex(udh.leftover), "UDH padding",
                        "", "stray octets"))
    return udh.size


def _decode_text(payload: bytes, data_coding: int) -> tuple[str, str] | None:
    """(text, how) for a short_message payload, or None for binary data."""
    try:
        return decode_text(payload, data_coding, errors="replace"), "smppkit.text"
    except ProtocolError:  # binary, or a data_coding not known here as text
        return None


def _short_message_rows(
    sm: bytes, base: int, esm_class: int, data_coding: int, rows: list[Row], name: str
) -> None:
    start = 0
    if esm_class & 0x40 and sm:
        start = _udh_rows(sm, base, rows)
    payload = sm[start:]
    decoded = _decode_text(payload, data_coding)
    label = name if start == 0 else f"{name} (text)"
    if decoded is None:
        rows.append(Row(base + start, _hex(payload), label, payload.hex(),
                        f"{len(payload)} octets of binary data (data_coding {data_coding})"))
    else:
        text, how = decoded
        rows.append(Row(base + start, _hex(payload), label, repr(text),
                        f"{len(text)} characters, decoded as {how}"))


# --- the walk -----------------------------------------------------------------------------


def _dest_entry_lengths(kind: Any, value: tuple[Any, ...]) -> list[int]:
    """Octets of each entry of a list kind, measured with the kind's own `write`."""
    lengths = []
    for entry in value:
        out = bytearray()
        kind.write((entry,), out)
        lengths.append(len(out) - 1)  # minus the count octet
    return lengths


def _describe_entry(entry: Any) -> str:
    fields = {k: getattr(entry, k) for k in entry.__slots__}
    return ", ".join(f"{k}={v!r}" for k, v in fields.items())


class _Cursor:
    """Where the walk is, so an error row can say where reading stopped."""

    __slots__ = ("pos", "field", "data_coding")

    def __init__(self) -> None:
        self.pos = HEADER_LENGTH
        self.field = ""
        self.data_coding = 0


def _body_rows(cls: type[Pdu], data: bytes, rows: list[Row], cur: _Cursor) -> None:
    """Rows for the mandatory body, advancing `cur`. May raise RemoteProtocolError."""
    pos = HEADER_LENGTH
    values: dict[str, Any] = {}
    command = cls.command_id.name
    for name, kind in cls.body:
        cur.pos, cur.field = pos, name
        value, end = kind.read(data, pos)
        values[name] = value
        raw = data[pos:end]
        if isinstance(kind, ShortMessage):
            rows.append(Row(pos, _hex(raw[:1]), "sm_length", str(len(value)),
                            f"{len(value)} octets of short_message follow"))
            if value:
                _short_message_rows(value, pos + 1, values.get("esm_class", 0),
                                    values.get("data_coding", 0), rows, name)
            else:
                rows.append(Row(pos + 1, "", name, "b''", "empty (text may be in message_payload)"))
        elif isinstance(kind, Int):
            shown = f"{value} (0x{value:0{kind.size * 2}X})"
            rows.append(Row(pos, _hex(raw), name, shown, _field_meaning(name, value, command)))
        elif isinstance(kind, CString):
            if name in _MASKED and value:
                rows.append(Row(pos, MASK, name, MASK, "masked"))
            else:
                rows.append(Row(pos, _hex(raw), name, repr(value),
                                _field_meaning(name, value, command)))
        else:  # a list kind of submit_multi / submit_multi_resp
            rows.append(Row(pos, _hex(raw[:1]), f"{name} count", str(len(value)),
                            f"{len(value)} entries follow"))
            at = pos + 1
            for i, (entry, size) in enumerate(
                zip(value, _dest_entry_lengths(kind, value), strict=True)
            ):
                rows.append(Row(at, _hex(data[at:at + size]), f"{name}[{i}]",
                                _describe_entry(entry), type(entry).__name__))
                at += size
        pos = end
    cur.pos, cur.field = pos, ""
    cur.data_coding = values.get("data_coding", 0)


def _tlv_value_text(value: Any) -> str:
    if isinstance(value, MessageState):
        return f"{value.name} ({int(value)})"
    if isinstance(value, tuple):
        return f"network_type={value[0]}, error_code={value[1]}"
    if value is None:
        return "(no value)"
    return repr(value)


def _tlv_rows(data: bytes, end: int, rows: list[Row], cur: _Cursor) -> None:
    """Rows for each TLV in data[cur.pos:end], advancing `cur`. May raise RemoteProtocolError."""
    pos = cur.pos
    while pos < end:
        cur.pos = pos
        if end - pos < 4:
            read_tlvs(data, pos, end)  # raises the codec's own error
        tag = int.from_bytes(data[pos:pos + 2], "big")
        length = int.from_bytes(data[pos + 2:pos + 4], "big")
        try:
            name = TlvTag(tag).name
            known = True
        except ValueError:
            name, known = f"TLV 0x{tag:04X}", False
        rows.append(Row(pos, _hex(data[pos:pos + 2]), f"{name}.tag", f"0x{tag:04X}",
                        f"optional parameter {name}" if known
                        else "unknown optional parameter (kept as raw octets)"))
        rows.append(Row(pos + 2, _hex(data[pos + 2:pos + 4]), f"{name}.length", str(length),
                        f"{length} octets of value follow"))
        (tlv,) = read_tlvs(data, pos, min(pos + 4 + length, end))
        raw = data[pos + 4:pos + 4 + length]
        if known and tag == TlvTag.message_payload:
            _short_message_rows(raw, pos + 4, 0, cur.data_coding, rows, name)
        else:
            meaning = ""
            if tag == TlvTag.message_state:
                meaning = "final state of the message the receipt is about"
            elif tag == TlvTag.receipted_message_id:
                meaning = "the message_id that submit_sm_resp returned"
            elif tag == TlvTag.network_error_code:
                meaning = "network type 1=ANSI-136, 2=IS-95, 3=GSM; code is network-specific"
            rows.append(Row(pos + 4, _hex(raw), name, _tlv_value_text(tlv.value), meaning))
        pos += 4 + length
    cur.pos = pos


def _header_rows(data: bytes, rows: list[Row]) -> tuple[int, ...]:
    names = ("command_length", "command_id", "command_status", "sequence_number")
    got = []
    for i, name in enumerate(names):
        raw = data[4 * i:4 * i + 4]
        if len(raw) < 4:
            break
        value = int.from_bytes(raw, "big")
        got.append(value)
        if name == "command_length":
            shown, meaning = str(value), f"the whole PDU is {value} octets"
        elif name == "command_id":
            shown, meaning = f"0x{value:08X}", _mean_command_id(value)
        elif name == "command_status":
            shown = f"0x{value:08X}"
            meaning = f"{status_name(value)}: {describe_status(value)}"
        else:
            shown = str(value)
            if value == 0:
                meaning = "not assigned yet"
            elif len(got) > 1 and got[1] & 0x80000000:
                meaning = "the sequence_number of the request this answers"
            else:
                meaning = "its response will carry the same number"
        rows.append(Row(4 * i, _hex(raw), name, shown, meaning))
    return tuple(got)


def explain(data: bytes | bytearray | memoryview | Pdu) -> Explanation:
    """Break a PDU into rows of (offset, hex, field, value, meaning).

    Args:
        data: one whole PDU's bytes (header included), or a `Pdu` (encoded first).

    Returns:
        An `Explanation`: print it, call `.to_frame()` for a DataFrame, or show it in a
        notebook. Malformed bytes never raise: the last row, ``error``, names the problem and
        the command_status a peer would answer with.

    Raises:
        TypeError: `data` is neither bytes-like nor a `Pdu`.
    """
    given: Pdu | None = None
    if isinstance(data, Pdu):
        given = data
        data = encode(data)
    elif isinstance(data, bytearray | memoryview):
        data = bytes(data)
    elif not isinstance(data, bytes):
        raise TypeError(
            f"explain() takes bytes or a Pdu, not {type(data).__name__}"
            + (" (hex text? use bytes.fromhex)" if isinstance(data, str) else "")
        )
    rows: list[Row] = []
    pdu: Pdu | None = None
    error: ProtocolError | None = None
    try:
        pdu = decode(data) if given is None else given
    except RemoteProtocolError as exc:
        error = exc
    header = _header_rows(data, rows)
    cur = _Cursor()
    cur.pos = 4 * len(header)
    secret = False
    if len(header) == 4:
        length, command_id, status, _ = header
        cls = PDU_CLASSES.get(command_id)
        body = data[:length] if HEADER_LENGTH <= length <= len(data) else data
        if cls is not None and length >= HEADER_LENGTH:
            try:
                if len(body) == HEADER_LENGTH and body_may_be_absent(cls, status):
                    rows.append(Row(HEADER_LENGTH, "", "body", "(none)",
                                    "an error response carries no body -- SMPP v3.4 §4.4.2"
                                    if status else "no body (the unused message_id left out)"))
                else:
                    _body_rows(cls, body, rows, cur)
                    _tlv_rows(body, len(body), rows, cur)
            except RemoteProtocolError as exc:
                error = error or exc
                # Reading stopped inside the password: its octets must not reach the hex.
                secret = cur.field in _MASKED
        else:
            secret = any(name in _MASKED for name, _ in getattr(cls, "body", ()))
    if error is not None:
        rest = data[cur.pos:]
        shown = MASK if secret else _hex(rest[:32]) + (" …" if len(rest) > 32 else "")
        rows.append(Row(cur.pos, shown, "error", status_name(error.command_status),
                        str(error.args[0])))
    return Explanation(rows, pdu, error)
