"""When to try a lost bind again: capped exponential back-off with jitter, and which refusals
are worth a retry.

Both clients (`smppkit.clients.client` over smpplib, `smppkit.clients.esme` on asyncio) use
`Reconnect` the same way: `delay(n)` is the pause before the n-th attempt (0-based),
``min(cap, base * factor**n)`` scaled by a random factor in ``[1 - jitter, 1]`` so that many
clients cut off at the same moment do not all come back at the same moment.

A refused bind is retried only when the refusal can go away by itself: ESME_RALYBND (the
SMSC still holds the bind the broken connection left behind, until it notices -- smpp-facts
§1.2), ESME_RBINDFAIL, ESME_RSYSERR, ESME_RTHROTTLED. A wrong password or system_id will
not fix itself: reconnecting stops and says why.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from smppkit.protocol.constants import CommandStatus

__all__ = ["RETRIABLE_BIND_STATUSES", "Reconnect"]

_S = CommandStatus
RETRIABLE_BIND_STATUSES = frozenset({
    _S.ESME_RALYBND, _S.ESME_RBINDFAIL, _S.ESME_RSYSERR, _S.ESME_RTHROTTLED,
})


@dataclass
class Reconnect:
    """A reconnect policy.

    Args:
        base: seconds before the first attempt.
        factor: growth per failed attempt.
        cap: the longest pause.
        jitter: the share of each pause drawn at random (0: none, 0.5: 50-100 %).
        max_attempts: give up after this many failed attempts (None: never).
        seed: seed the jitter (reproducible tests and notebooks).
    """

    base: float = 0.1
    factor: float = 2.0
    cap: float = 5.0
    jitter: float = 0.5
    max_attempts: int | None = None
    seed: int | None = None
    _rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.base <= 0 or self.cap < self.base or self.factor < 1 or not 0 <= self.jitter <= 1:
            raise ValueError("Reconnect needs 0 < base <= cap, factor >= 1 and 0 <= jitter <= 1")
        self._rng = random.Random(self.seed)

    def delay(self, attempt: int) -> float:
        """Seconds to wait before attempt number `attempt` (0 is the first)."""
        pause = min(self.cap, self.base * self.factor ** min(attempt, 64))
        return pause * (1 - self.jitter * self._rng.random())

    def gives_up(self, attempt: int) -> bool:
        return self.max_attempts is not None and attempt >= self.max_attempts

    @staticmethod
    def retriable(command_status: int) -> bool:
        """Is a bind refused with this status worth trying again?"""
        return command_status in RETRIABLE_BIND_STATUSES
