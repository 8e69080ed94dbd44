"""One request limiter shared by every process of the integration (amoCRM allows 7 requests/second).

Both back-ends implement GCRA as *reservations*: each caller atomically takes the next free slot
(``tat``, the theoretical arrival time, moves on by ``1/rate``) and sleeps until its slot. Slots are
spaced by ``SLOT_MARGIN/rate`` with no burst. The margin matters: slots spaced by exactly ``1/rate``
put the first and the (rate+1)-th request exactly one second apart, and a few milliseconds of send
jitter then let a strict sliding one-second window (as amoCRM and the sandbox count) see ``rate + 1``
requests and answer 429. With the margin, any one-second window holds at most ``rate`` requests as
long as the jitter stays under ``(SLOT_MARGIN - 1)/rate`` seconds (about 11 ms at 7 rps).

- :class:`StoreRateLimiter`: one row of ``amo_rate_limits`` updated by a single ``INSERT .. ON CONFLICT
  DO UPDATE .. RETURNING`` statement (SQLite and PostgreSQL alike). Hosts need NTP-synchronised clocks.
- :class:`RedisRateLimiter`: a Lua script using the Redis server's clock (``REDIS_URL``).
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from sqlalchemy import case

from amo_bridge.clock import Clock
from amo_bridge.store import Store
from amo_bridge.store.engine import upsert
from amo_bridge.store.schema import amo_rate_limits

log = logging.getLogger(__name__)

DEFAULT_NAME = "amo"

# Slots are this much wider than 1/rate (see the module docstring): 7 rps becomes one slot per 154 ms.
SLOT_MARGIN = 1.08


class RateLimiter(Protocol):
    def acquire(self) -> float:
        """Block until this caller may send one request; return the seconds waited."""
        ...


class UnlimitedRateLimiter:
    """No limit (``AMO_RATE_LIMIT=0``): for the sandbox and tests only."""

    def acquire(self) -> float:
        return 0.0


class StoreRateLimiter:
    def __init__(self, store: Store, rate: float, *, clock: Clock, name: str = DEFAULT_NAME) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self._store = store
        self._interval = SLOT_MARGIN / rate
        self._clock = clock
        self._name = name

    def reserve(self) -> float:
        """Take the next free slot; return its start time (Unix seconds)."""
        now = self._clock.now()
        interval = self._interval
        insert = upsert(self._store.dialect, amo_rate_limits).values(name=self._name, tat=now + interval)
        tat = amo_rate_limits.c.tat
        statement = insert.on_conflict_do_update(
            index_elements=[amo_rate_limits.c.name],
            set_={"tat": case((tat > now, tat), else_=now) + interval},
        ).returning(amo_rate_limits.c.tat)

        def work(conn: Any) -> float:
            return float(conn.execute(statement).scalar_one())

        return self._store.run_in_transaction(work) - interval

    def acquire(self) -> float:
        wait = self.reserve() - self._clock.now()
        if wait > 0:
            self._clock.sleep(wait)
        return max(wait, 0.0)


# KEYS[1]: the limiter key; ARGV[1]: interval in microseconds. Returns microseconds to wait.
_GCRA_LUA = """
local interval = tonumber(ARGV[1])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local slot = tat
tat = tat + interval
redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX', math.ceil((tat - now) / 1000) + 1000)
return slot - now
"""


class RedisRateLimiter:
    def __init__(self, redis_url: str, rate: float, *, clock: Clock, name: str = DEFAULT_NAME) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        import redis

        self._client = redis.Redis.from_url(redis_url)
        self._script = self._client.register_script(_GCRA_LUA)
        self._interval_us = int(1_000_000 * SLOT_MARGIN / rate)
        self._clock = clock
        self._key = f"amo_bridge:ratelimit:{name}"

    def acquire(self) -> float:
        wait = int(self._script(keys=[self._key], args=[self._interval_us])) / 1_000_000
        if wait > 0:
            self._clock.sleep(wait)
        return max(wait, 0.0)

    def reset(self) -> None:
        self._client.delete(self._key)


def make_limiter(
    rate: float, store: Store, *, clock: Clock, redis_url: str | None = None, name: str = DEFAULT_NAME
) -> RateLimiter:
    """The limiter for this deployment: Redis when ``REDIS_URL`` is set, else the store."""
    if rate <= 0:
        log.warning("AMO_RATE_LIMIT=0: the amoCRM rate limiter is OFF")
        return UnlimitedRateLimiter()
    if redis_url:
        return RedisRateLimiter(redis_url, rate, clock=clock, name=name)
    return StoreRateLimiter(store, rate, clock=clock, name=name)
