"""The KPI adapters, webhook handlers and jobs against the in-process sandbox, and a played month's
KPIs against the sandbox's own ground truth."""

from __future__ import annotations

import collections
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from amo_bridge.kpi import directory, report
from amo_bridge.kpi.amocrm import AmoCatalogPort, AmoDirectory, AmoEventSource, AmoLeadSource
from amo_bridge.kpi.periods import parse_period
from amo_bridge.kpi.rows import CALL_OUT, STATUS_CHANGED
from amo_bridge.sandbox import seed as S
from amo_bridge.store.schema import kpi_events
from tests.kpi_helpers import put, row
from tests.kpi_sandbox import MONTH, START, KpiHarness, kpi_sandbox

OUTCOME_ACTIVITIES = {
    # Qualification outcomes as activities (moves into the lead-exchange outcome stages).
    "proposal": ("non_target", S.ST_LX_NON_TARGET),
    "invoice": ("warm_up", S.ST_LX_WARM_UP),
    "contract": ("duplicate", S.ST_LX_DUPLICATE),
}
CHURN_WINDOW_DAYS = 7  # short, so that the month's own purchases churn within the month
MONTH_ENV = {
    "KPI_ACTIVITIES": ";".join(f"{name}=status:{st}" for name, (_, st) in OUTCOME_ACTIVITIES.items()),
    "KPI_CHURN_WINDOW_DAYS": str(CHURN_WINDOW_DAYS),
}


def _events_of(h: KpiHarness, kind: str, since: int) -> list[dict[str, Any]]:
    return [e for e in h.server.state.events if e["type"] == kind and e["created_at"] >= since]


def test_event_source_walks_windows_oldest_first(db_url: str) -> None:
    with kpi_sandbox(db_url) as h:
        h.play_month(days=2, leads_per_day=6)
        since = int(START)
        source = AmoEventSource(h.client, types=["lead_status_changed"], window=6 * 3600, page_size=7)
        pages = list(source.pages(since))
        got = [e for page in pages for e in page]
        assert all(len(page) <= 7 for page in pages)
        assert {e["type"] for e in got} == {"lead_status_changed"}
        times = [e["created_at"] for e in got]
        assert times == sorted(times)
        expected = _events_of(h, "lead_status_changed", since)
        assert sorted(e["id"] for e in got) == sorted(e["id"] for e in expected)
        assert len(set(e["id"] for e in got)) == len(got) > 10


def test_directory_and_lead_snapshots(db_url: str) -> None:
    with kpi_sandbox(db_url) as h:
        h.play_month(days=1, leads_per_day=8)
        users, pipelines = directory.refresh(h.store, AmoDirectory(h.client))
        cached = directory.users(h.store)
        assert cached[9_001_021].group_id == S.GROUP_CLOSERS
        assert not cached[9_001_015].is_active
        stages = directory.pipelines(h.store)[S.PIPELINE_LEAD_EXCHANGE].stages
        assert S.ST_LX_QUALIFIED in {s.id for s in stages}
        assert users >= 12
        assert pipelines == 4
        snapshots = {lead.id: lead for lead in AmoLeadSource(h.client).leads(int(START))}
        won = [
            lead
            for lead in h.server.state.leads.values()
            if lead["status_id"] == 142 and lead["updated_at"] >= START and not lead["is_deleted"]
        ]
        for lead in won:
            snap = snapshots[lead["id"]]
            assert snap.price == lead["price"]
            assert snap.closed_at == lead["closed_at"]
            assert snap.main_contact_id is not None


