"""Every SMPP v3.4 PDU as a small immutable dataclass.

Strategy: each class lists its body fields in wire order, with the spec's names, and each
field's wire kind (and so its limit) is declared once, in the field's metadata. The codec
walks that one declaration to encode and decode; nothing is written twice. Constructors
take keywords only and validate, so an invalid PDU cannot exist: a value too long for its
field raises `InvalidArgument` naming the field and the limit, never truncates.

Derived fields (command_length, sm_length, number_of_dests, no_unsuccess) are not stored:
the codec computes them. `sequence_number=0` means "not assigned yet"; a `Session` assigns
one when the PDU is sent. Optional parameters live in `tlvs` (see `wire.Tlv`) and can be
given as a dict: ``SubmitSm(..., tlvs={"sar_msg_ref_num": 7})``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar, cast, dataclass_transform

from smppkit.protocol.constants import SECRET_MASK, CommandId, CommandStatus, TlvTag
from smppkit.protocol.errors import InvalidArgument, RemoteProtocolError
from smppkit.protocol.wire import CString, Int, ShortMessage, Tlv, normalize_tlvs

_C = TypeVar("_C", bound=type)

__all__ = [
    "PDU_CLASSES",
    "AlertNotification",
    "BindReceiver",
    "BindReceiverResp",
    "BindTransceiver",
    "BindTransceiverResp",
    "BindTransmitter",
    "BindTransmitterResp",
    "CancelSm",
    "CancelSmResp",
    "DataSm",
    "DataSmResp",
    "DeliverSm",
    "DeliverSmResp",
    "DistributionList",
    "EnquireLink",
    "EnquireLinkResp",
    "GenericNack",
    "Outbind",
    "Pdu",
    "QuerySm",
    "QuerySmResp",
    "ReplaceSm",
    "ReplaceSmResp",
    "SmeAddress",
    "SubmitMulti",
    "SubmitMultiResp",
    "SubmitSm",
    "SubmitSmResp",
    "Unbind",
    "UnbindResp",
    "UnsuccessSme",
]

_S = CommandStatus
_U8, _U16, _U32 = Int(1), Int(2), Int(4)

# Field limits include the NULL -- SMPP v3.4 §4 tables ("Var. max N").
_SYSTEM_ID = CString(16, _S.ESME_RINVSYSID)
_PASSWORD = CString(9, _S.ESME_RINVPASWD, secret=True)
_SYSTEM_TYPE = CString(13, _S.ESME_RINVSYSTYP)
_ADDRESS_RANGE = CString(41, _S.ESME_RINVPARLEN)
_SERVICE_TYPE = CString(6, _S.ESME_RINVSERTYP)
_SRC_ADDR = CString(21, _S.ESME_RINVSRCADR)
_DST_ADDR = CString(21, _S.ESME_RINVDSTADR)
_SRC_ADDR_65 = CString(65, _S.ESME_RINVSRCADR)  # data_sm, alert_notification: §4.7.1, §4.12.1
_DST_ADDR_65 = CString(65, _S.ESME_RINVDSTADR)
_MESSAGE_ID = CString(65, _S.ESME_RINVMSGID)
_SCHEDULE = CString(17, _S.ESME_RINVSCHED, fixed=16)  # §7.1.1: 16 characters or NULL
_VALIDITY = CString(17, _S.ESME_RINVEXPIRY, fixed=16)
_FINAL_DATE = CString(17, _S.ESME_RINVPARLEN, fixed=16)
_DL_NAME = CString(21, _S.ESME_RINVDLNAME)
_SHORT_MESSAGE = ShortMessage()


def _f(kind: Any, default: Any = 0) -> Any:
    return field(default=default, metadata={"wire": kind})


def _s(kind: CString) -> Any:
    return field(default="", metadata={"wire": kind})


# --- composite values of submit_multi -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class SmeAddress:
    """One SME destination of submit_multi (dest_flag 1) -- SMPP v3.4 §4.5.1.1."""

    destination_addr: str
    dest_addr_ton: int = 0
    dest_addr_npi: int = 0


@dataclass(frozen=True, slots=True)
class DistributionList:
    """One distribution-list destination of submit_multi (dest_flag 2) -- §4.5.1.2."""

    dl_name: str


@dataclass(frozen=True, slots=True)
class UnsuccessSme:
    """One failed destination in submit_multi_resp -- SMPP v3.4 §4.5.2.1."""

    destination_addr: str
    dest_addr_ton: int = 0
    dest_addr_npi: int = 0
    error_status_code: int = 0


class _DestAddresses:
    """number_of_dests (1 octet) then dest_address entries -- SMPP v3.4 §4.5.1."""

    __slots__ = ()

    def read(self, buf: bytes, pos: int) -> tuple[tuple[Any, ...], int]:
        count, pos = _U8.read(buf, pos)
        out: list[Any] = []
        for _ in range(count):
            flag, pos = _U8.read(buf, pos)
            if flag == 1:
                ton, pos = _U8.read(buf, pos)
                npi, pos = _U8.read(buf, pos)
                addr, pos = _DST_ADDR.read(buf, pos)
                out.append(SmeAddress(addr, ton, npi))
            elif flag == 2:
                name, pos = _DL_NAME.read(buf, pos)
                out.append(DistributionList(name))
            else:
                raise RemoteProtocolError(
                    f"dest_flag must be 1 (SME) or 2 (list), got {flag}", _S.ESME_RINVDESTFLAG
                )
        return tuple(out), pos

    def write(self, value: tuple[Any, ...], out: bytearray) -> None:
        out.append(len(value))
        for dest in value:
            if isinstance(dest, SmeAddress):
                out += bytes((1, dest.dest_addr_ton, dest.dest_addr_npi))
                _DST_ADDR.write(dest.destination_addr, out)
            else:
                out.append(2)
                _DL_NAME.write(dest.dl_name, out)

    def check(self, name: str, value: Any) -> tuple[Any, ...]:
        entries: tuple[Any, ...] = tuple(value)
        value = entries
        # "number_of_dests ... maximum 254" -- SMPP v3.4 §4.5.1
        if len(value) > 254:
            raise InvalidArgument(f"{name} has {len(value)} entries; limit 254", _S.ESME_RINVNUMDESTS)
        for dest in value:
            if isinstance(dest, SmeAddress):
                _U8.check("dest_addr_ton", dest.dest_addr_ton)
                _U8.check("dest_addr_npi", dest.dest_addr_npi)
                _DST_ADDR.check("destination_addr", dest.destination_addr)
            elif isinstance(dest, DistributionList):
                _DL_NAME.check("dl_name", dest.dl_name)
            else:
                raise InvalidArgument(f"{name} entries must be SmeAddress or DistributionList")
        return entries


class _UnsuccessSmes:
    """no_unsuccess (1 octet) then unsuccess_sme entries -- SMPP v3.4 §4.5.2."""

    __slots__ = ()

    def read(self, buf: bytes, pos: int) -> tuple[tuple[UnsuccessSme, ...], int]:
        count, pos = _U8.read(buf, pos)
        out = []
        for _ in range(count):
            ton, pos = _U8.read(buf, pos)
            npi, pos = _U8.read(buf, pos)
            addr, pos = _DST_ADDR.read(buf, pos)
            err, pos = _U32.read(buf, pos)
            out.append(UnsuccessSme(addr, ton, npi, err))
        return tuple(out), pos

    def write(self, value: tuple[UnsuccessSme, ...], out: bytearray) -> None:
        out.append(len(value))
        for sme in value:
            out += bytes((sme.dest_addr_ton, sme.dest_addr_npi))
            _DST_ADDR.write(sme.destination_addr, out)
            _U32.write(sme.error_status_code, out)

    def check(self, name: str, value: Any) -> tuple[UnsuccessSme, ...]:
        entries: tuple[UnsuccessSme, ...] = tuple(value)
        value = entries
        if len(value) > 254:
            raise InvalidArgument(f"{name} has {len(value)} entries; limit 254")
        for sme in value:
            if not isinstance(sme, UnsuccessSme):
                raise InvalidArgument(f"{name} entries must be UnsuccessSme")
            _U8.check("dest_addr_ton", sme.dest_addr_ton)
            _U8.check("dest_addr_npi", sme.dest_addr_npi)
            _DST_ADDR.check("destination_addr", sme.destination_addr)
            _U32.check("error_status_code", sme.error_status_code)
        return entries


# --- the base class and registry ----------------------------------------------------------

PDU_CLASSES: dict[int, type[Pdu]] = {}
_MASKED = frozenset({"password"})


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class Pdu:
    """Common header fields -- SMPP v3.4 §3.2 (command_length and command_id are derived)."""

    command_id: ClassVar[CommandId]
    body: ClassVar[tuple[tuple[str, Any], ...]] = ()
    #: True for responses whose body is left out when command_status != 0 (§4.*.2 notes).
    omit_body_on_error: ClassVar[bool] = False

    command_status: int = 0
    sequence_number: int = 0
    tlvs: tuple[Tlv, ...] = ()

    def __post_init__(self) -> None:
        setter = object.__setattr__
        _U32.check("command_status", self.command_status)
        _U32.check("sequence_number", self.sequence_number)
        for name, kind in self.body:
            setter(self, name, kind.check(name, getattr(self, name)))
        setter(self, "tlvs", normalize_tlvs(self.tlvs))

    # -- conveniences --
    @property
    def command_name(self) -> str:
        return self.command_id.name

    @property
    def is_response(self) -> bool:
        return self.command_id.is_response

    def tlv(self, tag: TlvTag | str | int, default: Any = None) -> Any:
        """The value of the first optional parameter with this tag or name, else `default`."""
        if isinstance(tag, str):
            try:
                tag = TlvTag[tag]
            except KeyError:
                raise InvalidArgument(f"unknown optional parameter name {tag!r}") from None
        for item in self.tlvs:
            if item.tag == tag:
                return item.value
        return default

    @classmethod
    def trusted(cls, **fields: Any) -> Pdu:
        """Build without validation, for code that makes PDUs from values it already checked.

        The simulator builds thousands of responses and receipts a second from its own
        values; validating each again would cost more than encoding it. `tlvs` must be a
        tuple of `Tlv` with typed values. Anything built from outside input must use the
        normal constructor.
        """
        build = _TRUSTED.get(cls) or _compile_trusted(cls)
        return build(**fields)  # type: ignore[no-any-return]

    def with_sequence(self, sequence_number: int) -> Pdu:
        """A copy with another sequence_number; no other field changes, so no re-validation."""
        _U32.check("sequence_number", sequence_number)
        cls = type(self)
        copy = _COPY.get(cls) or _compile_copy(cls)
        return copy(self, sequence_number)  # type: ignore[no-any-return]

    def replace(self, **changes: Any) -> Pdu:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def fields(self) -> dict[str, Any]:
        """Header and body fields as a dict, in wire order (password masked)."""
        out: dict[str, Any] = {
            "command_id": self.command_id.name,
            "command_status": self.command_status,
            "sequence_number": self.sequence_number,
        }
        for name, _ in self.body:
            out[name] = SECRET_MASK if name in _MASKED else getattr(self, name)
        for item in self.tlvs:
            out[item.name] = item.value
        return out

    def __repr__(self) -> str:
        parts = []
        if self.command_status:
            parts.append(f"command_status={self.command_status:#x}")
        parts.append(f"sequence_number={self.sequence_number}")
        for name, _ in self.body:
            value = getattr(self, name)
            parts.append(f"{name}={SECRET_MASK if name in _MASKED and value else value!r}")
        if self.tlvs:
            parts.append("tlvs={" + ", ".join(f"{t.name}: {t.value!r}" for t in self.tlvs) + "}")
        return f"{type(self).__name__}({', '.join(parts)})"


_SLOTS: dict[type, tuple[str, ...]] = {}


def _slot_names(cls: type) -> tuple[str, ...]:
    names = _SLOTS.get(cls)
    if names is None:
        names = _SLOTS[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


_DEFAULTS: dict[type, dict[str, Any]] = {}


def _defaults(cls: type) -> dict[str, Any]:
    found = _DEFAULTS.get(cls)
    if found is None:
        found = _DEFAULTS[cls] = {f.name: f.default for f in dataclasses.fields(cls)}
    return found


# `trusted` and `with_sequence` run for every PDU the simulator sends. A loop of
# object.__setattr__ calls over the slots costs ~3x a straight-line function that calls each
# slot's descriptor, so one such function is compiled per class on first use (the technique
# dataclasses uses for __init__).
_TRUSTED: dict[type, Any] = {}
_COPY: dict[type, Any] = {}


def _slot(cls: type, name: str) -> Any:
    for klass in cls.__mro__:
        descriptor = klass.__dict__.get(name)
        if descriptor is not None and hasattr(descriptor, "__set__"):
            return descriptor
    raise AssertionError(f"{cls.__name__}.{name} has no slot")  # pragma: no cover


def _compile(cls: type, name: str, args: str, value: Any) -> Any:
    """def name(args): o = new(cls); set_i(o, value(i, field)) for each slot; return o"""
    env: dict[str, Any] = {"new": object.__new__, "cls": cls}
    lines = [f"def {name}({args}):", "    o = new(cls)"]
    for i, field_name in enumerate(_slot_names(cls)):
        descriptor = _slot(cls, field_name)
        env[f"set{i}"], env[f"get{i}"] = descriptor.__set__, descriptor.__get__
        env[f"default{i}"] = _defaults(cls)[field_name]
        lines.append(f"    set{i}(o, {value(i, field_name)})")
    lines.append("    return o")
    exec("\n".join(lines), env)  # source built from field names only
    return env[name]


def _compile_trusted(cls: type) -> Any:
    """def trusted(*, field0=default0, ...): keyword binding is Python's own (an unknown name
    is a TypeError), and no dict is read field by field."""
    names = _slot_names(cls)
    args = "*, " + ", ".join(f"{name}=default{i}" for i, name in enumerate(names))
    fn = _TRUSTED[cls] = _compile(cls, "trusted", args, lambda i, n: n)
    return fn


def _compile_copy(cls: type) -> Any:
    fn = _COPY[cls] = _compile(
        cls, "with_sequence", "pdu, sequence_number",
        lambda i, n: "sequence_number" if n == "sequence_number" else f"get{i}(pdu)")
    return fn


@dataclass_transform(frozen_default=True, kw_only_default=True)
def _body(cls: _C) -> _C:
    """Make an intermediate body class a dataclass so its fields are inherited."""
    return cast(_C, dataclass(frozen=True, slots=True, kw_only=True, repr=False)(cls))


@dataclass_transform(frozen_default=True, kw_only_default=True)
def _pdu(command_id: CommandId, *, omit_body_on_error: bool = False) -> Callable[[_C], _C]:
    """Make `cls` the frozen, keyword-only dataclass of `command_id`'s PDU, and register it."""

    def wrap(cls: _C) -> _C:
        cls = cast(_C, dataclass(frozen=True, slots=True, kw_only=True, repr=False)(cls))
        cls.command_id = command_id  # type: ignore[attr-defined]
        cls.body = tuple(  # type: ignore[attr-defined]
            (f.name, f.metadata["wire"]) for f in dataclasses.fields(cls) if "wire" in f.metadata
        )
        cls.omit_body_on_error = omit_body_on_error  # type: ignore[attr-defined]
        # Pdu.trusted, compiled for this class and called without the classmethod's hop
        cls.trusted = staticmethod(_compile_trusted(cls))  # type: ignore[attr-defined]
        PDU_CLASSES[command_id] = cls
        return cls

    return wrap


