"""SMPP v3.4 numbers with names: command ids, statuses, TLV tags and field values.

Every enum member carries the spec's own name (lower-case for command ids and TLV tags,
as the spec writes them; ESME_* for statuses), so code reads like the specification.
Values come from SMPP v3.4 §5 ("PDU field definitions") unless a comment says otherwise.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

__all__ = [
    "CommandId",
    "CommandStatus",
    "DataCoding",
    "EsmClass",
    "MessageState",
    "Npi",
    "RegisteredDelivery",
    "RESPONSE_BIT",
    "SECRET_MASK",
    "TlvTag",
    "Ton",
    "describe_status",
    "status_name",
]

# "The command_id ... of a response PDU is the command_id of the request with bit 31 set."
# -- SMPP v3.4 §5.1.2.1
RESPONSE_BIT = 0x80000000

#: What a secret (a bind password, a sendsms password) is shown as, everywhere.
SECRET_MASK = "********"


class CommandId(enum.IntEnum):
    """command_id values -- SMPP v3.4 §5.1.2.1, Table 5-1."""

    generic_nack = 0x80000000
    bind_receiver = 0x00000001
    bind_receiver_resp = 0x80000001
    bind_transmitter = 0x00000002
    bind_transmitter_resp = 0x80000002
    query_sm = 0x00000003
    query_sm_resp = 0x80000003
    submit_sm = 0x00000004
    submit_sm_resp = 0x80000004
    deliver_sm = 0x00000005
    deliver_sm_resp = 0x80000005
    unbind = 0x00000006
    unbind_resp = 0x80000006
    replace_sm = 0x00000007
    replace_sm_resp = 0x80000007
    cancel_sm = 0x00000008
    cancel_sm_resp = 0x80000008
    bind_transceiver = 0x00000009
    bind_transceiver_resp = 0x80000009
    outbind = 0x0000000B
    enquire_link = 0x00000015
    enquire_link_resp = 0x80000015
    submit_multi = 0x00000021
    submit_multi_resp = 0x80000021
    alert_notification = 0x00000102
    data_sm = 0x00000103
    data_sm_resp = 0x80000103

    @property
    def is_response(self) -> bool:
        return bool(self.value & RESPONSE_BIT)


# (value, name, description) -- SMPP v3.4 §5.1.3, Table 5-2. Descriptions are the spec's.
_STATUSES: list[tuple[int, str, str]] = [
    (0x00, "ESME_ROK", "No Error"),
    (0x01, "ESME_RINVMSGLEN", "Message Length is invalid"),
    (0x02, "ESME_RINVCMDLEN", "Command Length is invalid"),
    (0x03, "ESME_RINVCMDID", "Invalid Command ID"),
    (0x04, "ESME_RINVBNDSTS", "Incorrect BIND Status for given command"),
    (0x05, "ESME_RALYBND", "ESME Already in Bound State"),
    (0x06, "ESME_RINVPRTFLG", "Invalid Priority Flag"),
    (0x07, "ESME_RINVREGDLVFLG", "Invalid Registered Delivery Flag"),
    (0x08, "ESME_RSYSERR", "System Error"),
    (0x0A, "ESME_RINVSRCADR", "Invalid Source Address"),
    (0x0B, "ESME_RINVDSTADR", "Invalid Dest Addr"),
    (0x0C, "ESME_RINVMSGID", "Message ID is invalid"),
    (0x0D, "ESME_RBINDFAIL", "Bind Failed"),
    (0x0E, "ESME_RINVPASWD", "Invalid Password"),
    (0x0F, "ESME_RINVSYSID", "Invalid System ID"),
    (0x11, "ESME_RCANCELFAIL", "Cancel SM Failed"),
    (0x13, "ESME_RREPLACEFAIL", "Replace SM Failed"),
    (0x14, "ESME_RMSGQFUL", "Message Queue Full"),
    (0x15, "ESME_RINVSERTYP", "Invalid Service Type"),
    (0x33, "ESME_RINVNUMDESTS", "Invalid number of destinations"),
    (0x34, "ESME_RINVDLNAME", "Invalid Distribution List name"),
    (0x40, "ESME_RINVDESTFLAG", "Destination flag is invalid (submit_multi)"),
    (0x42, "ESME_RINVSUBREP", "Invalid 'submit with replace' request (replace_if_present_flag)"),
    (0x43, "ESME_RINVESMCLASS", "Invalid esm_class field data"),
    (0x44, "ESME_RCNTSUBDL", "Cannot Submit to Distribution List"),
    (0x45, "ESME_RSUBMITFAIL", "submit_sm or submit_multi failed"),
    (0x48, "ESME_RINVSRCTON", "Invalid Source address TON"),
    (0x49, "ESME_RINVSRCNPI", "Invalid Source address NPI"),
    (0x50, "ESME_RINVDSTTON", "Invalid Destination address TON"),
    (0x51, "ESME_RINVDSTNPI", "Invalid Destination address NPI"),
    (0x53, "ESME_RINVSYSTYP", "Invalid system_type field"),
    (0x54, "ESME_RINVREPFLAG", "Invalid replace_if_present flag"),
    (0x55, "ESME_RINVNUMMSGS", "Invalid number of messages"),
    (0x58, "ESME_RTHROTTLED", "Throttling error (ESME has exceeded allowed message limits)"),
    (0x61, "ESME_RINVSCHED", "Invalid Scheduled Delivery Time"),
    (0x62, "ESME_RINVEXPIRY", "Invalid message validity period (Expiry time)"),
    (0x63, "ESME_RINVDFTMSGID", "Predefined Message Invalid or Not Found"),
    (0x64, "ESME_RX_T_APPN", "ESME Receiver Temporary App Error Code"),
    (0x65, "ESME_RX_P_APPN", "ESME Receiver Permanent App Error Code"),
    (0x66, "ESME_RX_R_APPN", "ESME Receiver Reject Message Error Code"),
    (0x67, "ESME_RQUERYFAIL", "query_sm request failed"),
    (0xC0, "ESME_RINVOPTPARSTREAM", "Error in the optional part of the PDU Body"),
    (0xC1, "ESME_ROPTPARNOTALLWD", "Optional Parameter not allowed"),
    (0xC2, "ESME_RINVPARLEN", "Invalid Parameter Length"),
    (0xC3, "ESME_RMISSINGOPTPARAM", "Expected Optional Parameter missing"),
    (0xC4, "ESME_RINVOPTPARAMVAL", "Invalid Optional Parameter Value"),
    (0xFE, "ESME_RDELIVERYFAILURE", "Delivery Failure (used for data_sm_resp)"),
    (0xFF, "ESME_RUNKNOWNERR", "Unknown Error"),
]

if TYPE_CHECKING:  # the members come from _STATUSES; a type checker sees any ESME_* name

    class _StatusMeta(enum.EnumMeta):
        def __getattr__(cls, name: str) -> CommandStatus: ...

    class CommandStatus(enum.IntEnum, metaclass=_StatusMeta):
        """command_status values -- SMPP v3.4 §5.1.3, Table 5-2."""

else:
    CommandStatus = enum.IntEnum(
        "CommandStatus", [(name, value) for value, name, _ in _STATUSES], module=__name__
    )
    CommandStatus.__doc__ = "command_status values -- SMPP v3.4 §5.1.3, Table 5-2."

_DESCRIPTIONS = {value: text for value, _, text in _STATUSES}

# Some published tables (e.g. smpp.io) give the destination TON/NPI errors as 0x4A/0x4B, while
# the spec, Kannel and python-smpplib use 0x50/0x51. Accept both readings when decoding names.
_ALIASES = {
    0x4A: ("ESME_RINVDSTTON", "Invalid Destination address TON (0x4A reading; the spec says 0x50)"),
    0x4B: ("ESME_RINVDSTNPI", "Invalid Destination address NPI (0x4B reading; the spec says 0x51)"),
}


def status_name(value: int) -> str:
    """The ESME_* name of a command_status, or a descriptive placeholder.

    Vendor-specific codes (0x400-0x4FF, "Reserved for SMSC vendor specific errors"
    -- SMPP v3.4 §5.1.3) and unknown codes get a hex name, never an exception.
    """
    try:
        return CommandStatus(value).name
    except ValueError:
        if value in _ALIASES:
            return _ALIASES[value][0]
        if 0x400 <= value <= 0x4FF:
            return f"vendor-specific 0x{value:08X}"
        return f"unknown 0x{value:08X}"


def describe_status(value: int) -> str:
    """The spec's one-line meaning of a command_status (or why there is none)."""
    if value in _DESCRIPTIONS:
        return _DESCRIPTIONS[value]
    if value in _ALIASES:
        return _ALIASES[value][1]
    if 0x400 <= value <= 0x4FF:
        return "Reserved for SMSC vendor specific errors"
    return "Reserved (not defined by SMPP v3.4)"


