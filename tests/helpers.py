"""Test helpers: an ESME and an SMSC session joined by an in-memory link (no mocks)."""

from __future__ import annotations

from smppkit import NEED_DATA, Role, Session


class SessionPair:
    """Two sessions with a fake network link in between (h11's ConnectionPair)."""

    def __init__(self) -> None:
        self.esme = Session(Role.ESME)
        self.smsc = Session(Role.SMSC)

    def _peer(self, side: Session) -> Session:
        return self.smsc if side is self.esme else self.esme

    def send(self, side: Session, pdu):
        """`side` sends `pdu`; return (the PDU as sent, the events the other side sees)."""
        sent = side.send(pdu)
        return sent, self.pump(side)

    def pump(self, side: Session) -> list:
        """Move `side`'s queued bytes to its peer; return the peer's events."""
        peer = self._peer(side)
        peer.receive_data(side.data_to_send())
        events = []
        while (event := peer.next_event()) is not NEED_DATA:
            events.append(event)
            if not hasattr(event, "command_id"):
                break
        return events
