from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from amo_bridge.distribution import repository as repo
from amo_bridge.distribution.calendar import WorkCalendar
from amo_bridge.distribution.config import parse_hours
from amo_bridge.distribution.fake import FakeLead
from amo_bridge.distribution.ports import EntityGone, PortError
from amo_bridge.store import Store
from amo_bridge.store.schema import distribution_assignments, distribution_outbox
from tests.distribution_helpers import UTC, l1_pool, make_service, seed_unsorted, unsorted_arrival


def assignments(store: Store) -> list[sa.Row[tuple[object, ...]]]:
    with store.read() as conn:
        return list(conn.execute(sa.select(distribution_assignments).order_by(distribution_assignments.c.id)))


def test_arrival_is_assigned_accepted_and_first_task_created(store: Store) -> None:
    service, amo, clock = make_service(store, [l1_pool(1, 2)])
    seed_unsorted(amo, 1, contacts=(501,))
    [outcome] = service.handle(unsorted_arrival(1, contact_ids=(501,)))  # as the entry names them
    assert outcome.status == "assigned"
    assert outcome.member == 1
    assert outcome.reason == "rotation"
    assert amo.accepted["uid-1"] == 1
    assert amo.leads[100_001].responsible_user_id == 1
    assert amo.contacts[501] == 1  # contacts moved with the lead
    [task] = amo.tasks
    assert task.responsible_user_id == 1
    assert task.complete_till == int(clock.now()) + 15 * 60
    [row] = assignments(store)
    assert row.state == "active"
    assert row.lead_id == 100_001
    candidates = json.loads(row.candidates)
    assert {c["user_id"] for c in candidates} == {1, 2}


def test_duplicate_arrivals_are_assigned_once(store: Store) -> None:
    service, amo, _ = make_service(store, [l1_pool(1, 2)])
    seed_unsorted(amo, 1)
    first = service.handle(unsorted_arrival(1))[0]
    again = service.handle(unsorted_arrival(1))[0]
    assert first.status == "assigned"
    assert again.status == "duplicate"
    assert again.member == first.member
    assert len(assignments(store)) == 1
    assert [c[0] for c in amo.calls].count("accept_unsorted") == 1


def test_rotation_is_fair_over_many_arrivals(store: Store) -> None:
    service, amo, _ = make_service(store, [l1_pool(1, 2, 3, first_task_minutes=0)])
    for n in range(30):
        seed_unsorted(amo, n)
        service.handle(unsorted_arrival(n))
    counts: dict[int, int] = {}
    for row in assignments(store):
        counts[row.user_id] = counts.get(row.user_id, 0) + 1
    assert counts == {1: 10, 2: 10, 3: 10}


def test_paused_and_inactive_members_get_nothing(store: Store) -> None:
    service, amo, _ = make_service(store, [l1_pool(1, 2, 3)])
    service.pause(2)
    with store.begin() as conn:
        repo.upsert_crm_users(
            conn,
            [repo.CrmUser(1, "Anna"), repo.CrmUser(2, "Boris"), repo.CrmUser(3, "Vera", is_active=False)],
            1.0,
            complete=True,
        )
    for n in range(6):
        seed_unsorted(amo, n)
        service.handle(unsorted_arrival(n))
    assert {row.user_id for row in assignments(store)} == {1}
    service.resume(2)
    later = []
    for n in range(10, 14):
        seed_unsorted(amo, n)
        later.append(service.handle(unsorted_arrival(n))[0].member)
    assert sorted(later) == [1, 1, 2, 2]  # user 2 returns level: its turn, no burst of catch-up leads


def test_retryable_rejection_is_retried_then_applied(store: Store) -> None:
    service, amo, clock = make_service(store, [l1_pool(1, 2)])
    seed_unsorted(amo, 1)
    amo.fail("accept_unsorted", PortError("503 from amoCRM"))
    [outcome] = service.handle(unsorted_arrival(1))
    assert outcome.status == "assigned"
    [row] = assignments(store)
    assert row.state == "pending"
    assert service.run_due() == 0  # not due yet: backoff
    clock.advance(60)
    assert service.run_due() == 1
    [row] = assignments(store)
    assert row.state == "active"
    assert amo.accepted["uid-1"] == row.user_id


def test_refusal_rolls_back_refunds_and_decides_again(store: Store) -> None:
    service, amo, _ = make_service(store, [l1_pool(1, 2)])
    seed_unsorted(amo, 1)
    amo.inactive_users.add(1)
    [outcome] = service.handle(unsorted_arrival(1))
    assert outcome.member == 1
    service.run_due()
    rows = assignments(store)
    assert [(r.user_id, r.state) for r in rows] == [(1, "rejected"), (2, "active")]
    assert amo.accepted["uid-1"] == 2
    with store.read() as conn:
        lanes = repo.load_lanes(conn, "L1")
    # user 1 was refunded: only one lead is charged in the rotation
    state = lanes["default"]
    assert state.lag(1, 1) + state.lag(2, 1) == pytest.approx(0.0)
    assert state.lag(2, 1) == pytest.approx(-0.5)


def test_gone_entity_is_rolled_back_without_a_new_decision(store: Store) -> None:
    service, amo, _ = make_service(store, [l1_pool(1, 2)])
    amo.fail("accept_unsorted", EntityGone("already declined"))
    seed_unsorted(amo, 1)
    service.handle(unsorted_arrival(1))
    service.run_due()
    [row] = assignments(store)
    assert row.state == "rejected"
    with store.read() as conn:
        items = list(conn.execute(sa.select(distribution_outbox)))
    assert [(i.kind, i.state) for i in items] == [("apply", "done")]
    again = service.handle(unsorted_arrival(1))[0]  # a late duplicate webhook changes nothing
    assert again.status == "duplicate"
    assert len(assignments(store)) == 1


