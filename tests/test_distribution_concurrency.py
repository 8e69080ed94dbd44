"""Several worker processes, one burst of unsorted leads: every lead assigned once, fairly."""

from __future__ import annotations

import multiprocessing
import os
import random
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from amo_bridge.distribution.fake import FakeAmo
from amo_bridge.distribution.model import Member
from amo_bridge.store import Store
from amo_bridge.store.schema import distribution_assignments, distribution_outbox
from tests.distribution_helpers import l1_pool, make_service, seed_unsorted, unsorted_arrival

LEADS = 1000
WORKERS = 4
WEIGHTS = {1: 1, 2: 1, 3: 2, 4: 1}


def _pool():  # type: ignore[no-untyped-def]
    base = l1_pool(first_task_minutes=0, move_related=False, sticky=False)
    from dataclasses import replace

    return replace(base, members=tuple(Member(u, w) for u, w in WEIGHTS.items()))


def _worker(url: str, worker: int, start: multiprocessing.synchronize.Event) -> None:
    store = Store(url)
    amo = FakeAmo()
    for n in range(LEADS):
        seed_unsorted(amo, n)
    service, _, _ = make_service(store, [_pool()], amo=amo)
    # Each lead reaches two workers (a duplicate delivery racing the first), in shuffled orders.
    order = [n for n in range(LEADS) if n % WORKERS in (worker, (worker + 1) % WORKERS)]
    random.Random(worker).shuffle(order)
    start.wait(timeout=60)
    for n in order:
        service.handle(unsorted_arrival(n))
    store.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def burst_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "postgresql":
        yield request.getfixturevalue("pg_url")
        return
    # tmpfs when the machine has one: the test is about locking, not about the disk's fsync
    base = "/dev/shm" if os.path.isdir("/dev/shm") else str(tmp_path)
    directory = tempfile.mkdtemp(prefix=f"burst-{uuid.uuid4().hex[:6]}-", dir=base)
    yield f"sqlite:///{directory}/amo_bridge.db"
    for name in os.listdir(directory):
        os.unlink(os.path.join(directory, name))
    os.rmdir(directory)


@pytest.mark.slow
def test_four_workers_assign_a_burst_of_leads_once_each_and_fairly(burst_url: str) -> None:
    store = Store(burst_url)
    store.upgrade()
    context = multiprocessing.get_context("fork")
    start = context.Event()
    workers = [context.Process(target=_worker, args=(burst_url, w, start)) for w in range(WORKERS)]
    for process in workers:
        process.start()
    start.set()
    for process in workers:
        process.join(timeout=170)
        assert process.exitcode == 0
    with store.read() as conn:
        rows = list(conn.execute(sa.select(distribution_assignments)))
        pending = conn.execute(
            sa.select(sa.func.count()).where(distribution_outbox.c.state != "done")
        ).scalar_one()
    store.dispose()
    assert len(rows) == LEADS
    assert len({row.entity_id for row in rows}) == LEADS  # no lead twice
    assert {row.state for row in rows} == {"active"}
    assert pending == 0
    total = sum(WEIGHTS.values())
    for user, weight in WEIGHTS.items():
        got = sum(row.user_id == user for row in rows)
        assert abs(got - LEADS * weight / total) < 1, (user, got)
