"""smppkit: learn SMPP v3.4 and diagnose SMS delivery receipts.

The protocol core (constants, PDUs, codec, session, text, receipts) has no I/O and is
re-exported here, flat. Modules with I/O or heavy imports (simulator, client, esme, logs,
analysis, plots, doctor, kannel, widgets, datasets) load on first use:
``smppkit.simulator.start()``, ``smppkit.client.connect(...)``.
"""

from .codec import DEFAULT_MAX_COMMAND_LENGTH, Framer, decode, encode
from .constants import (
    CommandId,
    CommandStatus,
    DataCoding,
    EsmClass,
    MessageState,
    Npi,
    RegisteredDelivery,
    TlvTag,
    Ton,
    describe_status,
    status_name,
)
from .errors import LocalProtocolError, ProtocolError, RemoteProtocolError
from .explain import explain
from .pdus import *  # noqa: F403
from .pdus import __all__ as _pdu_names
from .receipts import Receipt, ReceiptError, format_receipt, parse_receipt, same_message
from .session import (
    CONNECTION_CLOSED,
    NEED_DATA,
    InvalidPdu,
    Rejected,
    Role,
    Session,
    State,
)
from .text import plan, reassemble, to_pdus
from .wire import Tlv

__version__ = "0.1.0"

_LAZY = frozenset({
    "analysis", "cli", "client", "datasets", "doctor", "esme", "explain", "kannel",
    "kannel_logs", "lab", "logs", "meanings", "pcap", "plots", "receipts", "report", "simulator",
    "text", "trace", "widgets",
})


def __getattr__(name: str) -> object:
    """Load I/O and heavy submodules on first use (PEP 562)."""
    if name in _LAZY:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'smppkit' has no attribute {name!r}")


__all__ = [  # noqa: F405
    "CONNECTION_CLOSED",
    "DEFAULT_MAX_COMMAND_LENGTH",
    "NEED_DATA",
    "CommandId",
    "CommandStatus",
    "DataCoding",
    "EsmClass",
    "Framer",
    "InvalidPdu",
    "LocalProtocolError",
    "MessageState",
    "Npi",
    "ProtocolError",
    "Receipt",
    "ReceiptError",
    "RegisteredDelivery",
    "Rejected",
    "RemoteProtocolError",
    "Role",
    "Session",
    "State",
    "Tlv",
    "TlvTag",
    "Ton",
    "decode",
    "describe_status",
    "encode",
    "explain",
    "format_receipt",
    "parse_receipt",
    "plan",
    "reassemble",
    "same_message",
    "status_name",
    "to_pdus",
    *_pdu_names,
]
