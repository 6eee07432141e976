"""Meaning tables: stat words, receipt err codes, deliver_sm_resp retries, dlr-mask, registered_delivery."""

from __future__ import annotations

import pytest

from smppkit.protocol.constants import CommandStatus, MessageState
from smppkit.sms.meanings import (
    DELIVER_SM_RESP_RETRY,
    DLR_MASK_BITS,
    KANNEL_145_REGISTERED_DELIVERY,
    RECEIPT_ERRORS,
    STATS,
    command_status_frame,
    deliver_sm_resp_frame,
    dlr_mask_frame,
    explain_deliver_sm_resp,
    explain_dlr_mask,
    explain_receipt_err,
    explain_registered_delivery,
    kannel_dlr_type,
    kannel_registered_delivery,
    receipt_err_frame,
    registered_delivery_frame,
    stat_frame,
)
from smppkit.sms.receipts import parse_receipt

# --- stat <-> message_state ---------------------------------------------------------------


@pytest.mark.parametrize("row", STATS, ids=[r.stat for r in STATS])
def test_stats_table_agrees_with_message_state(row):
    state = MessageState(row.message_state)
    assert state.stat == row.stat and state.name == row.state_name
    assert MessageState.from_stat(row.stat) is state
    assert kannel_dlr_type(row.stat) == row.kannel_dlr
    assert row.final == (state is not MessageState.ENROUTE)


def test_stats_cover_every_v34_state_once():
    assert sorted(r.message_state for r in STATS) == list(range(1, 9))


@pytest.mark.parametrize(
    "word, dlr", [("DELIVRD", 1), ("delivrd", 1), ("BUFFRED", 4), ("ACKED", 4), ("FAILED", 2)]
)
def test_kannel_dlr_type(word, dlr):
    assert kannel_dlr_type(word) == dlr


# --- receipt err --------------------------------------------------------------------------


@pytest.mark.parametrize("written", ["0", "000", "0000", 0])
def test_err_zero_in_every_spelling_is_delivered(written):
    assert explain_receipt_err(written) == RECEIPT_ERRORS[0]
    assert RECEIPT_ERRORS[0].meaning == "Delivered"


def test_err_retry_marks_match_the_provider_table():
    assert {code for code, e in RECEIPT_ERRORS.items() if e.retry} == {2, 7, 8}
    assert explain_receipt_err("003").meaning == "Absent Subscriber - Permanent"
    assert explain_receipt_err("003").retry is False
    assert explain_receipt_err(52).source == "C1 (third party)"
    assert explain_receipt_err(52).retry is None


def test_err_code_not_in_the_table():
    e = explain_receipt_err("042")
    assert (e.err, e.retry) == (42, None)
    assert "not in the provider's receipt err table" in e.meaning


def test_err_must_be_a_number():
    with pytest.raises(ValueError, match="not a decimal number"):
        explain_receipt_err("A1B")


def test_err_from_a_parsed_receipt():
    r = parse_receipt("id:1 stat:UNDELIV err:007 text:none")
    assert explain_receipt_err(r.err).meaning == "Handset Busy"


# --- deliver_sm_resp ----------------------------------------------------------------------


def test_deliver_sm_resp_retry_list_is_the_providers():
    assert {0x58, 0x08, 0x14, 0x45, 0x67, 0xFE, 0xFF} == DELIVER_SM_RESP_RETRY


@pytest.mark.parametrize("status", sorted(DELIVER_SM_RESP_RETRY))
def test_retried_statuses_are_resent(status):
    effect = explain_deliver_sm_resp(status)
    assert effect.resent and "will resend this receipt" in str(effect)
    assert effect.name == CommandStatus(status).name


@pytest.mark.parametrize("status", [0x01, 0x64, 0x65, 0x66, 0x0C])
def test_other_statuses_lose_the_receipt(status):
    effect = explain_deliver_sm_resp(status)
    assert not effect.resent
    assert "dropped and never resent" in effect.explanation


def test_rok_is_acknowledged():
    effect = explain_deliver_sm_resp(0)
    assert not effect.resent and effect.explanation.startswith("ESME_ROK")


# --- dlr-mask -----------------------------------------------------------------------------


def test_mask_17_drops_failures_and_says_so():
    e = explain_dlr_mask(17)
    assert e.registered_delivery == 1
    assert e.delivered == (DLR_MASK_BITS[0].receipt_kind, DLR_MASK_BITS[4].receipt_kind)
    assert DLR_MASK_BITS[1].receipt_kind in e.dropped
    (warning,) = e.warnings
    assert "failure receipts are dropped" in warning
    assert "use 19 (1+2+16)" in warning and "31" in warning
    assert "warning: failure receipts are dropped" in str(e)


@pytest.mark.parametrize(("mask", "rd"), [(19, 0x01), (31, 0x11)])
def test_masks_19_and_31_show_failures(mask, rd):
    e = explain_dlr_mask(mask)
    assert e.warnings == ()
    assert DLR_MASK_BITS[1].receipt_kind in e.delivered
    assert e.registered_delivery == rd


