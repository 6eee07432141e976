"""Message text: GSM 03.38 / Latin-1 / UCS-2 encoding, splitting into parts, reassembly.

Strategy: text is cut into *atoms* that must never be separated -- one character, which
is 1 septet in GSM 03.38 (2 with the escape 0x1B), 1 octet in Latin-1, and 1 UTF-16 code
unit in UCS-2 (2, a surrogate pair, outside the BMP). A split packs whole atoms greedily
into parts of at most `limit` units, so no part ever exceeds its limit and no escape
sequence or surrogate pair is ever cut. Everything is a pure function of its arguments:
the concatenation reference is a parameter, never random.

Errors: a bad argument (an unknown encoding or method, a character the chosen encoding
cannot carry, a reference out of range, more than 255 parts) raises `InvalidArgument`, a
`ValueError`; octets received from a peer that break a rule raise `RemoteProtocolError`.
Nothing here raises `LocalProtocolError`: no session state is involved.

Units and limits. One SMS carries 140 octets of user data -- 3GPP TS 23.040 §9.2.3.24
(TP-UD). That is 160 septets, 140 octets or 70 UTF-16 code units. A concatenation UDH takes
6 octets (IEI 0x00, 8-bit reference: ``05 00 03 RR TT SS``) or 7 octets (IEI 0x08, 16-bit
reference: ``06 08 04 RRRR TT SS``), leaving 153/134/67 or 152/133/66 units; with 7-bit
text the septets after a UDH start on a septet boundary (fill bits), hence
floor((140 - udh) * 8 / 7). SAR TLVs (sar_msg_ref_num, sar_total_segments,
sar_segment_seqnum -- SMPP v3.4 §5.3.2.22-24) leave short_message free, so each part keeps
160/140/70. message_payload (SMPP v3.4 §5.3.2.32) carries the whole text in one PDU.

Over SMPP, data_coding 0 carries GSM 03.38 *unpacked*, one septet per octet (what Kannel
and most SMSCs send); `pack_septets` / `unpack_septets` give the packed air-interface form
(`Part.tp_ud`) for learning and for captures.

The GSM alphabet comes from the `gsm0338` package (its `charset.BASIC_CHARACTER_SET` and
`BASIC_CHARACTER_SET_EXTENSION` tables, which do include the whole extension table:
form feed ^ { } \\ [ ~ ] | and the euro sign). Its `Codec` is not used for the work itself,
because it falls short in four ways (the tests show each):

* it encodes U+001B ESCAPE as a bare 0x1B octet, so the next character is read as an
  extension code: "a<ESC>(" comes back as "a{" and "a<ESC>" as "a" (here: not encodable);
* it raises on 0x1B followed by a code the extension table lacks and on 0x1B 0x1B, where
  3GPP TS 23.038 §6.2.1.1 says to show the basic-table character (and a space for 0x1B
  0x1B); a trailing lone 0x1B decodes to nothing without an error (here: an error, as it
  means an escape sequence was cut);
* it has no septet packing, fill bits or septet counting;
* its incremental encoder/decoder raise AttributeError (missing `_encoding_map`).
The tests check that `encode_text(..., "gsm")` equals `gsm0338.Codec().encode` on every
text both accept.

Differences from `smpplib.gsm.make_parts` (smpplib 2.x; each is shown by a test in
tests/test_text.py):

1. smpplib splits the *encoded bytes* every 153 octets (its FIXME: "a character may be
   broken by splitting"), so an escape sequence (0x1B 0x65 for the euro sign) can be cut
   in two; here a part ends early instead.
2. smpplib splits UCS-2 every 134 octets, which can cut a surrogate pair (emoji); here
   the pair moves to the next part.
3. smpplib picks the concatenation reference with `random.randint(0, 255)`; here it is
   the `reference` argument, so output is reproducible.
4. smpplib's GSM table puts a backtick at 0x5F (GSM 03.38 has the section sign there):
   "`" is sent as 0x5F and arrives as "§", while "§" itself cannot be encoded and pushes
   the whole message to UCS-2. Here "`" is not GSM (so UCS-2) and "§" is 0x5F.
5. smpplib's table lacks form feed (0x1B 0x0A), so text with "\\f" falls back to UCS-2;
   here it stays GSM (2 septets).
6. smpplib encodes U+001B ESCAPE as 0x1B (the receiver then reads the next character as
   an extension code); here it is not encodable.
7. smpplib offers only the 8-bit-reference UDH; `use_udhi=False` returns bare chunks with
   no SAR TLVs and no reference. Here: udh8, udh16, sar (with the TLVs) and payload.
The limits agree (160/153 septets, 140/134 octets, 70/67 code units) and both fall back
from GSM to UCS-2 for the whole message.

Known limit: a split keeps code points whole, not grapheme clusters, so a flag emoji
(two regional indicators) or a letter and its combining mark may land in two parts.
Handsets reassemble before display, so this only shows when a part is lost.
"""

from __future__ import annotations

import html
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from gsm0338.charset import BASIC_CHARACTER_SET, BASIC_CHARACTER_SET_EXTENSION

from smppkit.protocol.constants import CommandStatus, EsmClass
from smppkit.protocol.errors import InvalidArgument, RemoteProtocolError
from smppkit.protocol.pdus import DeliverSm, Pdu, SubmitSm
from smppkit.sms.udh import concat_udh, looks_like_concat_udh, parse_udh, split_udh

