"""smppkit: learn SMPP v3.4 and diagnose SMS delivery receipts.

The package follows the data path::

    protocol/   the sans-IO SMPP v3.4 core: constants, errors, wire, pdus, codec, session
    sms/        what travels inside the PDUs: text and concatenation, receipts, ids, meanings, explain
    simulator/  the SMSC: a sans-IO rule engine and the drivers that run it
    clients/    ESMEs: smpplib helpers (client), the asyncio Esme, throttling policies
    diagnose/   logs in, answers out: readers, analysis, the receipt doctor, plots, report
    kannel/     Kannel: config and checks, a live lab, log readers
    notebook/   notebook helpers: the lab, widgets, sample datasets
    trace.py    the one trace schema;  cli.py  the ``smppkit`` command

The protocol core and the text/receipt helpers are re-exported here, flat. The rest loads on
first use under short names: ``smppkit.simulator.start()``, ``smppkit.client.connect(...)``,
``smppkit.doctor.diagnose(...)``.
"""

from smppkit.protocol.codec import DEFAULT_MAX_COMMAND_LENGTH, Framer, decode, encode
from smppkit.protocol.constants import (
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
from smppkit.protocol.errors import (
    InvalidArgument,
    LocalProtocolError,
    ProtocolError,
    RemoteProtocolError,
)
from smppkit.protocol.pdus import *  # noqa: F403
from smppkit.protocol.pdus import __all__ as _pdu_names
from smppkit.protocol.session import (
    CONNECTION_CLOSED,
    NEED_DATA,
    InvalidPdu,
    Rejected,
    Role,
    Session,
    State,
)
from smppkit.protocol.wire import Tlv
from smppkit.sms.explain import explain
from smppkit.sms.receipts import Receipt, ReceiptError, format_receipt, parse_receipt, same_message
from smppkit.sms.text import plan, reassemble, to_pdus

__version__ = "0.1.0"

# The public short names of the subpackages' modules (``smppkit.client``, ``smppkit.doctor``),
# loaded on first use (PEP 562) so ``import smppkit`` stays light.
_LAZY = {
    "protocol": "smppkit.protocol", "sms": "smppkit.sms", "clients": "smppkit.clients",
    "diagnose": "smppkit.diagnose", "notebook": "smppkit.notebook",
    "constants": "smppkit.protocol.constants", "errors": "smppkit.protocol.errors",
    "wire": "smppkit.protocol.wire", "pdus": "smppkit.protocol.pdus",
    "codec": "smppkit.protocol.codec", "session": "smppkit.protocol.session",
    "text": "smppkit.sms.text", "receipts": "smppkit.sms.receipts", "ids": "smppkit.sms.ids",
    "meanings": "smppkit.sms.meanings",
    "client": "smppkit.clients.client", "esme": "smppkit.clients.esme",
    "throttling": "smppkit.clients.throttling",
    "logs": "smppkit.diagnose.logs", "pcap": "smppkit.diagnose.pcap",
    "analysis": "smppkit.diagnose.analysis", "doctor": "smppkit.diagnose.doctor",
    "plots": "smppkit.diagnose.plots", "report": "smppkit.diagnose.report",
    "kannel": "smppkit.kannel", "kannel_logs": "smppkit.kannel.logs",
    "lab": "smppkit.notebook.lab", "widgets": "smppkit.notebook.widgets",
    "datasets": "smppkit.notebook.datasets",
    "simulator": "smppkit.simulator", "trace": "smppkit.trace", "cli": "smppkit.cli",
}


def __getattr__(name: str) -> object:
    """Load I/O and heavy submodules on first use (PEP 562)."""
    if name in _LAZY:
        import importlib

        return importlib.import_module(_LAZY[name])
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
    "InvalidArgument",
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
