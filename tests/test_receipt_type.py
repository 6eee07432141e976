"""`is_receipt`: the one reading of "this deliver_sm is a receipt" -- SMPP v3.4 §5.2.12."""

import pytest

from smppkit.protocol.constants import EsmClass
from smppkit.protocol.pdus import DeliverSm
from smppkit.sms.receipts import is_receipt
from smppkit.trace import pdu_event


@pytest.mark.parametrize(
    ("esm_class", "expected"),
    [
        (0x00, False),  # default message type: an MO
        (0x04, True),  # SMSC delivery receipt
        (0x08, True),  # SME delivery acknowledgement
        (0x10, False),  # SME manual/user acknowledgement
        (0x18, False),  # conversation abort
        (0x20, True),  # intermediate delivery notification
        (0x44, True),  # UDHI does not change the message type
        (0x87, True),  # reply path and messaging-mode bits are ignored
        (0x0C, False),  # reserved combination
        (None, False),
    ],
)
def test_is_receipt_reads_only_the_message_type_bits(esm_class, expected):
    assert is_receipt(esm_class) is expected


def test_every_receipt_type_in_esm_class_is_a_receipt():
    for flag in (EsmClass.smsc_delivery_receipt, EsmClass.sme_delivery_ack,
                 EsmClass.intermediate_notification):
        assert is_receipt(int(flag))


def test_trace_reads_an_sme_acknowledgement_as_a_receipt():
    text = b"id:7 sub:001 dlvrd:001 submit date:2401011200 done date:2401011201 stat:DELIVRD err:000"
    pdu = DeliverSm(sequence_number=1, esm_class=0x08, short_message=text)
    event = pdu_event(pdu, time=0.0, direction="in")
    assert event["message_id"] == "7"
    assert event["receipt_stat"] == "DELIVRD"
