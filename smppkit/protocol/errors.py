"""Exceptions, each saying whose fault it was and what status to answer with.

Strategy (as in h11): every check inside smppkit raises one of two classes.
`LocalProtocolError` means *you* asked for something the spec forbids (a field too long,
a PDU not allowed in this session state). `RemoteProtocolError` means the *peer's bytes*
break the spec. Both carry `command_status`, the SMPP v3.4 §5.1.3 status a peer should be
answered with, plus the `sequence_number` and `command_id` of the offending PDU when known,
so a server can build the right `generic_nack` or `*_resp` without guessing.
"""

from __future__ import annotations

from smppkit.protocol.constants import CommandStatus, status_name

__all__ = ["LocalProtocolError", "ProtocolError", "RemoteProtocolError"]


class ProtocolError(Exception):
    """Base class of every error smppkit raises about the protocol.

    Attributes:
        command_status: the status to answer with (an int; see `CommandStatus`).
        sequence_number: the offending PDU's sequence_number, or None if unknown.
        command_id: the offending PDU's command_id, or None if unknown.
    """

    def __init__(
        self,
        message: str,
        command_status: int = CommandStatus.ESME_RSYSERR,
        *,
        sequence_number: int | None = None,
        command_id: int | None = None,
    ) -> None:
        super().__init__(message)
        self.command_status = int(command_status)
        self.sequence_number = sequence_number
        self.command_id = command_id

    @property
    def status_name(self) -> str:
        return status_name(self.command_status)

    def __str__(self) -> str:
        return f"{self.args[0]} [{self.status_name}]"


class LocalProtocolError(ProtocolError):
    """You tried to build or send something SMPP v3.4 forbids."""


class RemoteProtocolError(ProtocolError):
    """The peer sent bytes or a PDU that SMPP v3.4 forbids."""
