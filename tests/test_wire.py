"""Wire primitives: integers, C-Octet Strings, short_message and TLVs, on their own."""

from __future__ import annotations

import pytest

from smppkit import CommandStatus, InvalidArgument, MessageState, RemoteProtocolError, TlvTag
from smppkit.protocol.wire import (
    CString,
    Int,
    ShortMessage,
    Tlv,
    normalize_tlvs,
    read_tlvs,
    write_tlvs,
)

S = CommandStatus


@pytest.mark.parametrize(
    ("tlv", "hexdata"),
    [
        (Tlv(TlvTag.sar_msg_ref_num, 0x0102), "020c 0002 0102"),
        (Tlv(TlvTag.sar_total_segments, 3), "020e 0001 03"),
        (Tlv(TlvTag.qos_time_to_live, 86400), "0017 0004 00015180"),
        (Tlv(TlvTag.receipted_message_id, "1d305b4c"), "001e 0009 316433303562346300"),
        (Tlv(TlvTag.message_state, MessageState.UNDELIVERABLE), "0427 0001 05"),
        (Tlv(TlvTag.network_error_code, (3, 0x0101)), "0423 0003 030101"),
        (Tlv(TlvTag.alert_on_message_delivery, None), "130c 0000"),
        (Tlv(TlvTag.message_payload, b"\x00\xff"), "0424 0002 00ff"),
        (Tlv(0x1401, b"vendor"), "1401 0006 76656e646f72"),  # unknown: raw bytes kept
    ],
)
def test_tlv_bytes_both_ways(tlv: Tlv, hexdata: str) -> None:
    out = bytearray()
    write_tlvs((tlv,), out)
    assert out == bytes.fromhex(hexdata)
    assert read_tlvs(bytes(out), 0, len(out)) == (tlv,)


def test_message_state_outside_the_enum_stays_an_int() -> None:
    (tlv,) = read_tlvs(bytes.fromhex("0427000109"), 0, 5)
    assert tlv.value == 9 and not isinstance(tlv.value, MessageState)


def test_normalize_tlvs_accepts_names_tags_pairs_and_tlvs() -> None:
    want = (Tlv(TlvTag.source_port, 80), Tlv(TlvTag.message_state, MessageState.DELIVERED))
    assert normalize_tlvs({"source_port": 80, "message_state": 2}) == want
    assert normalize_tlvs([(0x020A, 80), (TlvTag.message_state, 2)]) == want
    assert normalize_tlvs(list(want)) == want
    assert isinstance(normalize_tlvs({0x020A: 80})[0].tag, TlvTag)
    assert normalize_tlvs({0x1400: b"x"})[0].tag == 0x1400
    assert normalize_tlvs(None) == ()


@pytest.mark.parametrize(
    ("tlvs", "match"),
    [
        ({"no_such_tlv": 1}, "no_such_tlv"),
        ({0x10000: b""}, "0..0xFFFF"),
        ({"source_port": "80"}, "must be an int"),
        ({"source_port": True}, "must be an int"),
        ({"sar_total_segments": 256}, "does not fit"),
        ({"receipted_message_id": "x" * 65}, "limit is 64"),
        ({"network_error_code": 3}, "pair"),
        ({"alert_on_message_delivery": b"x"}, "no value"),
        ({0x1400: "text"}, "must be bytes"),
    ],
)
def test_normalize_tlvs_refuses_bad_values(tlvs, match) -> None:
    with pytest.raises(InvalidArgument, match=match):
        normalize_tlvs(tlvs)


@pytest.mark.parametrize(
    ("hexdata", "status"),
    [
        ("020c 0001 01", S.ESME_RINVPARLEN),  # u16 with 1 octet
        ("0423 0002 0301", S.ESME_RINVPARLEN),  # network_error_code is 3 octets
        ("001e 0003 616263", S.ESME_RINVPARLEN),  # no NULL
        ("001e 0004 61006200", S.ESME_RINVPARLEN),  # NULL inside
        ("130c 0001 00", S.ESME_RINVPARLEN),  # must be empty
        ("0424 0005 0102", S.ESME_RINVOPTPARSTREAM),  # runs past the end
        ("0424", S.ESME_RINVOPTPARSTREAM),  # half a header
    ],
)
def test_read_tlvs_errors(hexdata: str, status: int) -> None:
    data = bytes.fromhex(hexdata)
    with pytest.raises(RemoteProtocolError) as info:
        read_tlvs(data, 0, len(data))
    assert info.value.command_status == status


def test_int_kinds() -> None:
    u16 = Int(2)
    out = bytearray()
    u16.write(0xBEEF, out)
    assert out == b"\xbe\xef" and u16.read(b"\x00\xbe\xef", 1) == (0xBEEF, 3)
    with pytest.raises(RemoteProtocolError) as info:
        u16.read(b"\x01", 0)
    assert info.value.command_status == S.ESME_RINVCMDLEN
    with pytest.raises(InvalidArgument):
        Int(1).check("x", -1)


def test_c_octet_string_limits_include_the_null() -> None:
    kind = CString(4)
    assert kind.check("f", "abc") == "abc"
    with pytest.raises(InvalidArgument, match="f is 4 characters; the limit is 3"):
        kind.check("f", "abcd")
    assert kind.read(b"abc\x00", 0) == ("abc", 4)
    with pytest.raises(RemoteProtocolError, match="longer than its limit of 4"):
        kind.read(b"abcd\x00", 0)
    with pytest.raises(RemoteProtocolError, match="no NULL"):
        kind.read(b"ab", 0)
    with pytest.raises(InvalidArgument, match="NULL"):
        kind.check("f", "a\x00")
    # Latin-1 survives a round trip octet for octet
    assert CString(300).read(bytes(range(1, 256)) + b"\x00", 0)[0].encode("latin-1") == bytes(
        range(1, 256))


def test_time_strings_are_16_characters_or_empty() -> None:
    kind = CString(17, S.ESME_RINVSCHED, fixed=16)
    assert kind.check("t", "") == ""
    assert kind.check("t", "240101120000000+") == "240101120000000+"
    with pytest.raises(InvalidArgument, match="YYMMDDhhmmsstnnp"):
        kind.check("t", "2401011200")
    with pytest.raises(RemoteProtocolError) as info:
        kind.read(b"2401\x00", 0)
    assert info.value.command_status == S.ESME_RINVSCHED


def test_short_message_kind() -> None:
    kind = ShortMessage()
    out = bytearray()
    kind.write(b"hey", out)
    assert out == b"\x03hey"
    assert kind.read(b"\x03hey", 0) == (b"hey", 4)
    assert kind.check("short_message", bytearray(b"ab")) == b"ab"
    with pytest.raises(InvalidArgument, match="encode text first"):
        kind.check("short_message", "text")
