"""The durable inbox on SQLite and PostgreSQL: record, dedupe, claim, lease, retry, dead, replay."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from amo_bridge.clock import FakeClock
from amo_bridge.events import ParseError, parse_delivery
from amo_bridge.inbox import Backoff, Inbox
from amo_bridge.store import Store
from tests.inbox_helpers import HEADERS, body_with_leads, claim_all, record_sample, sample

BACKOFF = Backoff(base=10, factor=2, cap=100, jitter=0.0)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fstore(db_url: str, clock: FakeClock) -> Iterator[Store]:
    store = Store(db_url, clock=clock)
    store.upgrade()
    yield store
    store.dispose()


@pytest.fixture
def inbox(fstore: Store, clock: FakeClock) -> Inbox:
    return Inbox(fstore, clock=clock, lease_seconds=30, max_attempts=3, backoff=BACKOFF)


def test_record_keeps_delivery_and_one_row_per_event(inbox: Inbox) -> None:
    body = sample("leads_update_many")
    recorded = inbox.record(body, HEADERS, parse_delivery(body, HEADERS))
    assert (recorded.stored, recorded.duplicates, recorded.unparseable) == (5, 0, False)
    rows = inbox.list()
    assert len(rows) == 5
    assert {r.state for r in rows} == {"received"}
    assert {r.kind for r in rows} == {"lead.updated"}
    delivery = inbox.delivery(rows[0].delivery_id)
    assert delivery is not None
    assert bytes(delivery["body"]) == body
    assert delivery["request_id"] == "req-1"
    assert delivery["account_id"] == 29384756
    assert rows[0].event().kind == "lead.updated"  # rebuilt from the stored item


def test_duplicate_delivery_and_duplicate_event_are_stored_once(inbox: Inbox) -> None:
    body = sample("leads_status")
    first = inbox.record(body, HEADERS, parse_delivery(body, HEADERS))
    again = inbox.record(body, HEADERS, parse_delivery(body, HEADERS))
    assert first.stored == 3
    assert again.duplicate_delivery
    assert again.stored == 0
    # The same event inside another body (another grouping, another request): one row still.
    other = body + b"&leads%5Bstatus%5D%5B3%5D%5Bid%5D=77&leads%5Bstatus%5D%5B3%5D%5Blast_modified%5D=5"
    third = inbox.record(other, HEADERS, parse_delivery(other, HEADERS))
    assert (third.stored, third.duplicates) == (1, 3)
    assert len(inbox.list(limit=100)) == 4


def test_unparseable_body_is_kept_and_listed(inbox: Inbox) -> None:
    body = b"\xff\xfe not a form"
    error = ParseError("encoding", "body is not UTF-8")
    recorded = inbox.record(body, HEADERS, error)
    assert recorded.unparseable
    assert recorded.stored == 1
    (row,) = inbox.list("unparseable")
    assert row.kind == "unparseable"
    assert "encoding" in (row.last_error or "")
    assert inbox.claim("w") is None  # never handed to a handler
    assert not inbox.replay(row.id)  # still unparseable
    assert inbox.stats().by_state["unparseable"] == 1


def test_replay_reparses_an_unparseable_row(inbox: Inbox) -> None:
    body = sample("task_add")
    inbox.record(body, HEADERS, ParseError("internal", "parser failed: a bug since fixed"))
    (row,) = inbox.list("unparseable")
    assert inbox.replay(row.id)
    assert inbox.get(row.id).state == "done"  # type: ignore[union-attr]
    assert [r.kind for r in inbox.list("received")] == ["task.added"]


def test_claim_complete_and_fencing(inbox: Inbox, clock: FakeClock) -> None:
    record_sample(inbox, "task_add")
    claimed = inbox.claim("w1")
    assert claimed is not None
    assert claimed.row.state == "processing"
    assert claimed.row.attempts == 1
    assert inbox.claim("w2") is None
    assert not inbox.complete(claimed.row.id, "w2")  # not the lease holder
    assert inbox.complete(claimed.row.id, "w1")
    row = inbox.get(claimed.row.id)
    assert row is not None
    assert row.state == "done"
    assert row.done_at == clock.now()
    assert row.lease_owner is None


def test_fail_backs_off_then_dead_with_last_error(inbox: Inbox, clock: FakeClock) -> None:
    record_sample(inbox, "task_add")
    delays = []
    for attempt in (1, 2):
        claimed = inbox.claim("w")
        assert claimed is not None
        assert claimed.row.attempts == attempt
        assert inbox.fail(claimed.row.id, "w", RuntimeError(f"boom {attempt}")) == "failed"
        row = inbox.get(claimed.row.id)
        assert row is not None
        delays.append(row.next_attempt_at - clock.now())
        assert inbox.claim("w") is None  # not before its retry time
        clock.advance(row.next_attempt_at - clock.now())
    assert delays == [10, 20]
    claimed = inbox.claim("w")
    assert claimed is not None
    assert inbox.fail(claimed.row.id, "w", RuntimeError("boom 3")) == "dead"
    (dead,) = inbox.list("dead")
    assert dead.attempts == 3
    assert dead.last_error == "RuntimeError: boom 3"


def test_final_error_goes_dead_at_once_and_replay(inbox: Inbox, clock: FakeClock) -> None:
    record_sample(inbox, "task_add")
    record_sample(inbox, "task_delete")
    for _ in range(2):
        claimed = inbox.claim("w")
        assert claimed is not None
        assert inbox.fail(claimed.row.id, "w", "validation error", final=True) == "dead"
    first, _second = inbox.list("dead")
    assert inbox.replay(first.id)
    assert inbox.get(first.id).state == "received"  # type: ignore[union-attr]
    assert inbox.get(first.id).attempts == 0  # type: ignore[union-attr]
    assert inbox.replay_state("dead") == 1
    assert inbox.stats().by_state["received"] == 2
    assert not inbox.replay(999_999)


def test_expired_lease_is_reclaimed_and_heartbeat_extends(inbox: Inbox, clock: FakeClock) -> None:
    record_sample(inbox, "task_add")
    claimed = inbox.claim("w1")
    assert claimed is not None
    clock.advance(20)
    assert inbox.heartbeat(claimed.row.id, "w1")  # lease now runs to +50
    clock.advance(20)
    assert inbox.reclaim_expired() == 0
    clock.advance(15)
    assert inbox.reclaim_expired() == 1
    assert not inbox.heartbeat(claimed.row.id, "w1")
    row = inbox.get(claimed.row.id)
    assert row is not None
    assert row.state == "failed"
    assert "lease expired" in (row.last_error or "")
    again = inbox.claim("w2")
    assert again is not None
    assert again.row.attempts == 2
    assert not inbox.complete(claimed.row.id, "w1")  # the dead worker's late write is refused
    assert inbox.complete(again.row.id, "w2")


def test_reclaim_moves_to_dead_when_out_of_attempts(inbox: Inbox, clock: FakeClock) -> None:
    record_sample(inbox, "task_add")
    for _ in range(3):
        assert inbox.claim("w") is not None
        clock.advance(31)
        assert inbox.reclaim_expired() == 1
    (row,) = inbox.list("dead")
    assert row.attempts == 3


def test_stats_depth_and_oldest_age(inbox: Inbox, clock: FakeClock) -> None:
    assert inbox.stats().depth == 0
    assert inbox.stats().oldest_unprocessed_age is None
    record_sample(inbox, "leads_status")
    clock.advance(42)
    stats = inbox.stats()
    assert stats.depth == 3
    assert stats.oldest_unprocessed_age == 42


def test_concurrent_claims_from_threads_never_share_a_row(db_url: str, fstore: Store) -> None:
    inbox = Inbox(fstore)
    body = body_with_leads(60)
    inbox.record(body, {}, parse_delivery(body, {}))
    results: dict[int, list[int]] = {}

    def run(index: int) -> None:
        results[index] = claim_all(db_url, f"t{index}")

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    claimed = [row_id for ids in results.values() for row_id in ids]
    assert len(claimed) == 60
    assert len(set(claimed)) == 60
    assert sum(1 for ids in results.values() if ids) >= 2 or len(results) == 4