def test_exhausted_retries_roll_back_and_decide_again_never_lost(store: Store) -> None:
    service, amo, clock = make_service(store, [l1_pool(1, 2)], max_attempts=2)
    seed_unsorted(amo, 1)
    amo.fail("accept_unsorted", PortError("503"), PortError("503"))
    service.handle(unsorted_arrival(1))
    for _ in range(5):
        clock.advance(1000)
        service.run_due()
    rows = assignments(store)
    assert [r.state for r in rows] == ["rejected", "active"]
    assert amo.accepted["uid-1"] == rows[-1].user_id


def test_after_hours_hold_until_next_shift(store: Store) -> None:
    calendar = WorkCalendar(UTC, parse_hours("mon-fri 09:00-18:00"))
    service, amo, clock = make_service(store, [l1_pool(1, 2)], calendar=calendar)
    clock.set(1_767_225_600.0 + 20 * 3600)  # Thu 2026-01-01 20:00 UTC
    seed_unsorted(amo, 1)
    [outcome] = service.handle(unsorted_arrival(1))
    assert outcome.status == "held"
    assert outcome.hold_until == 1_767_225_600.0 + 86400 + 9 * 3600  # Friday 09:00
    assert service.run_due() == 0
    clock.set(outcome.hold_until)
    assert service.run_due() == 1
    [row] = assignments(store)
    assert row.state == "active"


def test_sticky_lead_goes_to_the_contacts_manager(store: Store) -> None:
    service, amo, _ = make_service(store, [l1_pool(1, 2, 3)])
    amo.add_lead(FakeLead(5, responsible_user_id=3, pipeline_id=1, status_id=10, contact_ids=(77,)))
    seed_unsorted(amo, 1, contacts=(77,))
    [outcome] = service.handle(unsorted_arrival(1, contact_ids=(77,)))
    assert (outcome.member, outcome.reason) == (3, "sticky")


def test_sla_reassigns_with_a_note_at_most_k_times(store: Store) -> None:
    service, amo, clock = make_service(store, [l1_pool(1, 2, 3, sla_minutes=10, sla_max_reassign=1)])
    seed_unsorted(amo, 1)
    first = service.handle(unsorted_arrival(1))[0]
    clock.advance(9 * 60)
    assert service.check_sla() == 0
    clock.advance(2 * 60)
    assert service.check_sla() == 1
    rows = assignments(store)
    assert [(r.user_id, r.state, r.reason) for r in rows] == [
        (first.member, "missed", "rotation"),
        (2, "active", "sla"),
    ]
    assert amo.leads[100_001].responsible_user_id == 2
    [(lead_id, text)] = amo.notes.values()
    assert lead_id == 100_001
    assert "no action within 10 minutes" in text
    clock.advance(3600)
    assert service.check_sla() == 0  # at most K = 1 reassignment
    # the missed lead still counts for its first assignee today
    with store.read() as conn:
        today = repo.counts_since(conn, "L1", 0)
    assert today == {1: 1, 2: 1}


def test_activity_stops_the_sla_clock(store: Store) -> None:
    service, amo, clock = make_service(store, [l1_pool(1, 2, sla_minutes=10)])
    seed_unsorted(amo, 1)
    service.handle(unsorted_arrival(1))
    clock.advance(5 * 60)
    assert service.record_activity(100_001) == 1
    clock.advance(60 * 60)
    assert service.check_sla() == 0


def test_closed_lead_opens_a_new_episode(store: Store) -> None:
    service, amo, _ = make_service(store, [l1_pool(1, 2)])
    seed_unsorted(amo, 1)
    service.handle(unsorted_arrival(1))
    assert service.close_lead(100_001) == 1
    amo.accepted.clear()
    again = service.handle(unsorted_arrival(1))[0]
    assert again.status == "assigned"
    assert again.episode == 2


def test_crm_users_upsert_marks_missing_users_inactive(store: Store) -> None:
    with store.begin() as conn:
        repo.upsert_crm_users(conn, [repo.CrmUser(1, "A"), repo.CrmUser(2, "B")], 10.0, complete=True)
        repo.upsert_crm_users(conn, [repo.CrmUser(1, "A2", email="a@x")], 20.0, complete=True)
        names = repo.crm_user_names(conn, [1, 2])
    assert names == {1: ("A2", True), 2: ("B", False)}


def test_decision_survives_a_crash_before_the_amocrm_write(store: Store) -> None:
    service, amo, clock = make_service(store, [l1_pool(1, 2)])
    seed_unsorted(amo, 1)
    # The deciding process commits its decision and claim, then dies before writing to amoCRM.
    outcome, claimed = service._decide(service.pool("L1"), unsorted_arrival(1), claim=True)
    assert claimed is not None
    assert service.run_due() == 0  # still claimed by the dead process
    assert "uid-1" not in amo.accepted
    clock.advance(61)
    assert service.run_due() == 1  # another worker finishes it
    assert amo.accepted["uid-1"] == outcome.member
    [row] = assignments(store)
    assert row.state == "active"


def test_handle_without_applying_leaves_work_for_run_due(store: Store) -> None:
    service, amo, _ = make_service(store, [l1_pool(1, 2)])
    seed_unsorted(amo, 1)
    [outcome] = service.handle(unsorted_arrival(1), apply_now=False)
    assert outcome.status == "assigned"
    assert amo.calls == []
    assert service.run_due() == 1
    assert amo.accepted["uid-1"] == outcome.member