# --- header-only PDUs ---------------------------------------------------------------------


@_pdu(CommandId.generic_nack)
class GenericNack(Pdu):
    """Negative ack to a PDU with an invalid header -- SMPP v3.4 §4.3."""


@_pdu(CommandId.unbind)
class Unbind(Pdu):
    """Ask the peer to end the session -- SMPP v3.4 §4.2.1."""


@_pdu(CommandId.unbind_resp)
class UnbindResp(Pdu):
    """SMPP v3.4 §4.2.2."""


@_pdu(CommandId.enquire_link)
class EnquireLink(Pdu):
    """Link keep-alive, sent by either side -- SMPP v3.4 §4.11.1."""


@_pdu(CommandId.enquire_link_resp)
class EnquireLinkResp(Pdu):
    """SMPP v3.4 §4.11.2."""


@_pdu(CommandId.cancel_sm_resp)
class CancelSmResp(Pdu):
    """SMPP v3.4 §4.9.2."""


@_pdu(CommandId.replace_sm_resp)
class ReplaceSmResp(Pdu):
    """SMPP v3.4 §4.10.2."""


# --- binds --------------------------------------------------------------------------------


@_body
class _Bind(Pdu):
    system_id: str = _s(_SYSTEM_ID)
    password: str = _s(_PASSWORD)
    system_type: str = _s(_SYSTEM_TYPE)
    interface_version: int = _f(_U8, 0x34)  # "0x34 ... SMPP version 3.4" -- §5.2.4
    addr_ton: int = _f(_U8)
    addr_npi: int = _f(_U8)
    address_range: str = _s(_ADDRESS_RANGE)


