"""events_sync (resumable backfill, idempotent by event id) and kpi_sync (catalog upsert) with fakes."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pytest
import sqlalchemy as sa

from amo_bridge.clock import FakeClock
from amo_bridge.kpi import queries
from amo_bridge.kpi.events_sync import BACKFILL_KEY, WATERMARK_KEY, reconcile_leads, sync_events
from amo_bridge.kpi.kpi_sync import sync_catalog, sync_retention_fields
from amo_bridge.kpi.ports import CatalogElement, FieldValue, LeadSnapshot, RetentionLead
from amo_bridge.kpi.report import KpiSnapshot, metrics_for
from amo_bridge.store import Store
from amo_bridge.store.schema import kpi_events

T = 1_790_000_000


def call_event(i: int) -> dict[str, Any]:
    return {
        "id": f"ev{i}",
        "type": "outgoing_call",
        "entity_id": 1,
        "entity_type": "lead",
        "created_by": 7,
        "created_at": T + i // 2,  # two events per second: pages split inside a second
        "value_before": [],
        "value_after": [{"note": {"id": 1000 + i}}],
        "account_id": 1,
    }


class FakeEvents:
    def __init__(self, events: list[dict[str, Any]], page: int = 3, fail_after: int | None = None) -> None:
        self.events, self.page, self.fail_after = events, page, fail_after
        self.calls: list[int] = []

    def pages(self, since: int) -> Iterator[Sequence[Mapping[str, Any]]]:
        self.calls.append(since)
        chosen = [e for e in self.events if e["created_at"] >= since]
        for n, i in enumerate(range(0, len(chosen), self.page)):
            if self.fail_after is not None and n >= self.fail_after:
                raise ConnectionError("network gone")
            yield chosen[i : i + self.page]


def count(store: Store) -> int:
    with store.read() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(kpi_events)).scalar_one())


def test_backfill_resumes_after_a_failure_without_double_counting(store: Store) -> None:
    events = [call_event(i) for i in range(10)]
    with pytest.raises(ConnectionError):
        sync_events(store, FakeEvents(events, fail_after=2), {}, since=T)
    assert count(store) == 6
    progress = store.kv.get(BACKFILL_KEY)
    assert progress["next"] == T + 2
    assert not progress["done"]
    source = FakeEvents(events)
    report = sync_events(store, source, {}, since=T)
    assert source.calls == [T + 2]  # resumed from the saved position (inclusive)
    assert report.result.duplicates == 2
    assert report.result.inserted == 4
    assert count(store) == 10
    assert store.kv.get(BACKFILL_KEY)["done"] is True
    again = sync_events(store, FakeEvents(events), {}, since=T)  # a finished backfill run again
    assert again.result.inserted == 0
    assert count(store) == 10
    assert store.kv.get(WATERMARK_KEY) == T + 4


def test_regular_runs_continue_from_the_watermark(store: Store) -> None:
    store.kv.set(WATERMARK_KEY, T + 3)
    source = FakeEvents([call_event(i) for i in range(10)])
    report = sync_events(store, source, {})
    assert source.calls == [T + 3]
    assert report.result.inserted == 4
    assert store.kv.get(WATERMARK_KEY) == T + 4


def test_reconcile_leads_sets_prices_of_won_leads(store: Store) -> None:
    class Leads:
        def leads(self, updated_since: int) -> Iterator[LeadSnapshot]:
            yield LeadSnapshot(1, T, T + 9, 142, 5, responsible_user_id=7, price=700.0, closed_at=T + 5)
            yield LeadSnapshot(2, T, T + 20, 101, 5)

    first = reconcile_leads(store, Leads(), batch=1)
    assert first.inserted == 3
    assert reconcile_leads(store, Leads()).duplicates == 3
    with store.read() as conn:
        assert queries.sales(conn, T, T + 100, None)[7]["revenue"] == 700.0


class FakeCatalog:
    """amoCRM's catalogs in memory, counting writes."""

    def __init__(self) -> None:
        self.catalogs: dict[str, int] = {}
        self.field_ids: dict[int, dict[str, int]] = {}
        self.elements: dict[int, dict[int, CatalogElement]] = {}
        self.writes = 0
        self._next = 100

    def _id(self) -> int:
        self._next += 1
        return self._next

    def find_catalog(self, name: str) -> int | None:
        return self.catalogs.get(name)

    def create_catalog(self, name: str) -> int:
        self.writes += 1
        self.catalogs[name] = cid = self._id()
        self.field_ids[cid], self.elements[cid] = {}, {}
        return cid

    def fields(self, catalog_id: int) -> Mapping[str, int]:
        return dict(self.field_ids[catalog_id])

    def create_field(self, catalog_id: int, name: str, kind: str) -> int:
        self.writes += 1
        self.field_ids[catalog_id][name] = fid = self._id()
        return fid

    def find_elements(self, catalog_id: int, query: str) -> Sequence[CatalogElement]:
        return [el for el in self.elements[catalog_id].values() if query in el.name]

    def create_element(self, catalog_id: int, name: str, values: Mapping[int, FieldValue]) -> int:
        self.writes += 1
        eid = self._id()
        self.elements[catalog_id][eid] = CatalogElement(eid, name, dict(values))
        return eid

    def update_element(
        self, catalog_id: int, element_id: int, name: str, values: Mapping[int, FieldValue]
    ) -> None:
        self.writes += 1
        self.elements[catalog_id][element_id] = CatalogElement(element_id, name, dict(values))