__all__ = [
    "ENCODINGS",
    "METHODS",
    "Finding",
    "Part",
    "Plan",
    "Reassembled",
    "decode_text",
    "diagnose_text",
    "encode_text",
    "fill_bits",
    "gsm_septets",
    "is_gsm",
    "non_gsm_chars",
    "pack_septets",
    "plan",
    "reassemble",
    "reassemble_all",
    "split_udh",
    "to_pdus",
    "unpack_septets",
]

_S = CommandStatus

# --- GSM 03.38 tables (from gsm0338) ------------------------------------------------------

_ESC = 0x1B
#: septet -> character, basic table. 0x1B is the escape, not a character.
_GSM_BASIC: dict[int, str] = {
    code: unicodedata.lookup(name) for code, name in BASIC_CHARACTER_SET.items() if code != _ESC
}
#: septet after 0x1B -> character -- 3GPP TS 23.038 §6.2.1.1
_GSM_EXT: dict[int, str] = {
    code: unicodedata.lookup(name) for code, name in BASIC_CHARACTER_SET_EXTENSION.items()
}
#: character -> unpacked octets (1 or 2).
_GSM_ENCODE: dict[str, bytes] = {ch: bytes((code,)) for code, ch in _GSM_BASIC.items()}
_GSM_ENCODE.update({ch: bytes((_ESC, code)) for code, ch in _GSM_EXT.items()})


# --- encodings ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Encoding:
    name: str
    data_coding: int
    unit: str  # what a limit counts
    label: str

    def limit(self, udh_length: int) -> int:
        """Units that fit in one SMS after a UDH of `udh_length` octets (0 = no UDH)."""
        octets = 140 - udh_length  # TP-UD is 140 octets -- 3GPP TS 23.040 §9.2.3.24
        if self.name == "gsm":
            # septets start on a septet boundary after the UDH (fill bits), so floor(8n/7)
            return octets * 8 // 7
        if self.name == "ucs2":
            return octets // 2
        return octets

    def max_payload_units(self) -> int:
        # message_payload "Variable 0-64K octets" -- SMPP v3.4 §5.3.2.32
        return 0xFFFF // 2 if self.name == "ucs2" else 0xFFFF


#: The named encodings: "gsm" (data_coding 0), "latin1" (3), "ucs2" (8).
ENCODINGS: dict[str, _Encoding] = {
    "gsm": _Encoding("gsm", 0x00, "septet", "GSM 03.38"),
    "latin1": _Encoding("latin1", 0x03, "octet", "Latin-1"),
    "ucs2": _Encoding("ucs2", 0x08, "UTF-16 code unit", "UCS-2"),
}
#: Splitting methods -> UDH length in octets (0: no UDH).
METHODS: dict[str, int] = {"udh8": 6, "udh16": 7, "sar": 0, "payload": 0}


def _encoding(name: str) -> _Encoding:
    try:
        return ENCODINGS[name]
    except KeyError:
        raise InvalidArgument(
            f"unknown encoding {name!r}; use one of {', '.join(ENCODINGS)}"
        ) from None


def _char_desc(ch: str) -> str:
    return f"{ch!r} (U+{ord(ch):04X})"


def is_gsm(text: str) -> bool:
    """True if every character of `text` is in the GSM 03.38 default or extension table."""
    return all(ch in _GSM_ENCODE for ch in text)


def non_gsm_chars(text: str) -> list[str]:
    """The distinct characters of `text` that GSM 03.38 cannot carry, in order of first use."""
    return list(dict.fromkeys(ch for ch in text if ch not in _GSM_ENCODE))


def gsm_septets(text: str) -> int:
    """Septets `text` takes in GSM 03.38 (2 for each extension-table character).

    Raises:
        InvalidArgument: a character is not in GSM 03.38.
    """
    return len(encode_text(text, "gsm"))


def encode_text(text: str, encoding: str) -> bytes:
    """The short_message octets of `text`: GSM unpacked (one septet per octet), Latin-1 or
    UTF-16BE.

    Args:
        text: the message text.
        encoding: "gsm" (data_coding 0), "latin1" (3) or "ucs2" (8).

    Returns:
        The encoded octets (without any UDH).

    Raises:
        InvalidArgument: a character the encoding cannot carry (named, with its position),
            or an unknown encoding.
    """
    enc = _encoding(encoding)
    if enc.name == "gsm":
        out = bytearray()
        for pos, ch in enumerate(text):
            try:
                out += _GSM_ENCODE[ch]
            except KeyError:
                raise InvalidArgument(
                    f"{_char_desc(ch)} at position {pos} is not in GSM 03.38", _S.ESME_RINVPARLEN
                ) from None
        return bytes(out)
    codec = "latin-1" if enc.name == "latin1" else "utf-16-be"
    try:
        return text.encode(codec)
    except UnicodeEncodeError as exc:
        ch = text[exc.start]
        why = "a lone surrogate" if enc.name == "ucs2" else f"not in {enc.label}"
        raise InvalidArgument(
            f"{_char_desc(ch)} at position {exc.start} is {why}", _S.ESME_RINVPARLEN
        ) from None


