"""Reconnect delays: exponential backoff with full jitter, without I/O (random injected).

Jitter keeps a fleet of clients that lost the same broker from all coming back in the same
instant; the cap keeps a long outage from making the daemon slow to notice the broker's
return.
"""

from __future__ import annotations

from typing import Callable


class Backoff:
    def __init__(self, initial: float = 0.5, maximum: float = 30.0, factor: float = 2.0,
                 random: Callable[[], float] | None = None) -> None:
        import random as _random
        self.initial, self.maximum, self.factor = initial, maximum, factor
        self.random = random or _random.random
        self.failures = 0

    def next(self) -> float:
        """The delay before the next attempt; each call counts one more failure."""
        ceiling = min(self.maximum, self.initial * self.factor ** min(self.failures, 32))
        self.failures += 1
        # half fixed, half random: never 0 (no hot loop), never above the ceiling
        return ceiling / 2 + ceiling / 2 * self.random()

    def reset(self) -> None:
        self.failures = 0