@_body
class _BindResp(Pdu):
    system_id: str = _s(_SYSTEM_ID)


@_pdu(CommandId.bind_transmitter)
class BindTransmitter(_Bind):
    """Bind to submit messages only -- SMPP v3.4 §4.1.1."""


@_pdu(CommandId.bind_transmitter_resp, omit_body_on_error=True)
class BindTransmitterResp(_BindResp):
    """SMPP v3.4 §4.1.2 (TLV sc_interface_version)."""


@_pdu(CommandId.bind_receiver)
class BindReceiver(_Bind):
    """Bind to receive messages and receipts only -- SMPP v3.4 §4.1.3."""


@_pdu(CommandId.bind_receiver_resp, omit_body_on_error=True)
class BindReceiverResp(_BindResp):
    """SMPP v3.4 §4.1.4."""


@_pdu(CommandId.bind_transceiver)
class BindTransceiver(_Bind):
    """Bind to submit and receive on one session -- SMPP v3.4 §4.1.5."""


@_pdu(CommandId.bind_transceiver_resp, omit_body_on_error=True)
class BindTransceiverResp(_BindResp):
    """SMPP v3.4 §4.1.6."""


@_pdu(CommandId.outbind)
class Outbind(Pdu):
    """The SMSC asks an ESME to bind_receiver -- SMPP v3.4 §4.1.7."""

    system_id: str = _s(_SYSTEM_ID)
    password: str = _s(_PASSWORD)