@pytest.mark.parametrize("mask", sorted(KANNEL_145_REGISTERED_DELIVERY))
def test_registered_delivery_is_what_kannel_145_was_measured_sending(mask):
    # measured with Debian Kannel 1.4.5 against the smppkit simulator (the submit_sm trace)
    expected = KANNEL_145_REGISTERED_DELIVERY[mask]
    assert kannel_registered_delivery(mask) == expected
    assert explain_dlr_mask(mask).registered_delivery == expected


def test_the_measured_masks_the_fix_was_about():
    # bit 4 "queued on SMSC" adds 0x10; bit 32 is used by 1.4.5 (a failure bit), not trunk-only
    assert [explain_dlr_mask(m).registered_delivery for m in (5, 31, 32, 16)] == [0x11, 0x11, 2, 0]
    assert str(explain_dlr_mask(31)).startswith("dlr-mask 31 (registered_delivery=0x11)")


@pytest.mark.parametrize(
    "mask, rd, warning",
    [
        (0, 0, "no delivery reports at all"),
        (2, 2, "registered_delivery=2 (failure only)"),
        (32, 2, "only EXPIRED failures (%d=34) get through"),
        (4, 0x10, "only intermediate notifications are requested"),
        (8, 0, "no handset receipt is requested"),
        (16, 0, "no handset receipt is requested"),
        (24, 0, "no handset receipt is requested"),
        (33, 1, "only EXPIRED gets through bit 32"),
        (1, 1, "use 3 (1+2)"),
        (17, 1, "dlr->mask=17"),
    ],
)
def test_dlr_mask_registered_delivery_and_warnings(mask, rd, warning):
    e = explain_dlr_mask(mask)
    assert e.registered_delivery == rd
    assert any(warning in w for w in e.warnings), e.warnings
    assert len(e.delivered) + len(e.dropped) == len(DLR_MASK_BITS)


def test_no_mask_claims_bit_32_is_trunk_only():
    assert not any("trunk" in w for m in range(64) for w in explain_dlr_mask(m).warnings)
    assert "trunk" not in " ".join(b.receipt_kind for b in DLR_MASK_BITS)


@pytest.mark.parametrize("mask", [-1, 64, 255])
def test_dlr_mask_out_of_range(mask):
    with pytest.raises(ValueError, match="0-63"):
        explain_dlr_mask(mask)


# --- registered_delivery ------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, receipt, warning",
    [
        (0x00, "no SMSC delivery receipt requested", "no delivery receipt will come"),
        (0x01, "SMSC delivery receipt on success or failure", None),
        (0x02, "SMSC delivery receipt on failure only", "a DELIVRD receipt never comes"),
        (0x03, "reserved", "bits 1-0 = 3 is reserved"),
        (0x21, "SMSC delivery receipt on success or failure", "bits 7-5 are reserved"),
    ],
)
def test_registered_delivery_receipt_bits(value, receipt, warning):
    e = explain_registered_delivery(value)
    assert e.receipt == receipt
    if warning is None:
        assert e.warnings == ()
    else:
        assert any(warning in w for w in e.warnings)


def test_registered_delivery_ack_and_intermediate_bits():
    e = explain_registered_delivery(0x1D)
    assert e.sme_ack == "both delivery and manual/user acknowledgement requested"
    assert e.intermediate
    assert str(e).startswith("registered_delivery 0x1D: SMSC delivery receipt on success")
    assert not explain_registered_delivery(0x01).intermediate


def test_registered_delivery_is_one_octet():
    with pytest.raises(ValueError, match="0-255"):
        explain_registered_delivery(256)


def test_kannel_masks_and_registered_delivery_agree():
    """What Kannel asks for (explain_dlr_mask) is what explain_registered_delivery decodes."""
    assert (
        "failure only"
        in explain_registered_delivery(explain_dlr_mask(2).registered_delivery).receipt
    )
    assert explain_registered_delivery(explain_dlr_mask(5).registered_delivery).intermediate
    assert not explain_registered_delivery(explain_dlr_mask(33).registered_delivery).intermediate


# --- DataFrames ---------------------------------------------------------------------------


def test_frames_have_the_tables_rows_and_columns():
    pytest.importorskip("pandas")
    stats = stat_frame()
    assert list(stats.columns) == [
        "stat",
        "message_state",
        "state_name",
        "final",
        "kannel_dlr",
        "meaning",
    ]
    assert stats.set_index("stat").loc["UNDELIV", "message_state"] == 5
    assert str(stats["message_state"].dtype) == "int64"
    errs = receipt_err_frame()
    assert len(errs) == len(RECEIPT_ERRORS)
    assert errs.set_index("err").loc[8, "meaning"] == "Network Error"
    retry = deliver_sm_resp_frame()
    assert set(retry["command_status"]) == DELIVER_SM_RESP_RETRY
    assert retry.set_index("command_status").loc[0x58, "name"] == "ESME_RTHROTTLED"
    assert list(dlr_mask_frame()["bit"]) == [1, 2, 4, 8, 16, 32]
    assert len(registered_delivery_frame()) == 11
    statuses = command_status_frame().set_index("name")
    assert len(statuses) == len(CommandStatus)
    assert statuses.loc["ESME_RTHROTTLED", "provider_resends_receipt"]
    assert statuses.loc["ESME_RX_T_APPN", "kannel_temporary"]
    assert not statuses.loc["ESME_RX_P_APPN", "provider_resends_receipt"]