def _gsm_decode(data: bytes, errors: str) -> str:
    out = []
    i, n = 0, len(data)
    while i < n:
        octet = data[i]
        if octet > 0x7F:
            if errors == "strict":
                raise RemoteProtocolError(
                    f"octet 0x{octet:02X} at position {i} is not a GSM 03.38 septet "
                    "(data_coding 0 carries one septet per octet)",
                    _S.ESME_RINVPARLEN,
                )
            out.append("\ufffd")
            i += 1
        elif octet == _ESC:
            if i + 1 == n:
                if errors == "strict":
                    raise RemoteProtocolError(
                        "text ends with a lone escape 0x1B (an escape sequence cut in half?)",
                        _S.ESME_RINVPARLEN,
                    )
                out.append("\ufffd")
                i += 1
                continue
            nxt = data[i + 1]
            if nxt == _ESC:
                # 0x1B 0x1B is reserved; "a receiving entity shall display a space"
                # -- 3GPP TS 23.038 §6.2.1.1
                out.append(" ")
            elif nxt in _GSM_EXT:
                out.append(_GSM_EXT[nxt])
            elif nxt <= 0x7F:
                # an unknown extension code shows the basic-table character
                # -- 3GPP TS 23.038 §6.2.1.1
                out.append(_GSM_BASIC[nxt])
            elif errors == "strict":
                raise RemoteProtocolError(
                    f"octet 0x{nxt:02X} at position {i + 1} is not a GSM 03.38 septet",
                    _S.ESME_RINVPARLEN,
                )
            else:
                out.append("\ufffd")
            i += 2
        else:
            out.append(_GSM_BASIC[octet])
            i += 1
    return "".join(out)


_DECODERS = {0x01: "ascii", 0x03: "latin-1", 0x06: "iso8859-5", 0x07: "iso8859-8", 0x08: "utf-16-be"}


def decode_text(data: bytes, data_coding: int, *, errors: str = "strict") -> str:
    """The text carried by `data` (no UDH) under `data_coding`.

    data_coding 0 (and 0xF0-0xF3, the GSM 7-bit message-class group) is read as unpacked
    GSM 03.38; 1 ASCII, 3 Latin-1, 6 ISO-8859-5, 7 ISO-8859-8, 8 UTF-16BE.

    Args:
        data: the octets after any UDH.
        data_coding: the PDU's data_coding.
        errors: "strict" raises on a bad octet; "replace" puts U+FFFD in its place.

    Raises:
        RemoteProtocolError: (strict) an octet the coding cannot carry, a lone trailing
            escape, or UCS-2 with an odd length or a lone surrogate.
        InvalidArgument: a data_coding that is not text (binary, or unknown here).
    """
    if errors not in ("strict", "replace"):
        raise InvalidArgument(f"errors must be 'strict' or 'replace', not {errors!r}")
    if data_coding == 0x00 or 0xF0 <= data_coding <= 0xF3:
        return _gsm_decode(data, errors)
    codec = _DECODERS.get(data_coding)
    if codec is None:
        raise InvalidArgument(f"data_coding 0x{data_coding:02X} is not a text coding known here")
    try:
        return data.decode(codec)
    except UnicodeDecodeError as exc:
        if errors == "replace":
            return data.decode(codec, errors="replace")
        what = "an odd number of octets or a lone surrogate" if data_coding == 8 else "a bad octet"
        raise RemoteProtocolError(
            f"{len(data)} octets of data_coding 0x{data_coding:02X} hold {what} "
            f"(at position {exc.start})",
            _S.ESME_RINVPARLEN,
        ) from None


# --- packed septets -----------------------------------------------------------------------


def fill_bits(udh_length: int) -> int:
    """Fill bits after a UDH of `udh_length` octets (UDHL included) so that 7-bit text
    starts on a septet boundary -- 3GPP TS 23.040 §9.2.3.24. 6 octets -> 1, 7 -> 0."""
    return (7 - (udh_length * 8) % 7) % 7


def pack_septets(septets: bytes, fill: int = 0) -> bytes:
    """Pack unpacked septets (each octet < 0x80) 8 into 7 octets, least significant bit
    first, after `fill` zero bits -- 3GPP TS 23.038 §6.1.2.1.1.

    Raises:
        InvalidArgument: an octet above 0x7F, or `fill` outside 0..6.
    """
    if not 0 <= fill <= 6:
        raise InvalidArgument(f"fill must be 0..6 bits, not {fill}")
    acc, nbits, out = 0, fill, bytearray()
    for pos, septet in enumerate(septets):
        if septet > 0x7F:
            raise InvalidArgument(f"octet 0x{septet:02X} at position {pos} is not a septet")
        acc |= septet << nbits
        nbits += 7
        while nbits >= 8:
            out.append(acc & 0xFF)
            acc >>= 8
            nbits -= 8
    if nbits:
        out.append(acc & 0xFF)
    return bytes(out)


def unpack_septets(data: bytes, count: int, fill: int = 0) -> bytes:
    """The first `count` septets of packed `data` (after `fill` bits), one per octet.

    `count` is needed because 7 spare bits at the end look like one more septet (the
    TP-UDL gives it -- 3GPP TS 23.040 §9.2.3.16).

    Raises:
        RemoteProtocolError: `data` is too short for `count` septets.
    """
    if fill + 7 * count > 8 * len(data):
        raise RemoteProtocolError(
            f"{len(data)} octets cannot hold {count} septets after {fill} fill bits",
            _S.ESME_RINVMSGLEN,
        )
    value = int.from_bytes(data, "little")
    return bytes((value >> (fill + 7 * i)) & 0x7F for i in range(count))


