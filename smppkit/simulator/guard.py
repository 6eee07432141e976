"""Failed binds per source address: after N in a row, that address is refused for a while.

Sans-IO and clock-free like the engine that uses it: every call takes the time. A bind
that fails on its credentials (ESME_RINVSYSID, ESME_RINVPASWD) counts one failure for
its address; a successful bind from the address forgets them. On the `limit`-th failure
in a row the address is locked for `lockout` seconds: its binds are then refused
(ESME_RBINDFAIL) without the password being looked at, so guessing teaches nothing, and
guessing 2,000 passwords takes hours instead of a fraction of a second.
"""

from __future__ import annotations

__all__ = ["BindGuard", "address_of"]


def address_of(peer: str) -> str:
    """The host part of a "host:port" peer (IPv6 hosts keep their colons)."""
    return peer.rsplit(":", 1)[0]


class BindGuard:
    """Counts failed binds per address and locks an address after `limit` in a row.

    Args:
        limit: failures in a row that lock an address (None or 0: never lock).
        lockout: seconds an address stays locked.
        max_addresses: addresses remembered at most (the oldest are forgotten first), so
            a sweep over many addresses cannot grow the table without bound.
    """

    def __init__(self, limit: int | None, lockout: float, max_addresses: int = 10_000) -> None:
        self.limit = limit or 0
        self.lockout = lockout
        self.max_addresses = max_addresses
        self._failures: dict[str, int] = {}
        self._locked_until: dict[str, float] = {}

    def locked(self, address: str, now: float) -> float | None:
        """Seconds left of `address`'s lockout, or None when it may bind."""
        until = self._locked_until.get(address)
        if until is None:
            return None
        if now >= until:
            del self._locked_until[address]
            return None
        return until - now

    def failed(self, address: str, now: float) -> bool:
        """Count a failed bind; True when this failure locks the address."""
        if not self.limit:
            return False
        count = self._failures.pop(address, 0) + 1
        if count >= self.limit:
            self._locked_until[address] = now + self.lockout
            self._trim(self._locked_until)
            return True
        self._failures[address] = count  # re-inserted: the dict keeps recent ones last
        self._trim(self._failures)
        return False

    def succeeded(self, address: str) -> None:
        self._failures.pop(address, None)

    def _trim(self, table: dict[str, object]) -> None:
        while len(table) > self.max_addresses:
            del table[next(iter(table))]
