"""amoCRM's request limits: 7 requests per second per integration (429) and, after sustained abuse,
an IP block (403 HTML on everything until lifted). Pure bookkeeping over timestamps it is given."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field


@dataclass
class RateLimiter:
    per_second: int = 7
    # Optional IP block: after ``block_after`` refusals within ``block_window`` seconds, block the IP for
    # ``block_seconds`` (0 = until lifted). ``block_after=0`` disables automatic blocking.
    block_after: int = 0
    block_window: float = 60.0
    block_seconds: float = 0.0
    _hits: dict[str, deque[float]] = field(default_factory=dict)
    _refusals: deque[float] = field(default_factory=deque)
    blocked_since: float | None = None
    blocked_until: float | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def admit(self, key: str, now: float) -> float | None:
        """Count a request of integration ``key``; ``None`` if admitted, else seconds to wait."""
        with self.lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - 1.0:
                hits.popleft()
            if len(hits) >= self.per_second:
                retry_after = max(hits[0] + 1.0 - now, 0.0)
                self._refused(now)
                return retry_after
            hits.append(now)
            return None

    def _refused(self, now: float) -> None:
        if self.block_after <= 0:
            return
        self._refusals.append(now)
        while self._refusals and self._refusals[0] <= now - self.block_window:
            self._refusals.popleft()
        if len(self._refusals) >= self.block_after and self.blocked_since is None:
            self.block(now, self.block_seconds)

    def block(self, now: float, seconds: float = 0.0) -> None:
        self.blocked_since = now
        self.blocked_until = now + seconds if seconds > 0 else None

    def lift(self) -> None:
        with self.lock:
            self.blocked_since = None
            self.blocked_until = None
            self._refusals.clear()

    def is_blocked(self, now: float) -> bool:
        if self.blocked_since is None:
            return False
        if self.blocked_until is not None and now >= self.blocked_until:
            self.lift()
            return False
        return True

    def reset(self) -> None:
        with self.lock:
            self._hits.clear()
            self._refusals.clear()
            self.blocked_since = None
            self.blocked_until = None
