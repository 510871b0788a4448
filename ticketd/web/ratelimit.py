"""A token bucket: the optional per-connection limit on submitted jobs (``server.rate_limit``).

Sans-IO: the caller passes the time, so tests drive it with plain numbers or a Clock.
"""

from __future__ import annotations

import math


class TokenBucket:
    """``rate`` jobs per second on average, bursts up to ``burst`` (default: one second's
    worth, at least 1) so a till printing a receipt and a kitchen ticket at once is fine."""

    def __init__(self, rate: float, now: float, burst: float | None = None) -> None:
        self.rate = rate
        self.burst = burst if burst is not None else max(1.0, float(math.ceil(rate)))
        self.tokens = self.burst
        self.stamp = now

    def take(self, now: float) -> bool:
        """Spend one token if there is one; False means "too fast, refuse this job"."""
        if self.rate <= 0:
            return True
        elapsed = max(0.0, now - self.stamp)
        self.stamp = now
        self.tokens = min(self.burst, self.tokens + elapsed * self.rate)
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False
