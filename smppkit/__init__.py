"""smppkit: learn SMPP v3.4 and diagnose SMS delivery receipts.

The protocol core (constants, PDUs, codec, session) has no I/O; the simulator, clients,
log readers and plots are built on it. Everything in each module's ``__all__`` that belongs
to the core is re-exported here.
"""

from . import simulator  # noqa: F401  (the SMSC simulator: smppkit.simulator.start())
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
from .pdus import *  # noqa: F403
from .pdus import __all__ as _pdu_names
from .session import (
    CONNECTION_CLOSED,
    NEED_DATA,
    InvalidPdu,
    Rejected,
    Role,
    Session,
    State,
)
from .wire import Tlv

__version__ = "0.1.0"

__all__ = [
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
    "status_name",
    *_pdu_names,
]
