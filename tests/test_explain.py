"""explain(): field-by-field dumps, their meanings, and that bad input never raises."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import any_pdu
from test_codec import CASES, REAL_DLR, SMPPLIB_BIND_TRANSCEIVER, SMPPLIB_SUBMIT_SM_UDH

from smppkit import (
    BindReceiver,
    BindTransceiver,
    BindTransmitter,
    CommandStatus,
    DeliverSm,
    DistributionList,
    Outbind,
    RemoteProtocolError,
    SmeAddress,
    SubmitMulti,
    SubmitSm,
    SubmitSmResp,
    decode,
    encode,
)
from smppkit.sms.explain import COLUMNS, Explanation, explain
from smppkit.trace import pdu_event

S = CommandStatus
PASSWORD = "s3cr!t"


def _covered(exp: Explanation, data: bytes) -> None:
    """The rows tile the PDU: each starts where the previous ended and shows its octets."""
    pos = 0
    for row in exp.rows:
        assert row.offset == pos, (row, pos)
        raw = bytes.fromhex(row.hex)
        assert data[row.offset:row.offset + len(raw)] == raw, row
        pos += len(raw)
    assert pos == len(data)


@pytest.mark.parametrize(("pdu", "hexdata"), CASES, ids=lambda v: getattr(v, "command_name", ""))
def test_every_case_explains_without_error(pdu, hexdata) -> None:
    data = bytes.fromhex(hexdata)
    exp = explain(data)
    assert exp.error is None
    assert exp.pdu == pdu
    assert [r.field for r in exp.rows[:4]] == [
        "command_length", "command_id", "command_status", "sequence_number"]
    assert exp.row("command_id").meaning.startswith(pdu.command_name)
    body_fields = {name for name, _ in type(pdu).body} - {"short_message"}
    fields = {r.field for r in exp.rows}
    if len(data) > 16:
        assert body_fields <= {f.removesuffix(" count") for f in fields}
    if "password" not in body_fields:
        _covered(exp, data)


def test_udh_is_broken_down() -> None:
    exp = explain(bytes.fromhex(SMPPLIB_SUBMIT_SM_UDH))
    esm = exp.row("esm_class")
    assert esm.hex == "40"
    assert "UDHI set: short_message starts with a User Data Header" in esm.meaning
    rows = {r.field: r for r in exp.rows}
    assert (rows["UDHL"].offset, rows["UDHL"].value) == (57, "5")
    assert (rows["IEI"].value, rows["IEDL"].value) == ("0x00", "3")
    assert "8-bit reference" in rows["IEI"].meaning
    assert (rows["reference"].value, rows["total"].value, rows["seq"].value) == ("42", "2", "1")
    assert rows["seq"].offset == 62
    text = rows["short_message (text)"]
    assert text.offset == 63
    assert text.value == repr("Hello from smpplib, part 1")
    assert exp.row("registered_delivery").meaning.startswith("SMSC delivery receipt on success")
    assert exp.row("source_addr_ton").meaning == "TON international"
    assert exp.row("dest_addr_npi").meaning == "NPI isdn"


def test_16_bit_reference_udh() -> None:
    sm = bytes([6, 0x08, 4, 0x12, 0x34, 3, 2]) + "hi".encode("utf-16-be")
    exp = explain(SubmitSm(esm_class=0x40, data_coding=8, short_message=sm))
    assert exp.row("reference").value == str(0x1234)
    assert exp.row("total").value == "3" and exp.row("seq").value == "2"
    assert exp.row("short_message (text)").value == "'hi'"
    assert "UCS2" in exp.row("data_coding").meaning


def test_text_decoding_by_data_coding() -> None:
    latin = explain(SubmitSm(data_coding=3, short_message="café".encode("latin-1")))
    assert latin.row("short_message").value == "'café'"
    ucs2 = explain(SubmitSm(data_coding=8, short_message="Привет".encode("utf-16-be")))
    assert ucs2.row("short_message").value == "'Привет'"
    binary = explain(SubmitSm(data_coding=4, short_message=b"\x00\xff"))
    assert binary.row("short_message").value == "00ff"
    assert "binary" in binary.row("short_message").meaning


def test_receipt_tlvs_have_tag_length_value_rows() -> None:
    exp = explain(bytes.fromhex(REAL_DLR))
    assert exp.error is None
    assert exp.row("esm_class").meaning == "SMSC delivery receipt"
    tag = exp.row("receipted_message_id.tag")
    assert (tag.hex, tag.value) == ("00 1e", "0x001E")
    assert exp.row("receipted_message_id.length").value == "9"
    assert exp.row("receipted_message_id").value == "'1d305b4c'"
    assert exp.row("message_state").value == "DELIVERED (2)"
    payload = exp.row("message_payload")
    assert payload.offset == 84
    assert "stat:DELIVRD" in payload.value


def test_unknown_tlv_and_submit_multi_lists() -> None:
    pdu = SubmitMulti(dest_addresses=[SmeAddress("447700900001", 1, 1), DistributionList("dl")],
                      tlvs={0x1401: b"\x01\x02"})
    exp = explain(pdu)
    assert exp.row("dest_addresses count").value == "2"
    assert exp.row("dest_addresses[0]").meaning == "SmeAddress"
    assert exp.row("dest_addresses[1]").hex == "02 64 6c 00"
    assert "unknown optional parameter" in exp.row("TLV 0x1401.tag").meaning
    assert exp.row("TLV 0x1401").value == repr(b"\x01\x02")
    _covered(exp, encode(pdu))


def test_command_status_meaning_and_bodyless_error_response() -> None:
    exp = explain(SubmitSmResp(command_status=S.ESME_RTHROTTLED, sequence_number=3))
    assert exp.row("command_status").meaning.startswith("ESME_RTHROTTLED: Throttling error")
    assert exp.row("body").value == "(none)"
    assert exp.error is None


def test_times_are_interpreted() -> None:
    exp = explain(SubmitSm(schedule_delivery_time="240101120000004+",
                           validity_period="000001020000000R"))
    assert exp.row("schedule_delivery_time").meaning == "absolute: 2024-01-01 12:00:00.0 UTC+01:00"
    assert exp.row("validity_period").meaning.startswith("relative: 0y 0m 1d 02:00:00")


@pytest.mark.parametrize(
    ("data", "status", "last_good_field"),
    [
        (b"\x00\x00\x00", "ESME_RINVCMDLEN", None),
        (struct.pack(">IIII", 16, 0x99, 0, 1), "ESME_RINVCMDID", "sequence_number"),
        (bytes.fromhex(SMPPLIB_SUBMIT_SM_UDH)[:-5], "ESME_RINVCMDLEN", None),
        (struct.pack(">IIII", 19, 0x80000004, 0, 1) + b"abc", "ESME_RINVCMDLEN",
         "sequence_number"),
    ],
)
def test_malformed_bytes_give_rows_then_an_error_row(data, status, last_good_field) -> None:
    exp = explain(data)
    assert exp.pdu is None
    assert exp.rows[-1].field == "error"
    assert exp.rows[-1].value == status
    if last_good_field:
        assert exp.rows[-2].field == last_good_field


def test_bad_sm_length_shows_fields_read_before_it() -> None:
    good = encode(SubmitSm(source_addr="12345", short_message=b"hello"))
    bad = good[:-6] + b"\x09hello"
    exp = explain(bad)
    assert exp.row("source_addr").value == "'12345'"
    assert exp.row("sm_default_msg_id").offset == len(good) - 7
    error = exp.rows[-1]
    assert (error.field, error.value, error.offset) == ("error", "ESME_RINVMSGLEN", len(good) - 6)
    assert error.hex == "09 68 65 6c 6c 6f"


def test_bad_tlv_is_reported_after_its_header_rows() -> None:
    data = encode(SubmitSm()) + b"\x04\x27\x00\x02\x00\x02"
    data = struct.pack(">I", len(data)) + data[4:]
    exp = explain(data)
    assert exp.row("message_state.length").value == "2"
    assert exp.rows[-1].value == "ESME_RINVPARLEN"


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=120))
def test_explain_never_raises_on_arbitrary_bytes(data: bytes) -> None:
    exp = explain(data)
    assert (exp.error is None) == (exp.pdu is not None)
    if exp.error is not None:
        assert exp.rows[-1].field == "error"


@pytest.mark.parametrize(
    "hexdata",
    [
        # query_sm_resp whose final_date holds '²' (str.isdigit() is True, int() fails)
        "0000002580000003000000000000000131003236303130313132303030303030b22b000200",
        # submit_sm whose validity_period is 16 characters of octet 0xB2 ('²')
        encode(SubmitSm(destination_addr="1", validity_period="\xb2" * 16)).hex(),
    ],
)
def test_a_time_field_with_non_ascii_digits_is_malformed_not_a_crash(hexdata: str) -> None:
    exp = explain(bytes.fromhex(hexdata))
    (row,) = [r for r in exp.rows if r.field in ("final_date", "validity_period")]
    assert row.meaning == "malformed time (expected YYMMDDhhmmsstnnp)"


@settings(max_examples=300, deadline=None)
@given(any_pdu, st.data())
def test_explain_agrees_with_decode_on_mutated_pdus(pdu, data) -> None:
    raw = bytearray(encode(pdu))
    for _ in range(data.draw(st.integers(1, 3))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    raw[0:4] = len(raw).to_bytes(4, "big")
    exp = explain(bytes(raw))
    try:
        decode(bytes(raw))
    except RemoteProtocolError as exc:
        assert exp.error is not None and exp.rows[-1].field == "error"
        assert exp.error.command_status == exc.command_status
    else:
        assert exp.error is None


def test_a_deliver_sm_resp_without_body_explains_as_it_decodes() -> None:
    data = bytes.fromhex("00000010800000050000000000000007")
    exp = explain(data)
    assert exp.error is None and exp.pdu == decode(data)
    assert exp.row("body").value == "(none)"


@settings(max_examples=60, deadline=None)
@given(any_pdu)
def test_explain_any_pdu(pdu) -> None:
    exp = explain(pdu)
    assert exp.error is None
    assert int(exp.row("command_length").value) == len(encode(pdu))


def test_wrong_argument_type_raises_type_error() -> None:
    with pytest.raises(TypeError, match="bytes.fromhex"):
        explain("00000010")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        explain(42)  # type: ignore[arg-type]
    assert explain(bytearray(bytes.fromhex(SMPPLIB_BIND_TRANSCEIVER))).error is None


def test_frame_html_and_text() -> None:
    exp = explain(bytes.fromhex(SMPPLIB_SUBMIT_SM_UDH))
    frame = exp.to_frame()
    assert list(frame.columns) == list(COLUMNS)
    assert len(frame) == len(exp)
    assert str(frame["offset"].dtype) == "int64"
    assert frame.loc[frame["field"] == "esm_class", "hex"].item() == "40"
    html = exp._repr_html_()
    assert html.startswith("<table") and html.count("<tr") == len(exp) + 1
    text = str(exp)
    lines = text.splitlines()
    assert len(lines) == len(exp) + 1
    assert lines[0].split() == list(COLUMNS)
    # aligned: the field column starts at the same place on every line
    col = lines[0].index("field")
    assert all(line[col - 2:col] == "  " for line in lines[1:])
    assert "esm_class" in text and "UDHI set" in text


def test_html_escapes_values() -> None:
    exp = explain(DeliverSm(short_message=b"<script>"))
    assert "<script>" not in exp._repr_html_()
    assert "&lt;script&gt;" in exp._repr_html_()


# --- passwords --------------------------------------------------------------------------

PASSWORD_PDUS = [
    BindTransmitter(system_id="esme", password=PASSWORD, sequence_number=1),
    BindReceiver(system_id="esme", password=PASSWORD, sequence_number=2),
    BindTransceiver(system_id="esme", password=PASSWORD, sequence_number=3),
    Outbind(system_id="SMSC", password=PASSWORD, sequence_number=4),
]


def _assert_no_password(text: str) -> None:
    # Not even a 3-character piece of it, as text or as hex.
    flat = text.replace(" ", "")
    for i in range(len(PASSWORD) - 2):
        piece = PASSWORD[i:i + 3]
        assert piece not in text
        assert piece.encode().hex() not in flat


@pytest.mark.parametrize("pdu", PASSWORD_PDUS, ids=lambda p: p.command_name)
def test_password_is_masked_everywhere(pdu) -> None:
    _assert_no_password(repr(pdu))
    _assert_no_password(str(pdu.fields()))
    for exp in (explain(pdu), explain(encode(pdu))):
        row = exp.row("password")
        assert row.value == row.hex == "********"
        _assert_no_password(str(exp))
        _assert_no_password(repr(exp))
        _assert_no_password(exp._repr_html_())
        _assert_no_password(exp.to_frame().to_csv())
    event = pdu_event(pdu, time=0.0, direction="out", raw=encode(pdu))
    _assert_no_password(event["hex"])
    _assert_no_password(str(event))


@pytest.mark.parametrize("cut", range(17, 30))
def test_password_masked_in_truncated_binds(cut: int) -> None:
    data = encode(PASSWORD_PDUS[0])[:cut]
    for variant in (data, struct.pack(">I", cut) + data[4:]):
        exp = explain(variant)
        assert exp.rows[-1].field == "error"
        _assert_no_password(str(exp))
        _assert_no_password(exp.to_frame().to_csv())