class Ton(enum.IntEnum):
    """Type of Number -- SMPP v3.4 §5.2.5."""

    unknown = 0
    international = 1
    national = 2
    network_specific = 3
    subscriber_number = 4
    alphanumeric = 5
    abbreviated = 6


class Npi(enum.IntEnum):
    """Numbering Plan Indicator -- SMPP v3.4 §5.2.6."""

    unknown = 0
    isdn = 1  # E.163/E.164
    data = 3  # X.121
    telex = 4  # F.69
    land_mobile = 6  # E.212
    national = 8
    private = 9
    ermes = 10
    internet = 14  # IP
    wap_client_id = 18


class DataCoding(enum.IntEnum):
    """data_coding values -- SMPP v3.4 §5.2.19."""

    smsc_default = 0x00
    ia5 = 0x01
    binary = 0x02
    latin1 = 0x03
    binary_8bit = 0x04
    jis = 0x05
    cyrillic = 0x06
    latin_hebrew = 0x07
    ucs2 = 0x08
    pictogram = 0x09
    iso_2022_jp = 0x0A
    extended_kanji = 0x0D
    ks_c_5601 = 0x0E


class EsmClass(enum.IntFlag):
    """esm_class bits -- SMPP v3.4 §5.2.12.

    The low bits mean different things in submit_sm (messaging mode, bits 1-0) and in
    deliver_sm (message type, bits 5-2); both readings are listed.
    """

    # Messaging mode (submit_sm, bits 1-0)
    default_mode = 0x00
    datagram_mode = 0x01
    forward_mode = 0x02
    store_and_forward_mode = 0x03
    # Message type (deliver_sm, bits 5-2)
    smsc_delivery_receipt = 0x04
    sme_delivery_ack = 0x08
    sme_manual_ack = 0x10
    conversation_abort = 0x18
    intermediate_notification = 0x20
    # GSM network specific features (bits 7-6)
    udhi = 0x40
    reply_path = 0x80


