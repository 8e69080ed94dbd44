"""Workers: handlers run once per event, failures retry, a SIGKILLed worker loses nothing."""

from __future__ import annotations

import multiprocessing
import os
import signal
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from amo_bridge.clock import SYSTEM_CLOCK, FakeClock
from amo_bridge.events import Router, parse_delivery
from amo_bridge.inbox import Backoff, HandlerContext, Inbox
from amo_bridge.inbox.journal import count as journal_count
from amo_bridge.inbox.worker import Worker
from amo_bridge.store import Store
from tests.inbox_helpers import (
    HEADERS,
    body_with_leads,
    claim_all_to_file,
    journal_router,
    record_sample,
    sample,
    stuck_worker,
)
from webhooks.handlers import build_router


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fstore(db_url: str, clock: FakeClock) -> Iterator[Store]:
    store = Store(db_url, clock=clock)
    store.upgrade()
    yield store
    store.dispose()


def test_duplicate_delivery_gives_one_row_and_one_effect(fstore: Store, clock: FakeClock) -> None:
    inbox = Inbox(fstore, clock=clock)
    for _ in range(3):
        record_sample(inbox, "leads_status")
    calls: list[int] = []
    worker = Worker(inbox, journal_router(calls), clock=clock)
    assert worker.run_once() == 3
    assert len(calls) == 3
    assert journal_count(fstore) == 3
    for _ in range(2):  # amoCRM delivers the same body again later
        record_sample(inbox, "leads_status")
    assert worker.run_once() == 0
    assert journal_count(fstore) == 3
    assert inbox.stats().by_state["done"] == 3


def test_app_router_journals_every_kind(fstore: Store, clock: FakeClock) -> None:
    inbox = Inbox(fstore, clock=clock)
    for name in ("leads_add", "contacts_company", "unsorted_delete_accept", "message_add", "unknown_section"):
        record_sample(inbox, name)
    assert Worker(inbox, build_router(), clock=clock).run_once() == 9
    assert journal_count(fstore) == 9


def test_failing_handler_retries_with_backoff_then_succeeds(fstore: Store, clock: FakeClock) -> None:
    inbox = Inbox(fstore, clock=clock, max_attempts=5, backoff=Backoff(base=60, jitter=0))
    record_sample(inbox, "task_add")
    failures = [RuntimeError("amoCRM 502"), RuntimeError("amoCRM 502")]
    seen: list[int] = []
    router: Router[HandlerContext] = Router()

    @router.on("task.added")
    def flaky(event: object, ctx: HandlerContext) -> None:
        seen.append(ctx.attempt)
        if failures:
            raise failures.pop(0)

    worker = Worker(inbox, router, clock=clock)
    assert worker.run_once() == 1
    assert worker.run_once() == 0  # waiting for its retry time
    clock.advance(60)
    assert worker.run_once() == 1
    clock.advance(120)
    assert worker.run_once() == 1
    assert seen == [1, 2, 3]
    assert inbox.stats().by_state["done"] == 1


def test_permanent_error_goes_dead_with_its_message(fstore: Store, clock: FakeClock) -> None:
    from amo_bridge.errors import AmoBridgeError

    inbox = Inbox(fstore, clock=clock)
    record_sample(inbox, "task_add")
    router: Router[HandlerContext] = Router()
    router.add("*", lambda e, c: (_ for _ in ()).throw(AmoBridgeError("400 validation: bad field")))
    Worker(inbox, router, clock=clock).run_once()
    (dead,) = inbox.list("dead")
    assert dead.attempts == 1
    assert "400 validation" in (dead.last_error or "")


def test_threads_stop_gracefully(fstore: Store) -> None:
    inbox = Inbox(fstore, clock=SYSTEM_CLOCK)
    body = body_with_leads(20)
    inbox.record(body, {}, parse_delivery(body, {}))
    calls: list[int] = []
    worker = Worker(inbox, journal_router(calls), concurrency=3, poll_interval=0.02)
    runner = threading.Thread(target=worker.run, kwargs={"install_signals": False})
    runner.start()
    deadline = time.monotonic() + 30
    while journal_count(fstore) < 20 and time.monotonic() < deadline:
        time.sleep(0.02)
    worker.stop()
    runner.join(10)
    assert not runner.is_alive()
    assert sorted(calls) == sorted(set(calls))
    assert len(calls) == 20


@pytest.mark.slow
def test_claims_from_several_processes_never_share_a_row(db_url: str, fstore: Store) -> None:
    inbox = Inbox(fstore)
    body = body_with_leads(120)
    inbox.record(body, {}, parse_delivery(body, {}))
    ctx = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory() as tmp:
        paths = [str(Path(tmp) / f"p{i}") for i in range(3)]
        processes = [
            ctx.Process(target=claim_all_to_file, args=(db_url, f"p{i}", paths[i])) for i in range(3)
        ]
        for process in processes:
            process.start()
        for process in processes:
            process.join(90)
        assert [p.exitcode for p in processes] == [0, 0, 0]
        claimed = [int(x) for path in paths for x in Path(path).read_text().split(",") if x]
    assert len(claimed) == 120
    assert len(set(claimed)) == 120


@pytest.mark.slow
def test_sigkill_mid_handler_then_exactly_once_by_another_worker(db_url: str) -> None:
    lease = 1.5
    store = Store(db_url)
    store.upgrade()
    inbox = Inbox(store, lease_seconds=lease)
    body = sample("leads_responsible")
    inbox.record(body, HEADERS, parse_delivery(body, HEADERS))

    child = multiprocessing.get_context("spawn").Process(target=stuck_worker, args=(db_url, lease))
    child.start()
    try:
        deadline = time.monotonic() + 60
        while store.kv.get("test.started") is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert store.kv.get("test.started") is not None, "the first worker never reached its handler"
        os.kill(child.pid, signal.SIGKILL)  # type: ignore[arg-type]
        child.join(10)
        assert child.exitcode == -signal.SIGKILL
    finally:
        if child.is_alive():
            child.kill()
            child.join(5)

    (row,) = inbox.list()
    assert row.state == "processing"
    assert row.lease_owner == "stuck-worker"
    calls: list[int] = []
    worker = Worker(inbox, journal_router(calls), poll_interval=0.05)
    deadline = time.monotonic() + 30
    while not calls and time.monotonic() < deadline:
        worker.run_once()  # nothing to do until the dead worker's lease expires
        time.sleep(0.1)
    assert calls == [row.id]
    worker.run_once()
    done = inbox.get(row.id)
    assert done is not None
    assert done.state == "done"
    assert done.attempts == 2
    assert journal_count(store) == 1
    store.dispose()


def test_running_worker_requeues_a_dead_workers_row(fstore: Store) -> None:
    inbox = Inbox(fstore, clock=SYSTEM_CLOCK, lease_seconds=0.3)
    record_sample(inbox, "task_add")
    assert inbox.claim("ghost") is not None  # a worker that died holding the row
    calls: list[int] = []
    worker = Worker(inbox, journal_router(calls), concurrency=2, poll_interval=0.02)
    runner = threading.Thread(target=worker.run, kwargs={"install_signals": False})
    runner.start()
    deadline = time.monotonic() + 20
    while not calls and time.monotonic() < deadline:
        time.sleep(0.02)
    worker.stop()
    runner.join(10)
    assert len(calls) == 1
    assert journal_count(fstore) == 1
    (row,) = inbox.list("done")
    assert row.attempts == 2
