"""The widgets: their pure functions, and the widgets driven by setting `.value` (no browser)."""

from __future__ import annotations

import pytest

from smppkit import widgets
from smppkit.sms.receipts import ReceiptError

pytest.importorskip("ipywidgets")

V3_RECEIPT = ("id:0000000012345678 sub:001 dlvrd:001 submit date:1601010100 "
              "done date:1601010101 stat:DELIVRD err:000 text:none")


# --- compose --------------------------------------------------------------------------------


def test_compose_single_gsm_message():
    c = widgets.compose("Hello from smppkit")
    assert (c["encoding"], c["data_coding"], c["method"]) == ("gsm", 0, "single")
    assert (c["units"], c["limit"], c["segments"], c["cost"]) == (18, 160, 1, 1)
    assert c["esm_class"] == 0 and c["udh"] == [""]
    assert list(c["parts"].columns) == ["seq", "units", "limit", "udh", "data", "text"]


def test_compose_long_gsm_text_with_udh8():
    c = widgets.compose("x" * 200, reference=7)
    assert (c["segments"], c["cost"], c["limit"]) == (2, 2, 153)
    assert c["udh"] == ["05 00 03 07 02 01", "05 00 03 07 02 02"]
    assert c["esm_class"] == 0x40


def test_compose_euro_counts_two_septets():
    # "€" is in the GSM extension table: 0x1B 0x65, two septets -- 3GPP TS 23.038 §6.2.1.1
    assert widgets.compose("€" * 80)["units"] == 160
    assert widgets.compose("€" * 81)["segments"] == 2


def test_compose_ucs2_limits():
    c = widgets.compose("Привет " * 11)  # 77 code units > 70
    assert (c["encoding"], c["data_coding"], c["limit"], c["segments"]) == ("ucs2", 8, 67, 2)


def test_compose_udh16_and_sar_and_payload():
    text = "y" * 200
    assert widgets.compose(text, method="udh16", reference=0x1234)["udh"][0] == "06 08 04 12 34 02 01"
    sar = widgets.compose(text, method="sar", reference=9)
    assert sar["esm_class"] == 0 and sar["limit"] == 160
    assert sar["tlvs"][0] == ["sar_msg_ref_num", "sar_segment_seqnum", "sar_total_segments"]
    payload = widgets.compose(text, method="payload")
    assert (payload["segments"], payload["cost"], payload["tlvs"]) == (1, 2, [["message_payload"]])


def test_compose_raises_for_a_character_the_forced_encoding_lacks():
    with pytest.raises(ValueError):
        widgets.compose("€", encoding="latin1")


def test_compare_methods_has_one_row_per_method():
    frame = widgets.compare_methods("z" * 200, reference=42)
    assert list(frame["method"]) == ["udh8", "udh16", "sar", "payload"]
    assert list(frame["segments"]) == [2, 2, 2, 1]
    assert list(frame["cost"]) == [2, 2, 2, 2]


def test_composer_widget_follows_its_inputs():
    box = widgets.composer("hi")
    assert "1 submit_sm" in box.result.value
    box.text.value = "x" * 200
    assert "2 submit_sm" in box.result.value and "05 00 03 00 02 01" in box.result.value
    box.reference.value = 255
    assert "05 00 03 ff 02 01" in box.result.value
    box.method.value = "sar"
    assert "sar_msg_ref_num" in box.result.value
    box.text.value = "€"
    box.encoding.value = "latin1"
    assert "Cannot send this" in box.result.value  # shown, not raised


def test_composer_shows_the_sar_tlv_values_of_each_part():
    box = widgets.composer("x" * 200, method="sar", reference=42)
    for seq in (1, 2):
        assert (f"sar_msg_ref_num=42, sar_segment_seqnum={seq}, sar_total_segments=2"
                in box.result.value)
    assert widgets.compose("x" * 200, method="sar", reference=42)["tlv_values"][1] == {
        "sar_msg_ref_num": 42, "sar_total_segments": 2, "sar_segment_seqnum": 2}
    assert "UDH" not in box.result.value  # SAR parts carry no UDH: no empty column