def test_kpi_sync_creates_the_catalog_once_and_rewrites_nothing(db_url: str) -> None:
    with kpi_sandbox(db_url) as h:
        directory.refresh(h.store, AmoDirectory(h.client))
        h.clock.advance(5 * 86_400)  # not the first of the month: only March is synced
        day = int(START) + 3 * 86_400
        put(
            h.store,
            row(STATUS_CHANGED, day, lead_id=1, user_id=9_001_021, status_id=142, price=1000.0),
            row(STATUS_CHANGED, day + 60, lead_id=2, user_id=9_001_022, status_id=142, price=2500.0),
            row(CALL_OUT, day + 90, entity_id=5, user_id=9_001_011),
        )
        first = h.runner.run("kpi_sync")
        assert first.status == "succeeded", first
        state = h.server.state
        catalogs = [c for c in state.catalogs.values() if c["name"] == "KPI"]
        assert len(catalogs) == 1
        elements = [e for e in state.catalog_elements.values() if e["catalog_id"] == catalogs[0]["id"]]
        members = 5 + 4 + 3  # l1, l2 and l3 of the seeded account (inactive users included)
        assert len(elements) == members
        names = {e["name"] for e in elements}
        assert any(n.startswith(f"KPI {MONTH} l2 #9001022 ") for n in names)
        port = AmoCatalogPort(h.client)
        fields = port.fields(catalogs[0]["id"])
        anna = next(e for e in port.find_elements(catalogs[0]["id"], f"KPI {MONTH} l2 #9001022"))
        assert float(anna.values[fields["sales"]] or 0) == 1.0  # amoCRM answers numbers as text
        assert float(anna.values[fields["revenue"]] or 0) == 2500.0

        writes = h.api_requests("POST") + h.api_requests("PATCH")
        second = h.runner.run("kpi_sync")
        assert second.status == "succeeded"
        assert second.changed == 0
        assert h.api_requests("POST") + h.api_requests("PATCH") == writes  # nothing written
        assert len([c for c in state.catalogs.values() if c["name"] == "KPI"]) == 1

        put(h.store, row(STATUS_CHANGED, day + 120, lead_id=3, user_id=9_001_022, status_id=142, price=500.0))
        third = h.runner.run("kpi_sync")
        assert third.changed == 1  # one element updated, nothing created
        assert (
            len([e for e in state.catalog_elements.values() if e["catalog_id"] == catalogs[0]["id"]])
            == members
        )


def _history_count(h: KpiHarness) -> int:
    with h.store.read() as conn:
        return int(conn.execute(select(func.count()).select_from(kpi_events)).scalar_one())


def _truth(h: KpiHarness, start: int, end: int) -> dict[str, collections.Counter[int]]:
    out: dict[str, collections.Counter[int]] = collections.defaultdict(collections.Counter)
    for lead in h.truth["leads"].values():
        for e in lead["happened"]:
            if not start <= e["at"] < end:
                continue
            who = e.get("by")
            if e["what"] == "won":
                out["sales"][who] += 1
                out["revenue"][who] += e["price"]
            elif e["what"] == "qualified_as":
                out[e["outcome"]][who] += 1
            elif e["what"] == "call":
                out["calls_out"][who] += 1
            elif e["what"] == "accepted" or e["what"] == "negotiation":
                out["leads_taken"][who] += 1
    return out


@dataclass
class L3Truth:
    upsells: collections.Counter[int] = field(default_factory=collections.Counter)
    revenue: collections.Counter[int] = field(default_factory=collections.Counter)
    churned: dict[int, set[int]] = field(default_factory=lambda: collections.defaultdict(set))


def _l3_truth(h: KpiHarness, start: int, end: int, now: float) -> L3Truth:
    """Upsells and churned clients per account manager, from the ground truth alone.

    An upsell is a repeat purchase (a won deal of its own in the retention pipeline). A client is the
    contact sold to; every purchase counts (repeat purchases and the closers' wins). A purchase at
    ``t`` churns at ``t + window`` unless the client buys again within ``(t, t + window]``; it is
    counted when that moment falls in ``[start, min(end, now))``, for whoever made the purchase.
    """
    out = L3Truth()
    purchases: dict[int, list[tuple[int, int]]] = collections.defaultdict(list)  # contact -> (at, by)
    for client in h.truth["clients"].values():
        for p in client["repeat_purchases"]:
            purchases[p["contact_id"]].append((p["at"], p["by"]))
            if start <= p["at"] < end:
                out.upsells[p["by"]] += 1
                out.revenue[p["by"]] += p["price"]
    for lead in h.truth["leads"].values():
        for e in lead["happened"]:
            if e["what"] == "won":
                purchases[lead["contact_id"]].append((e["at"], e["by"]))
    window = CHURN_WINDOW_DAYS * 86_400
    for contact, bought in purchases.items():
        for at, by in bought:
            moment = at + window
            again = any(at < other <= moment for other, _ in bought)
            if start <= moment < min(end, now) and not again:
                out.churned[by].add(contact)
    return out


