"""The shared limiter: at most ``burst`` requests in any window of ``burst/rate`` seconds (plus the
margin), across every instance sharing the store (or Redis); idle time saves no credit."""

from __future__ import annotations

import itertools
import os
import random
import uuid

import pytest

from amo_bridge.api.ratelimit import (
    SLOT_MARGIN,
    RedisRateLimiter,
    StoreRateLimiter,
    UnlimitedRateLimiter,
    lanes_for,
    make_limiter,
)
from amo_bridge.clock import FakeClock
from amo_bridge.config import load_settings
from amo_bridge.errors import ConfigError
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
    a = StoreRateLimiter(fake_store, 7.0, clock=clock, burst=1)
    b = StoreRateLimiter(fake_store, 7.0, clock=clock, burst=1)  # another process on the same database
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
    limiter = StoreRateLimiter(fake_store, 5.0, clock=clock, burst=1)
    waits = [limiter.acquire() for _ in range(3)]
    assert waits[0] == 0
    assert waits[1] == pytest.approx(SLOT_MARGIN / 5)
    assert waits[2] == pytest.approx(SLOT_MARGIN / 5)  # the clock moved with the previous sleep
    clock.advance(60)  # idle: no burst credit is saved up
    assert limiter.acquire() == 0
    assert limiter.acquire() == pytest.approx(SLOT_MARGIN / 5)
    fake_store.dispose()


def test_store_limiter_sends_a_burst_then_holds_every_window_to_the_rate(fake_store: Store) -> None:
    clock = fake_store.clock
    assert isinstance(clock, FakeClock)
    a = StoreRateLimiter(fake_store, 7.0, clock=clock)
    b = StoreRateLimiter(fake_store, 7.0, clock=clock)  # another process on the same database
    assert a.lanes == b.lanes == 7
    start = clock.now()
    slots = sorted((a if i % 2 else b).reserve() for i in range(21))
    assert slots[:7] == [pytest.approx(start)] * 7  # an idle integration sends seven at once
    assert slots[7] == pytest.approx(start + SLOT_MARGIN)  # the eighth waits for the window to pass
    window_apart = [later - earlier for earlier, later in zip(slots, slots[7:], strict=False)]
    assert all(gap >= SLOT_MARGIN - 1e-6 for gap in window_apart)
    fake_store.dispose()


@pytest.mark.parametrize("burst", [1, 3, 7])
def test_store_limiter_never_puts_more_than_burst_in_a_window(fake_store: Store, burst: int) -> None:
    """Random arrivals from two instances, sleeping as told: every window of ``burst/rate`` seconds
    (widened by the margin's jitter allowance) holds at most ``burst`` sends."""
    clock = fake_store.clock
    assert isinstance(clock, FakeClock)
    rate = 7.0
    limiters = [StoreRateLimiter(fake_store, rate, clock=clock, burst=burst) for _ in range(2)]
    rng = random.Random(burst)
    sends = []
    for _ in range(120):
        clock.advance(rng.choice([0.0, 0.0, 0.01, 0.05, 0.3, 1.5]))
        slot = rng.choice(limiters).reserve()
        assert slot >= clock.now() - 1e-9
        sends.append(slot)
    sends.sort()
    window = burst / rate * SLOT_MARGIN
    for i, start in enumerate(sends):
        inside = [t for t in sends[i:] if t < start + window - 1e-6]
        assert len(inside) <= burst
    fake_store.dispose()


def test_lanes_are_the_burst_within_the_rate() -> None:
    assert lanes_for(7, None) == 7
    assert lanes_for(7, 3) == 3
    assert lanes_for(7, 50) == 7
    assert lanes_for(0.5, None) == 1
    with pytest.raises(ValueError, match="rate must be positive"):
        lanes_for(0, None)


def test_a_burst_above_the_rate_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"AMO_RATE_LIMIT": "7", "AMO_RATE_BURST": "10"})
    assert "AMO_RATE_BURST" in str(caught.value)
    assert load_settings({"AMO_RATE_BURST": "3"}).amo.rate_burst == 3
    with pytest.raises(ConfigError):
        load_settings({"AMO_RATE_BURST": "0"})


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
    a = RedisRateLimiter(REDIS_URL, 10.0, clock=clock, name=name, burst=1)
    b = RedisRateLimiter(REDIS_URL, 10.0, clock=clock, name=name, burst=1)
    try:
        waits = [(a if i % 2 else b).acquire() for i in range(6)]
    finally:
        a.reset()
    # Taken within milliseconds of real time: each caller waits one interval longer than the one before.
    assert waits[0] == pytest.approx(0, abs=0.05)
    for i, wait in enumerate(waits):
        assert wait == pytest.approx(i * SLOT_MARGIN / 10, abs=0.05)


@pytest.mark.skipif(
    not REDIS_URL, reason="Redis tests need AMO_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/15)"
)
def test_redis_limiter_sends_a_burst_then_waits_a_window() -> None:
    clock = FakeClock()
    name = f"test-{uuid.uuid4().hex[:8]}"
    a = RedisRateLimiter(REDIS_URL, 10.0, clock=clock, name=name, burst=5)
    b = RedisRateLimiter(REDIS_URL, 10.0, clock=clock, name=name, burst=5)
    try:
        waits = sorted((a if i % 2 else b).acquire() for i in range(10))
    finally:
        a.reset()
    window = 5 / 10 * SLOT_MARGIN
    assert waits[:5] == [pytest.approx(0, abs=0.05)] * 5
    assert waits[5:] == [pytest.approx(window, abs=0.05)] * 5
