"""Delivery receipts: parse the text an SMSC puts in a deliver_sm, format it, match its id.

"The format for this Delivery Receipt message is SMSC vendor specific" -- SMPP v3.4
Appendix B. The appendix only gives an example:

    id:IIIIIIIIII sub:SSS dlvrd:DDD submit date:YYMMDDhhmm done date:YYMMDDhhmm
    stat:DDDDDDD err:E Text: . . . . . . . . .

and vendors vary it: fields in another order, `text:` or `Text:`, no `sub:`/`dlvrd:`,
12-digit dates with seconds, `err:0`/`err:000`/`err:0000`, ids in hex or decimal, extra
fields of their own (`mcc:`, `network:`). Parsers written against the template break.

Strategy: no template. One regex finds `key:value` pairs (`submit date` and `done date`
are the only keys with a space); `text:`, in any case, runs to the end of the string, so
the text may hold spaces and colons. Every known field is then checked, and each failed
check adds a *problem*, a sentence naming the field and what is wrong with it.
`parse_receipt(..., strict=True)` raises `ReceiptError` listing all of them;
`strict=False` returns the `Receipt` with its `problems`. Fields are kept as written
(strings), so nothing is lost and `format_receipt` can write them back exactly; parsed
values (`state`, `err_code`, `done_datetime`, ...) are properties.

Correlation: the id in submit_sm_resp and the id in the receipt are often the same number
written differently (the provider sends hex in the resp and decimal in the receipt --
smpp-facts §1.6; Kannel's msg-id-type describes the same split -- §2.2).
`message_id_key` and `same_message` read both ways and say which reading matched.

Pure: no I/O, no clock, no randomness.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from smppkit.protocol.constants import MessageState, TlvTag

__all__ = [
    "Match",
    "Receipt",
    "ReceiptError",
    "MESSAGE_TYPE_MASK",
    "RECEIPT_COMMANDS",
    "RECEIPT_MESSAGE_TYPES",
    "format_receipt",
    "is_receipt",
    "kannel_msg_id_type_for",
    "id_readings",
    "message_id_key",
    "parse_receipt",
    "receipt_pdu",
    "same_message",
]

IdForm = Literal["auto", "hex", "decimal", "string"]
Style = Literal["nexmo", "appendix_b"]

# "message_id ... Var. max 65" (including the NULL) -- SMPP v3.4 §5.2.23
_MAX_ID_LEN = 64
# "Text ... The first 20 characters of the short message" -- SMPP v3.4 Appendix B
_APPENDIX_B_TEXT_LEN = 20
# Kannel reads ids with signed strtoll: larger values saturate (smpp-facts §2.2, §5).
_STRTOLL_MAX = 2**63 - 1


class ReceiptError(ValueError):
    """A delivery receipt that cannot be read.

    Attributes:
        problems: one sentence per thing that is wrong, in the order found.
        receipt: what could be read anyway (a `Receipt` with `problems`), or None.
    """

    def __init__(self, problems: list[str] | tuple[str, ...], receipt: Receipt | None = None):
        self.problems = tuple(problems)
        self.receipt = receipt
        super().__init__("unreadable delivery receipt: " + "; ".join(self.problems))


@dataclass(frozen=True, slots=True, kw_only=True)
class Receipt:
    """One delivery receipt: the Appendix B text fields plus the receipt TLVs.

    Text fields are strings exactly as written (None when absent); use the properties
    for parsed values. TLV fields come from the deliver_sm/data_sm optional parameters
    (SMPP v3.4 §5.3.2.12 receipted_message_id, §5.3.2.35 message_state,
    §5.3.2.31 network_error_code). `extra` keeps vendor fields in their order.
    `problems` is empty unless the receipt was parsed with `strict=False`.
    """

    id: str | None = None
    sub: str | None = None
    dlvrd: str | None = None
    submit_date: str | None = None
    done_date: str | None = None
    stat: str | None = None
    err: str | None = None
    text: str | None = None
    receipted_message_id: str | None = None
    message_state: int | None = None
    network_error_code: tuple[int, int] | None = None
    extra: dict[str, str] = field(default_factory=dict)
    problems: tuple[str, ...] = ()

    def __hash__(self) -> int:
        return hash(
            (self.id, self.stat, self.done_date, self.receipted_message_id, self.message_state)
        )

    @property
    def message_id(self) -> str | None:
        """The id this receipt is about: the receipted_message_id TLV, else the text `id:`.

        The TLV is preferred, as Kannel does for v3.4 (smpp-facts §2.2).
        """
        return self.receipted_message_id if self.receipted_message_id is not None else self.id

    @property
    def state(self) -> MessageState | None:
        """The message state: the message_state TLV, else the `stat:` word, else None."""
        if self.message_state is not None:
            try:
                return MessageState(self.message_state)
            except ValueError:
                return None
        if self.stat is not None:
            return _STATE_OF_WORD.get(self.stat.strip().upper())
        return None

    @property
    def delivered(self) -> bool:
        """True when the state is DELIVERED (`stat:DELIVRD`)."""
        return self.state is MessageState.DELIVERED

    @property
    def err_code(self) -> int | None:
        """`err:` as an int (`000` -> 0), or None when absent or not a decimal number."""
        return int(self.err) if self.err is not None and _DIGITS.match(self.err) else None

    @property
    def sub_count(self) -> int | None:
        """`sub:` (number of messages submitted) as an int, or None."""
        return int(self.sub) if self.sub is not None and _DIGITS.match(self.sub) else None

    @property
    def dlvrd_count(self) -> int | None:
        """`dlvrd:` (number of messages delivered) as an int, or None."""
        return int(self.dlvrd) if self.dlvrd is not None and _DIGITS.match(self.dlvrd) else None

    @property
    def submit_datetime(self) -> datetime | None:
        """`submit date:` as a naive datetime (timezone unknown), or None."""
        return _parse_date(self.submit_date)

    @property
    def done_datetime(self) -> datetime | None:
        """`done date:` as a naive datetime (timezone unknown), or None."""
        return _parse_date(self.done_date)


# --- parsing ------------------------------------------------------------------------------

_DIGITS = re.compile(r"[0-9]+\Z")
_TEXT_KEY = re.compile(r"(?<!\S)text:", re.IGNORECASE)
# A key starts a token: at the start or after whitespace. Only the two dates have a space.
_FIELD = re.compile(r"(?<!\S)((?:submit|done)[ _]?date|[A-Za-z][\w.-]*):(\S*)", re.IGNORECASE)
_KNOWN = {
    "id": "id",
    "sub": "sub",
    "dlvrd": "dlvrd",
    "submit date": "submit_date",
    "submit_date": "submit_date",
    "submitdate": "submit_date",
    "done date": "done_date",
    "done_date": "done_date",
    "donedate": "done_date",
    "stat": "stat",
    "err": "err",
}
_TEXT_FIELDS = ("id", "sub", "dlvrd", "submit_date", "done_date", "stat", "err")
# Fast path for the common layout (the provider's and Appendix B's); it gives exactly what
# the general tokeniser would give for such a line, only sooner.
_CANONICAL = re.compile(
    r"id:(\S*) sub:(\S*) dlvrd:(\S*) submit date:(\S*) done date:(\S*) stat:(\S*) err:(\S*) "
    r"[Tt]ext:"
)
# The `stat:` word or the state's full name, any case -- as MessageState.from_stat reads it.
_STATE_OF_WORD = {
    **{state.name: state for state in MessageState},
    **{state.stat: state for state in MessageState},
}
_STRIP = " \t\r\n\x00"
# "SMSC Delivery Receipt" (0x04), "SME Delivery Acknowledgement" (0x08), "Intermediate
# delivery notification" (0x20): esm_class bits 5-2 (message type) in deliver_sm and
# data_sm -- SMPP v3.4 §5.2.12. The one copy of this rule: the event tables' receipt rows
# (pandas masks and SQL) are derived from these constants in `smppkit.diagnose.kinds`.
MESSAGE_TYPE_MASK = 0x3C
RECEIPT_MESSAGE_TYPES = (0x04, 0x08, 0x20)
#: The PDUs that can carry a receipt: deliver_sm (§4.6.1) and data_sm (§4.7.1).
RECEIPT_COMMANDS = ("deliver_sm", "data_sm")


def is_receipt(esm_class: int | None) -> bool:
    """True when esm_class's message type (bits 5-2) marks a receipt -- SMPP v3.4 §5.2.12.

    0x04 SMSC delivery receipt, 0x08 SME delivery acknowledgement, 0x20 intermediate
    delivery notification; the other bits (UDHI, reply path, messaging mode) are ignored.
    Meaningful for deliver_sm and data_sm; None (a PDU without esm_class) is False.
    """
    return esm_class is not None and esm_class & MESSAGE_TYPE_MASK in RECEIPT_MESSAGE_TYPES


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _parse_date(value: str | None) -> datetime | None:
    """YYMMDDhhmm, YYMMDDhhmmss or YYYYMMDDhhmmss -> datetime, else None."""
    if value is None or not _DIGITS.match(value):
        return None
    n = len(value)
    try:
        if n == 10 or n == 12:
            return datetime(
                2000 + int(value[0:2]),
                int(value[2:4]),
                int(value[4:6]),
                int(value[6:8]),
                int(value[8:10]),
                int(value[10:12]) if n == 12 else 0,
            )
        if n == 14:
            return datetime(
                int(value[0:4]),
                int(value[4:6]),
                int(value[6:8]),
                int(value[8:10]),
                int(value[10:12]),
                int(value[12:14]),
            )
    except ValueError:
        return None
    return None


@functools.lru_cache(maxsize=4096)  # receipts in a log share their dates, minute by minute
def _date_problem(name: str, value: str) -> str | None:
    # "submit date ... YYMMDDhhmm" -- SMPP v3.4 Appendix B; vendors add ss (12 digits) and
    # Kannel's sscanf accepts up to 14 digits (smpp-facts §2.2), read as YYYYMMDDhhmmss.
    if not _DIGITS.match(value) or len(value) not in (10, 12, 14):
        return (
            f"{name}: {value!r} is not a date (expected 10 digits YYMMDDhhmm or "
            "12 digits YYMMDDhhmmss)"
        )
    if _parse_date(value) is None:
        return f"{name}: {value!r} is not a valid calendar date/time"
    return None


def _source_text(source: Any, problems: list[str]) -> tuple[str, dict[str, Any]]:
    """(receipt text, TLV values) from str, bytes or a deliver_sm/data_sm PDU."""
    if isinstance(source, str):
        return source, {}
    if isinstance(source, bytes | bytearray | memoryview):
        return _decode(bytes(source)), {}
    tlv = getattr(source, "tlv", None)
    if tlv is None:
        raise TypeError(
            f"parse_receipt takes str, bytes or a DeliverSm/DataSm, not {type(source).__name__}"
        )
    esm_class = getattr(source, "esm_class", None)
    if esm_class is not None and not is_receipt(esm_class):
        problems.append(
            f"esm_class 0x{esm_class:02X} does not mark a receipt "
            "(SMPP v3.4 §5.2.12: 0x04 SMSC delivery receipt)"
        )
    # Kannel takes the text from message_payload when short_message is empty (§2.2).
    raw = getattr(source, "short_message", b"") or tlv(TlvTag.message_payload, b"") or b""
    tlvs = {
        "receipted_message_id": tlv(TlvTag.receipted_message_id),
        "message_state": tlv(TlvTag.message_state),
        "network_error_code": tlv(TlvTag.network_error_code),
    }
    return _decode(raw), {k: v for k, v in tlvs.items() if v is not None}


def parse_receipt(source: str | bytes | Any, *, strict: bool = True) -> Receipt:
    """Read a delivery receipt from its text or from the PDU that carries it.

    Args:
        source: the receipt text (str, or bytes decoded as UTF-8, else Latin-1), or a
            `DeliverSm`/`DataSm`. From a PDU the text is short_message, or message_payload
            when short_message is empty, and the receipted_message_id, message_state and
            network_error_code TLVs are merged in.
        strict: raise on any problem (the default); with False, return what could be read
            with the problems listed in `Receipt.problems`.

    Returns:
        The `Receipt`. Fields are strings as written; `text` runs to the end of the input.
        Whitespace and NULs around the whole input are ignored.

    Raises:
        ReceiptError: (strict only) no id (text or TLV), no stat (text or TLV), a field
            that is empty or malformed (a date that is not 10/12 digits, a stat word
            that is not in Appendix B, ...), stray words, a field given twice, or text and
            TLVs that contradict each other. The message lists every problem.
        TypeError: `source` is not text, bytes or a PDU.
    """
    problems: list[str] = []
    raw_text, tlvs = _source_text(source, problems)
    s = raw_text.strip(_STRIP)

    values: dict[str, str] = {}
    extra: dict[str, str] = {}
    text: str | None = None
    head = s
    m = _CANONICAL.match(s)
    if m is not None:
        values = dict(zip(_TEXT_FIELDS, m.groups(), strict=True))
        text = s[m.end() :]
        head = ""
    else:
        m = _TEXT_KEY.search(s)
        if m is not None:
            text = s[m.end() :]
            head = s[: m.start()]

    pos = 0
    last_extra: str | None = None
    for fm in _FIELD.finditer(head):
        gap = head[pos : fm.start()]
        if gap.strip():
            if last_extra is not None:
                # A vendor value with spaces ("network:Vodafone UK") continues the field.
                extra[last_extra] += gap.rstrip()
            else:
                problems.append(f"stray text {gap.strip()!r} is not a key:value field")
        pos = fm.end()
        key, value = fm.group(1), fm.group(2)
        name = _KNOWN.get(key.lower())
        if name is None:
            if key in extra:
                problems.append(f"vendor field {key}: appears twice; the first is kept")
                last_extra = None
                continue
            extra[key] = value
            last_extra = key
            continue
        last_extra = None
        if name in values:
            problems.append(
                f"{name}: appears twice ({values[name]!r} and {value!r}); the first is kept"
            )
            continue
        values[name] = value
    tail = head[pos:]
    if tail.strip():
        if last_extra is not None:
            extra[last_extra] += tail.rstrip()
        else:
            problems.append(f"stray text {tail.strip()!r} is not a key:value field")

    if not values and not extra and text is None and not tlvs:
        hint = " -- it looks like a Kannel ACK/NACK reply (%A), not a receipt"
        problems = [p for p in problems if not p.startswith("stray text")]
        problems.insert(
            0,
            f"no receipt fields in {_preview(s)} (expected id:... stat:... as in "
            "SMPP v3.4 Appendix B)" + (hint if _is_kannel_ack(s) else ""),
        )
        return _finish(Receipt(), problems, strict)

    state = tlvs.get("message_state")
    if isinstance(state, int) and not isinstance(state, MessageState):
        try:
            state = MessageState(state)
        except ValueError:
            problems.append(f"message_state TLV {state} is not a v3.4 state (1-8, §5.2.28)")

    receipt = Receipt(
        id=values.get("id"),
        sub=values.get("sub"),
        dlvrd=values.get("dlvrd"),
        submit_date=values.get("submit_date"),
        done_date=values.get("done_date"),
        stat=values.get("stat"),
        err=values.get("err"),
        text=text,
        receipted_message_id=tlvs.get("receipted_message_id"),
        message_state=state,
        network_error_code=tlvs.get("network_error_code"),
        extra=extra,
    )
    _check(receipt, problems)
    return _finish(receipt, problems, strict)


def _is_kannel_ack(s: str) -> bool:
    return s[:4].upper() in ("ACK/", "NACK")


def _preview(s: str) -> str:
    return repr(s if len(s) <= 40 else s[:37] + "...")


def _finish(receipt: Receipt, problems: list[str], strict: bool) -> Receipt:
    if not problems:
        return receipt
    lenient = dataclasses.replace(receipt, problems=tuple(problems))
    if strict:
        raise ReceiptError(problems, lenient)
    return lenient


def _check(r: Receipt, problems: list[str]) -> None:
    """Append one sentence per problem found in `r`."""
    if r.id is None:
        if r.receipted_message_id is None:
            problems.append("no id: field and no receipted_message_id TLV")
    elif not r.id:
        problems.append("id: is empty")
    elif len(r.id) > _MAX_ID_LEN:
        problems.append(
            f"id: is {len(r.id)} characters; a message_id holds at most {_MAX_ID_LEN} "
            "(SMPP v3.4 §5.2.23)"
        )
    for name in ("sub", "dlvrd"):
        value = getattr(r, name)
        if value is not None and not _DIGITS.match(value):
            problems.append(f"{name}: must be a number, got {value!r}")
    for name in ("submit_date", "done_date"):
        value = getattr(r, name)
        if value is not None:
            problem = _date_problem(name.replace("_", " "), value)
            if problem:
                problems.append(problem)
    stat_state: MessageState | None = None
    if r.stat is None:
        if r.message_state is None:
            problems.append("no stat: field and no message_state TLV")
    else:
        stat_state = _STATE_OF_WORD.get(r.stat.strip().upper())
        if stat_state is None:
            words = ", ".join(s.stat for s in MessageState)
            problems.append(f"stat: {r.stat!r} is not an Appendix B word ({words})")
    if r.err is not None and not r.err:
        problems.append("err: is empty")
    # Text and TLVs must agree, or the receipt cannot be trusted either way.
    if (
        stat_state is not None
        and isinstance(r.message_state, MessageState)
        and stat_state is not r.message_state
    ):
        problems.append(
            f"stat:{r.stat} says {stat_state.name} but the message_state TLV says "
            f"{r.message_state.value} ({r.message_state.name})"
        )
    if (
        r.id
        and r.receipted_message_id is not None
        and not same_message(r.receipted_message_id, r.id)
    ):
        problems.append(
            f"id:{r.id} and the receipted_message_id TLV {r.receipted_message_id!r} "
            "name different messages (no hex/decimal/padding reading makes them equal)"
        )


# --- formatting ---------------------------------------------------------------------------


def format_receipt(receipt: Receipt, style: Style = "nexmo") -> str:
    """Write a receipt as deliver_sm text, the inverse of `parse_receipt`.

    Styles:
        "nexmo": the provider's layout (smpp-facts §1.7), e.g. ``id:0000000012345678
            sub:001 dlvrd:001 submit date:1601010100 done date:1601010101 stat:DELIVRD
            err:000 text:none``. A missing text is written ``none``.
        "appendix_b": the SMPP v3.4 Appendix B layout, with ``Text:`` holding at most the
            first 20 characters; a missing text is written empty.

    Both write the fields in Appendix B order, vendor `extra` fields after `err:`, and
    the text last (it runs to the end). Numeric `sub`, `dlvrd` and `err` are zero-padded
    to 3 digits; a missing `sub` is 001, `dlvrd` 001 when delivered else 000, `err` 000.
    `parse_receipt(format_receipt(r, style)) == r` for every receipt already in that
    form (TLV fields are not text: use `receipt_pdu` to carry them).

    Args:
        receipt: the receipt; its id (or receipted_message_id), stat (or message_state)
            and both dates are needed.
        style: "nexmo" or "appendix_b".

    Returns:
        The receipt text.

    Raises:
        ValueError: unknown style, or a needed field is missing.
    """
    if style not in ("nexmo", "appendix_b"):
        raise ValueError(f"style must be 'nexmo' or 'appendix_b', not {style!r}")
    message_id = receipt.id if receipt.id is not None else receipt.receipted_message_id
    if not message_id:
        raise ValueError("format_receipt needs an id (or a receipted_message_id)")
    stat = receipt.stat
    if stat is None:
        state = receipt.state
        if state is None:
            raise ValueError("format_receipt needs a stat (or a message_state)")
        stat = state.stat
    if receipt.submit_date is None or receipt.done_date is None:
        raise ValueError(f"format_receipt(style={style!r}) needs submit_date and done_date")
    delivered = receipt.delivered or stat.upper() == "DELIVRD"
    parts = [
        f"id:{message_id}",
        f"sub:{_pad3(receipt.sub, '001')}",
        f"dlvrd:{_pad3(receipt.dlvrd, '001' if delivered else '000')}",
        f"submit date:{receipt.submit_date}",
        f"done date:{receipt.done_date}",
        f"stat:{stat}",
        f"err:{_pad3(receipt.err, '000')}",
    ]
    parts += [f"{key}:{value}" for key, value in receipt.extra.items()]
    if style == "nexmo":
        parts.append("text:" + ("none" if receipt.text is None else receipt.text))
    else:
        parts.append("Text:" + (receipt.text or "")[:_APPENDIX_B_TEXT_LEN])
    return " ".join(parts)


def _pad3(value: str | None, default: str) -> str:
    if value is None:
        return default
    return value.zfill(3) if _DIGITS.match(value) else value


def receipt_pdu(receipt: Receipt, *, style: Style = "nexmo", **fields: Any) -> Any:
    """A deliver_sm carrying `receipt`: esm_class 0x04, its text and its TLVs.

    Text longer than 254 octets goes in message_payload ("short_message ... Up to 254
    octets" -- SMPP v3.4 §4.6.1). The text is ASCII, or UTF-8 when it must be.

    Args:
        receipt: the receipt to send.
        style: as in `format_receipt`.
        **fields: other DeliverSm fields (source_addr, destination_addr, sequence_number ...).

    Returns:
        A `DeliverSm` such that `parse_receipt(pdu) == receipt` for a receipt in `style`'s
        form.
    """
    from smppkit.protocol.pdus import DeliverSm  # the PDU classes are only needed here

    data = format_receipt(receipt, style).encode("utf-8")
    tlvs: list[tuple[str, Any]] = []
    if receipt.receipted_message_id is not None:
        tlvs.append(("receipted_message_id", receipt.receipted_message_id))
    if receipt.message_state is not None:
        tlvs.append(("message_state", int(receipt.message_state)))
    if receipt.network_error_code is not None:
        tlvs.append(("network_error_code", receipt.network_error_code))
    short_message = data
    if len(data) > 254:
        short_message = b""
        tlvs.append(("message_payload", data))
    fields.setdefault("esm_class", 0x04)
    return DeliverSm(short_message=short_message, tlvs=tlvs, **fields)


# --- correlation --------------------------------------------------------------------------

_HEX = re.compile(r"(?:0[xX])?([0-9A-Fa-f]+)\Z")
_FORMS = ("auto", "hex", "decimal", "string")


def message_id_key(message_id: str, form: IdForm = "auto") -> int | str:
    """A key under which equal message ids compare equal.

    Args:
        message_id: an id from submit_sm_resp, a receipt's `id:` or receipted_message_id.
        form: how to read it. "decimal" and "hex" (an optional 0x prefix is allowed) give
            the number; "string" gives the lower-case id; "auto" reads all-digit ids as
            decimal, other hex-looking ids as hex (Kannel's rule: "an id that contains any
            non-digit is parsed as hex", smpp-facts §2.2) and anything else as a string.

    Returns:
        An int for a numeric reading (zero padding and case do not matter), else a
        lower-case str.

    Raises:
        ValueError: the id cannot be read in `form`, or `form` is unknown.
    """
    s = message_id.strip()
    if form == "string":
        return s.lower()
    if form == "decimal":
        if _DIGITS.match(s):
            return int(s)
        raise ValueError(f"message id {message_id!r} is not a decimal number")
    if form == "hex":
        m = _HEX.match(s)
        if m:
            return int(m.group(1), 16)
        raise ValueError(f"message id {message_id!r} is not a hex number")
    if form == "auto":
        if _DIGITS.match(s):
            return int(s)
        m = _HEX.match(s)
        return int(m.group(1), 16) if m else s.lower()
    raise ValueError(f"form must be one of {', '.join(_FORMS)}; got {form!r}")


def kannel_msg_id_type_for(resp_form: str, receipt_form: str) -> int | None:
    """The Kannel `msg-id-type` for ids written this way (smpp-facts §2.2).

    "0x01" is the submit_sm_resp bit and "0x02" the deliver_sm bit; a set bit means hex
    -- Kannel userguide, msg-id-type. The provider (hex resp, decimal receipt) needs 0x01.

    Args:
        resp_form: "hex", "decimal" or "string" (opaque), for submit_sm_resp.message_id.
        receipt_form: the same, for the receipt id.

    Returns:
        0-3, or None for string/string ("If unset, ids are compared as opaque C strings").

    Raises:
        ValueError: one side is a string and the other a number (Kannel cannot do that),
            or a form is unknown.
    """
    for form in (resp_form, receipt_form):
        if form not in ("hex", "decimal", "string"):
            raise ValueError(f"form must be 'hex', 'decimal' or 'string'; got {form!r}")
    if resp_form == receipt_form == "string":
        return None
    if "string" in (resp_form, receipt_form):
        raise ValueError(
            "Kannel's msg-id-type reads both ids as numbers or neither; "
            f"resp {resp_form} with receipt {receipt_form} has no setting"
        )
    return (resp_form == "hex") * 0x01 | (receipt_form == "hex") * 0x02


@dataclass(frozen=True, slots=True)
class Match:
    """The answer of `same_message`: true or false, and why.

    Attributes:
        matched: whether the ids name the same message.
        reason: one sentence explaining the reading that matched, or why none did.
        resp_form / receipt_form: the readings that matched ("string", "decimal", "hex"),
            None when nothing matched.
    """

    matched: bool
    reason: str
    resp_form: str | None = None
    receipt_form: str | None = None

    def __bool__(self) -> bool:
        return self.matched

    def __str__(self) -> str:
        return self.reason

    @property
    def kannel_msg_id_type(self) -> int | None:
        """The Kannel msg-id-type that would match these ids (None: leave it unset)."""
        if not self.matched or self.resp_form is None or self.receipt_form is None:
            return None
        return kannel_msg_id_type_for(self.resp_form, self.receipt_form)


def _readings(s: str, form: str) -> list[tuple[str, int | str]]:
    if form == "auto":
        out: list[tuple[str, int | str]] = [("string", s)]
        if _DIGITS.match(s):
            out.append(("decimal", int(s)))
        m = _HEX.match(s)
        if m:
            out.append(("hex", int(m.group(1), 16)))
        return out
    try:
        return [(form, message_id_key(s, form) if form != "string" else s)]  # type: ignore[arg-type]
    except ValueError:
        return []


def id_readings(message_id: str) -> set[int | str]:
    """Every value `message_id` can stand for: its lower-cased text, its decimal value and
    its hex value (when it reads as such). Two ids that `same_message` pairs share one of
    these, so they make a cheap index; `same_message` then confirms and explains."""
    text = message_id.strip()
    return {text.lower(), *(value for _, value in _readings(text, "auto"))}


def _saturation_note(n: int) -> str:
    if n > _STRTOLL_MAX:
        return (
            f" Note: {n} is above 2^63-1, so Kannel's msg-id-type (signed strtoll) reads it "
            f"as {_STRTOLL_MAX} and may credit the receipt to another message."
        )
    return ""


def same_message(
    resp_id: str,
    receipt_id: str,
    *,
    resp_form: IdForm = "auto",
    receipt_form: IdForm = "auto",
) -> Match:
    """Whether a submit_sm_resp message_id and a receipt id name the same message, and why.

    Readings are tried from the most to the least literal: identical strings; equal but
    for letter case; the same number, both decimal or both hex (zero padding, case, 0x);
    resp hex and receipt decimal (the provider's rule, smpp-facts §1.6, Kannel
    msg-id-type 0x01); resp decimal and receipt hex (0x02).

    Args:
        resp_id: submit_sm_resp.message_id.
        receipt_id: the receipt's `id:` or receipted_message_id.
        resp_form / receipt_form: "auto" tries every reading the id allows; "hex",
            "decimal" or "string" fixes it (e.g. when you know the provider's rule).

    Returns:
        A `Match`: truthy when the ids match, with `.reason` saying why (or why not).

    Raises:
        ValueError: a form is unknown.
    """
    for form in (resp_form, receipt_form):
        if form not in _FORMS:
            raise ValueError(f"form must be one of {', '.join(_FORMS)}; got {form!r}")
    a, b = resp_id.strip(), receipt_id.strip()
    ra, rb = _readings(a, resp_form), _readings(b, receipt_form)
    bad = [
        f"{who} id {s!r} is not {form} ({who}_form={form!r})"
        for who, s, form, readings in (("resp", a, resp_form, ra), ("receipt", b, receipt_form, rb))
        if not readings
    ]
    if bad:
        return Match(False, "; ".join(bad))
    ka, kb = dict(ra), dict(rb)
    if "string" in ka and "string" in kb:
        if a == b:
            return Match(True, f"the ids are identical ({a})", "string", "string")
        if a.lower() == b.lower():
            return Match(
                True, f"the ids differ only by letter case ({a} vs {b})", "string", "string"
            )
    if ka.get("decimal") is not None and ka.get("decimal") == kb.get("decimal"):
        n = ka["decimal"]
        return Match(
            True,
            f"the ids differ only by zero padding ({a} vs {b}): both are decimal {n}"
            + _saturation_note(int(n)),
            "decimal",
            "decimal",
        )
    if ka.get("hex") is not None and ka.get("hex") == kb.get("hex"):
        n = int(ka["hex"])
        return Match(
            True,
            f"the ids differ only by zero padding, case or 0x ({a} vs {b}): both are hex "
            f"{n:X} = {n} decimal" + _saturation_note(n),
            "hex",
            "hex",
        )
    if ka.get("hex") is not None and ka.get("hex") == kb.get("decimal"):
        n = int(ka["hex"])
        padded = "" if b == str(n) else f" (written {b})"
        return Match(
            True,
            f"resp id {a} is hex = {n} decimal, which is the receipt id{padded} "
            "(the provider's rule: hex in submit_sm_resp, decimal in the receipt)"
            + _saturation_note(n),
            "hex",
            "decimal",
        )
    if ka.get("decimal") is not None and ka.get("decimal") == kb.get("hex"):
        n = int(ka["decimal"])
        return Match(
            True,
            f"resp id {a} is decimal = {n:X} hex, which is the receipt id ({b})"
            + _saturation_note(n),
            "decimal",
            "hex",
        )
    return Match(
        False,
        f"no reading makes them equal: resp id {a} reads as {_describe(ra)}; "
        f"receipt id {b} reads as {_describe(rb)}",
    )


def _describe(readings: list[tuple[str, int | str]]) -> str:
    out = []
    for form, key in readings:
        if form == "string":
            out.append(f"the string {key!r}")
        elif form == "decimal":
            out.append(f"decimal {key}")
        else:
            out.append(f"hex = {key} decimal")
    return ", ".join(out)
