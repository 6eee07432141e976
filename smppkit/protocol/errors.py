"""Exceptions, each saying whose fault it was and what status to answer with.

Strategy (as in h11): every check inside smppkit raises one of three classes.
`InvalidArgument` (a `ValueError`) means a value *you* passed cannot go on the wire (a field
too long, a string outside Latin-1, a TLV of the wrong size). `LocalProtocolError` means
*you* misused the protocol (a PDU not allowed in this session state, a response that
answers nothing). `RemoteProtocolError` means the *peer's bytes* break the spec. All three
carry `command_status`, the SMPP v3.4 §5.1.3 status a peer would answer with, plus the
`sequence_number` and `command_id` of the offending PDU when known, so a server can build
the right `generic_nack` or `*_resp` without guessing.

No message repeats a secret: a bad password is described by its length, never its value.
"""

from __future__ import annotations

from smppkit.protocol.constants import CommandStatus, status_name

__all__ = ["InvalidArgument", "LocalProtocolError", "ProtocolError", "RemoteProtocolError"]


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


class InvalidArgument(ProtocolError, ValueError):
    """A value you passed (to a PDU constructor, a TLV, an encoder) breaks its field's rule.

    A `ValueError`, so ``except ValueError`` catches it like any bad argument; not a
    `LocalProtocolError`, which is kept for protocol misuse.
    """


class LocalProtocolError(ProtocolError):
    """You misused the protocol: a PDU not allowed in this session state, a response that
    answers no request."""


class RemoteProtocolError(ProtocolError):
    """The peer sent bytes or a PDU that SMPP v3.4 forbids."""
