"""won_to_retention: exactly one retention lead per won deal, whatever happens to the runs."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

import jobs.retention as retention_job
from amo_bridge.clock import FakeClock
from amo_bridge.config import Settings, load_settings
from amo_bridge.distribution.choosers import PoolAccountManagers
from amo_bridge.distribution.model import Member, Pool, Trigger
from amo_bridge.distribution.service import DistributionService
from amo_bridge.retention.ledger import HandoffLedger
from amo_bridge.retention.model import RetentionRule, WonDeal
from amo_bridge.retention.plan import (
    NoAccountManager,
    choose_manager,
    due_within_hours,
    next_watermark,
    plan_handoff,
)
from amo_bridge.retention.service import Outcome, RetentionService
from amo_bridge.store import Store
from amo_bridge.store.schema import distribution_assignments
from amo_bridge.workhours import WorkingHours
from jobs.history import RunHistory
from jobs.ports import Ports
from jobs.registry import load_builtin_jobs
from jobs.runner import Runner
from tests.distribution_helpers import make_service
from tests.jobs_fakes import FakeAmo, FakeLead, FakeRetentionPort, FixedChooser

MSK = ZoneInfo("Europe/Moscow")
SALES, RETENTION, RETENTION_FIRST = 3001, 3003, 40
# Wednesday 2026-01-07 12:00 Moscow time
NOW = datetime(2026, 1, 7, 12, 0, tzinfo=MSK).timestamp()

BASE_ENV = {
    "RETENTION_PIPELINE_ID": str(RETENTION),
    "RETENTION_SOURCE_PIPELINES": str(SALES),
    "RETENTION_COPY_FIELDS": "501,502",
    "RETENTION_REFERENCE_FIELD_ID": "900",
    "RETENTION_FIRST_CALL_DELAY": "2h",
}


class SimulatedCrash(BaseException):
    """The process dies here: nothing after this point runs, not even the run's record."""


@dataclass
class World:
    clock: FakeClock
    store: Store
    amo: FakeAmo
    port: FakeRetentionPort
    chooser: FixedChooser
    settings: Settings

    def runner(self, **env: str) -> Runner:
        settings = load_settings({**BASE_ENV, **env}) if env else self.settings
        ports = Ports(retention=self.port, account_managers=self.chooser)
        return Runner(self.store, settings, ports, registry=load_builtin_jobs(), clock=self.clock)

    def won(self, lead_id: int, *, closed_ago: float = 3600, contacts: tuple[int, ...] = (7,)) -> FakeLead:
        return self.amo.add_lead(
            FakeLead(
                id=lead_id,
                name=f"Deal {lead_id}",
                pipeline_id=SALES,
                status_id=142,
                responsible_user_id=11,
                closed_at=int(self.clock.now() - closed_ago),
                price=5000,
                contact_ids=contacts,
                company_id=77,
                fields={501: "Gold", 502: 12, 503: "not copied"},
            )
        )

    def retention_leads(self) -> list[FakeLead]:
        return self.port.retention_leads(RETENTION)


@pytest.fixture
def world(db_url: str) -> Iterator[World]:
    clock = FakeClock(NOW)
    store = Store(db_url, clock=clock)
    store.upgrade()
    amo = FakeAmo(clock.now)
    amo.pipelines[RETENTION] = [RETENTION_FIRST, 41, 42]
    port = FakeRetentionPort(amo)
    yield World(clock, store, amo, port, FixedChooser(21), load_settings(BASE_ENV))
    retention_job.after_lead_created = None
    store.dispose()


# --- the pure core ------------------------------------------------------------------------------


def test_manager_is_sticky_then_pool_then_default() -> None:
    assert choose_manager(5, 6, 7).source == "sticky"
    assert choose_manager(None, 6, 7).user_id == 6
    assert choose_manager(None, None, 7).source == "default"
    with pytest.raises(NoAccountManager, match="RETENTION_DEFAULT_MANAGER_ID"):
        choose_manager(None, None, None)


def test_first_call_due_moves_into_working_hours() -> None:
    hours = WorkingHours.parse("09:00-18:00", "mon-fri")
    friday_evening = datetime(2026, 1, 9, 17, 30, tzinfo=MSK).timestamp()
    due = datetime.fromtimestamp(due_within_hours(friday_evening, 7200, MSK, hours), MSK)
    assert due == datetime(2026, 1, 12, 9, 0, tzinfo=MSK)  # Monday morning
    tuesday_noon = datetime(2026, 1, 6, 12, 0, tzinfo=MSK).timestamp()
    assert due_within_hours(tuesday_noon, 7200, MSK, hours) == tuesday_noon + 7200


