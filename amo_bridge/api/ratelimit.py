"""One request limiter shared by every process of the integration (amoCRM allows 7 requests/second).

The limit is a *sliding window*: at most ``burst`` requests in any window of ``burst/rate`` seconds
(by default ``burst`` = the rate: at most 7 requests in any one second). Both back-ends implement it
as ``burst`` *lanes*, each a GCRA reservation queue with slots ``burst * SLOT_MARGIN / rate`` apart:
a caller atomically takes the earliest free slot of any lane and sleeps until it. A lane sends at most
once per window, so no window holds more than ``burst`` requests, while an idle integration sends up
to ``burst`` requests at once instead of spacing them: a webhook that costs five calls is served in
five round trips, not in five slots. ``AMO_RATE_BURST=1`` gives evenly spaced requests.

The margin matters: lanes spaced by exactly one window put a request and the one ``burst`` later
exactly one window apart, and a few milliseconds of send jitter then let a strict sliding window (as
amoCRM and the sandbox count) see ``burst + 1`` requests and answer 429. With ``SLOT_MARGIN`` the
jitter may reach ``(SLOT_MARGIN - 1)`` windows (80 ms at the default 7 rps, burst 7).

- :class:`StoreRateLimiter`: one row of ``amo_rate_limits`` per lane, taken in one transaction (the
  rows are locked together, so the earliest lane is chosen under concurrency). Hosts need
  NTP-synchronised clocks.
- :class:`RedisRateLimiter`: a Lua script over one hash of lanes, using the Redis server's clock
  (``REDIS_URL``).
"""

from __future__ import annotations

import logging
import math
from typing import Any, Protocol

from sqlalchemy import select, update

from amo_bridge.clock import Clock
from amo_bridge.store import Store
from amo_bridge.store.engine import upsert
from amo_bridge.store.schema import amo_rate_limits

log = logging.getLogger(__name__)

DEFAULT_NAME = "amo"

# A lane's slots are this much wider than its window (see the module docstring).
SLOT_MARGIN = 1.08


class RateLimiter(Protocol):
    def acquire(self) -> float:
        """Block until this caller may send one request; return the seconds waited."""
        ...


class UnlimitedRateLimiter:
    """No limit (``AMO_RATE_LIMIT=0``): for the sandbox and tests only."""

    def acquire(self) -> float:
        return 0.0


def lanes_for(rate: float, burst: int | None) -> int:
    """How many lanes: ``burst`` (default: the whole rate), at least one, at most the rate."""
    if rate <= 0:
        raise ValueError("rate must be positive")
    most = max(1, math.floor(rate))
    return most if burst is None else max(1, min(int(burst), most))


class StoreRateLimiter:
    def __init__(
        self, store: Store, rate: float, *, clock: Clock, name: str = DEFAULT_NAME, burst: int | None = None
    ) -> None:
        self._store = store
        self.lanes = lanes_for(rate, burst)
        self._interval = self.lanes * SLOT_MARGIN / rate  # one lane's slot spacing
        self._clock = clock
        # One lane keeps the historical row name, so a rolling upgrade shares slots with old processes.
        self._names = [name] if self.lanes == 1 else [f"{name}#{i}" for i in range(self.lanes)]
        self._ready = False

    def _ensure_lanes(self, conn: Any) -> None:
        insert = upsert(self._store.dialect, amo_rate_limits).values(
            [{"name": lane, "tat": 0.0} for lane in self._names]
        )
        conn.execute(insert.on_conflict_do_nothing(index_elements=[amo_rate_limits.c.name]))

    def reserve(self) -> float:
        """Take the earliest free slot of any lane; return its start time (Unix seconds)."""
        now = self._clock.now()
        names = self._names
        query = select(amo_rate_limits.c.name, amo_rate_limits.c.tat).where(amo_rate_limits.c.name.in_(names))
        if self._store.dialect == "postgresql":
            query = query.order_by(amo_rate_limits.c.name).with_for_update()

        def work(conn: Any) -> float:
            if not self._ready:
                self._ensure_lanes(conn)
            rows = conn.execute(query).all()
            if len(rows) < len(names):  # the table was emptied behind our back: recreate the lanes
                self._ensure_lanes(conn)
                rows = conn.execute(query).all()
            lane, tat = min(rows, key=lambda row: (row.tat, row.name))
            slot = max(float(tat), now)
            conn.execute(
                update(amo_rate_limits)
                .where(amo_rate_limits.c.name == lane)
                .values(tat=slot + self._interval)
            )
            return slot

        slot = self._store.run_in_transaction(work)
        self._ready = True
        return slot

    def acquire(self) -> float:
        wait = self.reserve() - self._clock.now()
        if wait > 0:
            self._clock.sleep(wait)
        return max(wait, 0.0)


# KEYS[1]: the hash of lanes; ARGV[1]: one lane's slot spacing in microseconds; ARGV[2]: the number of
# lanes. Returns the microseconds to wait for the earliest free slot, which it takes.
_LANES_LUA = """
local interval = tonumber(ARGV[1])
local lanes = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local best, best_tat = '0', nil
for i = 0, lanes - 1 do
  local tat = tonumber(redis.call('HGET', KEYS[1], tostring(i)) or '0')
  if best_tat == nil or tat < best_tat then best, best_tat = tostring(i), tat end
end
local slot = best_tat
if slot < now then slot = now end
redis.call('HSET', KEYS[1], best, string.format('%.0f', slot + interval))
redis.call('PEXPIRE', KEYS[1], math.ceil((slot + interval - now) / 1000) + 1000)
return slot - now
"""


class RedisRateLimiter:
    def __init__(
        self,
        redis_url: str,
        rate: float,
        *,
        clock: Clock,
        name: str = DEFAULT_NAME,
        burst: int | None = None,
    ) -> None:
        import redis

        self.lanes = lanes_for(rate, burst)
        self._client = redis.Redis.from_url(redis_url)
        self._script = self._client.register_script(_LANES_LUA)
        self._interval_us = int(1_000_000 * self.lanes * SLOT_MARGIN / rate)
        self._clock = clock
        self._key = f"amo_bridge:ratelimit:{name}:lanes"

    def acquire(self) -> float:
        wait = int(self._script(keys=[self._key], args=[self._interval_us, self.lanes])) / 1_000_000
        if wait > 0:
            self._clock.sleep(wait)
        return max(wait, 0.0)

    def reset(self) -> None:
        self._client.delete(self._key)


def make_limiter(
    rate: float,
    store: Store,
    *,
    clock: Clock,
    redis_url: str | None = None,
    name: str = DEFAULT_NAME,
    burst: int | None = None,
) -> RateLimiter:
    """The limiter for this deployment: Redis when ``REDIS_URL`` is set, else the store."""
    if rate <= 0:
        log.warning("AMO_RATE_LIMIT=0: the amoCRM rate limiter is OFF")
        return UnlimitedRateLimiter()
    if redis_url:
        return RedisRateLimiter(redis_url, rate, clock=clock, name=name, burst=burst)
    return StoreRateLimiter(store, rate, clock=clock, name=name, burst=burst)
