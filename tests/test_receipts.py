"""Delivery receipts: the zoo of real-world shapes, every parsing rule, and properties."""

from __future__ import annotations

import json
import string
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smppkit.protocol.constants import MessageState
from smppkit.protocol.pdus import DataSm, DeliverSm
from smppkit.sms.receipts import (
    Match,
    Receipt,
    ReceiptError,
    format_receipt,
    kannel_msg_id_type_for,
    message_id_key,
    parse_receipt,
    receipt_pdu,
    same_message,
)

ROOT = Path(__file__).resolve().parent.parent
ZOO_PATH = ROOT / "data" / "receipts" / "zoo.jsonl"
ZOO = [json.loads(line) for line in ZOO_PATH.read_text(encoding="utf-8").splitlines() if line]
V3 = (
    "id:0000000012345678 sub:001 dlvrd:001 submit date:1601010100 done date:1601010101 "
    "stat:DELIVRD err:000 text:none"
)

# --- the zoo ------------------------------------------------------------------------------


def test_zoo_is_well_formed():
    assert len(ZOO) >= 60
    names = [case["name"] for case in ZOO]
    assert len(names) == len(set(names)), "zoo names must be unique"
    allowed = {"name", "source", "text", "tlvs", "pdu", "encoding", "expected"}
    allowed |= {"expect_problems", "expect_error"}
    for case in ZOO:
        assert set(case) <= allowed, case["name"]
        assert case["source"].strip(), case["name"]
        assert isinstance(case["text"], str), case["name"]
        # every case says what it expects: fields, an error, or both
        assert "expected" in case or "expect_error" in case, case["name"]


def test_zoo_covers_the_brief():
    kinds = " ".join(case["name"] for case in ZOO)
    for needle in (
        "nexmo",
        "appendix_b",
        "kannel",
        "12_digit",
        "missing_sub",
        "missing_text",
        "err_four",
        "err_one",
        "hex",
        "padded",
        "extra_",
        "tlv_only",
        "message_payload",
        "garbage",
    ):
        assert needle in kinds, needle
    assert sum("expect_error" in c for c in ZOO) >= 15
    assert sum("tlvs" in c or "pdu" in c for c in ZOO) >= 8


def _zoo_source(case):
    text = case["text"]
    data = text.encode(case.get("encoding", "utf-8"))
    if "tlvs" not in case and "pdu" not in case:
        return data if "encoding" in case else text
    pdu = case.get("pdu", {})
    tlvs = dict(case.get("tlvs", {}))
    if "network_error_code" in tlvs:
        tlvs["network_error_code"] = tuple(tlvs["network_error_code"])
    if pdu.get("command") == "data_sm":
        return DataSm(esm_class=pdu.get("esm_class", 0x04), tlvs={**tlvs, "message_payload": data})
    if pdu.get("carrier") == "message_payload":
        return DeliverSm(
            esm_class=pdu.get("esm_class", 0x04),
            short_message=b"",
            tlvs={**tlvs, "message_payload": data},
        )
    return DeliverSm(esm_class=pdu.get("esm_class", 0x04), short_message=data, tlvs=tlvs)


def _actual(receipt: Receipt, key: str):
    value = getattr(receipt, key)
    if isinstance(value, datetime):
        return value.isoformat()
    if key == "state":
        return value.name if value is not None else None
    if key == "network_error_code" and value is not None:
        return list(value)
    if key == "message_state" and value is not None:
        return int(value)
    return value


@pytest.mark.parametrize("case", ZOO, ids=[c["name"] for c in ZOO])
def test_zoo_case(case):
    source = _zoo_source(case)
    if "expect_error" in case:
        with pytest.raises(ReceiptError) as info:
            parse_receipt(source)
        assert case["expect_error"] in str(info.value)
        receipt = parse_receipt(source, strict=False)
        assert receipt.problems == info.value.problems
        assert any(case["expect_error"] in p for p in receipt.problems)
        assert info.value.receipt == receipt
    else:
        receipt = parse_receipt(source)
        assert receipt.problems == ()
    for needle in case.get("expect_problems", []):
        assert any(needle in p for p in receipt.problems), (needle, receipt.problems)
    for key, want in case.get("expected", {}).items():
        assert _actual(receipt, key) == want, key