# --- messages -----------------------------------------------------------------------------


@_body
class _Message(Pdu):
    """The submit_sm / deliver_sm body -- SMPP v3.4 §4.4.1 / §4.6.1."""

    service_type: str = _s(_SERVICE_TYPE)
    source_addr_ton: int = _f(_U8)
    source_addr_npi: int = _f(_U8)
    source_addr: str = _s(_SRC_ADDR)
    dest_addr_ton: int = _f(_U8)
    dest_addr_npi: int = _f(_U8)
    destination_addr: str = _s(_DST_ADDR)
    esm_class: int = _f(_U8)
    protocol_id: int = _f(_U8)
    priority_flag: int = _f(_U8)
    schedule_delivery_time: str = _s(_SCHEDULE)
    validity_period: str = _s(_VALIDITY)
    registered_delivery: int = _f(_U8)
    replace_if_present_flag: int = _f(_U8)
    data_coding: int = _f(_U8)
    sm_default_msg_id: int = _f(_U8)
    short_message: bytes = _f(_SHORT_MESSAGE, b"")


@_pdu(CommandId.submit_sm)
class SubmitSm(_Message):
    """Submit one short message -- SMPP v3.4 §4.4.1."""


@_pdu(CommandId.submit_sm_resp, omit_body_on_error=True)
class SubmitSmResp(Pdu):
    """SMPP v3.4 §4.4.2: "The submit_sm_resp PDU Body is not returned if the command_status
    field contains a non-zero value." """

    message_id: str = _s(_MESSAGE_ID)


