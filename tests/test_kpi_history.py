"""Backfill, webhooks and lead snapshots overlapping: each change is kept once."""

from __future__ import annotations

import sqlalchemy as sa

from amo_bridge.kpi.history import record
from amo_bridge.kpi.mapping import WebhookEvent, from_amo_event, from_lead, from_webhook
from amo_bridge.kpi.ports import LeadSnapshot
from amo_bridge.store import Store
from amo_bridge.store.schema import kpi_event_keys, kpi_events

T = 1_700_000_000


def status_event(eid: str, lead: int, old: int, new: int, at: int) -> dict[str, object]:
    return {
        "id": eid,
        "type": "lead_status_changed",
        "entity_id": lead,
        "entity_type": "lead",
        "created_by": 7,
        "created_at": at,
        "value_before": [{"lead_status": {"id": old, "pipeline_id": 5}}],
        "value_after": [{"lead_status": {"id": new, "pipeline_id": 5}}],
        "account_id": 1,
    }


def status_webhook(lead: int, old: int, new: int, at: int, price: str = "") -> WebhookEvent:
    data = {
        "status_id": str(new),
        "old_status_id": str(old),
        "pipeline_id": "5",
        "responsible_user_id": "8",
        "last_modified": str(at),
        "price": price,
    }
    return WebhookEvent("lead.status_changed", lead, data, received_at=at + 2)


def save(store: Store, rows: list) -> tuple[int, int, int]:  # type: ignore[type-arg]
    with store.begin() as conn:
        r = record(conn, rows, now=0)
    return r.inserted, r.merged, r.duplicates


def rows_of(store: Store) -> list[sa.Row]:  # type: ignore[type-arg]
    with store.read() as conn:
        return list(conn.execute(sa.select(kpi_events).order_by(kpi_events.c.occurred_at, kpi_events.c.id)))


def test_webhooks_then_backfill_then_replays_keep_each_change_once(store: Store) -> None:
    # The lead moves 100 -> 101 -> 100 -> 101 within four minutes: three real changes.
    moves = [(100, 101, T), (101, 100, T + 60), (100, 101, T + 240)]
    webhooks = [r for old, new, at in moves for r in from_webhook(status_webhook(10, old, new, at + 1), {})]
    events = [
        r
        for i, (old, new, at) in enumerate(moves)
        for r in from_amo_event(status_event(f"e{i}", 10, old, new, at), {})
    ]
    assert save(store, webhooks) == (3, 0, 0)
    assert save(store, events) == (0, 3, 0)  # backfill merges into the webhook rows
    assert save(store, events) == (0, 0, 3)  # a resumed backfill re-reads a page
    assert save(store, webhooks) == (0, 0, 3)  # amoCRM redelivers
    rows = rows_of(store)
    assert [(r.old_status_id, r.status_id, r.occurred_at) for r in rows] == [
        (100, 101, T),
        (101, 100, T + 60),
        (100, 101, T + 240),  # times from amoCRM's event log win over webhook times
    ]
    assert all(r.sources == 3 and r.user_id == 8 and r.actor_id == 7 for r in rows)
    with store.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(kpi_event_keys)).scalar() == 6


def test_backfill_first_then_webhooks(store: Store) -> None:
    events = from_amo_event(status_event("e1", 11, 100, 101, T), {})
    assert save(store, events) == (1, 0, 0)
    assert save(store, from_webhook(status_webhook(11, 100, 101, T + 3), {})) == (0, 1, 0)
    [row] = rows_of(store)
    assert row.occurred_at == T
    assert row.sources == 3


def test_same_move_far_apart_is_two_changes(store: Store) -> None:
    save(store, from_amo_event(status_event("e1", 12, 100, 101, T), {}))
    assert save(store, from_webhook(status_webhook(12, 100, 101, T + 3600), {})) == (1, 0, 0)
    assert len(rows_of(store)) == 2


def test_won_lead_price_comes_from_lead_snapshots(store: Store) -> None:
    save(store, from_amo_event(status_event("e1", 13, 101, 142, T), {}))  # events carry no price
    lead = LeadSnapshot(
        id=13, created_at=T - 500, updated_at=T + 10, status_id=142, pipeline_id=5, price=1000.0,
        closed_at=T, main_contact_id=77,
    )  # fmt: skip
    assert save(store, from_lead(lead)) == (1, 1, 0)  # the creation is new, the win merges
    corrected = LeadSnapshot(**{**lead.__dict__, "price": 1200.0, "updated_at": T + 99})
    assert save(store, from_lead(corrected)) == (0, 0, 2)
    # A webhook of the same win arrives late: merges, does not add a second sale.
    assert save(store, from_webhook(status_webhook(13, 101, 142, T + 1, price="999"), {})) == (0, 1, 0)
    won = [r for r in rows_of(store) if r.status_id == 142]
    assert len(won) == 1
    assert (won[0].price, won[0].client_id, won[0].sources) == (1200.0, 77, 7)