def test_zoo_valid_receipts_survive_format_and_parse():
    """Every readable zoo receipt, written in either style and read back, keeps its meaning."""
    checked = 0
    for case in ZOO:
        if "expect_error" in case:
            continue
        r = parse_receipt(_zoo_source(case))
        if r.submit_date is None or r.done_date is None:
            continue
        for style in ("nexmo", "appendix_b"):
            back = parse_receipt(format_receipt(r, style))
            assert back.id == (r.id if r.id is not None else r.receipted_message_id)
            assert back.state is r.state
            assert back.done_datetime == r.done_datetime
            assert back.err_code == (r.err_code if r.err is not None else 0)
            assert back.extra == r.extra
        checked += 1
    assert checked >= 40


# --- parsing rules ------------------------------------------------------------------------


def test_provider_example_fields_and_parsed_values():
    r = parse_receipt(V3)
    assert r == Receipt(
        id="0000000012345678",
        sub="001",
        dlvrd="001",
        submit_date="1601010100",
        done_date="1601010101",
        stat="DELIVRD",
        err="000",
        text="none",
    )
    assert r.state is MessageState.DELIVERED and r.delivered
    assert (r.sub_count, r.dlvrd_count, r.err_code) == (1, 1, 0)
    assert r.submit_datetime == datetime(2016, 1, 1, 1, 0)
    assert r.done_datetime == datetime(2016, 1, 1, 1, 1)
    assert r.message_id == "0000000012345678"


@pytest.mark.parametrize(
    "word", [w for s in MessageState for w in (s.stat, s.name, s.stat.lower())]
)
def test_state_reading_agrees_with_message_state_from_stat(word):
    assert parse_receipt(f"id:1 stat:{word}").state is MessageState.from_stat(word)


def test_canonical_fast_path_equals_the_general_reading():
    shuffled = V3.replace("id:0000000012345678 ", "") + " id:0000000012345678"
    shuffled = shuffled.replace(" text:none", "") + " mcc:1 text:none"
    fast, general = parse_receipt(V3), parse_receipt(shuffled)
    assert general.extra == {"mcc": "1"}
    assert fast == Receipt(
        **{**{k: getattr(general, k) for k in Receipt.__dataclass_fields__}, "extra": {}}
    )


def test_bytes_and_str_give_the_same_receipt():
    assert parse_receipt(V3.encode()) == parse_receipt(V3) == parse_receipt(bytearray(V3.encode()))


def test_text_runs_to_the_end_and_keeps_everything():
    r = parse_receipt("id:1 stat:DELIVRD Text:a b:c  text:d ")
    assert r.text == "a b:c  text:d"


def test_first_text_key_wins_in_any_case():
    assert parse_receipt("id:1 stat:DELIVRD TeXt:x").text == "x"


def test_vendor_fields_keep_their_order():
    r = parse_receipt("id:1 zeta:1 stat:DELIVRD alpha:2 mid:3")
    assert list(r.extra) == ["zeta", "alpha", "mid"]


def test_stray_words_after_a_known_field_are_a_problem_not_a_value():
    r = parse_receipt("id:1 stat:DELIVRD oops", strict=False)
    assert r.stat == "DELIVRD"
    assert r.problems == ("stray text 'oops' is not a key:value field",)


def test_duplicate_vendor_field_keeps_the_first():
    r = parse_receipt("id:1 stat:DELIVRD mcc:1 mcc:2", strict=False)
    assert r.extra == {"mcc": "1"}
    assert any("mcc: appears twice" in p for p in r.problems)


def test_all_problems_are_listed_at_once():
    with pytest.raises(ReceiptError) as info:
        parse_receipt("id: sub:x submit date:1 stat:NOPE err:")
    assert len(info.value.problems) == 5
    assert isinstance(info.value, ValueError)
    assert str(info.value).startswith("unreadable delivery receipt: id: is empty; ")


def test_lenient_parse_never_raises_on_garbage():
    r = parse_receipt("\x00\x01 hello", strict=False)
    assert r.id is None and r.problems and "no receipt fields" in r.problems[0]


def test_tlvs_preferred_for_message_id_and_state():
    pdu = DeliverSm(
        esm_class=0x04,
        short_message=b"id:288230376293190992 stat:DELIVRD",
        tlvs={"receipted_message_id": "04000000086ECD50", "message_state": 2},
    )
    r = parse_receipt(pdu)
    assert r.id == "288230376293190992"
    assert r.message_id == "04000000086ECD50"
    assert r.message_state is MessageState.DELIVERED