@_pdu(CommandId.deliver_sm)
class DeliverSm(_Message):
    """Deliver a message or a delivery receipt (esm_class 0x04) to an ESME -- §4.6.1."""


@_pdu(CommandId.deliver_sm_resp)
class DeliverSmResp(Pdu):
    """SMPP v3.4 §4.6.2 (message_id "is unused and is set to NULL")."""

    message_id: str = _s(_MESSAGE_ID)


@_pdu(CommandId.submit_multi)
class SubmitMulti(Pdu):
    """Submit one message to several destinations -- SMPP v3.4 §4.5.1."""

    service_type: str = _s(_SERVICE_TYPE)
    source_addr_ton: int = _f(_U8)
    source_addr_npi: int = _f(_U8)
    source_addr: str = _s(_SRC_ADDR)
    dest_addresses: tuple[SmeAddress | DistributionList, ...] = _f(_DestAddresses(), ())
    esm_class: int = _f(_U8)
    protocol_id: int = _f(_U8)
    priority_flag: int = _f(_U8)
    schedule_delivery_time: str = _s(_SCHEDULE)
    validity_period: str = _s(_VALIDITY)
    registered_delivery: int = _f(_U8)
    replace_if_present_flag: int = _f(_U8)
    data_coding: int = _f(_U8)
    sm_default_msg_id: int = _f(_U8)
    short_message: bytes = _f(_SHORT_MESSAGE, b"")


