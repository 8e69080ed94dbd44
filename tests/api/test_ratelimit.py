"""The shared limiter: slots spaced by 1/rate across every instance sharing the store (or Redis)."""

from __future__ import annotations

import itertools
import os
import uuid

import pytest

from amo_bridge.api.ratelimit import (
    SLOT_MARGIN,
    RedisRateLimiter,
    StoreRateLimiter,
    UnlimitedRateLimiter,
    make_limiter,
)
from amo_bridge.clock import FakeClock
from amo_bridge.store import Store

REDIS_URL = os.environ.get("AMO_TEST_REDIS_URL", "")


@pytest.fixture
def fake_store(db_url: str) -> Store:
    store = Store(db_url, clock=FakeClock())
    store.upgrade()
    return store


def test_store_limiter_spaces_slots_across_instances(fake_store: Store) -> None:
    clock = fake_store.clock
    assert isinstance(clock, FakeClock)
    a = StoreRateLimiter(fake_store, 7.0, clock=clock)
    b = StoreRateLimiter(fake_store, 7.0, clock=clock)  # another process on the same database
    start = clock.now()
    slots = [(a if i % 2 else b).reserve() for i in range(14)]
    gaps = [later - earlier for earlier, later in itertools.pairwise(slots)]
    assert slots[0] == pytest.approx(start)
    assert all(gap == pytest.approx(SLOT_MARGIN / 7) for gap in gaps)
    # 14 slots taken at one instant: slot k and slot k+7 are more than a second apart (the margin
    # absorbs send jitter), so a strict sliding one-second window never sees more than 7.
    assert all(later - earlier > 1.05 for earlier, later in zip(slots, slots[7:], strict=False))
    fake_store.dispose()


def test_store_limiter_sleeps_until_the_slot_and_forgets_idle_time(fake_store: Store) -> None:
    clock = fake_store.clock
    assert isinstance(clock, FakeClock)
    limiter = StoreRateLimiter(fake_store, 5.0, clock=clock)
    waits = [limiter.acquire() for _ in range(3)]
    assert waits[0] == 0
    assert waits[1] == pytest.approx(SLOT_MARGIN / 5)
    assert waits[2] == pytest.approx(SLOT_MARGIN / 5)  # the clock moved with the previous sleep
    clock.advance(60)  # idle: no burst credit is saved up
    assert limiter.acquire() == 0
    assert limiter.acquire() == pytest.approx(SLOT_MARGIN / 5)
    fake_store.dispose()


def test_make_limiter_picks_the_backend(api_store: Store, clock: FakeClock) -> None:
    assert isinstance(make_limiter(7, api_store, clock=clock), StoreRateLimiter)
    assert isinstance(make_limiter(0, api_store, clock=clock), UnlimitedRateLimiter)
    if REDIS_URL:
        assert isinstance(make_limiter(7, api_store, clock=clock, redis_url=REDIS_URL), RedisRateLimiter)


@pytest.mark.skipif(
    not REDIS_URL, reason="Redis tests need AMO_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/15)"
)
def test_redis_limiter_spaces_slots_across_instances() -> None:
    clock = FakeClock()  # records the sleeps; the script uses the Redis server's clock
    name = f"test-{uuid.uuid4().hex[:8]}"
    a = RedisRateLimiter(REDIS_URL, 10.0, clock=clock, name=name)
    b = RedisRateLimiter(REDIS_URL, 10.0, clock=clock, name=name)
    try:
        waits = [(a if i % 2 else b).acquire() for i in range(6)]
    finally:
        a.reset()
    # Taken within milliseconds of real time: each caller waits one interval longer than the one before.
    assert waits[0] == pytest.approx(0, abs=0.05)
    for i, wait in enumerate(waits):
        assert wait == pytest.approx(i * SLOT_MARGIN / 10, abs=0.05)
