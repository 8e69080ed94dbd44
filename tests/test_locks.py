from __future__ import annotations

import multiprocessing
import os
import signal
import time

import pytest

from amo_bridge.clock import FakeClock
from amo_bridge.errors import LockNotAcquired
from amo_bridge.store import Store


def test_acquire_exclusive_reentrant_release(store: Store) -> None:
    locks = store.locks
    assert locks.try_acquire("refresh", "a", ttl=30)
    assert not locks.try_acquire("refresh", "b", ttl=30)
    assert locks.try_acquire("refresh", "a", ttl=30)  # re-entrant for the same owner
    info = locks.info("refresh")
    assert info is not None
    assert info.owner == "a"
    assert not locks.release("refresh", "b")
    assert locks.release("refresh", "a")
    assert locks.try_acquire("refresh", "b", ttl=30)


def test_expired_lease_can_be_taken_and_old_owner_cannot_renew(db_url: str) -> None:
    clock = FakeClock()
    store = Store(db_url, clock=clock)
    store.upgrade()
    assert store.locks.try_acquire("leader", "a", ttl=10)
    clock.advance(9)
    assert not store.locks.try_acquire("leader", "b", ttl=10)
    clock.advance(2)
    assert store.locks.info("leader") is None
    assert store.locks.try_acquire("leader", "b", ttl=10)
    assert not store.locks.renew("leader", "a", ttl=10)
    assert store.locks.renew("leader", "b", ttl=10)


def test_acquire_times_out_with_holder_named(store: Store) -> None:
    store.locks.try_acquire("busy", "holder-1", ttl=60)
    with pytest.raises(LockNotAcquired, match="holder-1"):
        store.locks.acquire("busy", ttl=5, timeout=0.2, poll=0.02)


def test_lease_reports_loss(db_url: str) -> None:
    clock = FakeClock()
    store = Store(db_url, clock=clock)
    store.upgrade()
    lease = store.locks.acquire("leader", ttl=10, timeout=1, owner="a")
    clock.advance(11)
    assert store.locks.try_acquire("leader", "b", ttl=10)
    assert not lease.renew()
    assert lease.lost
    lease.release()  # does not release b's lock
    info = store.locks.info("leader")
    assert info is not None
    assert info.owner == "b"


# --- two real processes contending ---------------------------------------------------------------

ROUNDS = 25


def _increment_under_lock(url: str, name: str) -> None:
    store = Store(url)
    for _ in range(ROUNDS):
        with store.locks.hold("counter", ttl=30, timeout=60, poll=0.005):
            value = store.kv.get("counter", 0)
            time.sleep(0.002)  # widen the window a lost update would need
            store.kv.set("counter", value + 1)
            trail = store.kv.get("trail", [])
            store.kv.set("trail", [*trail, name])


@pytest.mark.slow
def test_two_processes_never_hold_the_lock_at_once(store: Store) -> None:
    ctx = multiprocessing.get_context("spawn")
    processes = [ctx.Process(target=_increment_under_lock, args=(store.url, n)) for n in ("p1", "p2")]
    for process in processes:
        process.start()
    for process in processes:
        process.join(120)
    assert [p.exitcode for p in processes] == [0, 0]
    # A read-modify-write without mutual exclusion would lose increments.
    assert store.kv.get("counter") == 2 * ROUNDS
    trail = store.kv.get("trail")
    assert sorted(set(trail)) == ["p1", "p2"]
    assert len(trail) == 2 * ROUNDS


def _hold_forever(url: str, ready: object) -> None:
    store = Store(url)
    store.locks.acquire("leader", ttl=1.0, timeout=5, owner="doomed")
    ready.set()  # type: ignore[attr-defined]
    time.sleep(600)


@pytest.mark.slow
def test_lock_of_a_killed_process_expires(store: Store) -> None:
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Event()
    holder = ctx.Process(target=_hold_forever, args=(store.url, ready))
    holder.start()
    assert ready.wait(60)
    assert not store.locks.try_acquire("leader", "survivor", ttl=10)
    assert holder.pid is not None
    os.kill(holder.pid, signal.SIGKILL)
    holder.join(10)
    lease = store.locks.acquire("leader", ttl=10, timeout=10, owner="survivor", poll=0.05)
    assert lease.owner == "survivor"
    lease.release()
