"""Retry policy of failed inbox rows, as data: exponential backoff with a cap and jitter."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Backoff:
    """Delay before attempt ``n + 1`` after ``n`` failed attempts: ``base * factor**(n-1)``, capped,
    then spread by ``±jitter`` (a fraction) so rows failed together do not retry together."""

    base: float = 30.0
    factor: float = 2.0
    cap: float = 3600.0
    jitter: float = 0.1
    rand: Callable[[], float] = field(default=random.random, compare=False, repr=False)

    def delay(self, failed_attempts: int) -> float:
        raw = min(self.cap, self.base * self.factor ** max(failed_attempts - 1, 0))
        spread = 1.0 + self.jitter * (2.0 * self.rand() - 1.0)
        return max(0.0, raw * spread)