def test_short_message_preferred_over_message_payload():
    pdu = DeliverSm(
        esm_class=0x04,
        short_message=b"id:1 stat:DELIVRD",
        tlvs={"message_payload": b"id:2 stat:UNDELIV"},
    )
    assert parse_receipt(pdu).id == "1"


def test_sme_delivery_ack_esm_class_is_accepted():
    pdu = DeliverSm(esm_class=0x08, short_message=b"id:1 stat:DELIVRD")
    assert parse_receipt(pdu).id == "1"


def test_wrong_input_type_is_a_type_error():
    with pytest.raises(TypeError, match="parse_receipt takes str, bytes"):
        parse_receipt(12345)  # type: ignore[arg-type]


def test_receipt_is_hashable_and_frozen():
    r = parse_receipt("id:1 stat:DELIVRD mcc:2")
    assert len({r, parse_receipt("id:1 stat:DELIVRD mcc:2")}) == 1
    with pytest.raises(AttributeError):
        r.id = "2"  # type: ignore[misc]


# --- formatting ---------------------------------------------------------------------------


def test_format_nexmo_is_the_provider_example():
    assert format_receipt(parse_receipt(V3), "nexmo") == V3


def test_format_appendix_b_truncates_text_to_20():
    r = parse_receipt(V3.replace("text:none", "text:" + "x" * 30))
    out = format_receipt(r, "appendix_b")
    assert out.endswith(" err:000 Text:" + "x" * 20)


def test_format_fills_defaults_and_pads():
    r = Receipt(
        id="abc",
        submit_date="1601010100",
        done_date="1601010101",
        stat="UNDELIV",
        err="8",
        extra={"mcc": "234"},
    )
    assert format_receipt(r) == (
        "id:abc sub:001 dlvrd:000 submit date:1601010100 done date:1601010101 "
        "stat:UNDELIV err:008 mcc:234 text:none"
    )
    assert format_receipt(r, "appendix_b").endswith("err:008 mcc:234 Text:")
    delivered = Receipt(
        id="1",
        submit_date="1601010100",
        done_date="1601010101",
        message_state=MessageState.DELIVERED,
    )
    assert " dlvrd:001 " in format_receipt(delivered)
    assert " stat:DELIVRD " in format_receipt(delivered)


@pytest.mark.parametrize(
    "receipt, message",
    [
        (Receipt(stat="DELIVRD", submit_date="1", done_date="1"), "needs an id"),
        (Receipt(id="1", submit_date="1", done_date="1"), "needs a stat"),
        (Receipt(id="1", stat="DELIVRD"), "needs submit_date and done_date"),
    ],
)
def test_format_refuses_incomplete_receipts(receipt, message):
    with pytest.raises(ValueError, match=message):
        format_receipt(receipt)


def test_format_refuses_unknown_style():
    with pytest.raises(ValueError, match="style must be"):
        format_receipt(parse_receipt(V3), "kannel")  # type: ignore[arg-type]


def test_receipt_pdu_carries_tlvs_and_long_text_in_message_payload():
    r = parse_receipt(V3.replace("text:none", "text:" + "y" * 300))
    r = Receipt(
        **{
            **{k: getattr(r, k) for k in Receipt.__dataclass_fields__},
            "receipted_message_id": "BC614E",
            "message_state": MessageState.DELIVERED,
            "network_error_code": (3, 0),
        }
    )
    pdu = receipt_pdu(r, source_addr="447700900000", sequence_number=7)
    assert pdu.esm_class == 0x04 and pdu.short_message == b"" and pdu.sequence_number == 7
    assert pdu.tlv("message_payload").startswith(b"id:0000000012345678 ")
    assert pdu.tlv("receipted_message_id") == "BC614E"
    assert parse_receipt(pdu) == r


# --- correlation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "message_id, form, key",
    [
        ("0000000012345678", "auto", 12345678),
        ("12345678", "decimal", 12345678),
        ("0B00000127FDBC63", "auto", 792633539383114851),
        ("0b00000127fdbc63", "hex", 792633539383114851),
        ("0x1A", "hex", 26),
        ("12", "hex", 18),
        (" 42 ", "auto", 42),
        ("5F1C-AB", "auto", "5f1c-ab"),
        ("ABC", "string", "abc"),
        ("0012", "string", "0012"),
    ],
)
def test_message_id_key(message_id, form, key):
    assert message_id_key(message_id, form) == key


