"""What the numbers around a delivery receipt mean, as tables and explanations.

Strategy: each table is plain data kept in this one file, with its source next to it
(the keys are those of the project's smpp-facts sheet: V = Vonage/Nexmo, K = Kannel,
C1 = a third-party copy of the provider's table). Functions look values up in the tables
and say what they mean for *your* receipts; `*_frame()` returns the same table as a pandas
DataFrame for notebooks (pandas is imported only there).

Tables:
    STATS                   stat word <-> message_state, final or not, Kannel's DLR type
    RECEIPT_ERRORS          the provider's receipt `err:` codes, with "retry makes sense"
    DELIVER_SM_RESP_RETRY   deliver_sm_resp statuses after which the provider resends
    DLR_MASK_BITS           Kannel dlr-mask bits
    REGISTERED_DELIVERY     registered_delivery bit fields (SMPP v3.4 §5.2.17)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from smppkit.protocol.constants import CommandStatus, MessageState, describe_status, status_name

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = [
    "DELIVER_SM_RESP_RETRY",
    "DLR_MASK_BITS",
    "KANNEL_145_REGISTERED_DELIVERY",
    "RECEIPT_ERRORS",
    "REGISTERED_DELIVERY",
    "STATS",
    "DeliverSmRespEffect",
    "DlrBit",
    "DlrMaskExplanation",
    "ErrMeaning",
    "RegisteredDeliveryExplanation",
    "StatMeaning",
    "command_status_frame",
    "deliver_sm_resp_frame",
    "dlr_mask_frame",
    "explain_deliver_sm_resp",
    "explain_dlr_mask",
    "explain_receipt_err",
    "explain_registered_delivery",
    "kannel_dlr_type",
    "kannel_registered_delivery",
    "receipt_err_frame",
    "registered_delivery_frame",
    "stat_frame",
]


def _frame(rows: Any, columns: tuple[str, ...]) -> pd.DataFrame:
    import pandas as pd  # lazily: the protocol core must not need pandas

    return pd.DataFrame([tuple(row) for row in rows], columns=list(columns))


# --- stat <-> message_state ---------------------------------------------------------------


class StatMeaning(NamedTuple):
    stat: str
    message_state: int
    state_name: str
    final: bool
    kannel_dlr: int
    meaning: str


_S = MessageState
# Meanings paraphrase SMPP v3.4 §5.2.28 (message_state); "final" per the same table
# (only ENROUTE is an intermediate state). kannel_dlr: "stat DELIVRD -> 1. ACCEPTD,
# ENROUTE, BUFFRED or ACKED -> 4. Anything else -> 2." -- Kannel smsc_smpp.c (smpp-facts §2.2)
STATS: tuple[StatMeaning, ...] = (
    StatMeaning("ENROUTE", _S.ENROUTE.value, "ENROUTE", False, 4, "the message is on its way"),
    StatMeaning("DELIVRD", _S.DELIVERED.value, "DELIVERED", True, 1, "delivered to the handset"),
    StatMeaning(
        "EXPIRED", _S.EXPIRED.value, "EXPIRED", True, 2, "validity period expired before delivery"
    ),
    StatMeaning(
        "DELETED",
        _S.DELETED.value,
        "DELETED",
        True,
        2,
        "deleted (e.g. by cancel_sm) before delivery",
    ),
    StatMeaning("UNDELIV", _S.UNDELIVERABLE.value, "UNDELIVERABLE", True, 2, "cannot be delivered"),
    StatMeaning(
        "ACCEPTD",
        _S.ACCEPTED.value,
        "ACCEPTED",
        True,
        4,
        "accepted on the subscriber's behalf; the provider and Kannel treat it as not final",
    ),
    StatMeaning(
        "UNKNOWN", _S.UNKNOWN.value, "UNKNOWN", True, 2, "the message is in an invalid state"
    ),
    StatMeaning(
        "REJECTD", _S.REJECTED.value, "REJECTED", True, 2, "rejected by the network or SMSC"
    ),
)


def kannel_dlr_type(stat: str) -> int:
    """The Kannel DLR type (dlr-mask bit) a receipt `stat:` word becomes (1, 2 or 4)."""
    word = stat.strip().upper()
    if word == "DELIVRD":
        return 1
    if word in ("ACCEPTD", "ENROUTE", "BUFFRED", "ACKED"):
        return 4
    return 2


def stat_frame() -> pd.DataFrame:
    """`STATS` as a DataFrame."""
    return _frame(STATS, StatMeaning._fields)


# --- the provider's receipt err codes -----------------------------------------------------


class ErrMeaning(NamedTuple):
    err: int
    meaning: str
    retry: bool | None
    source: str


# "err ... present when the message state is different from DELIVRD or ACCEPTD" (V2).
# "(retry)" marks come from V10; "All Delivery Receipts with a non-zero error code can be
# considered as indicating failed delivery" -- V10. Neither the provider nor operators
# retry, so `retry` says whether *you* resubmitting later makes sense.
RECEIPT_ERRORS: dict[int, ErrMeaning] = {
    e.err: e
    for e in (
        ErrMeaning(0, "Delivered", False, "V10"),
        ErrMeaning(1, "Unknown", False, "V10"),
        ErrMeaning(2, "Absent Subscriber - Temporary", True, "V10"),
        ErrMeaning(3, "Absent Subscriber - Permanent", False, "V10"),
        ErrMeaning(4, "Call Barred by User", False, "V10"),
        ErrMeaning(5, "Portability Error", False, "V10"),
        ErrMeaning(6, "Anti-Spam Rejection", False, "V10"),
        ErrMeaning(7, "Handset Busy", True, "V10"),
        ErrMeaning(8, "Network Error", True, "V10"),
        ErrMeaning(9, "Illegal Number", False, "V10"),
        ErrMeaning(10, "Invalid/Illegal Message (e.g. wrong encoding flag)", False, "V10"),
        ErrMeaning(11, "Unroutable", False, "V10"),
        ErrMeaning(12, "Destination Unreachable", False, "V10"),
        ErrMeaning(13, "Subscriber Age Restriction", False, "V10"),
        ErrMeaning(14, "Number Blocked by Carrier", False, "V10"),
        ErrMeaning(15, "Pre-Paid - Insufficient Funds", False, "V10"),
        # Only in C1 (a third party citing the newer provider page); retry not documented.
        ErrMeaning(16, "Gateway Quota Exceeded", None, "C1 (third party)"),
        ErrMeaning(50, "Entity Filter", None, "C1 (third party)"),
        ErrMeaning(51, "Header Filter", None, "C1 (third party)"),
        ErrMeaning(52, "Content Filter", None, "C1 (third party)"),
        ErrMeaning(53, "Consent Filter", None, "C1 (third party)"),
        ErrMeaning(54, "Regulation Error", None, "C1 (third party)"),
        ErrMeaning(95, "Unknown", False, "V10"),
        ErrMeaning(99, "General Error", False, "V10"),
    )
}


def explain_receipt_err(err: str | int) -> ErrMeaning:
    """The provider's meaning of a receipt `err:` value (`0`, `000`, `0000` are all 0).

    Args:
        err: the `err:` field as written, or its int.

    Returns:
        The table row; for a code not in the table, a row saying so with `retry=None`.

    Raises:
        ValueError: `err` is not a decimal number.
    """
    text = str(err).strip()
    if not text.isascii() or not text.isdigit():
        raise ValueError(f"receipt err {err!r} is not a decimal number")
    code = int(text)
    known = RECEIPT_ERRORS.get(code)
    if known is not None:
        return known
    return ErrMeaning(code, "not in the provider's receipt err table", None, "")


def receipt_err_frame() -> pd.DataFrame:
    """`RECEIPT_ERRORS` as a DataFrame."""
    return _frame(RECEIPT_ERRORS.values(), ErrMeaning._fields)


# --- deliver_sm_resp statuses the provider retries ----------------------------------------

#: "Vonage treats your deliver_sm_resp as temporary, and retries, for these values" (V9).
DELIVER_SM_RESP_RETRY: frozenset[int] = frozenset({0x58, 0x08, 0x14, 0x45, 0x67, 0xFE, 0xFF})


@dataclass(frozen=True, slots=True)
class DeliverSmRespEffect:
    """What the provider does after your deliver_sm_resp with this command_status."""

    command_status: int
    name: str
    resent: bool
    explanation: str

    def __str__(self) -> str:
        return self.explanation


def explain_deliver_sm_resp(command_status: int) -> DeliverSmRespEffect:
    """Whether the provider resends a receipt you answered with `command_status` (V9).

    Every status outside `DELIVER_SM_RESP_RETRY` other than 0 is final: the receipt is
    dropped and never resent, so answering a receipt you could not store with, say,
    ESME_RX_P_APPN (0x65) loses it, while ESME_RTHROTTLED (0x58) asks for it again later.
    """
    name = status_name(command_status)
    if command_status == 0:
        return DeliverSmRespEffect(
            0, name, False, "ESME_ROK: receipt acknowledged; the provider will not resend it"
        )
    if command_status in DELIVER_SM_RESP_RETRY:
        return DeliverSmRespEffect(
            command_status,
            name,
            True,
            f"{name} (0x{command_status:02X}) is temporary for the provider: "
            "it will resend this receipt later",
        )
    return DeliverSmRespEffect(
        command_status,
        name,
        False,
        f"{name} (0x{command_status:02X}) is final for the provider: the receipt is "
        "dropped and never resent (use 0x58 ESME_RTHROTTLED to be asked again)",
    )


def deliver_sm_resp_frame() -> pd.DataFrame:
    """The statuses the provider retries, with their names and spec descriptions."""
    rows = [(s, status_name(s), describe_status(s), True) for s in sorted(DELIVER_SM_RESP_RETRY)]
    return _frame(rows, ("command_status", "name", "description", "resent"))


# Kannel treats these submit_sm_resp statuses as temporary and requeues (smpp-facts §2.3).
_KANNEL_TEMPORARY = frozenset({0x58, 0x14, 0x08, 0x64})


def command_status_frame() -> pd.DataFrame:
    """Every v3.4 command_status: name, description, and how the provider and Kannel react."""
    rows = [
        (
            int(s),
            s.name,
            describe_status(s),
            int(s) in DELIVER_SM_RESP_RETRY,
            int(s) in _KANNEL_TEMPORARY,
        )
        for s in CommandStatus
    ]
    return _frame(
        rows,
        ("command_status", "name", "description", "provider_resends_receipt", "kannel_temporary"),
    )


# --- Kannel dlr-mask ----------------------------------------------------------------------


class DlrBit(NamedTuple):
    bit: int
    name: str
    kannel_text: str
    receipt_kind: str


# Bits 1-16 from the Kannel 1.4.4 userguide (dlr-mask). Bit 32 is not in the userguide;
# what it does was measured with Debian Kannel 1.4.5 against the smppkit simulator: alone it
# asks for registered_delivery 2, and it lets EXPIRED receipts through, which 1.4.5 reports
# to the dlr-url as %d=34 (2+32); an UNDELIV receipt (%d=2) is still dropped without bit 2.
DLR_MASK_BITS: tuple[DlrBit, ...] = (
    DlrBit(1, "success", "delivered to phone", "handset receipts with stat DELIVRD"),
    DlrBit(
        2,
        "failure",
        "not delivered to phone",
        "handset receipts with a failure stat (UNDELIV, EXPIRED, REJECTD, DELETED, UNKNOWN)",
    ),
    DlrBit(
        4,
        "buffered",
        "queued on SMSC",
        "intermediate receipts (ACCEPTD, ENROUTE), asked for with registered_delivery 0x10",
    ),
    DlrBit(8, "smsc_success", "delivered to SMSC", "SMSC acks: submit_sm_resp OK (ACK/)"),
    DlrBit(
        16,
        "smsc_reject",
        "not delivered to SMSC",
        "SMSC rejections: submit_sm_resp errors such as 0x58 (NACK/0x...)",
    ),
    DlrBit(32, "expired", "expired (1.4.5, not in the userguide)", "EXPIRED receipts (Kannel 1.4.5: %d=34)"),
)


@dataclass(frozen=True, slots=True)
class DlrMaskExplanation:
    """What a Kannel dlr-mask delivers to your dlr-url and what it silently drops."""

    mask: int
    delivered: tuple[str, ...]
    dropped: tuple[str, ...]
    registered_delivery: int
    warnings: tuple[str, ...]

    def __str__(self) -> str:
        lines = [f"dlr-mask {self.mask} (registered_delivery=0x{self.registered_delivery:02X})"]
        lines += [f"  delivered: {kind}" for kind in self.delivered]
        lines += [f"  dropped:   {kind}" for kind in self.dropped]
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)


#: registered_delivery that Kannel puts in the submit_sm for a dlr-mask, measured with
#: Debian Kannel 1.4.5 against the smppkit simulator (the simulator's trace of each
#: submit_sm; re-checked by tests/integration/test_kannel_live.py). 1.4.5 differs from the
#: 1.4.4 userguide and from trunk: bit 4 (queued on SMSC) adds 0x10, the SMPP intermediate
#: notification, and bit 32 counts as a failure bit.
KANNEL_145_REGISTERED_DELIVERY: dict[int, int] = {
    1: 0x01, 2: 0x02, 3: 0x01, 4: 0x10, 5: 0x11, 8: 0x00, 16: 0x00,
    17: 0x01, 19: 0x01, 31: 0x11, 32: 0x02, 33: 0x01, 63: 0x11,
}


def kannel_registered_delivery(mask: int) -> int:
    """The registered_delivery Kannel 1.4.5 sends for a dlr-mask (see `explain_dlr_mask`)."""
    if mask & 1:
        rd = 0x01  # receipt on success or failure
    elif mask & (2 | 32):
        rd = 0x02  # receipt on failure only
    else:
        rd = 0x00
    if mask & 4:
        rd |= 0x10  # "intermediate notification requested" -- SMPP v3.4 §5.2.17
    return rd


def explain_dlr_mask(mask: int) -> DlrMaskExplanation:
    """Which receipt kinds a Kannel dlr-mask reports, which it drops, and the traps.

    The registered_delivery Kannel asks for was measured with Debian Kannel 1.4.5 against
    the smppkit simulator (`KANNEL_145_REGISTERED_DELIVERY`): 0x01 when bit 1 is set, else
    0x02 when bit 2 or 32 is set, else 0; plus 0x10 (intermediate notification) for bit 4
    "queued on SMSC". So 17 -> 0x01, 19 -> 0x01, 5 and 31 -> 0x11, 32 -> 0x02, 16 -> 0.
    A receipt whose kind is not in the mask is still requested and received, then
    "Ignoring DLR message because of mask type=2 dlr->mask=17" -- so 17 (1+16, the mask in
    the provider's test URL) never shows a failed delivery. Use 19 (1+2+16) or 31.

    Args:
        mask: the dlr-mask value, 0-63.

    Returns:
        A `DlrMaskExplanation` (printable).

    Raises:
        ValueError: `mask` is outside 0-63.
    """
    if not 0 <= mask <= 63:
        raise ValueError(f"dlr-mask must be 0-63 (bits 1, 2, 4, 8, 16, 32), got {mask}")
    delivered = tuple(b.receipt_kind for b in DLR_MASK_BITS if mask & b.bit)
    dropped = tuple(b.receipt_kind for b in DLR_MASK_BITS if not mask & b.bit)
    rd = kannel_registered_delivery(mask)
    warnings = []
    if mask == 0:
        warnings.append("no delivery reports at all")
    if mask & 1 and not mask & 2:
        warnings.append(
            "failure receipts are dropped: Kannel asks for receipts on success or failure "
            "(registered_delivery=1) but ignores and deletes UNDELIV/REJECTD ones "
            f"('Ignoring DLR message because of mask type=2 dlr->mask={mask}'"
            + (", only EXPIRED gets through bit 32" if mask & 32 else "")
            + f"), so a failed message looks pending forever; use {mask | 2} "
            f"({_bits(mask | 2)}); 19 or 31 are the usual fixes"
        )
    if rd & 0x03 == 2:
        warnings.append(
            "registered_delivery=2 (failure only): a DELIVRD receipt is never requested, "
            "so delivered and lost messages look the same"
            + ("; without bit 2 only EXPIRED failures (%d=34) get through" if not mask & 2 else "")
        )
    if mask and not rd & 0x03:
        if rd & 0x10:
            warnings.append(
                "only intermediate notifications are requested (registered_delivery=0x10): "
                "no final handset receipt (DELIVRD/UNDELIV) will come"
            )
        else:
            warnings.append(
                "no handset receipt is requested (registered_delivery=0): only SMSC-level "
                "reports (bits 8/16) can arrive"
            )
    return DlrMaskExplanation(mask, delivered, dropped, rd, tuple(warnings))


def _bits(mask: int) -> str:
    return "+".join(str(b.bit) for b in DLR_MASK_BITS if mask & b.bit)


def dlr_mask_frame() -> pd.DataFrame:
    """`DLR_MASK_BITS` as a DataFrame."""
    return _frame(DLR_MASK_BITS, DlrBit._fields)


# --- registered_delivery ------------------------------------------------------------------

# (bits, value, meaning) -- SMPP v3.4 §5.2.17
REGISTERED_DELIVERY: tuple[tuple[str, int, str], ...] = (
    ("1-0", 0x00, "no SMSC delivery receipt requested"),
    ("1-0", 0x01, "SMSC delivery receipt on success or failure"),
    ("1-0", 0x02, "SMSC delivery receipt on failure only"),
    ("1-0", 0x03, "reserved"),
    ("3-2", 0x00, "no SME acknowledgement requested"),
    ("3-2", 0x04, "SME delivery acknowledgement requested"),
    ("3-2", 0x08, "SME manual/user acknowledgement requested"),
    ("3-2", 0x0C, "both delivery and manual/user acknowledgement requested"),
    ("4", 0x00, "no intermediate notification requested"),
    ("4", 0x10, "intermediate notification requested"),
    ("7-5", 0x00, "reserved (must be 0)"),
)


@dataclass(frozen=True, slots=True)
class RegisteredDeliveryExplanation:
    """What a registered_delivery value asks the SMSC for."""

    value: int
    receipt: str
    sme_ack: str
    intermediate: bool
    warnings: tuple[str, ...]

    def __str__(self) -> str:
        lines = [
            f"registered_delivery 0x{self.value:02X}: {self.receipt}; {self.sme_ack}; "
            + (
                "intermediate notifications"
                if self.intermediate
                else "no intermediate notifications"
            )
        ]
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)


def explain_registered_delivery(value: int) -> RegisteredDeliveryExplanation:
    """Decode registered_delivery (SMPP v3.4 §5.2.17) and flag the values that lose receipts.

    Args:
        value: the octet, 0-255.

    Returns:
        A `RegisteredDeliveryExplanation` (printable).

    Raises:
        ValueError: `value` is outside 0-255.
    """
    if not 0 <= value <= 0xFF:
        raise ValueError(f"registered_delivery is one octet (0-255), got {value}")
    meanings = {(bits, v): text for bits, v, text in REGISTERED_DELIVERY}
    receipt = meanings[("1-0", value & 0x03)]
    sme_ack = meanings[("3-2", value & 0x0C)]
    warnings = []
    if value & 0x03 == 0:
        warnings.append("no delivery receipt will come: set bit 0 (registered_delivery=1)")
    elif value & 0x03 == 2:
        warnings.append("only failures produce a receipt: a DELIVRD receipt never comes")
    elif value & 0x03 == 3:
        warnings.append("bits 1-0 = 3 is reserved in SMPP v3.4; SMSCs may reject it (0x07)")
    if value & 0xE0:
        warnings.append("bits 7-5 are reserved and must be 0 (ESME_RINVREGDLVFLG 0x07)")
    return RegisteredDeliveryExplanation(
        value, receipt, sme_ack, bool(value & 0x10), tuple(warnings)
    )


def registered_delivery_frame() -> pd.DataFrame:
    """`REGISTERED_DELIVERY` as a DataFrame."""
    return _frame(REGISTERED_DELIVERY, ("bits", "value", "meaning"))
