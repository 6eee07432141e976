"""Wire primitives: integers, C-Octet Strings, Octet Strings, TLVs. No PDU knowledge here.

Strategy: each field kind is a small object with `read(buf, pos) -> (value, pos)`,
`write(value, out)` and `check(name, value) -> value`. `read` raises `RemoteProtocolError`
(the peer's bytes are wrong) and `check` raises `InvalidArgument`, a ValueError (the
caller's value is wrong); a `secret` string (the bind password) is never quoted in one. Nothing is ever truncated: a value that does not fit is an error naming the field
and the limit.

"C-Octet String: A series of ASCII characters terminated with the NULL character."
"Octet String: A series of octets, not necessarily NULL terminated." -- SMPP v3.4 §3.1
Strings are decoded as Latin-1 so that any octet survives a decode/encode round trip.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

from smppkit.protocol.constants import CommandStatus, MessageState, TlvTag
from smppkit.protocol.errors import InvalidArgument, RemoteProtocolError

__all__ = ["Tlv", "TLV_KINDS", "normalize_tlvs", "read_tlvs", "tlv_bytes", "write_tlvs"]

_S = CommandStatus
_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")
_TLV_HEAD = struct.Struct(">HH")


class Int:
    """Unsigned big-endian integer of 1, 2 or 4 octets -- SMPP v3.4 §3.1 ("Integer")."""

    __slots__ = ("size", "limit", "_st")

    def __init__(self, size: int) -> None:
        self.size = size
        self.limit = 1 << (8 * size)
        self._st = struct.Struct({1: ">B", 2: ">H", 4: ">I"}[size])

    def read(self, buf: bytes, pos: int) -> tuple[int, int]:
        end = pos + self.size
        if end > len(buf):
            raise RemoteProtocolError(
                f"PDU body ends inside a {self.size}-octet integer", _S.ESME_RINVCMDLEN
            )
        if self.size == 1:
            return buf[pos], end
        return self._st.unpack_from(buf, pos)[0], end

    def write(self, value: int, out: bytearray) -> None:
        if self.size == 1:
            out.append(value)
        else:
            out += self._st.pack(value)

    def check(self, name: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidArgument(f"{name} must be an int, not {type(value).__name__}")
        if not 0 <= value < self.limit:
            raise InvalidArgument(
                f"{name}={value} does not fit in {self.size} octet(s) (0..{self.limit - 1})"
            )
        return int(value)


class CString:
    """C-Octet String of at most `max_len` octets *including* the NULL -- SMPP v3.4 §3.1.

    `fixed` lists the lengths allowed besides empty (times are 16 characters or NULL,
    SMPP v3.4 §7.1.1). `status` is the command_status that a bad value earns. A `secret`
    value (the password) is never repeated in an error message.
    """

    __slots__ = ("max_len", "status", "fixed", "secret")

    def __init__(
        self,
        max_len: int,
        status: int = _S.ESME_RINVPARLEN,
        fixed: int | None = None,
        *,
        secret: bool = False,
    ) -> None:
        self.max_len = max_len
        self.status = status
        self.fixed = fixed
        self.secret = secret

    def read(self, buf: bytes, pos: int) -> tuple[str, int]:
        end = buf.find(b"\x00", pos, pos + self.max_len)
        if end < 0:
            if len(buf) - pos < self.max_len:
                raise RemoteProtocolError(
                    "PDU body ends inside a C-Octet String (no NULL)", _S.ESME_RINVCMDLEN
                )
            raise RemoteProtocolError(
                f"C-Octet String longer than its limit of {self.max_len} octets incl. NULL",
                self.status,
            )
        if self.fixed is not None and end != pos and end - pos != self.fixed:
            raise RemoteProtocolError(
                f"time field must be {self.fixed} characters or empty, got {end - pos}",
                self.status,
            )
        return buf[pos:end].decode("latin-1"), end + 1

    def write(self, value: str, out: bytearray) -> None:
        out += value.encode("latin-1")
        out.append(0)

    def check(self, name: str, value: Any) -> str:
        if not isinstance(value, str):
            raise InvalidArgument(f"{name} must be a str, not {type(value).__name__}")
        try:
            raw = value.encode("latin-1")
        except UnicodeEncodeError as exc:
            shown = f" (masked, {len(value)} characters)" if self.secret else f"={value!r}"
            raise InvalidArgument(
                f"{name}{shown} has characters outside ASCII/Latin-1 "
                f"(position {exc.start})", self.status
            ) from None
        if b"\x00" in raw:
            raise InvalidArgument(f"{name} must not contain a NULL character", self.status)
        if len(raw) >= self.max_len:
            raise InvalidArgument(
                f"{name} is {len(raw)} characters; the limit is {self.max_len - 1} "
                f"({self.max_len} octets with the NULL)",
                self.status,
            )
        if self.fixed is not None and raw and len(raw) != self.fixed:
            raise InvalidArgument(
                f"{name} must be {self.fixed} characters (YYMMDDhhmmsstnnp) or empty",
                self.status,
            )
        return value


class ShortMessage:
    """sm_length (1 octet) followed by short_message -- SMPP v3.4 §5.2.21-22.

    "short_message ... Up to 254 octets" -- SMPP v3.4 §4.4.1; longer text goes in the
    message_payload TLV. sm_length is derived, never stored.
    """

    __slots__ = ()
    max_len = 254

    def read(self, buf: bytes, pos: int) -> tuple[bytes, int]:
        if pos >= len(buf):
            raise RemoteProtocolError("PDU body ends before sm_length", _S.ESME_RINVCMDLEN)
        length = buf[pos]
        end = pos + 1 + length
        if end > len(buf):
            raise RemoteProtocolError(
                f"sm_length={length} runs past the end of the PDU", _S.ESME_RINVMSGLEN
            )
        return bytes(buf[pos + 1 : end]), end

    def write(self, value: bytes, out: bytearray) -> None:
        out.append(len(value))
        out += value

    def check(self, name: str, value: Any) -> bytes:
        if isinstance(value, bytearray | memoryview):
            value = bytes(value)
        if not isinstance(value, bytes):
            raise InvalidArgument(
                f"{name} must be bytes (encode text first, e.g. with smppkit.text), "
                f"not {type(value).__name__}"
            )
        if len(value) > self.max_len:
            raise InvalidArgument(
                f"{name} is {len(value)} octets; the limit is {self.max_len} "
                "(use message_payload or split the text)",
                _S.ESME_RINVMSGLEN,
            )
        return value


class Octets:
    """An Octet String whose length comes from elsewhere (a TLV length)."""

    __slots__ = ("max_len",)

    def __init__(self, max_len: int = 0xFFFF) -> None:
        self.max_len = max_len

    def check(self, name: str, value: Any) -> bytes:
        if isinstance(value, bytearray | memoryview):
            value = bytes(value)
        if not isinstance(value, bytes):
            raise InvalidArgument(f"{name} must be bytes, not {type(value).__name__}")
        if len(value) > self.max_len:
            raise InvalidArgument(f"{name} is {len(value)} octets; limit {self.max_len}")
        return value


# --- TLVs ---------------------------------------------------------------------------------
# "Optional Parameters ... Tag (2 octets), Length (2 octets), Value" -- SMPP v3.4 §3.2.4 / §5.3


@dataclass(frozen=True, slots=True)
class Tlv:
    """One optional parameter. `tag` is a `TlvTag` when known, else the raw int.

    `value` is typed for known tags (int, str, bytes, MessageState, or (type, code) for
    network_error_code) and raw bytes for unknown tags, so decode→encode is byte-exact.
    """

    tag: int
    value: Any

    @property
    def name(self) -> str:
        return self.tag.name if isinstance(self.tag, TlvTag) else f"0x{self.tag:04X}"


# kind: "u8", "u16", "u32", "cstr:<max>", "octets", "nec" (network_error_code), "empty"
_T = TlvTag
TLV_KINDS: dict[int, str] = {
    _T.dest_addr_subunit: "u8",
    _T.dest_network_type: "u8",
    _T.dest_bearer_type: "u8",
    _T.dest_telematics_id: "u16",
    _T.source_addr_subunit: "u8",
    _T.source_network_type: "u8",
    _T.source_bearer_type: "u8",
    _T.source_telematics_id: "u16",  # §5.3.2.9 (2 octets, as smpplib and Wireshark read it)
    _T.qos_time_to_live: "u32",
    _T.payload_type: "u8",
    _T.additional_status_info_text: "cstr:256",
    _T.receipted_message_id: "cstr:65",
    _T.ms_msg_wait_facilities: "u8",
    _T.privacy_indicator: "u8",
    _T.source_subaddress: "octets",
    _T.dest_subaddress: "octets",
    _T.user_message_reference: "u16",
    _T.user_response_code: "u8",
    _T.source_port: "u16",
    _T.destination_port: "u16",
    _T.sar_msg_ref_num: "u16",
    _T.language_indicator: "u8",
    _T.sar_total_segments: "u8",
    _T.sar_segment_seqnum: "u8",
    _T.sc_interface_version: "u8",
    _T.callback_num_pres_ind: "u8",
    _T.callback_num_atag: "octets",
    _T.number_of_messages: "u8",
    _T.callback_num: "octets",
    _T.dpf_result: "u8",
    _T.set_dpf: "u8",
    _T.ms_availability_status: "u8",
    _T.network_error_code: "nec",
    _T.message_payload: "octets",
    _T.delivery_failure_reason: "u8",
    _T.more_messages_to_send: "u8",
    _T.message_state: "u8",
    _T.ussd_service_op: "u8",
    _T.display_time: "u8",
    _T.sms_signal: "u16",
    _T.ms_validity: "u8",
    _T.alert_on_message_delivery: "empty",
    _T.its_reply_type: "u8",
    _T.its_session_info: "octets",
}
_INT_SIZES = {"u8": 1, "u16": 2, "u32": 4}


def _tag_of(key: Any) -> int:
    if isinstance(key, str):
        try:
            return TlvTag[key]
        except KeyError:
            raise InvalidArgument(f"unknown optional parameter name {key!r}") from None
    if isinstance(key, int) and 0 <= key <= 0xFFFF:
        try:
            return TlvTag(key)
        except ValueError:
            return int(key)
    raise InvalidArgument(f"TLV tag must be a TlvTag, a name or 0..0xFFFF, not {key!r}")


_INTS = {size: Int(size) for size in (1, 2, 4)}
_OCTETS = Octets()
_CSTRINGS: dict[str, CString] = {}


def _check_tlv_value(tag: int, value: Any) -> Any:
    kind = TLV_KINDS.get(tag)
    name = tag.name if isinstance(tag, TlvTag) else f"TLV 0x{tag:04X}"
    if kind is None or kind == "octets":
        return _OCTETS.check(name, value)
    if kind in _INT_SIZES:
        value = _INTS[_INT_SIZES[kind]].check(name, value)
        if tag == TlvTag.message_state:
            try:
                return MessageState(value)
            except ValueError:
                return value
        return value
    if kind.startswith("cstr:"):
        cstring = _CSTRINGS.get(kind)
        if cstring is None:
            cstring = _CSTRINGS[kind] = CString(int(kind[5:]))
        return cstring.check(name, value)
    if kind == "nec":
        if not (isinstance(value, tuple) and len(value) == 2):
            raise InvalidArgument("network_error_code must be a (network_type, error_code) pair")
        return (_INTS[1].check(name, value[0]), _INTS[2].check(name, value[1]))
    if kind == "empty":
        if value not in (None, b"", True):
            raise InvalidArgument(f"{name} carries no value; use None")
        return None
    raise AssertionError(kind)  # pragma: no cover


def normalize_tlvs(tlvs: Any) -> tuple[Tlv, ...]:
    """Turn a dict {name|tag: value}, pairs or `Tlv`s into a validated tuple of `Tlv`.

    Raises:
        InvalidArgument: unknown name, or a value of the wrong type or size.
    """
    if not tlvs:
        return ()
    items = tlvs.items() if isinstance(tlvs, dict) else tlvs
    out = []
    for item in items:
        tag, value = (item.tag, item.value) if isinstance(item, Tlv) else item
        tag = _tag_of(tag)
        out.append(Tlv(tag, _check_tlv_value(tag, value)))
    return tuple(out)


def read_tlvs(buf: bytes, pos: int, end: int) -> tuple[Tlv, ...]:
    """Decode every TLV in buf[pos:end].

    Raises:
        RemoteProtocolError: ESME_RINVOPTPARSTREAM for a TLV that runs past the PDU,
            ESME_RINVPARLEN for a known TLV with the wrong length.
    """
    out = []
    while pos < end:
        if end - pos < 4:
            raise RemoteProtocolError(
                f"{end - pos} stray octet(s) where a TLV header (4 octets) should be",
                _S.ESME_RINVOPTPARSTREAM,
            )
        tag, length = _TLV_HEAD.unpack_from(buf, pos)
        pos += 4
        if pos + length > end:
            raise RemoteProtocolError(
                f"TLV 0x{tag:04X} claims {length} octets but only {end - pos} remain",
                _S.ESME_RINVOPTPARSTREAM,
            )
        raw = bytes(buf[pos : pos + length])
        pos += length
        out.append(_decode_tlv(tag, raw))
    return tuple(out)


# tag -> (TlvTag, kind, size or limit), precomputed so decoding a TLV is one dict lookup.
_TLV_SPECS: dict[int, tuple[TlvTag, str, int]] = {
    int(tag): (
        TlvTag(tag),
        "cstr" if kind.startswith("cstr:") else kind,
        int(kind[5:]) if kind.startswith("cstr:") else _INT_SIZES.get(kind, 0),
    )
    for tag, kind in TLV_KINDS.items()
}
_MESSAGE_STATES = {int(state): state for state in MessageState}


def _decode_tlv(tag: int, raw: bytes) -> Tlv:
    spec = _TLV_SPECS.get(tag)
    if spec is None:
        return Tlv(tag, raw)
    ttag, kind, size = spec
    if kind == "octets":
        return Tlv(ttag, raw)
    if kind in _INT_SIZES:
        if len(raw) != size:
            raise RemoteProtocolError(
                f"{ttag.name} must be {size} octet(s), got {len(raw)}", _S.ESME_RINVPARLEN
            )
        value: Any = int.from_bytes(raw, "big")
        if ttag is TlvTag.message_state:
            value = _MESSAGE_STATES.get(value, value)
        return Tlv(ttag, value)
    if kind == "cstr":
        if not raw or raw[-1] != 0 or b"\x00" in raw[:-1] or len(raw) > size:
            raise RemoteProtocolError(
                f"{ttag.name} must be a NULL-terminated string of at most {size} octets",
                _S.ESME_RINVPARLEN,
            )
        return Tlv(ttag, raw[:-1].decode("latin-1"))
    if kind == "nec":
        # "network_error_code: network type (1 octet) + error code (2 octets)" -- §5.3.2.31
        if len(raw) != 3:
            raise RemoteProtocolError(
                f"network_error_code must be 3 octets, got {len(raw)}", _S.ESME_RINVPARLEN
            )
        return Tlv(ttag, (raw[0], int.from_bytes(raw[1:], "big")))
    if kind == "empty":
        if raw:
            raise RemoteProtocolError(f"{ttag.name} must be empty", _S.ESME_RINVPARLEN)
        return Tlv(ttag, None)
    raise AssertionError(kind)  # pragma: no cover


# tag -> how its value is written: the octets' length for an integer, else a kind code
_CSTR_KIND, _NEC_KIND, _EMPTY_KIND, _OCTETS_KIND = -1, -2, -3, -4
_TLV_WRITE: dict[int, int] = {
    int(tag): _INT_SIZES.get(kind) or {"nec": _NEC_KIND, "empty": _EMPTY_KIND,
                                       "octets": _OCTETS_KIND}.get(kind, _CSTR_KIND)
    for tag, kind in TLV_KINDS.items()
}
_pack_tlv_head = _TLV_HEAD.pack


def tlv_bytes(tlvs: tuple[Tlv, ...]) -> bytes:
    """The wire form of already-validated TLVs."""
    parts = []
    how = _TLV_WRITE
    fixed = _FIXED_TLVS
    for tlv in tlvs:
        tag = tlv.tag
        value = tlv.value
        kind = how.get(tag, _OCTETS_KIND)
        if kind == _CSTR_KIND:
            raw = value.encode("latin-1") + b"\x00"
        elif kind == _OCTETS_KIND:
            raw = value
        else:  # a fixed-size value (an integer, network_error_code, none): few differ
            key = (tag, value)
            wire = fixed.get(key)
            if wire is None:
                if kind > 0:
                    raw = int(value).to_bytes(kind, "big")
                elif kind == _NEC_KIND:
                    raw = bytes((value[0],)) + value[1].to_bytes(2, "big")
                else:
                    raw = b""
                wire = _pack_tlv_head(tag, len(raw)) + raw
                if len(fixed) < 4096:
                    fixed[key] = wire
            parts.append(wire)
            continue
        parts.append(_pack_tlv_head(tag, len(raw)))
        parts.append(raw)
    return b"".join(parts)


#: (tag, value) -> the whole TLV's octets, for fixed-size values (bounded)
_FIXED_TLVS: dict[tuple[int, Any], bytes] = {}


def write_tlvs(tlvs: tuple[Tlv, ...], out: bytearray) -> None:
    """Append the wire form of already-validated TLVs to `out`."""
    out += tlv_bytes(tlvs)
