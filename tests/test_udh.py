"""The one UDH parser (3GPP TS 23.040 §9.2.3.24), and the readers built on it."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smppkit.protocol.constants import CommandStatus
from smppkit.protocol.errors import RemoteProtocolError
from smppkit.protocol.pdus import DeliverSm, SubmitSm
from smppkit.sms.explain import explain
from smppkit.sms.text import plan, reassemble, to_pdus
from smppkit.sms.udh import (
    Concat,
    concat_of,
    concat_udh,
    looks_like_concat_udh,
    parse_udh,
    split_udh,
)
from smppkit.trace import concat_info


def test_8_and_16_bit_concatenation_round_trip() -> None:
    for method, ref in (("udh8", 0xAB), ("udh16", 0xBEEF)):
        udh = concat_udh(method, ref, 3, 2)
        assert parse_udh(udh + b"text").concat == Concat(method, ref, 3, 2)
        assert split_udh(udh + b"text") == (udh, b"text")


def test_elements_are_walked_in_order_with_offsets() -> None:
    # port addressing (0x05, 4 octets) then 8-bit concatenation
    sm = bytes.fromhex("0b 05 04 0b84 23f0 00 03 07 02 01") + b"x"
    udh = parse_udh(sm)
    assert udh.problem is None and udh.size == 12
    assert [(ie.offset, ie.iei, ie.length) for ie in udh.elements] == [(1, 5, 4), (7, 0, 3)]
    assert udh.concat == Concat("udh8", 7, 2, 1)


@pytest.mark.parametrize(
    ("sm", "problem"),
    [
        (b"", "empty"),
        (bytes.fromhex("05 00 03 01"), "UDHL=5 runs past the 4-octet"),
        (bytes.fromhex("04 00 03 01 02"), "information element at UDH octet 1 runs past UDHL=4"),
        (bytes.fromhex("06 00 03 01 02 01 09") + b"x", "octet 6 runs past UDHL=6"),  # stray
    ],
)
def test_a_broken_header_has_a_problem_and_split_udh_raises(sm: bytes, problem: str) -> None:
    assert problem in parse_udh(sm).problem
    with pytest.raises(RemoteProtocolError, match=problem) as info:
        split_udh(sm)
    assert info.value.command_status == CommandStatus.ESME_RINVESMCLASS


def test_concat_is_read_leniently_when_the_header_breaks_after_it() -> None:
    sm = bytes.fromhex("09 00 03 05 02 01 24 05")  # a complete concat IE, then a cut IE
    assert parse_udh(sm).problem is not None
    assert concat_of(sm) == Concat("udh8", 5, 2, 1)


def test_a_concat_ie_of_the_wrong_length_is_not_concatenation() -> None:
    assert concat_of(bytes.fromhex("06 00 04 01 02 03 04")) is None
    assert concat_of(bytes.fromhex("05 08 03 01 02 03")) is None


def test_looks_like_a_udh_sent_as_text() -> None:
    assert looks_like_concat_udh(concat_udh("udh8", 1, 2, 1) + b"hello")
    assert looks_like_concat_udh(concat_udh("udh16", 300, 2, 2) + b"hello")
    assert not looks_like_concat_udh(concat_udh("udh8", 1, 2, 3) + b"hello")  # seq > total
    assert not looks_like_concat_udh(concat_udh("udh8", 1, 2, 1))  # nothing after it
    assert not looks_like_concat_udh(b"Hello world")


def test_every_reader_agrees_on_a_split_message() -> None:
    text = "x" * 300
    for method in ("udh8", "udh16"):
        pdus = to_pdus(plan(text, "gsm", method, reference=77), source_addr="2",
                       destination_addr="1")
        for seq, pdu in enumerate(pdus, 1):
            assert concat_info(pdu) == (77, len(pdus), seq)
            rows = {row.field: row.value for row in explain(pdu)}
            assert (rows["reference"], rows["total"], rows["seq"]) == ("77", str(len(pdus)), str(seq))
        assert reassemble(pdus).text == text


def test_trace_reads_no_concat_without_udhi() -> None:
    sm = concat_udh("udh8", 1, 2, 1) + b"hi"
    assert concat_info(SubmitSm(short_message=sm)) is None
    assert concat_info(DeliverSm(esm_class=0x40, short_message=sm)) == (1, 2, 1)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=40))
def test_parse_udh_never_raises_and_split_agrees(sm: bytes) -> None:
    udh = parse_udh(sm)
    if udh.problem is None:
        head, rest = split_udh(sm)
        assert head + rest == sm and len(head) == udh.size
        assert sum(2 + ie.length for ie in udh.elements) == udh.length
    else:
        with pytest.raises(RemoteProtocolError):
            split_udh(sm)