@pytest.mark.parametrize(
    "message_id, form, message",
    [("1A", "decimal", "not a decimal"), ("XYZ", "hex", "not a hex"), ("1", "octal", "form")],
)
def test_message_id_key_errors(message_id, form, message):
    with pytest.raises(ValueError, match=message):
        message_id_key(message_id, form)


@pytest.mark.parametrize(
    "resp, receipt, kwargs, reason, forms",
    [
        ("abc", "abc", {}, "the ids are identical (abc)", ("string", "string")),
        ("ABC-1", "abc-1", {}, "the ids differ only by letter case", ("string", "string")),
        (
            "12345678",
            "0000000012345678",
            {},
            "the ids differ only by zero padding",
            ("decimal", "decimal"),
        ),
        ("0x00FF", "ff", {}, "both are hex FF = 255 decimal", ("hex", "hex")),
        (
            "04000000086ECD50",
            "288230376293190992",
            {},
            "resp id 04000000086ECD50 is hex = 288230376293190992 decimal, which is the receipt id",
            ("hex", "decimal"),
        ),
        (
            "BC614E",
            "0000000012345678",
            {},
            "which is the receipt id (written 0000000012345678)",
            ("hex", "decimal"),
        ),
        ("12345678", "BC614E", {}, "resp id 12345678 is decimal = BC614E hex", ("decimal", "hex")),
        (
            "10",
            "16",
            {"resp_form": "hex", "receipt_form": "decimal"},
            "is hex = 16",
            ("hex", "decimal"),
        ),
    ],
)
def test_same_message_explains_the_match(resp, receipt, kwargs, reason, forms):
    m = same_message(resp, receipt, **kwargs)
    assert isinstance(m, Match) and m and m.matched
    assert reason in m.reason and str(m) == m.reason
    assert (m.resp_form, m.receipt_form) == forms


def test_same_message_explains_a_miss():
    m = same_message("abc", "def")
    assert not m and m.resp_form is None
    assert m.reason.startswith("no reading makes them equal: resp id abc reads as the string 'abc'")
    assert m.kannel_msg_id_type is None


def test_same_message_with_fixed_forms_does_not_guess():
    # identical strings, but the provider rule says they are different numbers
    assert not same_message("10", "10", resp_form="hex", receipt_form="decimal")
    m = same_message("XYZ", "10", resp_form="hex")
    assert not m and m.reason == "resp id 'XYZ' is not hex (resp_form='hex')"
    with pytest.raises(ValueError):
        same_message("1", "1", resp_form="base64")  # type: ignore[arg-type]


def test_same_message_warns_about_kannel_strtoll_saturation():
    assert "above 2^63-1" in same_message("FFFFFFFFFFFFFFFF", str(2**64 - 1)).reason
    assert "2^63" not in same_message("7FFFFFFFFFFFFFFF", str(2**63 - 1)).reason


def test_match_suggests_kannel_msg_id_type():
    assert same_message("04000000086ECD50", "288230376293190992").kannel_msg_id_type == 0x01
    assert same_message("12345678", "BC614E").kannel_msg_id_type == 0x02
    assert same_message("0x00FF", "ff").kannel_msg_id_type == 0x03
    assert same_message("007", "7").kannel_msg_id_type == 0x00
    assert same_message("abc", "abc").kannel_msg_id_type is None


@pytest.mark.parametrize(
    "resp, receipt, value",
    [
        ("decimal", "decimal", 0),
        ("hex", "decimal", 1),
        ("decimal", "hex", 2),
        ("hex", "hex", 3),
        ("string", "string", None),
    ],
)
def test_kannel_msg_id_type_for(resp, receipt, value):
    assert kannel_msg_id_type_for(resp, receipt) == value


def test_kannel_msg_id_type_for_rejects_mixed_and_unknown_forms():
    with pytest.raises(ValueError, match="both ids as numbers or neither"):
        kannel_msg_id_type_for("hex", "string")
    with pytest.raises(ValueError, match="form must be"):
        kannel_msg_id_type_for("auto", "hex")


# --- properties ---------------------------------------------------------------------------

_KNOWN_KEYS = {
    "id",
    "sub",
    "dlvrd",
    "stat",
    "err",
    "text",
    "submit_date",
    "done_date",
    "submitdate",
    "donedate",
}
_ALNUM = string.ascii_letters + string.digits
_STRIPPED = " \t\r\n\x00"

