"""DistributionService.choose: the pool decides for a caller that writes the responsible itself."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
import sqlalchemy as sa

from amo_bridge.distribution import repository as repo
from amo_bridge.distribution.calendar import WorkCalendar
from amo_bridge.distribution.choosers import (
    PoolAccountManagers,
    PoolTaskChooser,
    retention_reference,
    trigger_key,
)
from amo_bridge.distribution.config import parse_hours
from amo_bridge.distribution.fake import FakeLead
from amo_bridge.distribution.model import AfterHours, Arrival, Condition, Member, Pool, Rule, Trigger
from amo_bridge.retention.model import WonDeal
from amo_bridge.store import Store
from amo_bridge.store.schema import distribution_assignments, distribution_outbox
from amo_bridge.triggers.evaluate import LeadFacts
from tests.distribution_helpers import UTC, make_service

RETENTION = 7003


def l3_pool(*user_ids: int, **options: object) -> Pool:
    members = tuple(Member(u, 1) for u in user_ids)
    return Pool("L3", Trigger("pipeline", RETENTION), members, **options)  # type: ignore[arg-type]


def won(n: int, *, contacts: tuple[int, ...] = (), company: int | None = None) -> WonDeal:
    return WonDeal(n, f"Deal {n}", 7002, 11, 1_700_000_000, contact_ids=contacts, company_id=company)


def won_arrival(n: int) -> Arrival:
    return Arrival("won_deal", str(n), 7002)


def rows(store: Store) -> list[sa.Row[tuple[object, ...]]]:
    with store.read() as conn:
        return list(conn.execute(sa.select(distribution_assignments).order_by(distribution_assignments.c.id)))


def outbox(store: Store) -> list[sa.Row[tuple[object, ...]]]:
    with store.read() as conn:
        return list(conn.execute(sa.select(distribution_outbox)))


def assigned_counts(store: Store, pool: str = "L3") -> dict[int, int]:
    with store.read() as conn:
        members = conn.execute(
            sa.text("select user_id, assigned from distribution_members where pool = :p"), {"p": pool}
        )
        return {int(user_id): int(assigned) for user_id, assigned in members}


def test_choices_rotate_fairly_and_write_nothing_to_amocrm(store: Store) -> None:
    service, amo, _ = make_service(store, [l3_pool(1, 2, 3)])
    members = [service.choose("L3", won_arrival(n)).member for n in range(1, 7)]
    assert sorted(members) == [1, 1, 2, 2, 3, 3]
    assert assigned_counts(store) == {1: 2, 2: 2, 3: 2}  # the rotation's counters advanced
    assert amo.calls == []  # no contacts: no stickiness read; and no write at all
    assert outbox(store) == []
    row = rows(store)[0]
    assert (row.entity_type, row.entity_id, row.state, row.reason) == ("won_deal", "1", "active", "rotation")
    assert row.applied_at is not None
    assert row.lead_id is None
    assert row.sla_due_at is None
    assert {c["user_id"] for c in json.loads(row.candidates)} == {1, 2, 3}  # the audit


def test_choosing_again_returns_the_recorded_member_and_charges_nothing(store: Store) -> None:
    service, _, clock = make_service(store, [l3_pool(1, 2)])
    first = service.choose("L3", won_arrival(5))
    clock.advance(3600)
    again = service.choose("L3", won_arrival(5))
    assert first.status == "assigned"
    assert (again.status, again.member, again.assignment_id) == (
        "duplicate",
        first.member,
        first.assignment_id,
    )
    assert assigned_counts(store) == {first.member: 1} | {u: 0 for u in (1, 2) if u != first.member}
    assert len(rows(store)) == 1
    # Even once its lead is closed, the key keeps its one decision.
    service.link_lead("won_deal", "5", 900)
    service.close_lead(900)
    assert service.choose("L3", won_arrival(5)).member == first.member
    assert len(rows(store)) == 1


def test_nobody_available_is_held_and_nothing_is_recorded(store: Store) -> None:
    service, _, _ = make_service(store, [l3_pool(1, 2)])
    service.pause(1)
    service.pause(2)
    held = service.choose("L3", won_arrival(1))
    assert (held.status, held.member, held.reason) == ("held", None, "none_available")
    assert rows(store) == []
    assert outbox(store) == []
    service.resume(2)
    assert service.choose("L3", won_arrival(1)).member == 2  # asked again later, decided then


def test_after_hours_hold_is_held_until_the_shift(store: Store) -> None:
    calendar = WorkCalendar(UTC, parse_hours("mon-fri 09:00-18:00"))
    saturday = datetime(2027, 3, 6, 12, 0, tzinfo=UTC).timestamp()
    service, _, clock = make_service(store, [l3_pool(1, 2)], calendar=calendar)
    clock.set(saturday)
    held = service.choose("L3", won_arrival(1))
    assert (held.status, held.reason) == ("held", "hold")
    assert held.hold_until == datetime(2027, 3, 8, 9, 0, tzinfo=UTC).timestamp()
    service_assign, _, clock2 = make_service(
        store, [l3_pool(1, 2, after_hours=AfterHours("assign"))], calendar=calendar
    )
    clock2.set(saturday)
    assert service_assign.choose("L3", won_arrival(2)).reason == "after_hours"


def test_stickiness_applies(store: Store) -> None:
    service, amo, _ = make_service(store, [l3_pool(1, 2)])
    amo.add_lead(FakeLead(50, responsible_user_id=2, pipeline_id=RETENTION, contact_ids=(700,)))
    sticky = service.choose("L3", Arrival("won_deal", "10", 7002, contact_ids=(700,)))
    assert (sticky.member, sticky.reason) == (2, "sticky")
    assert assigned_counts(store) == {}  # sticky choices do not move the rotation


def test_a_client_holds_a_lead_under_the_cap_and_a_task_does_not(store: Store) -> None:
    service, _, _ = make_service(store, [l3_pool(1, 2, cap=1)])
    for episode in (1, 2, 3):
        task = Arrival("trigger", f"rule:9:{episode}", RETENTION, lead_id=9)
        assert service.choose("L3", task, holds_lead=False).status == "assigned"
    assert [(r.state, r.lead_id) for r in rows(store)] == [("closed", 9)] * 3
    assert service.choose("L3", won_arrival(11)).status == "assigned"
    assert service.choose("L3", won_arrival(12)).status == "assigned"
    assert service.choose("L3", won_arrival(13)).status == "held"  # both hold a client: capped
    with store.read() as conn:
        assert sum(repo.counts_since(conn, "L3", 0).values()) == 5  # all counted for the day
        assert sum(repo.open_counts(conn, "L3").values()) == 2


def test_the_linked_lead_is_not_decided_again_and_its_close_ends_the_choice(store: Store) -> None:
    service, amo, _ = make_service(store, [l3_pool(1, 2, sla_minutes=5)])
    chosen = service.choose("L3", won_arrival(1))
    assert service.link_lead("won_deal", "1", 900) == 1
    assert service.link_lead("won_deal", "1", 900) == 0  # idempotent
    amo.add_lead(FakeLead(900, responsible_user_id=chosen.member or 0, pipeline_id=RETENTION))
    # The retention lead's own webhook arrives in the pool: answered as a duplicate, nothing written.
    [outcome] = service.handle(Arrival("lead", "900", RETENTION, status_id=40))
    assert (outcome.status, outcome.member) == ("duplicate", chosen.member)
    assert amo.calls == []
    assert len(rows(store)) == 1
    # No SLA clock and no outbox row: the scheduled jobs leave it alone.
    assert service.check_sla() == 0
    assert service.run_due() == 0
    assert service.close_lead(900) == 1
    row = rows(store)[0]
    assert (row.state, row.lead_id) == ("closed", 900)


@pytest.mark.parametrize(
    ("reference_field", "arrival"),
    [
        (None, Arrival("lead", "900", RETENTION, status_id=40, tags=frozenset({"retention", "won-1"}))),
        (501, Arrival("lead", "900", RETENTION, status_id=40, fields={501: ("1",)})),
    ],
)
def test_a_retention_leads_webhook_before_the_link_is_still_a_duplicate(
    store: Store, reference_field: int | None, arrival: Arrival
) -> None:
    """The worker may take the new lead's webhook before the job has tied the choice to it: the lead's
    reference to its won deal (tag or field) finds the choice, so the pool does not decide again."""
    service, amo, _ = make_service(store, [l3_pool(1, 2)])
    service.stands_for = retention_reference(reference_field)
    chosen = service.choose("L3", won_arrival(1))
    [outcome] = service.handle(arrival)
    assert (outcome.status, outcome.member) == ("duplicate", chosen.member)
    assert amo.calls == []
    assert len(rows(store)) == 1
    assert sum(assigned_counts(store).values()) == 1  # charged once
    # Another retention lead, for a won deal nobody chose for, is decided as usual.
    [other] = service.handle(Arrival("lead", "901", RETENTION, status_id=40, tags=frozenset({"won-2"})))
    assert other.status == "assigned"


def test_account_manager_chooser_over_the_pool(store: Store) -> None:
    service, amo, _ = make_service(store, [l3_pool(1, 2)])
    chooser = PoolAccountManagers(service, "L3")
    first = chooser.choose_account_manager(won(1, contacts=(700,), company=5))
    assert amo.calls == []  # the job's own stickiness came first: no second lookup of the client
    assert chooser.choose_account_manager(won(1)) == first  # a re-run: the same member
    assert chooser.choose_account_manager(won(2)) != first  # the next client: the rotation's turn
    chooser.lead_created(won(1), 901)
    assert rows(store)[0].lead_id == 901
    service.pause(1)
    service.pause(2)
    assert chooser.choose_account_manager(won(3)) is None  # held: the caller falls back
    with pytest.raises(KeyError):
        PoolAccountManagers(service, "L9")


def test_task_chooser_decides_once_per_episode(store: Store) -> None:
    service, _, _ = make_service(store, [l3_pool(1, 2)])
    tasks = PoolTaskChooser(service)
    lead = LeadFacts(42, "Acme", RETENTION, 40, responsible_user_id=1)
    assert tasks.names() == frozenset({"L3"})
    first = tasks.choose_from_pool("L3", lead, "call_back:42:1")
    assert tasks.choose_from_pool("L3", lead, "call_back:42:1") == first
    assert tasks.choose_from_pool("L3", lead, "call_back:42:2") != first
    assert tasks.choose_from_pool("nope", lead, "call_back:42:3") is None
    assert [(r.entity_type, r.lead_id, r.state) for r in rows(store)] == [("trigger", 42, "closed")] * 2
    assert trigger_key("r" * 80).startswith("sha256:")
    assert len(trigger_key("r" * 80)) == 64


def test_the_pool_s_rules_route_won_deals_by_their_fields(store: Store) -> None:
    vip = Rule("vip", (Condition("field", "Gold", 501),), (Member(3),))
    service, _, _ = make_service(store, [l3_pool(1, 2, rules=(vip,))])
    chooser = PoolAccountManagers(service, "L3")
    gold = WonDeal(1, "Acme", 7002, 11, 1, custom_fields={501: [{"value": "Gold"}]})
    assert chooser.choose_account_manager(gold) == 3
    assert rows(store)[0].reason == "rule"