def test_plan_copies_configured_fields_and_reference() -> None:
    deal = WonDeal(10, "Acme", SALES, 11, 1, 900, (7, 8), 77, {501: "Gold", 503: "x"})
    rule = RetentionRule(RETENTION, (SALES,), copy_field_ids=(501, 502), reference_field_id=900,
                         name_template="Сопровождение: {name} (#{id})")  # fmt: skip
    plan = plan_handoff(deal, rule, manager=choose_manager(None, 21, None), stage_id=40, now=NOW, tz=MSK)
    assert plan.lead is not None
    assert plan.lead.custom_fields == {501: "Gold", 900: 10}
    assert plan.lead.name == "Сопровождение: Acme (#10)"
    assert (plan.lead.contact_ids, plan.lead.company_id, plan.lead.status_id) == ((7, 8), 77, 40)
    assert plan.lead.responsible_user_id == 21


def test_watermark_stops_before_the_earliest_unfinished_deal() -> None:
    assert next_watermark(1000, [], 500) == 1000
    assert next_watermark(1000, [700, 650], 500) == 649
    assert next_watermark(1000, [300], 500) == 500  # never moves back


# --- the job end to end --------------------------------------------------------------------------


def test_won_deals_become_retention_leads_once(world: World) -> None:
    for lead_id in (101, 102, 103):
        world.won(lead_id)
    world.amo.add_lead(FakeLead(104, "Lost", SALES, 143, 11, closed_at=int(NOW - 60)))
    world.amo.add_lead(FakeLead(105, "Other pipeline", 3002, 142, 11, closed_at=int(NOW - 60)))

    first = world.runner().run("won_to_retention")
    assert (first.status, first.seen, first.changed, first.failed) == ("succeeded", 3, 3, 0)
    leads = world.retention_leads()
    assert sorted(lead.won_reference for lead in leads) == [101, 102, 103]
    lead = next(lead for lead in leads if lead.won_reference == 101)
    assert lead.status_id == RETENTION_FIRST
    assert lead.fields == {501: "Gold", 502: 12, 900: 101}
    assert lead.tags == {"retention"}
    assert (lead.contact_ids, lead.company_id, lead.responsible_user_id) == ((7,), 77, 21)
    tasks = [t for t in world.amo.tasks.values() if t.lead_id == lead.id]
    assert len(tasks) == 1
    assert tasks[0].complete_till == int(NOW + 7200)  # Wednesday 14:00, inside working hours
    assert tasks[0].responsible_user_id == 21
    # the won deal itself is untouched in copy mode
    assert world.amo.leads[101].status_id == 142
    assert world.amo.leads[101].pipeline_id == SALES

    world.clock.advance(600)
    again = world.runner().run("won_to_retention")
    assert (again.status, again.seen, again.changed) == ("succeeded", 0, 0)  # past the watermark
    # Looking at the same deals again (as after a lost watermark) changes nothing either.
    replay = world.runner().run("won_to_retention", since=NOW - 86400)
    assert (replay.status, replay.seen, replay.changed) == ("succeeded", 3, 0)
    assert len(world.retention_leads()) == 3
    assert len(world.amo.tasks) == 3
    assert world.store.kv.get(retention_job.WATERMARK_KEY) == int(NOW + 600)

    history = RunHistory(world.store).list("won_to_retention")
    assert [r.status for r in history] == ["succeeded"] * 3
    assert [r.changed for r in history] == [0, 0, 3]


def test_sticky_account_manager_wins_over_the_pool(world: World) -> None:
    world.port.managers = {8: 31}
    world.won(201, contacts=(8,))
    world.won(202, contacts=(9,))
    world.runner().run("won_to_retention")
    by_won = {lead.won_reference: lead.responsible_user_id for lead in world.retention_leads()}
    assert by_won == {201: 31, 202: 21}
    assert world.chooser.calls == 1  # the pool is asked only for the new client


