"""The KPI webhook handlers: registered on the worker's router, idempotent, notes keyed by note id."""

from __future__ import annotations

import logging
from types import SimpleNamespace
from urllib.parse import urlencode

from sqlalchemy import select

from amo_bridge.events.model import Event
from amo_bridge.events.parse import parse_delivery
from amo_bridge.inbox.context import HandlerContext
from amo_bridge.store import Store
from amo_bridge.store.schema import kpi_events
from webhooks.handlers import build_router
from webhooks.kpi_flow import KINDS, make_router

T = 1_772_400_000


def _events(fields: dict[str, object]) -> tuple[Event, ...]:
    body = urlencode({**{k: str(v) for k, v in fields.items()}, "account[id]": "31415926"})
    return parse_delivery(body.encode(), {"Content-Type": "application/x-www-form-urlencoded"}).events


def _ctx(store: Store) -> HandlerContext:
    return HandlerContext(store, store.clock, 1, "k", 1, lambda: True, logging.getLogger("test"))


def test_the_worker_router_records_kpi_kinds() -> None:
    names = {r.name for r in build_router()._registrations}
    assert {f"kpi_history:{kind}" for kind in KINDS} <= names


def test_status_change_and_call_note_recorded_once(store: Store) -> None:
    router = make_router({})
    status = _events(
        {
            "leads[status][0][id]": 5,
            "leads[status][0][status_id]": 555,
            "leads[status][0][old_status_id]": 500,
            "leads[status][0][pipeline_id]": 7001,
            "leads[status][0][old_pipeline_id]": 7001,
            "leads[status][0][responsible_user_id]": 101,
            "leads[status][0][last_modified]": T,
        }
    )
    note = _events(
        {
            "leads[note][0][note][id]": 77,
            "leads[note][0][note][element_id]": 5,
            "leads[note][0][note][element_type]": 2,
            "leads[note][0][note][note_type]": 11,
            "leads[note][0][note][created_user_id]": 101,
            "leads[note][0][note][date_create]": T + 5,
            "leads[note][0][note][last_modified]": T + 5,
        }
    )
    assert [e.kind for e in status + note] == ["lead.status_changed", "lead.note_added"]
    for _ in range(2):  # a redelivery adds nothing
        for event in status + note:
            router.dispatch(event, _ctx(store))
    with store.read() as conn:
        rows = list(conn.execute(select(kpi_events).order_by(kpi_events.c.occurred_at)))
    assert [(r.kind, r.lead_id, r.entity_id, r.user_id) for r in rows] == [
        ("status_changed", 5, None, 101),
        ("call_out", 5, 77, 101),
    ]
    assert rows[0].status_id == 555


def test_reported_fields_come_from_the_running_command(store: Store) -> None:
    import click

    from amo_bridge.config import load_settings

    settings = load_settings({"KPI_REPORTED_FIELDS": "calls=512301"})
    with click.Context(click.Command("worker"), obj=SimpleNamespace(settings=settings)):
        router = make_router()
    update = _events(
        {
            "leads[update][0][id]": 5,
            "leads[update][0][modified_user_id]": 101,
            "leads[update][0][last_modified]": T,
            "leads[update][0][custom_fields][0][id]": 512301,
            "leads[update][0][custom_fields][0][values][0][value]": 7,
        }
    )
    for event in update * 2:
        router.dispatch(event, _ctx(store))
    with store.read() as conn:
        rows = list(conn.execute(select(kpi_events)))
    assert [(r.kind, r.field_id, r.value, r.user_id) for r in rows] == [("reported", 512301, 7.0, 101)]
