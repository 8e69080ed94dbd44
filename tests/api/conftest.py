"""Fixtures of the API client tests: a fake clock, a migrated store on it, a client over ``responses``."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest
import responses

from amo_bridge.api import AmoClient
from amo_bridge.api.ratelimit import UnlimitedRateLimiter
from amo_bridge.clock import FakeClock
from amo_bridge.store import Store
from tests.api.helpers import make_settings, seed_tokens


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def api_store(tmp_path: Path, clock: FakeClock) -> Iterator[Store]:
    store = Store(f"sqlite:///{tmp_path / 'api.db'}", clock=clock)
    store.upgrade()
    yield store
    store.dispose()


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.fixture
def client(api_store: Store, clock: FakeClock, mocked: responses.RequestsMock) -> AmoClient:
    seed_tokens(api_store)
    return AmoClient.from_settings(
        make_settings(), api_store, clock=clock, limiter=UnlimitedRateLimiter(), rng=random.Random(7)
    )