def test_the_client_is_given_to_the_account_manager_unless_switched_off(world: World) -> None:
    world.amo.owners[("contact", 7)] = 11  # the closer owns the client when the deal is won
    world.amo.owners[("company", 77)] = 11
    world.won(251)
    world.runner().run("won_to_retention")
    assert world.amo.owners == {("contact", 7): 21, ("company", 77): 21}  # calls now reach the manager
    assert world.amo.calls["give_client"] == 1

    world.won(252, contacts=(7,))  # the same client again: owned by the manager already, nothing sent
    world.clock.advance(60)
    world.runner().run("won_to_retention")
    assert world.amo.calls["give_client"] == 1

    world.amo.owners[("contact", 5)] = 11
    world.won(253, contacts=(5,))
    world.clock.advance(60)
    world.runner(RETENTION_GIVE_CLIENT="off").run("won_to_retention")
    assert world.amo.owners[("contact", 5)] == 11


def test_deal_without_account_manager_fails_and_is_retried(world: World) -> None:
    world.chooser.user_id = None
    world.won(301)
    result = world.runner().run("won_to_retention")
    assert (result.status, result.failed, result.exit_code) == ("partial", 1, 1)
    assert "RETENTION_DEFAULT_MANAGER_ID" in (result.error or "")
    assert world.retention_leads() == []
    world.clock.advance(3600)
    fixed = world.runner(RETENTION_DEFAULT_MANAGER_ID="55").run("won_to_retention")
    assert (fixed.status, fixed.changed) == ("succeeded", 1)  # the watermark had waited for it
    assert [lead.responsible_user_id for lead in world.retention_leads()] == [55]


def test_move_mode_moves_the_won_deal(world: World) -> None:
    world.won(401)
    result = world.runner(RETENTION_MODE="move").run("won_to_retention")
    assert (result.status, result.changed) == ("succeeded", 1)
    moved = world.amo.leads[401]
    assert (moved.pipeline_id, moved.status_id, moved.responsible_user_id) == (RETENTION, RETENTION_FIRST, 21)
    assert [lead.id for lead in world.retention_leads()] == [401]
    assert [t.lead_id for t in world.amo.tasks.values()] == [401]


def test_dry_run_prints_the_plan_and_writes_nothing(world: World) -> None:
    world.won(501)
    lines: list[str] = []
    runner = world.runner()
    runner.echo = lines.append
    result = runner.run("won_to_retention", dry_run=True)
    assert result.status == "succeeded"
    assert len(result.planned) == 1
    assert "won deal #501" in result.planned[0]
    assert lines == [f"[dry-run] {result.planned[0]}"]
    assert world.retention_leads() == []
    assert world.amo.tasks == {}
    assert world.amo.calls["create_lead"] == world.amo.calls["create_task"] == 0
    assert HandoffLedger(world.store).get(501) is None
    assert world.store.kv.get(retention_job.WATERMARK_KEY) is None
    assert world.chooser.calls == 0  # choosing from the pool would move its turn


def test_since_overrides_the_watermark(world: World) -> None:
    world.won(601, closed_ago=30 * 86400)  # older than the 7-day lookback
    assert world.runner().run("won_to_retention").seen == 0
    result = world.runner().run("won_to_retention", since=NOW - 40 * 86400)
    assert (result.seen, result.changed) == (1, 1)


# --- crashes and overlaps --------------------------------------------------------------------------


def _crash(_won: int, _lead: int) -> None:
    raise SimulatedCrash


def test_crash_after_lead_created_leaves_exactly_one_lead(world: World) -> None:
    world.won(701)
    world.won(702)
    retention_job.after_lead_created = _crash
    with pytest.raises(SimulatedCrash):
        world.runner().run("won_to_retention")
    retention_job.after_lead_created = None
    assert len(world.retention_leads()) == 1  # created in amoCRM, not recorded by us
    handoff = HandoffLedger(world.store).get(701)
    assert handoff is not None
    assert (handoff.state, handoff.retention_lead_id) == ("claimed", None)

    world.clock.advance(60)
    recovered = world.runner().run("won_to_retention")
    assert recovered.status == "succeeded"
    leads = world.retention_leads()
    assert sorted(lead.won_reference for lead in leads) == [701, 702]  # no second lead for 701
    assert len(world.amo.tasks) == 2
    assert {h.state for h in map(HandoffLedger(world.store).get, (701, 702)) if h} == {"done"}
    statuses = [r.status for r in RunHistory(world.store).list("won_to_retention")]
    assert statuses == ["succeeded", "abandoned"]  # the crashed run is marked as such