class RegisteredDelivery(enum.IntFlag):
    """registered_delivery bits -- SMPP v3.4 §5.2.17."""

    none = 0x00
    receipt_always = 0x01  # on success or failure
    receipt_on_failure = 0x02
    sme_delivery_ack = 0x04
    sme_manual_ack = 0x08
    intermediate_notification = 0x10


class MessageState(enum.IntEnum):
    """message_state values -- SMPP v3.4 §5.2.28, with the Appendix B `stat:` word."""

    ENROUTE = 1
    DELIVERED = 2
    EXPIRED = 3
    DELETED = 4
    UNDELIVERABLE = 5
    ACCEPTED = 6
    UNKNOWN = 7
    REJECTED = 8

    @property
    def stat(self) -> str:
        """The 7-letter word used in receipt text (`stat:DELIVRD`) -- SMPP v3.4 Appendix B."""
        return _STAT_WORDS[self]

    @classmethod
    def from_stat(cls, word: str) -> MessageState:
        """The state for a receipt `stat:` word (case-insensitive; full names accepted)."""
        key = word.strip().upper()
        for state, stat in _STAT_WORDS.items():
            if key in (stat, state.name):
                return state
        raise ValueError(f"unknown receipt stat {word!r}")


_STAT_WORDS = {
    MessageState.ENROUTE: "ENROUTE",
    MessageState.DELIVERED: "DELIVRD",
    MessageState.EXPIRED: "EXPIRED",
    MessageState.DELETED: "DELETED",
    MessageState.UNDELIVERABLE: "UNDELIV",
    MessageState.ACCEPTED: "ACCEPTD",
    MessageState.UNKNOWN: "UNKNOWN",
    MessageState.REJECTED: "REJECTD",
}


class TlvTag(enum.IntEnum):
    """Optional parameter tags -- SMPP v3.4 §5.3.2, Table 5-3 (and §5.3.2.1-5.3.2.45)."""

    dest_addr_subunit = 0x0005
    dest_network_type = 0x0006
    dest_bearer_type = 0x0007
    dest_telematics_id = 0x0008
    source_addr_subunit = 0x000D
    source_network_type = 0x000E
    source_bearer_type = 0x000F
    source_telematics_id = 0x0010
    qos_time_to_live = 0x0017
    payload_type = 0x0019
    additional_status_info_text = 0x001D
    receipted_message_id = 0x001E
    ms_msg_wait_facilities = 0x0030
    privacy_indicator = 0x0201
    source_subaddress = 0x0202
    dest_subaddress = 0x0203
    user_message_reference = 0x0204
    user_response_code = 0x0205
    source_port = 0x020A
    destination_port = 0x020B
    sar_msg_ref_num = 0x020C
    language_indicator = 0x020D
    sar_total_segments = 0x020E
    sar_segment_seqnum = 0x020F
    sc_interface_version = 0x0210
    callback_num_pres_ind = 0x0302
    callback_num_atag = 0x0303
    number_of_messages = 0x0304
    callback_num = 0x0381
    dpf_result = 0x0420
    set_dpf = 0x0421
    ms_availability_status = 0x0422
    network_error_code = 0x0423
    message_payload = 0x0424
    delivery_failure_reason = 0x0425
    more_messages_to_send = 0x0426
    message_state = 0x0427
    ussd_service_op = 0x0501
    display_time = 0x1201
    sms_signal = 0x1203
    ms_validity = 0x1204
    alert_on_message_delivery = 0x130C
    its_reply_type = 0x1380
    its_session_info = 0x1383