ids = st.text(_ALNUM + "-._", min_size=1, max_size=64)
counts = st.from_regex(r"[0-9]{3,4}", fullmatch=True)
stats = st.sampled_from([s.stat for s in MessageState])
dates = st.builds(
    lambda d, long: d.strftime("%y%m%d%H%M%S" if long else "%y%m%d%H%M"),
    st.datetimes(datetime(2000, 1, 1), datetime(2099, 12, 31, 23, 59, 59)),
    st.booleans(),
)
extras = st.dictionaries(
    st.from_regex(r"[a-z][a-z0-9_-]{0,8}", fullmatch=True).filter(lambda k: k not in _KNOWN_KEYS),
    st.text(_ALNUM + ".-", max_size=12),
    max_size=3,
)
any_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=80).filter(
    lambda t: t == t.rstrip(_STRIPPED)
)


def receipts(style: str):
    texts = any_text if style == "nexmo" else any_text.filter(lambda t: len(t) <= 20)
    return st.builds(
        Receipt,
        id=ids,
        sub=counts,
        dlvrd=counts,
        submit_date=dates,
        done_date=dates,
        stat=stats,
        err=counts,
        text=texts,
        extra=extras,
    )


@settings(max_examples=150, deadline=None)
@given(receipts("nexmo"))
def test_nexmo_round_trip(r):
    assert parse_receipt(format_receipt(r, "nexmo")) == r


@settings(max_examples=150, deadline=None)
@given(receipts("appendix_b"))
def test_appendix_b_round_trip(r):
    assert parse_receipt(format_receipt(r, "appendix_b")) == r


@settings(max_examples=100, deadline=None)
@given(receipts("nexmo"), st.booleans(), st.tuples(st.integers(0, 255), st.integers(0, 0xFFFF)))
def test_pdu_round_trip_with_tlvs(r, hex_tlv, nec):
    tlv_id = r.id
    if hex_tlv and r.id.isdigit():  # the provider shape: TLV in hex, text in decimal
        tlv_id = f"{int(r.id):X}"
    r = Receipt(
        **{
            **{k: getattr(r, k) for k in Receipt.__dataclass_fields__},
            "receipted_message_id": tlv_id,
            "message_state": MessageState.from_stat(r.stat),
            "network_error_code": nec,
        }
    )
    assert parse_receipt(receipt_pdu(r)) == r


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.text(max_size=200),
        st.binary(max_size=200),
        st.builds(lambda t: "id:" + t, st.text(max_size=100)),
        st.builds(lambda t: f"{V3[:60]}{t}", st.text(max_size=100)),
    )
)
def test_arbitrary_input_raises_only_receipt_error(data):
    try:
        r = parse_receipt(data)
    except ReceiptError as exc:
        assert exc.problems and exc.receipt is not None and exc.receipt.problems == exc.problems
    else:
        assert r.problems == ()
    lenient = parse_receipt(data, strict=False)
    assert isinstance(lenient, Receipt)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**64 - 1), st.integers(0, 6), st.booleans())
def test_provider_rule_hex_resp_matches_decimal_receipt(n, pad, lower):
    resp = f"{n:X}".rjust(16, "0")
    resp = resp.lower() if lower else resp
    receipt = "0" * pad + str(n)
    assert message_id_key(resp, "hex") == message_id_key(receipt, "decimal") == n
    assert same_message(resp, receipt, resp_form="hex", receipt_form="decimal")
    assert same_message(resp, receipt)  # "auto" finds the reading too


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**64 - 1), st.integers(0, 2**64 - 1))
def test_different_numbers_never_match_under_a_fixed_rule(n, m):
    matched = same_message(f"{n:X}", str(m), resp_form="hex", receipt_form="decimal")
    assert bool(matched) == (n == m)


def test_id_readings_index_every_pair_same_message_accepts():
    from smppkit.sms.receipts import id_readings

    for resp, receipt in [("0B00000700000001", "792633564481978369"), ("00AB", "ab"), ("0042", "42"),
                          ("Msg-1", "msg-1")]:
        assert same_message(resp, receipt)
        assert id_readings(resp) & id_readings(receipt), (resp, receipt)
    assert not id_readings("0B00000700000001") & id_readings("792633564481978370")