def snapshot(user: int, calls: float, name: str = "Anna") -> KpiSnapshot:
    metrics: dict[str, float | None] = dict.fromkeys(metrics_for("l1"), 0.0)
    metrics.update(calls=calls, first_response_median=None)
    return KpiSnapshot(user, name, "l1", "2026-11", metrics, {"calls_per_day": 50.0})


def test_catalog_upsert_is_idempotent() -> None:
    port = FakeCatalog()
    first = sync_catalog(port, "KPI", [snapshot(7, 10), snapshot(70, 3, "Oleg")])
    assert (first.created, first.updated, first.unchanged) == (2, 0, 0)
    assert first.fields_created == 3 + len(metrics_for("l1")) + 1
    writes = port.writes
    second = sync_catalog(port, "KPI", [snapshot(7, 10), snapshot(70, 3, "Oleg")])
    assert (second.created, second.updated, second.unchanged) == (0, 0, 2)
    assert port.writes == writes  # nothing written on an unchanged run
    third = sync_catalog(port, "KPI", [snapshot(7, 11)])  # user 7's numbers changed; #7 is not #70
    assert (third.created, third.updated) == (0, 1)
    [cid] = port.catalogs.values()
    names = sorted(el.name for el in port.elements[cid].values())
    assert names == ["KPI 2026-11 l1 #7 Anna", "KPI 2026-11 l1 #70 Oleg"]
    calls_field = port.field_ids[cid]["calls"]
    anna = next(el for el in port.elements[cid].values() if "#7 " in el.name)
    assert anna.values[calls_field] == 11


def test_retention_fields_written_only_when_changed() -> None:
    now = T + 40 * 86_400

    class Retention:
        def __init__(self) -> None:
            self.values: dict[int, dict[int, FieldValue]] = {1: {}, 2: {}, 3: {}}
            self.batches: list[int] = []

        def open_leads(self, pipeline_id: int) -> list[RetentionLead]:
            clients = {1: 500, 2: 501, 3: None}
            return [RetentionLead(i, clients[i], dict(v)) for i, v in self.values.items()]

        def update_leads(self, updates: Sequence[tuple[int, Mapping[int, FieldValue]]]) -> None:
            self.batches.append(len(updates))
            for lead, values in updates:
                self.values[lead].update(values)

    port = Retention()
    last = {500: T, 501: T + 30 * 86_400}
    result = sync_retention_fields(
        port, 9000, last, now=now, window_days=30, days_field_id=1, risk_field_id=2
    )
    assert (result.updated, result.unknown_client) == (2, 1)
    assert port.values[1] == {1: 40.0, 2: "high"}
    assert port.values[2] == {1: 10.0, 2: "low"}
    again = sync_retention_fields(port, 9000, last, now=now, window_days=30, days_field_id=1, risk_field_id=2)
    assert (again.updated, again.unchanged) == (0, 2)
    assert port.batches == [2]


def test_fake_clock_store(db_url: str) -> None:
    clock = FakeClock(T)
    store = Store(db_url, clock=clock)
    store.upgrade()
    sync_events(store, FakeEvents([]), {})
    assert store.kv.get(WATERMARK_KEY) is None  # nothing read, nothing moved
    store.dispose()
