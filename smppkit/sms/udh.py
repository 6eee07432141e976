"""The User Data Header at the start of a short_message: the one parser (and writer) of it.

"UDHL ... Length of User Data Header", then information elements, each "IEI (1 octet),
IEDL (1 octet), IED (IEDL octets)" -- 3GPP TS 23.040 §9.2.3.24. esm_class bit 6 (UDHI,
0x40) says the header is there -- SMPP v3.4 §5.2.12.

Strategy: `parse_udh` walks the header once and never raises: whatever the octets, it
returns a `Udh` with the elements it could read and, when the octets are not a valid
header, a `problem` sentence. Readers choose their strictness from that one walk:
`split_udh` (the codec-style reader: raises `RemoteProtocolError`), `concat_of` (lenient,
for traces and logs), explain's rows (shows everything, including the broken part).
`concat_udh` writes the two concatenation layouts. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from smppkit.protocol.constants import CommandStatus
from smppkit.protocol.errors import RemoteProtocolError

__all__ = [
    "IE_NAMES",
    "IEI_CONCAT_8",
    "IEI_CONCAT_16",
    "Concat",
    "InformationElement",
    "Udh",
    "concat_of",
    "concat_udh",
    "looks_like_concat_udh",
    "parse_udh",
    "split_udh",
]

# "Concatenated short messages, 8-bit reference number" (IEDL 3) and "..., 16-bit
# reference number" (IEDL 4) -- 3GPP TS 23.040 §9.2.3.24.1 and §9.2.3.24.8
IEI_CONCAT_8 = 0x00
IEI_CONCAT_16 = 0x08
_CONCAT_IEDL = {IEI_CONCAT_8: 3, IEI_CONCAT_16: 4}

#: Information element identifiers -- 3GPP TS 23.040 §9.2.3.24
IE_NAMES = {
    0x00: "concatenated SM, 8-bit reference",
    0x01: "special SMS message indication",
    0x04: "application port addressing, 8-bit",
    0x05: "application port addressing, 16-bit",
    0x08: "concatenated SM, 16-bit reference",
    0x24: "national language single shift",
    0x25: "national language locking shift",
}

Method = Literal["udh8", "udh16"]


@dataclass(frozen=True, slots=True)
class InformationElement:
    """One IE. `offset` is where its IEI octet is in the short_message; `data` may be
    shorter than `length` (IEDL) when the element runs past the header."""

    offset: int
    iei: int
    length: int
    data: bytes

    @property
    def complete(self) -> bool:
        return len(self.data) == self.length

    @property
    def name(self) -> str:
        return IE_NAMES.get(self.iei, "information element")


@dataclass(frozen=True, slots=True)
class Concat:
    """The concatenation IE: `method` "udh8" or "udh16", the reference shared by every
    part, `total` parts, and this part's `seq` (1-based)."""

    method: Method
    reference: int
    total: int
    seq: int


@dataclass(frozen=True, slots=True)
class Udh:
    """What `parse_udh` read.

    Attributes:
        length: UDHL, the octets announced after itself.
        elements: the elements read, in order (the last may be incomplete).
        leftover: octets inside the header too few to hold an element (IEI + IEDL).
        problem: None for a valid header, else a sentence saying what is wrong.
    """

    length: int
    elements: tuple[InformationElement, ...]
    leftover: bytes
    problem: str | None

    @property
    def size(self) -> int:
        """Octets the header takes, UDHL included (1 + UDHL)."""
        return 1 + self.length

    @property
    def concat(self) -> Concat | None:
        """The first complete concatenation IE, or None."""
        for ie in self.elements:
            if ie.complete and _CONCAT_IEDL.get(ie.iei) == ie.length:
                d = ie.data
                if ie.iei == IEI_CONCAT_8:
                    return Concat("udh8", d[0], d[1], d[2])
                return Concat("udh16", d[0] << 8 | d[1], d[2], d[3])
        return None


def parse_udh(short_message: bytes) -> Udh:
    """Walk the UDH at the start of `short_message`; never raises."""
    if not short_message:
        return Udh(0, (), b"", "UDHI is set but short_message is empty")
    udhl = short_message[0]
    end = 1 + udhl
    problem = None
    if end > len(short_message):
        problem = f"UDHL={udhl} runs past the {len(short_message)}-octet short_message"
    stop = min(end, len(short_message))
    elements = []
    pos = 1
    while pos + 2 <= stop:
        iei, iedl = short_message[pos], short_message[pos + 1]
        data = bytes(short_message[pos + 2 : min(pos + 2 + iedl, stop)])
        elements.append(InformationElement(pos, iei, iedl, data))
        if pos + 2 + iedl > end:
            problem = problem or f"information element at UDH octet {pos} runs past UDHL={udhl}"
            return Udh(udhl, tuple(elements), b"", problem)
        pos += 2 + iedl
    leftover = bytes(short_message[pos:stop])
    if leftover and problem is None:
        problem = f"information element at UDH octet {pos} runs past UDHL={udhl}"
    return Udh(udhl, tuple(elements), leftover, problem)


def split_udh(short_message: bytes) -> tuple[bytes, bytes]:
    """(udh, rest) of a short_message that starts with a UDH (UDHL octet included in udh).

    Raises:
        RemoteProtocolError: ESME_RINVESMCLASS when the octets are not a valid UDH (UDHI
            promises one -- SMPP v3.4 §5.2.12).
    """
    udh = parse_udh(short_message)
    if udh.problem is not None:
        raise RemoteProtocolError(udh.problem, CommandStatus.ESME_RINVESMCLASS)
    return bytes(short_message[: udh.size]), bytes(short_message[udh.size :])


def concat_of(short_message: bytes) -> Concat | None:
    """The concatenation IE of the UDH at the start of `short_message`, read leniently
    (a complete IE counts even if the header is broken after it); None if there is none."""
    return parse_udh(short_message).concat if short_message else None


def looks_like_concat_udh(data: bytes) -> bool:
    """True when `data` (sent without UDHI) starts with a valid UDH holding a plausible
    concatenation IE (1 <= seq <= total) and some text after it: a UDH sent as text."""
    if not data:
        return False
    udh = parse_udh(data)
    concat = udh.concat
    return (
        udh.problem is None
        and concat is not None
        and len(data) > udh.size
        and 1 <= concat.seq <= concat.total
    )


def concat_udh(method: str, reference: int, total: int, seq: int) -> bytes:
    """The UDH of one part: "05 00 03 RR TT SS" (udh8) or "06 08 04 RRRR TT SS" (udh16);
    b"" for any other method (sar, payload, single) -- 3GPP TS 23.040 §9.2.3.24.1/.8."""
    if method == "udh8":
        return bytes((5, IEI_CONCAT_8, 3, reference, total, seq))
    if method == "udh16":
        return bytes((6, IEI_CONCAT_16, 4, reference >> 8, reference & 0xFF, total, seq))
    return b""