def test_killed_run_keeps_its_lease_until_it_expires_then_recovery(world: World) -> None:
    world.won(801)
    retention_job.after_lead_created = _crash
    with pytest.raises(SimulatedCrash):
        world.runner().run("won_to_retention", run_id="run-dead")
    retention_job.after_lead_created = None
    # A SIGKILLed process does not release its lease: put it back as the dead run left it.
    assert world.store.locks.try_acquire("job:won_to_retention", "run-dead", ttl=60)
    blocked = world.runner().run("won_to_retention")
    assert (blocked.status, blocked.exit_code) == ("skipped", 0)
    assert "run-dead" in (blocked.error or "")
    world.clock.advance(61)
    recovered = world.runner().run("won_to_retention")
    assert (recovered.status, recovered.changed) == ("succeeded", 1)
    assert [lead.won_reference for lead in world.retention_leads()] == [801]
    assert len(world.amo.tasks) == 1


def test_overlapping_run_is_skipped_while_the_first_holds_the_job(world: World) -> None:
    world.won(901)
    inner: list[str] = []

    def start_second_run(_lead_id: int) -> None:
        inner.append(world.runner().run("won_to_retention").status)

    world.port.on_create = start_second_run
    outer = world.runner().run("won_to_retention")
    assert outer.status == "succeeded"
    assert inner == ["skipped"]
    assert len(world.retention_leads()) == 1


def test_concurrent_hand_offs_of_the_same_deals_create_one_lead_each(world: World) -> None:
    for lead_id in range(1001, 1011):
        world.won(lead_id)
    deals = list(world.port.won_deals([SALES], 0, int(NOW)))
    rule = retention_job.rule_from_settings(
        type("Ctx", (), {"settings": world.settings})()  # type: ignore[arg-type]
    )
    barrier = threading.Barrier(4)
    outcomes: list[Outcome] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        service = RetentionService(world.store, world.port, world.chooser, rule, clock=world.clock, tz=MSK)
        barrier.wait()
        for deal in deals:
            # every run is alive: a claim held by another is respected
            result = service.hand_off(deal, f"run-{n}", is_live=lambda _run: True)
            with lock:
                outcomes.append(result.outcome)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads)
    assert outcomes.count(Outcome.DONE) == 10
    assert sorted(lead.won_reference for lead in world.retention_leads()) == list(range(1001, 1011))
    assert len(world.amo.tasks) == 10


def test_a_live_claim_is_respected_and_a_dead_one_taken_over(world: World) -> None:
    world.won(1101)
    deal = next(iter(world.port.won_deals([SALES], 0, int(NOW))))
    ledger = HandoffLedger(world.store)
    assert ledger.claim(1101, "run-a", mode="copy", closed_at=1, now=NOW, claim_seconds=300,
                        is_live=lambda _r: True) is not None  # fmt: skip
    rule = retention_job.rule_from_settings(type("Ctx", (), {"settings": world.settings})())  # type: ignore[arg-type]
    service = RetentionService(world.store, world.port, world.chooser, rule, clock=world.clock, tz=MSK)
    assert service.hand_off(deal, "run-b", is_live=lambda r: r == "run-a").outcome is Outcome.BUSY
    world.clock.advance(301)  # a claim older than RETENTION_CLAIM_SECONDS is stale even if "alive"
    assert service.hand_off(deal, "run-b", is_live=lambda r: r == "run-a").outcome is Outcome.DONE
    assert service.hand_off(deal, "run-c", is_live=lambda _r: False).outcome is Outcome.ALREADY
    assert len(world.retention_leads()) == 1


def test_requests_per_won_deal(world: World) -> None:
    for lead_id in range(1201, 1221):
        world.won(lead_id)
    world.runner().run("won_to_retention")
    fixed = world.amo.calls["won_deals"] + world.amo.calls["first_stage"] + world.amo.calls["give_client"]
    per_deal = (world.amo.requests - fixed) / 20
    # sticky lookup, reference lookup, create lead, task lookup, create task
    assert per_deal == 5
    assert world.amo.calls["give_client"] == 1  # one client in all 20 deals: given once


def test_won_deals_of_the_retention_pipeline_are_not_new_clients(world: World) -> None:
    world.won(1301)
    world.amo.add_lead(
        FakeLead(1302, "Repeat purchase", RETENTION, 142, 21, closed_at=int(NOW - 60), price=900)
    )

    def handed_off() -> list[int | None]:
        return [lead.won_reference for lead in world.retention_leads() if lead.id != 1302]

    assert world.runner().run("won_to_retention").status == "succeeded"
    assert handed_off() == [1301]
    # Listing the retention pipeline among the sources is refused before anything is read.
    requests = world.amo.requests
    refused = world.runner(RETENTION_SOURCE_PIPELINES=f"{SALES},{RETENTION}").run("won_to_retention")
    assert refused.status == "failed"
    assert "RETENTION_SOURCE_PIPELINES" in (refused.error or "")
    assert world.amo.requests == requests
    assert handed_off() == [1301]