@pytest.mark.parametrize("text, encoding, method, reference, fix", [
    ("ж", "gsm", "udh8", 0, "encoding <b>auto</b>"),
    ("a" * 200, "auto", "udh8", 300, "method <b>udh16</b>"),
    ("x" * 40000, "auto", "udh8", 0, "method <b>payload</b>"),
])
def test_composer_errors_are_plain_words_with_a_way_out(text, encoding, method, reference, fix):
    box = widgets.composer(text, encoding=encoding, method=method, reference=reference)
    shown = box.result.value
    assert shown.startswith("<p style='color:#b00'><b>Cannot send this:</b>")
    assert "[ESME_" not in shown  # an SMSC status is not the user's problem here
    assert f"It can be sent with {fix}." in shown


def test_widget_tables_use_single_rules():
    html = widgets.composer("x" * 200).result.value
    assert 'class="dataframe smppkit-table"' in html and 'border="1"' not in html
    assert ".smppkit-table th,.smppkit-table td{border:0;border-bottom:1px solid" in html
    assert 'class="dataframe smppkit-table"' in widgets.receipt_explorer(V3_RECEIPT).result.value


# --- inspect_hex ----------------------------------------------------------------------------


ENQUIRE_LINK_RESP = "00 00 00 10 80 00 00 15 00 00 00 00 00 00 00 07"


@pytest.mark.parametrize("form", [
    ENQUIRE_LINK_RESP,
    ENQUIRE_LINK_RESP.replace(" ", ""),
    ENQUIRE_LINK_RESP.replace(" ", ":"),
    ", ".join("0x" + b for b in ENQUIRE_LINK_RESP.split()),
    ENQUIRE_LINK_RESP[:24] + "\n" + ENQUIRE_LINK_RESP[24:],
])
def test_parse_hex_accepts_pasted_forms(form):
    assert widgets.parse_hex(form) == bytes.fromhex(ENQUIRE_LINK_RESP)


@pytest.mark.parametrize("bad", ["zz", "000", "00 0g"])
def test_parse_hex_rejects_non_hex(bad):
    with pytest.raises(ValueError):
        widgets.parse_hex(bad)


def test_inspect_hex_annotates_fields():
    frame = widgets.inspect_hex(ENQUIRE_LINK_RESP).to_frame()
    assert list(frame["field"]) == ["command_length", "command_id", "command_status", "sequence_number"]
    assert "enquire_link_resp" in frame["meaning"][1]


def test_inspect_hex_reports_bad_pdus_in_an_error_row():
    explanation = widgets.inspect_hex("00 00 00 30 80 00 00 15 00 00 00 00 00 00 00 07")
    assert explanation.to_frame()["field"].iloc[-1] == "error"


def test_pdu_inspector_widget_follows_its_input():
    box = widgets.pdu_inspector()
    assert "Paste the hex" in box.result.value
    box.hex.value = ENQUIRE_LINK_RESP
    assert "enquire_link_resp" in box.result.value
    box.hex.value = "0 0 0"
    assert "Cannot read this" in box.result.value


# --- explore_receipt ------------------------------------------------------------------------


def test_explore_receipt_explains_every_field():
    found = widgets.explore_receipt(V3_RECEIPT)
    fields = found["fields"].set_index("field")
    assert list(fields.index) == ["id", "sub", "dlvrd", "submit_date", "done_date", "stat", "err", "text"]
    assert fields.loc["done_date", "meaning"] == "2016-01-01 01:01:00"
    assert fields.loc["stat", "meaning"].startswith("DELIVERED")
    assert (found["delivered"], found["final"], found["problems"]) == (True, True, [])


def test_explore_receipt_reads_a_hex_id_and_a_temporary_err():
    found = widgets.explore_receipt("id:0B00000127FDBC63 stat:UNDELIV err:2 network:foo")
    fields = found["fields"].set_index("field")
    assert "792633539383114851" in fields.loc["id", "meaning"]
    assert found["retry"] is True and found["delivered"] is False
    assert "vendor field" in fields.loc["network", "meaning"]


def test_explore_receipt_marks_acceptd_as_not_final():
    found = widgets.explore_receipt(V3_RECEIPT.replace("DELIVRD", "ACCEPTD"))
    assert found["final"] is False


def test_explore_receipt_raises_on_garbage():
    with pytest.raises(ReceiptError):
        widgets.explore_receipt("hello there")


def test_receipt_explorer_widget_pick_and_paste():
    box = widgets.receipt_explorer()
    assert "Pick a receipt" in box.result.value
    labels = [label for label, _ in box.pick.options]
    box.pick.value = labels.index("nexmo_v3_example") - 1
    assert box.text.value == V3_RECEIPT
    assert "delivered" in box.result.value
    box.text.value = "hello there"
    assert "Not a receipt" in box.result.value