# --- planning -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    """One part of a planned message.

    Attributes:
        seq: 1-based position; total: number of parts.
        text: the characters in this part; data: their encoded octets (no UDH).
        udh: the UDH octets (empty for single, sar and payload).
        units: septets, octets or UTF-16 code units in `data`; limit: the most allowed.
        method: "single", "udh8", "udh16", "sar" or "payload".
        reference: the concatenation reference (None when not concatenated).
    """

    seq: int
    total: int
    text: str
    data: bytes
    udh: bytes
    units: int
    limit: int
    method: str
    data_coding: int
    reference: int | None = None

    @property
    def udh_hex(self) -> str:
        return self.udh.hex(" ")

    @property
    def short_message(self) -> bytes:
        """What goes in short_message (UDH + data; empty for message_payload)."""
        return b"" if self.method == "payload" else self.udh + self.data

    @property
    def tlvs(self) -> dict[str, Any]:
        """The optional parameters this part needs (SAR numbers, or message_payload)."""
        if self.method == "sar":
            # sar_msg_ref_num, sar_total_segments, sar_segment_seqnum -- SMPP v3.4 §5.3.2.22-24
            return {
                "sar_msg_ref_num": self.reference,
                "sar_total_segments": self.total,
                "sar_segment_seqnum": self.seq,
            }
        if self.method == "payload":
            return {"message_payload": self.data}
        return {}

    @property
    def tp_ud(self) -> bytes:
        """The user data as sent over the air: for GSM, the UDH, fill bits and packed
        septets; otherwise the same as UDH + data."""
        if self.data_coding != 0:
            return self.udh + self.data
        return self.udh + pack_septets(self.data, fill_bits(len(self.udh)) if self.udh else 0)


@dataclass(frozen=True)
class Plan:
    """How a text will be sent: encoding, limits, parts and the reason for each decision."""

    text: str
    encoding: str
    data_coding: int
    method: str
    unit: str
    units: int
    limit: int
    parts: tuple[Part, ...]
    reasons: tuple[str, ...]
    reference: int | None = None

    @property
    def segments(self) -> int:
        return len(self.parts)

    def _rows(self) -> list[dict[str, Any]]:
        return [
            {
                "seq": p.seq,
                "units": p.units,
                "limit": p.limit,
                "udh": p.udh_hex,
                "data": p.data.hex(" "),
                "text": p.text,
            }
            for p in self.parts
        ]

    def to_frame(self) -> Any:
        """One row per part (seq, units, limit, udh, data, text) as a pandas DataFrame."""
        import pandas as pd

        frame = pd.DataFrame(self._rows(), columns=["seq", "units", "limit", "udh", "data", "text"])
        return frame.astype(
            {"seq": "int64", "units": "int64", "limit": "int64", "udh": "string",
             "data": "string", "text": "string"}
        )

    def _repr_html_(self) -> str:
        esc = html.escape
        head = (
            f"<p><b>{esc(ENCODINGS[self.encoding].label)}</b> (data_coding {self.data_coding}), "
            f"{self.units} {esc(self.unit)}s, method <b>{esc(self.method)}</b>, "
            f"{self.segments} part(s) of at most {self.limit}</p>"
        )
        reasons = "".join(f"<li>{esc(r)}</li>" for r in self.reasons)
        cols = ["seq", "units", "limit", "udh", "data", "text"]
        rows = "".join(
            "<tr>" + "".join(f"<td>{esc(str(row[c]))}</td>" for c in cols) + "</tr>"
            for row in self._rows()
        )
        header = "".join(f"<th>{c}</th>" for c in cols)
        return f"{head}<ul>{reasons}</ul><table><tr>{header}</tr>{rows}</table>"


def _atoms(text: str, enc: _Encoding) -> list[tuple[str, bytes, int]]:
    """(character, octets, units) per character; a character is never split."""
    data = encode_text(text, enc.name)
    if enc.name == "latin1":
        return [(ch, bytes((b,)), 1) for ch, b in zip(text, data, strict=True)]
    out, pos = [], 0
    for ch in text:
        if enc.name == "gsm":
            size = len(_GSM_ENCODE[ch])
            out.append((ch, data[pos : pos + size], size))
        else:
            size = 4 if ord(ch) > 0xFFFF else 2  # a surrogate pair outside the BMP
            out.append((ch, data[pos : pos + size], size // 2))
        pos += size
    return out


def _encoding_reason(text: str, asked: str, enc: _Encoding) -> str:
    if asked == "auto":
        if enc.name == "gsm":
            ext = list(dict.fromkeys(ch for ch in text if len(_GSM_ENCODE[ch]) == 2))
            why = "GSM 03.38: every character fits"
            if ext:
                shown = ", ".join(repr(c)[1:-1] for c in ext)
                verb = "needs" if len(ext) == 1 else "need"
                why += f" ({len(ext)} {verb} the escape table: {shown})"
            return why + "; data_coding 0"
        bad = non_gsm_chars(text)
        shown = ", ".join(repr(c) for c in bad[:5]) + (" ..." if len(bad) > 5 else "")
        verb = "is" if len(bad) == 1 else "are"
        why = f"UCS-2: {shown} {verb} not in GSM 03.38, so the whole text goes as UTF-16BE"
        wide = [c for c in dict.fromkeys(text) if ord(c) > 0xFFFF]
        if wide:
            verb = "takes" if len(wide) == 1 else "take"
            shown = ", ".join(repr(c) for c in wide[:5])
            why += f" ({shown} {verb} 2 code units each: a surrogate pair)"
        return why + "; data_coding 8"
    return f"{enc.label}: chosen by the caller (encoding={asked!r}); data_coding {enc.data_coding}"


def _check_reference(method: str, reference: int) -> None:
    if isinstance(reference, bool) or not isinstance(reference, int):
        raise InvalidArgument(f"reference must be an int, not {type(reference).__name__}")
    top = 0xFF if method == "udh8" else 0xFFFF
    if not 0 <= reference <= top:
        raise InvalidArgument(f"reference {reference} does not fit {method} (0..{top})")


def plan(text: str, encoding: str = "auto", method: str = "udh8", reference: int = 0) -> Plan:
    """Choose the encoding, count units and split `text` into parts.

    Args:
        text: the message text.
        encoding: "auto" (GSM 03.38 when every character fits, else UCS-2), or "gsm",
            "latin1", "ucs2" to force one.
        method: "udh8", "udh16", "sar" or "payload" (used only when the text does not fit
            one message, except "payload", which always puts the text in message_payload).
        reference: the concatenation reference (0..255 for udh8, 0..65535 for udh16/sar).

    Returns:
        A `Plan`; its `reasons` explain each decision.

    Raises:
        InvalidArgument: a character the forced encoding cannot carry, an unknown
            encoding or method, a reference out of range, or more than 255 parts.
    """
    if not isinstance(text, str):
        raise InvalidArgument(f"text must be a str, not {type(text).__name__}")
    if method not in METHODS:
        raise InvalidArgument(f"unknown method {method!r}; use one of {', '.join(METHODS)}")
    if encoding == "auto":
        enc = ENCODINGS["gsm" if is_gsm(text) else "ucs2"]
    else:
        enc = _encoding(encoding)
    _check_reference(method, reference)
    atoms = _atoms(text, enc)
    units = sum(a[2] for a in atoms)
    reasons = [_encoding_reason(text, encoding, enc)]
    single = enc.limit(0)
    unit = enc.unit

    if method == "payload":
        limit = enc.max_payload_units()
        if units > limit:
            raise InvalidArgument(
                f"{units} {unit}s exceed message_payload's 65535 octets", _S.ESME_RINVMSGLEN
            )
        air = _greedy(atoms, enc.limit(METHODS["udh8"])) if units > single else [atoms]
        reasons.append(
            f"message_payload: the whole text ({units} {unit}s) in one PDU, no UDH; the SMSC "
            f"splits it for the air interface ({len(air)} segment(s))"
        )
        data = b"".join(a[1] for a in atoms)
        part = Part(1, 1, text, data, b"", units, limit, "payload", enc.data_coding)
        return Plan(text, enc.name, enc.data_coding, "payload", unit, units, limit, (part,),
                    tuple(reasons))

    if units <= single:
        reasons.append(f"{units} {unit}s <= {single}: one message, no UDH and no SAR")
        data = b"".join(a[1] for a in atoms)
        part = Part(1, 1, text, data, b"", units, single, "single", enc.data_coding)
        return Plan(text, enc.name, enc.data_coding, "single", unit, units, single, (part,),
                    tuple(reasons))

    udh_length = METHODS[method]
    limit = enc.limit(udh_length)
    groups = _greedy(atoms, limit)
    total = len(groups)
    # sar_total_segments and the UDH total are one octet -- SMPP v3.4 §5.3.2.23
    if total > 255:
        raise InvalidArgument(
            f"{units} {unit}s need {total} parts; concatenation allows 255", _S.ESME_RINVMSGLEN
        )
    how = {
        "udh8": f"UDH IEI 0x00 (8-bit reference {reference}, 6 octets)",
        "udh16": f"UDH IEI 0x08 (16-bit reference {reference}, 7 octets)",
        "sar": f"SAR TLVs (sar_msg_ref_num={reference}); short_message keeps the full {single}",
    }[method]
    reasons.append(f"{units} {unit}s > {single}: split with {how}, {limit} {unit}s per part "
                   f"-> {total} parts")
    parts = []
    for seq, group in enumerate(groups, start=1):
        used = sum(a[2] for a in group)
        if seq < total and used < limit:
            nxt = groups[seq][0]
            if used + nxt[2] > limit:
                what = "escape sequence" if enc.name == "gsm" else "surrogate pair"
                reasons.append(
                    f"part {seq} holds {used} {unit}s (limit {limit}): "
                    f"{repr(nxt[0])} needs {nxt[2]} and moved to part {seq + 1} so the "
                    f"{what} is not cut"
                )
        parts.append(
            Part(seq, total, "".join(a[0] for a in group), b"".join(a[1] for a in group),
                 concat_udh(method, reference, total, seq), used, limit, method, enc.data_coding,
                 reference)
        )
    return Plan(text, enc.name, enc.data_coding, method, unit, units, limit, tuple(parts),
                tuple(reasons), reference)


def _greedy(atoms: list[tuple[str, bytes, int]], limit: int) -> list[list[tuple[str, bytes, int]]]:
    groups: list[list[tuple[str, bytes, int]]] = [[]]
    used = 0
    for atom in atoms:
        if used + atom[2] > limit:
            groups.append([])
            used = 0
        groups[-1].append(atom)
        used += atom[2]
    return groups


def to_pdus(
    text: str | Plan,
    *,
    source_addr: str,
    destination_addr: str,
    encoding: str = "auto",
    method: str = "udh8",
    reference: int = 0,
    registered_delivery: int = 1,
    source_addr_ton: int = 0,
    source_addr_npi: int = 0,
    dest_addr_ton: int = 0,
    dest_addr_npi: int = 0,
    esm_class: int = 0,
    pdu_class: type[SubmitSm] | type[DeliverSm] = SubmitSm,
    **fields: Any,
) -> list[Pdu]:
    """The submit_sm PDUs (or deliver_sm, for MO tests) that carry `text`.

    With a UDH, esm_class gets UDHI (0x40) and every part the same reference; with SAR the
    three sar_* TLVs; with "payload" one PDU with message_payload. A text that fits one
    message gives one PDU with neither. `registered_delivery` is set on every part.

    Args:
        text: the text, or a `Plan` already made (then encoding/method/reference are unused).
        source_addr, destination_addr: the addresses (and their TON/NPI).
        encoding, method, reference: as for `plan`.
        esm_class: extra esm_class bits (messaging mode); UDHI is added when needed.
        pdu_class: `SubmitSm` (default) or `DeliverSm`.
        **fields: other body fields (service_type, validity_period, ...).

    Returns:
        The PDUs in part order, sequence_number 0 (a Session assigns them).

    Raises:
        InvalidArgument: as for `plan`, or a field set twice or invalid.
    """
    the_plan = text if isinstance(text, Plan) else plan(text, encoding, method, reference)
    for name in ("short_message", "data_coding", "tlvs"):
        if name in fields:
            raise InvalidArgument(f"{name} comes from the plan; do not pass it")
    out: list[Pdu] = []
    for part in the_plan.parts:
        udhi = EsmClass.udhi if part.udh else 0
        out.append(
            pdu_class(
                source_addr=source_addr,
                destination_addr=destination_addr,
                source_addr_ton=source_addr_ton,
                source_addr_npi=source_addr_npi,
                dest_addr_ton=dest_addr_ton,
                dest_addr_npi=dest_addr_npi,
                esm_class=esm_class | udhi,
                registered_delivery=registered_delivery,
                data_coding=part.data_coding,
                short_message=part.short_message,
                tlvs=part.tlvs,
                **fields,
            )
        )
    return out


# --- reassembly ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Reassembled:
    """A message put back together from its parts.

    Attributes:
        text: the text of the parts received, in order (missing parts leave nothing).
        complete: every part 1..total arrived.
        missing: the seqs that did not arrive; duplicates: the seqs that arrived twice or more.
        problems: anything else odd (mixed totals or codings, bad seqs, undecodable octets).
    """

    text: str
    complete: bool
    method: str
    reference: int | None
    total: int
    received: tuple[int, ...]
    missing: tuple[int, ...]
    duplicates: tuple[int, ...]
    data_coding: int
    problems: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class _Frag:
    method: str
    reference: int | None
    total: int
    seq: int
    data: bytes
    data_coding: int
    addresses: tuple[str, str]


def _fragment(item: Part | Pdu) -> _Frag:
    if isinstance(item, Part):
        return _Frag(item.method, item.reference, item.total, item.seq, item.data,
                     item.data_coding, ("", ""))
    if not hasattr(item, "esm_class") or not hasattr(item, "data_coding"):
        raise InvalidArgument(f"{type(item).__name__} carries no message text")
    addrs = (getattr(item, "source_addr", ""), getattr(item, "destination_addr", ""))
    body: bytes = getattr(item, "short_message", b"")  # data_sm has only message_payload
    payload = item.tlv("message_payload")
    method = "single"
    if not body and payload is not None:
        body, method = payload, "payload"
    dc = item.data_coding  # type: ignore[attr-defined]
    if item.esm_class & EsmClass.udhi:  # type: ignore[attr-defined]
        udh, data = split_udh(body)
        ie = parse_udh(udh).concat
        if ie is not None:
            return _Frag(ie.method, ie.reference, ie.total, ie.seq, data, dc, addrs)
        return _Frag(method, None, 1, 1, data, dc, addrs)
    ref = item.tlv("sar_msg_ref_num")
    if ref is not None:
        total = item.tlv("sar_total_segments", 0)
        seq = item.tlv("sar_segment_seqnum", 0)
        return _Frag("sar", ref, total, seq, body, dc, addrs)
    return _Frag(method, None, 1, 1, body, dc, addrs)


def _key(frag: _Frag, index: int) -> tuple[Any, ...]:
    if frag.reference is None:
        return ("single", index)
    return (frag.addresses, frag.method, frag.reference)


def reassemble_all(items: Iterable[Part | Pdu]) -> list[Reassembled]:
    """Group parts of several messages (by addresses, method and reference) and
    reassemble each; messages in order of first appearance."""
    groups: dict[tuple[Any, ...], list[_Frag]] = {}
    for index, item in enumerate(items):
        frag = _fragment(item)
        groups.setdefault(_key(frag, index), []).append(frag)
    return [_join(frags) for frags in groups.values()]


def reassemble(items: Iterable[Part | Pdu]) -> Reassembled:
    """Put one message back together from its parts or PDUs, in any order.

    Works for UDH (8- and 16-bit reference), SAR, message_payload and single PDUs,
    submit_sm and deliver_sm alike. Duplicates and gaps are reported, not fatal.

    Raises:
        InvalidArgument: no parts, or parts of more than one message (use
            `reassemble_all`).
        RemoteProtocolError: a UDH that runs past its short_message.
    """
    groups = reassemble_all(items)
    if not groups:
        raise InvalidArgument("nothing to reassemble")
    if len(groups) > 1:
        refs = ", ".join(f"{g.method}:{g.reference}" for g in groups)
        raise InvalidArgument(f"parts of {len(groups)} messages ({refs}); use reassemble_all")
    return groups[0]


def _join(frags: list[_Frag]) -> Reassembled:
    first = frags[0]
    total = first.total
    problems: list[str] = []
    if any(f.total != total for f in frags):
        totals = sorted({f.total for f in frags})
        problems.append(f"parts disagree on the total: {totals}; using {total}")
    by_seq: dict[int, _Frag] = {}
    dups: list[int] = []
    for frag in frags:
        # a seq of 0 or above the total: "ignore this Information Element"
        # -- 3GPP TS 23.040 §9.2.3.24.1
        if not 1 <= frag.seq <= total:
            problems.append(f"part seq {frag.seq} is outside 1..{total}; ignored")
            continue
        if frag.seq in by_seq:
            if frag.seq not in dups:
                dups.append(frag.seq)
            if frag.data != by_seq[frag.seq].data:
                problems.append(f"part {frag.seq} arrived twice with different octets; kept the first")
            continue
        by_seq[frag.seq] = frag
    received = tuple(sorted(by_seq))
    missing = tuple(s for s in range(1, total + 1) if s not in by_seq)
    ordered = [by_seq[s] for s in received]
    codings = {f.data_coding for f in ordered}
    if len(codings) > 1:
        problems.append(f"parts use different data_coding values: {sorted(codings)}")
        chunks = [(f.data, f.data_coding) for f in ordered]
    else:
        # decode the joined octets: a sender that cut an escape or a surrogate pair across
        # parts (see smpplib) still gives the right text here
        chunks = [(b"".join(f.data for f in ordered), first.data_coding)]
    texts = []
    for data, dc in chunks:
        try:
            texts.append(decode_text(data, dc))
        except RemoteProtocolError as exc:
            problems.append(f"undecodable text: {exc.args[0]}")
            texts.append(decode_text(data, dc, errors="replace"))
    return Reassembled(
        text="".join(texts),
        complete=not missing,
        method=first.method,
        reference=first.reference,
        total=total,
        received=received,
        missing=missing,
        duplicates=tuple(sorted(dups)),
        data_coding=first.data_coding,
        problems=tuple(problems),
    )


# --- diagnosis ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """One text problem: how bad, what, the evidence, and the fix."""

    severity: str  # "error", "warning" or "info"
    problem: str
    evidence: str
    fix: str
    where: str = ""


_CONTROL_OK = {0x0A, 0x0D}


def _gsm_as_latin1(data: bytes) -> str:
    return data.decode("latin-1")


def _latin1_as_gsm(data: bytes) -> str:
    return _gsm_decode(data, "replace")


def _alphabet_findings(data: bytes, smsc_alphabet: str, where: str) -> list[Finding]:
    """data_coding 0 octets read by an SMSC whose default alphabet is `smsc_alphabet`."""
    if any(b > 0x7F for b in data):
        bad = next(b for b in data if b > 0x7F)
        return [Finding(
            "error",
            "octets above 0x7F in data_coding 0: this is Latin-1 or UTF-8, not GSM 03.38",
            f"octet 0x{bad:02X}; read as GSM it becomes {_latin1_as_gsm(data)!r}",
            "encode with smppkit.text.encode_text(text, 'gsm'), or send data_coding 3 "
            "(Latin-1) or 8 (UCS-2)",
            where,
        )]
    gsm_reading = _gsm_decode(data, "replace")
    latin_reading = _gsm_as_latin1(data)
    if gsm_reading == latin_reading:
        return []
    gsm_only = [b for b in data if b < 0x20 and b not in _CONTROL_OK]
    if smsc_alphabet == "latin1" and gsm_only:
        return [Finding(
            "error",
            "GSM 03.38 octets in data_coding 0, but this SMSC reads data_coding 0 as Latin-1",
            f"sent {gsm_reading!r} (octets {data[:12].hex(' ')}{' ...' if len(data) > 12 else ''})"
            f"; read as Latin-1 it becomes {latin_reading!r} -- the control characters are "
            "often shown as '¿' or '?'",
            "send Latin-1 octets with data_coding 3, or have the SMSC map data_coding 0 to "
            "GSM 03.38 (Kannel: alt-charset)",
            where,
        )]
    if smsc_alphabet == "gsm" and not gsm_only and any(b in data for b in b"@$_`"):
        return [Finding(
            "warning",
            "ASCII-looking octets in data_coding 0, which this SMSC reads as GSM 03.38",
            f"as ASCII {latin_reading!r}; as GSM 03.38 {gsm_reading!r} "
            "('@' 0x40 -> '¡', '$' 0x24 -> '¤', '_' 0x5F -> '§', '`' 0x60 -> '¿')",
            "encode with smppkit.text.encode_text(text, 'gsm') (@ is 0x00, $ is 0x02, _ is "
            "0x11), or send data_coding 3 if the SMSC supports Latin-1",
            where,
        )]
    return []


def _encoding_of(data_coding: int) -> _Encoding:
    """The encoding whose units and limits apply to a data_coding (8-bit for the rest)."""
    if data_coding == 0 or 0xF0 <= data_coding <= 0xF3:
        return ENCODINGS["gsm"]
    return ENCODINGS["ucs2" if data_coding == 8 else "latin1"]


def _pdu_findings(pdu: Pdu, smsc_alphabet: str, where: str) -> list[Finding]:
    out: list[Finding] = []
    body: bytes = getattr(pdu, "short_message", b"")
    dc: int = getattr(pdu, "data_coding", 0)
    esm: int = getattr(pdu, "esm_class", 0)
    from_payload = False
    if not body and pdu.tlv("message_payload") is not None:
        body, from_payload = pdu.tlv("message_payload"), True
    udh = b""
    data = body
    if esm & EsmClass.udhi:
        try:
            udh, data = split_udh(body)
        except RemoteProtocolError as exc:
            return [Finding(
                "error",
                "esm_class has UDHI (0x40) but short_message does not start with a valid UDH",
                f"{exc.args[0]}; octets {body[:8].hex(' ')}",
                "clear 0x40 in esm_class, or put the UDH first in short_message",
                where,
            )]
    elif looks_like_concat_udh(body):
        shown = decode_text(body[: 1 + body[0]], dc, errors="replace") if dc in (0, 3, 8) else ""
        out.append(Finding(
            "error",
            "short_message starts with a concatenation UDH but esm_class lacks UDHI (0x40): "
            "the handset shows the UDH as text and does not join the parts",
            f"esm_class=0x{esm:02X}; first octets {body[:1 + body[0]].hex(' ')}"
            + (f" shown as {shown!r}" if shown else ""),
            "set esm_class |= 0x40 (smppkit.text.to_pdus does this)",
            where,
        ))
        udh, data = body[: 1 + body[0]], body[1 + body[0] :]
    if dc == 8:
        if len(data) % 2:
            out.append(Finding(
                "error",
                "UCS-2 (data_coding 8) text with an odd number of octets",
                f"{len(data)} octets after the UDH; the last octet is half a character",
                "split UCS-2 on 2-octet boundaries (and keep surrogate pairs together)",
                where,
            ))
        elif len(data) >= 2 and 0xD8 <= data[-2] <= 0xDB:
            out.append(Finding(
                "error",
                "UCS-2 part ends with a high surrogate: a surrogate pair (emoji) cut across parts",
                f"last code unit {data[-2:].hex()}",
                "split between characters, not every 134 octets (smppkit.text.plan)",
                where,
            ))
        elif len(data) >= 2 and 0xDC <= data[0] <= 0xDF:
            out.append(Finding(
                "error",
                "UCS-2 part starts with a low surrogate: the other half is in the previous part",
                f"first code unit {data[:2].hex()}",
                "split between characters, not every 134 octets (smppkit.text.plan)",
                where,
            ))
    if dc == 0:
        if data.endswith(b"\x1b") and not data.endswith(b"\x1b\x1b"):
            out.append(Finding(
                "error",
                "GSM part ends with the escape 0x1B: an escape sequence cut across parts",
                f"last octets {data[-4:].hex(' ')}; the next part starts with the "
                "extension code, shown as a plain character",
                "split between characters, not every 153 octets (smppkit.text.plan)",
                where,
            ))
        out.extend(_alphabet_findings(data, smsc_alphabet, where))
    if not from_payload:
        enc = _encoding_of(dc)
        units = len(data) // 2 if enc.name == "ucs2" else len(data)
        limit = enc.limit(len(udh))
        if units > limit:
            out.append(Finding(
                "error",
                f"part over the limit: {units} {enc.unit}s where {limit} fit"
                + (f" after a {len(udh)}-octet UDH" if udh else ""),
                f"{len(body)} octets of short_message, data_coding {dc}",
                "split with smppkit.text.plan (153/134/67 per part with an 8-bit-reference UDH)",
                where,
            ))
    return out


def diagnose_text(
    message: str | Pdu | Iterable[Pdu], *, smsc_alphabet: str = "gsm"
) -> list[Finding]:
    """Find the classic text problems in a text or in the PDUs that carry it.

    For a text: what an SMSC whose data_coding 0 alphabet is `smsc_alphabet` would show.
    For PDUs: UDH without UDHI, UDHI without a UDH, UCS-2 with an odd length or a cut
    surrogate pair, a cut GSM escape, a part over the limit, and the data_coding 0
    alphabet mismatch (GSM octets to a Latin-1 SMSC, ASCII octets to a GSM SMSC). data_coding
    0 octets do not say which alphabet the sender meant, so the mismatch check goes by
    evidence: control octets other than LF/CR (GSM's @ £ $ _ ...) mean GSM was meant;
    ASCII @ $ _ ` without them mean ASCII was.

    Args:
        message: a str, one PDU, or several.
        smsc_alphabet: "gsm" or "latin1", how the SMSC reads data_coding 0.

    Returns:
        The findings, most important first within each PDU; empty when all is well.
    """
    if smsc_alphabet not in ("gsm", "latin1"):
        raise InvalidArgument(f"smsc_alphabet must be 'gsm' or 'latin1', not {smsc_alphabet!r}")
    if isinstance(message, str):
        return _text_findings(message, smsc_alphabet)
    pdus = [message] if isinstance(message, Pdu) else list(message)
    out: list[Finding] = []
    for index, pdu in enumerate(pdus, start=1):
        out.extend(_pdu_findings(pdu, smsc_alphabet, f"PDU {index}"))
    return out


def _text_findings(text: str, smsc_alphabet: str) -> list[Finding]:
    if not is_gsm(text):
        return []
    gsm = encode_text(text, "gsm")
    changed = [ch for ch in dict.fromkeys(text) if _gsm_as_latin1(_GSM_ENCODE[ch]) != ch]
    if smsc_alphabet == "latin1" and changed:
        pairs = ", ".join(f"{ch!r} -> {_gsm_as_latin1(_GSM_ENCODE[ch])!r}" for ch in changed[:8])
        return [Finding(
            "error",
            "this text goes as GSM 03.38 in data_coding 0, but the SMSC reads data_coding 0 "
            "as Latin-1",
            f"{pairs}; the handset gets {_gsm_as_latin1(gsm)!r}",
            "send encoding='latin1' (data_coding 3) or 'ucs2', or have the SMSC map "
            "data_coding 0 to GSM 03.38",
        )]
    ascii_broken = [ch for ch in dict.fromkeys(text)
                    if ch in "@$_`"]
    if smsc_alphabet == "gsm" and ascii_broken:
        raw = text.encode("latin-1", errors="replace")
        pairs = ", ".join(
            f"{ch!r} -> {_latin1_as_gsm(ch.encode('latin-1'))!r}" for ch in ascii_broken
        )
        return [Finding(
            "info",
            "if this text is sent as ASCII/Latin-1 octets with data_coding 0, a GSM SMSC "
            "changes some characters",
            f"{pairs}; the handset would get {_latin1_as_gsm(raw)!r}",
            "encode with smppkit.text.encode_text(text, 'gsm') (to_pdus does)",
        )]
    return []