def test_missing_configuration_names_the_variable(db_url: str) -> None:
    store = Store(db_url)
    store.upgrade()
    runner = Runner(store, load_settings({}), Ports(retention=FakeRetentionPort(FakeAmo())),
                    registry=load_builtin_jobs())  # fmt: skip
    result = runner.run("won_to_retention")
    assert result.status == "failed"
    assert "RETENTION_PIPELINE_ID" in (result.error or "")
    store.dispose()


# --- the distributor's L3 pool -----------------------------------------------------------------------


def l3(world: World, *members: int) -> tuple[DistributionService, PoolAccountManagers]:
    pool = Pool("L3", Trigger("pipeline", RETENTION), tuple(Member(m) for m in members))
    service, _, _ = make_service(world.store, [pool], clock=world.clock)
    return service, PoolAccountManagers(service, "L3")


def pooled_runner(world: World, chooser: PoolAccountManagers, **env: str) -> Runner:
    settings = load_settings({**BASE_ENV, **env})
    ports = Ports(retention=world.port, account_managers=chooser)
    return Runner(world.store, settings, ports, registry=load_builtin_jobs(), clock=world.clock)


def choices(world: World) -> list[tuple[str, int | None, int]]:
    """The pool's recorded choices of account managers: (won deal, retention lead, manager)."""
    a = distribution_assignments
    with world.store.read() as conn:
        rows = conn.execute(sa.select(a).where(a.c.entity_type == "won_deal").order_by(a.c.id))
        return [(row.entity_id, row.lead_id, int(row.user_id)) for row in rows]


def test_new_clients_get_their_account_manager_from_the_l3_pool(world: World) -> None:
    _, chooser = l3(world, 21, 22)
    world.port.managers = {8: 31}  # the client of 1304 has an account manager already
    for lead_id in (1301, 1302, 1303):
        world.won(lead_id, contacts=(lead_id,))
    world.won(1304, contacts=(8,))
    result = pooled_runner(world, chooser).run("won_to_retention")
    assert (result.status, result.changed) == ("succeeded", 4)
    by_won = {lead.won_reference: lead for lead in world.retention_leads()}
    assert by_won[1304].responsible_user_id == 31  # sticky wins: the pool is not asked
    managers = [by_won[n].responsible_user_id for n in (1301, 1302, 1303)]
    assert sorted(managers) in ([21, 21, 22], [21, 22, 22])  # the pool's fair rotation
    # Each choice is recorded, tied to its retention lead, and matches the task's responsible.
    assert sorted(choices(world)) == sorted(
        (str(n), by_won[n].id, by_won[n].responsible_user_id) for n in (1301, 1302, 1303)
    )
    for n in (1301, 1302, 1303):
        [task] = [t for t in world.amo.tasks.values() if t.lead_id == by_won[n].id]
        assert task.responsible_user_id == by_won[n].responsible_user_id


def test_a_rerun_after_a_crash_keeps_the_pool_s_choice(world: World) -> None:
    service, chooser = l3(world, 21, 22)
    world.won(1401, contacts=(14,))
    retention_job.after_lead_created = _crash
    with pytest.raises(SimulatedCrash):
        pooled_runner(world, chooser).run("won_to_retention")
    retention_job.after_lead_created = None
    [(won_id, linked, chosen)] = choices(world)
    assert (won_id, linked) == ("1401", None)  # chosen and recorded, the lead not tied yet
    world.clock.advance(60)
    service.pause(chosen)  # even with the chosen manager away now, the recorded choice stands
    recovered = pooled_runner(world, chooser).run("won_to_retention")
    assert (recovered.status, recovered.changed) == ("succeeded", 1)
    [lead] = world.retention_leads()
    assert lead.responsible_user_id == chosen
    assert choices(world) == [("1401", lead.id, chosen)]  # one decision, now tied to the lead


def test_nobody_available_in_the_pool_falls_back_to_the_default(world: World) -> None:
    service, chooser = l3(world, 21, 22)
    service.pause(21)
    service.pause(22)
    world.won(1301, contacts=(13,))
    result = pooled_runner(world, chooser, RETENTION_DEFAULT_MANAGER_ID="55").run("won_to_retention")
    assert (result.status, result.changed) == ("succeeded", 1)
    assert [lead.responsible_user_id for lead in world.retention_leads()] == [55]
    assert choices(world) == []
