"""Hypothesis strategies for every PDU class, built from the layouts in `Pdu.body`.

Nothing here lists a PDU's fields: the strategy for a class is derived from its declared
`(name, kind)` pairs, so a new PDU class or field is covered without touching this file.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from smppkit.protocol.pdus import (
    PDU_CLASSES,
    DistributionList,
    Pdu,
    SmeAddress,
    UnsuccessSme,
    _DestAddresses,
    _UnsuccessSmes,
)
from smppkit.protocol.wire import TLV_KINDS, CString, Int, ShortMessage, Tlv

_LATIN1_NO_NULL = st.characters(min_codepoint=1, max_codepoint=255)
u8 = st.integers(0, 0xFF)


def cstring(max_len: int, fixed: int | None = None) -> st.SearchStrategy[str]:
    if fixed is not None:
        return st.one_of(st.just(""), st.text(_LATIN1_NO_NULL, min_size=fixed, max_size=fixed))
    return st.text(_LATIN1_NO_NULL, max_size=max_len - 1)


_SME = st.builds(SmeAddress, cstring(21), u8, u8)
_DL = st.builds(DistributionList, cstring(21))
_UNSUCCESS = st.builds(UnsuccessSme, cstring(21), u8, u8, st.integers(0, 0xFFFFFFFF))


def for_kind(kind: Any) -> st.SearchStrategy[Any]:
    """A strategy for the values one wire kind can carry."""
    if isinstance(kind, Int):
        return st.integers(0, kind.limit - 1)
    if isinstance(kind, CString):
        return cstring(kind.max_len, kind.fixed)
    if isinstance(kind, ShortMessage):
        return st.binary(max_size=kind.max_len)
    if isinstance(kind, _DestAddresses):
        return st.lists(st.one_of(_SME, _DL), max_size=4).map(tuple)
    if isinstance(kind, _UnsuccessSmes):
        return st.lists(_UNSUCCESS, max_size=4).map(tuple)
    raise AssertionError(f"no strategy for {kind!r}")  # a new kind: add it here


def _tlv_value(tag: int) -> st.SearchStrategy[Any]:
    kind = TLV_KINDS[tag]
    if kind in ("u8", "u16", "u32"):
        return st.integers(0, (1 << (8 * {"u8": 1, "u16": 2, "u32": 4}[kind])) - 1)
    if kind.startswith("cstr:"):
        return cstring(int(kind[5:]))
    if kind == "nec":
        return st.tuples(u8, st.integers(0, 0xFFFF))
    if kind == "empty":
        return st.none()
    return st.binary(max_size=40)


known_tlv = st.sampled_from(sorted(TLV_KINDS)).flatmap(
    lambda tag: _tlv_value(tag).map(lambda v: (tag, v))
)
#: Tags no standard TLV uses (vendor range 0x1400-0x3FFF included).
unknown_tag = st.integers(0, 0xFFFF).filter(lambda t: t not in TLV_KINDS)
unknown_tlv = st.tuples(unknown_tag, st.binary(max_size=20))
tlvs = st.lists(st.one_of(known_tlv, unknown_tlv), max_size=4)


@st.composite
def pdu_of(draw: st.DrawFn, cls: type[Pdu], tlv_strategy: Any = tlvs) -> Pdu:
    fields = {name: draw(for_kind(kind)) for name, kind in cls.body}
    return cls(
        command_status=draw(st.one_of(st.just(0), st.integers(0, 0xFFFFFFFF))),
        sequence_number=draw(st.integers(0, 0xFFFFFFFF)),
        tlvs=draw(tlv_strategy),
        **fields,
    )


classes = st.sampled_from(sorted(PDU_CLASSES.values(), key=lambda c: c.command_id))
any_pdu = classes.flatmap(pdu_of)
#: PDUs that carry at least one unknown TLV.
pdu_with_unknown_tlv = classes.flatmap(
    lambda cls: pdu_of(cls, st.lists(st.one_of(known_tlv, unknown_tlv), max_size=3).flatmap(
        lambda items: unknown_tlv.map(lambda u: [*items, u])
    ))
)

__all__ = ["any_pdu", "classes", "for_kind", "pdu_of", "pdu_with_unknown_tlv", "Tlv"]
