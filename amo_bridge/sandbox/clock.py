"""The sandbox's own clock: a base :class:`~amo_bridge.clock.Clock` plus an offset and a speed.

Two readings:
- :meth:`SandboxClock.now` is *business time*: timestamps of leads, events, tasks. Under
  ``--simulate --speed N`` it runs N times faster than the base clock, so a working day plays in minutes.
- :meth:`SandboxClock.wall` is *contract time*: token lifetimes, authorisation codes, webhook retry
  delays and the IP block. It never runs faster than the base clock, so a client that trusts
  ``expires_in`` is not surprised by a simulation.

``advance`` (the admin API) moves both readings. Rate limits use :meth:`monotonic`, the base clock's.
"""

from __future__ import annotations

import threading

from amo_bridge.clock import Clock


class SandboxClock:
    def __init__(self, base: Clock, *, speed: float = 1.0, start: float | None = None) -> None:
        self.base = base
        self._lock = threading.Lock()
        self._offset = 0.0
        self._speed = speed
        self._anchor_real = base.now()
        self._anchor_sim = start if start is not None else self._anchor_real

    def wall(self) -> float:
        with self._lock:
            return self.base.now() + self._offset

    def now(self) -> float:
        with self._lock:
            elapsed = self.base.now() - self._anchor_real
            return self._anchor_sim + elapsed * self._speed + self._offset

    def monotonic(self) -> float:
        return self.base.monotonic()

    def sleep(self, seconds: float) -> None:
        self.base.sleep(seconds)

    @property
    def speed(self) -> float:
        return self._speed

    def advance(self, seconds: float) -> None:
        """Move business and contract time forward (never backwards)."""
        if seconds < 0:
            raise ValueError("the sandbox clock does not go back")
        with self._lock:
            self._offset += seconds

    def set_speed(self, speed: float, *, start: float | None = None) -> None:
        """Change the speed of business time, keeping ``now()`` continuous (or jumping to ``start``)."""
        if speed <= 0:
            raise ValueError("speed must be greater than 0")
        current = self.now()
        with self._lock:
            self._anchor_real = self.base.now()
            self._anchor_sim = (start if start is not None else current) - self._offset
            self._speed = speed

    def __repr__(self) -> str:
        return f"SandboxClock(now={self.now():.0f}, speed={self._speed:g})"