@_pdu(CommandId.submit_multi_resp, omit_body_on_error=True)
class SubmitMultiResp(Pdu):
    """SMPP v3.4 §4.5.2."""

    message_id: str = _s(_MESSAGE_ID)
    unsuccess_smes: tuple[UnsuccessSme, ...] = _f(_UnsuccessSmes(), ())


@_pdu(CommandId.data_sm)
class DataSm(Pdu):
    """Message transfer without short_message; the text goes in message_payload -- §4.7.1."""

    service_type: str = _s(_SERVICE_TYPE)
    source_addr_ton: int = _f(_U8)
    source_addr_npi: int = _f(_U8)
    source_addr: str = _s(_SRC_ADDR_65)
    dest_addr_ton: int = _f(_U8)
    dest_addr_npi: int = _f(_U8)
    destination_addr: str = _s(_DST_ADDR_65)
    esm_class: int = _f(_U8)
    registered_delivery: int = _f(_U8)
    data_coding: int = _f(_U8)


@_pdu(CommandId.data_sm_resp, omit_body_on_error=True)
class DataSmResp(Pdu):
    """SMPP v3.4 §4.7.2."""

    message_id: str = _s(_MESSAGE_ID)


@_pdu(CommandId.query_sm)
class QuerySm(Pdu):
    """Ask the state of a submitted message -- SMPP v3.4 §4.8.1."""

    message_id: str = _s(_MESSAGE_ID)
    source_addr_ton: int = _f(_U8)
    source_addr_npi: int = _f(_U8)
    source_addr: str = _s(_SRC_ADDR)


@_pdu(CommandId.query_sm_resp, omit_body_on_error=True)
class QuerySmResp(Pdu):
    """SMPP v3.4 §4.8.2."""

    message_id: str = _s(_MESSAGE_ID)
    final_date: str = _s(_FINAL_DATE)
    message_state: int = _f(_U8)
    error_code: int = _f(_U8)


@_pdu(CommandId.cancel_sm)
class CancelSm(Pdu):
    """Cancel a message still pending delivery -- SMPP v3.4 §4.9.1."""

    service_type: str = _s(_SERVICE_TYPE)
    message_id: str = _s(_MESSAGE_ID)
    source_addr_ton: int = _f(_U8)
    source_addr_npi: int = _f(_U8)
    source_addr: str = _s(_SRC_ADDR)
    dest_addr_ton: int = _f(_U8)
    dest_addr_npi: int = _f(_U8)
    destination_addr: str = _s(_DST_ADDR)


@_pdu(CommandId.replace_sm)
class ReplaceSm(Pdu):
    """Replace a message still pending delivery -- SMPP v3.4 §4.10.1."""

    message_id: str = _s(_MESSAGE_ID)
    source_addr_ton: int = _f(_U8)
    source_addr_npi: int = _f(_U8)
    source_addr: str = _s(_SRC_ADDR)
    schedule_delivery_time: str = _s(_SCHEDULE)
    validity_period: str = _s(_VALIDITY)
    registered_delivery: int = _f(_U8)
    sm_default_msg_id: int = _f(_U8)
    short_message: bytes = _f(_SHORT_MESSAGE, b"")


@_pdu(CommandId.alert_notification)
class AlertNotification(Pdu):
    """The SMSC tells the ESME a subscriber is reachable again -- SMPP v3.4 §4.12.1."""

    source_addr_ton: int = _f(_U8)
    source_addr_npi: int = _f(_U8)
    source_addr: str = _s(_SRC_ADDR_65)
    esme_addr_ton: int = _f(_U8)
    esme_addr_npi: int = _f(_U8)
    esme_addr: str = _s(_DST_ADDR_65)


#: Request class -> response class.
RESPONSE_OF: dict[type[Pdu], type[Pdu]] = {
    PDU_CLASSES[c & ~0x80000000]: cls
    for c, cls in PDU_CLASSES.items()
    if c & 0x80000000 and c != CommandId.generic_nack
}