def _facts(h: KpiHarness, now: float) -> dict[str, dict[int, float]]:
    facts: dict[str, dict[int, float]] = collections.defaultdict(dict)
    period = parse_period(MONTH)
    with h.store.read() as conn:
        users = directory.users(h.store, conn)
        for level in ("l1", "l2", "l3"):
            for s in report.level_report(
                conn, h.settings.kpi, h.settings.amo.timezone, period, level, users, now
            ):
                for metric, value in s.metrics.items():
                    if value:
                        facts[metric][s.user_id] = float(value)
    return facts


def test_a_month_on_the_sandbox_matches_its_ground_truth(db_url: str) -> None:
    with kpi_sandbox(db_url, env=MONTH_ENV) as h:
        h.play_month(days=28, leads_per_day=8)
        # Webhooks first (as the worker saw them), then the backfill of amoCRM's own log, then a
        # regular run: every change arrives two or three times.
        assert h.deliver_webhooks() > 1000
        backfill = h.runner.run("events_sync", since=START - 3600)
        assert backfill.status == "succeeded", backfill
        assert h.runner.run("events_sync").status == "succeeded"
        rows = _history_count(h)
        now = h.clock.now()
        facts = _facts(h, now)

        start, end = parse_period(MONTH).bounds(h.settings.amo.timezone)
        truth = _truth(h, start, end)
        assert sum(truth["sales"].values()) > 20
        assert sum(truth["qualified"].values()) > 40
        closers = sorted(truth["sales"])
        managers = sorted(truth["qualified"])
        for closer in closers:
            assert facts["sales"].get(closer) == truth["sales"][closer]
            assert facts["revenue"].get(closer) == truth["revenue"][closer]
        for manager in managers:
            assert facts["qualified"].get(manager) == truth["qualified"][manager]
            for activity, (outcome, _) in OUTCOME_ACTIVITIES.items():
                assert facts[activity].get(manager, 0) == truth[outcome][manager], (activity, manager)
        for user in truth["calls_out"]:
            assert facts["calls_out"].get(user) == truth["calls_out"][user]
        for user in truth["leads_taken"]:
            assert facts["leads_taken"].get(user) == truth["leads_taken"][user]

        # L3: repeat purchases are won deals of the retention pipeline (upsells), and clients who
        # did not buy again within the window churn, per account manager.
        l3 = _l3_truth(h, start, end, now)
        assert sum(l3.upsells.values()) > 20
        assert sum(len(clients) for clients in l3.churned.values()) > 5
        for manager in S.users_of(h.server.state, S.GROUP_ACCOUNT_MANAGERS):
            assert facts["upsells"].get(manager, 0) == l3.upsells[manager], manager
            assert facts["revenue"].get(manager, 0) == l3.revenue[manager], manager
            assert facts["churned"].get(manager, 0) == len(l3.churned[manager]), manager

        # Everything once more, in any order: nothing changes.
        h.deliver_webhooks()
        again = h.runner.run("events_sync", since=START - 7200)
        assert again.status == "succeeded"
        assert again.changed == 0
        assert _history_count(h) == rows
        assert _facts(h, now) == facts
        with h.store.read() as conn:
            both = conn.execute(
                select(func.count()).select_from(kpi_events).where(kpi_events.c.sources.op("&")(3) == 3)
            ).scalar_one()
        assert both > 0.8 * sum(truth["calls_out"].values())  # webhook and /events rows merged
