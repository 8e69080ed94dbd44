"""A simulated stretch of days of both jobs on an injected clock, with crashes (tests and bench).

Deals are won at random times; won_to_retention runs every two hours and now and then "dies" right
after creating a retention lead (the run's end is never recorded); the trigger job runs every
morning while gym members miss and attend sessions. The distributor chooses (a real
``DistributionService`` on the same store): the L3 pool the account managers, the "trainers" pool the
trigger tasks' responsible.
"""

from __future__ import annotations

import contextlib
import random
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import jobs.retention as retention_job
from amo_bridge.clock import FakeClock
from amo_bridge.config import load_settings
from amo_bridge.distribution.choosers import PoolAccountManagers, PoolTaskChooser
from amo_bridge.distribution.model import Member, Pool, Trigger
from amo_bridge.store import Store
from amo_bridge.store.schema import distribution_assignments
from amo_bridge.triggers.evaluate import LeadFacts
from amo_bridge.triggers.ledger import EpisodeLedger
from jobs.history import RunHistory
from jobs.ports import Ports
from jobs.registry import load_builtin_jobs
from jobs.runner import Runner
from tests.distribution_helpers import make_service
from tests.jobs_fakes import FakeAmo, FakeLead, FakeRetentionPort, FakeTriggerPort
from tests.test_triggers_job import CATALOG, GYM, RULES, SESSIONS

MSK = ZoneInfo("Europe/Moscow")
START = datetime(2026, 2, 2, 0, 0, tzinfo=MSK).timestamp()
HOUR = 3600
SALES, RETENTION = 3001, 3003
ACCOUNT_MANAGERS, TRAINERS = (21, 22, 23), (41, 42)


class Crash(BaseException):
    """The process dies."""


@dataclass(frozen=True)
class Figures:
    days: int
    won_deals: int
    retention_leads: int
    distinct_references: int
    first_call_tasks: int
    crashes: int
    abandoned_runs: int
    run_statuses: frozenset[str]
    trigger_episodes: int
    trigger_tasks: int
    retention_calls: int
    listing_calls: int
    manager_choices: int  # the L3 pool's recorded choices (one per won deal, even across crashes)
    linked_choices: int  # of those, tied to their retention lead
    managers: dict[int, int]  # account manager -> new clients
    trainer_choices: int  # the trainers' pool's choices of trigger tasks' responsible

    @property
    def calls_per_won_deal(self) -> float:
        return self.retention_calls / self.won_deals if self.won_deals else 0.0

    @property
    def item_calls_per_won_deal(self) -> float:
        return (self.retention_calls - self.listing_calls) / self.won_deals if self.won_deals else 0.0

    def report(self) -> str:
        return (
            f"{self.days} days: {self.won_deals} won deals -> {self.retention_leads} retention leads"
            f" ({self.crashes} crashes injected, {self.abandoned_runs} runs abandoned);"
            f" {self.trigger_episodes} trigger episodes -> {self.trigger_tasks} tasks;"
            f" {self.calls_per_won_deal:.2f} amoCRM calls per won deal"
            f" ({self.item_calls_per_won_deal:.2f} per deal + listings);"
            f" L3 pool: {self.manager_choices} choices ({self.linked_choices} tied to their lead),"
            f" clients per account manager {dict(sorted(self.managers.items()))};"
            f" trainers' pool: {self.trainer_choices} choices"
        )


def simulate(
    db_url: str, days: int, *, seed: int = 20261123, members: int = 20, crash_rate: float = 0.05
) -> Figures:
    rng = random.Random(seed)
    clock = FakeClock(START)
    store = Store(db_url, clock=clock)
    store.upgrade()
    amo = FakeAmo(clock.now)
    amo.pipelines[RETENTION] = [40]
    retention_port = FakeRetentionPort(amo)
    trigger_port = FakeTriggerPort(amo, CATALOG)
    settings = load_settings(
        {
            "RETENTION_PIPELINE_ID": str(RETENTION),
            "RETENTION_SOURCE_PIPELINES": str(SALES),
            "RETENTION_REFERENCE_FIELD_ID": "900",
            "TRIGGER_RULES": RULES,
        }
    )
    pools = [
        Pool("L3", Trigger("pipeline", RETENTION), tuple(map(Member, ACCOUNT_MANAGERS))),
        Pool("trainers", Trigger("pipeline", GYM), tuple(map(Member, TRAINERS))),
    ]
    distributor, _, _ = make_service(store, pools, clock=clock)
    account_managers = PoolAccountManagers(distributor, "L3")
    ports = Ports(retention_port, account_managers, trigger_port, PoolTaskChooser(distributor))
    runner = Runner(store, settings, ports, registry=load_builtin_jobs(), clock=clock)

    crashes = 0

    def maybe_crash(_won: int, _lead: int) -> None:
        nonlocal crashes
        if rng.random() < crash_rate:
            crashes += 1
            raise Crash

    gym = list(range(500, 500 + members))
    missed = dict.fromkeys(gym, 0)
    for lead_id in gym:
        trigger_port.set(LeadFacts(lead_id, f"Member {lead_id}", GYM, 101, 11, fields={SESSIONS: 0}))
    won = 0
    retention_calls = 0
    listing_calls = 0

    def run_retention() -> None:
        nonlocal retention_calls, listing_calls
        before, listings = amo.requests, amo.calls["won_deals"] + amo.calls["first_stage"]
        with contextlib.suppress(Crash):  # the process died; the next scheduled run recovers
            runner.run("won_to_retention", origin="scheduler")
        retention_calls += amo.requests - before
        listing_calls += amo.calls["won_deals"] + amo.calls["first_stage"] - listings

    retention_job.after_lead_created = maybe_crash
    try:
        for hour in range(days * 24):
            for _ in range(rng.choice([0, 0, 0, 1])):  # deals won during this hour
                won += 1
                closed_at = int(clock.now() + rng.uniform(0, HOUR - 1))
                amo.add_lead(FakeLead(10_000 + won, f"Deal {won}", SALES, 142, 11, closed_at=closed_at))
            clock.advance(HOUR)
            if hour % 2 == 1:
                run_retention()
            if hour % 24 == 8:
                for lead_id in gym:  # a day at the gym: some come back, some miss again
                    missed[lead_id] = 0 if rng.random() < 0.3 else missed[lead_id] + rng.choice([0, 1])
                    trigger_port.update(lead_id, fields={SESSIONS: missed[lead_id]})
                result = runner.run("triggers", origin="scheduler")
                assert result.status == "succeeded", result.error
        retention_job.after_lead_created = None
        clock.advance(2 * HOUR)
        run_retention()  # the deals of the last hours
    finally:
        retention_job.after_lead_created = None

    leads = retention_port.retention_leads(RETENTION)
    lead_ids = {lead.id for lead in leads}
    history = RunHistory(store).list("won_to_retention", limit=100_000)
    with store.read() as conn:
        choices = list(conn.execute(distribution_assignments.select()))
    chosen = [row for row in choices if row.entity_type == "won_deal"]
    figures = Figures(
        days=days,
        won_deals=won,
        retention_leads=len(leads),
        distinct_references=len({lead.won_reference for lead in leads}),
        first_call_tasks=sum(1 for task in amo.tasks.values() if task.lead_id in lead_ids),
        crashes=crashes,
        abandoned_runs=sum(r.status == "abandoned" for r in history),
        run_statuses=frozenset(r.status for r in history),
        trigger_episodes=EpisodeLedger(store).episode_count("missed_sessions"),
        trigger_tasks=sum(len(trigger_port.tasks_for(lead_id)) for lead_id in gym),
        retention_calls=retention_calls,
        listing_calls=listing_calls,
        manager_choices=len(chosen),
        linked_choices=sum(1 for row in chosen if row.lead_id in lead_ids),
        managers=dict(Counter(int(row.user_id) for row in chosen)),
        trainer_choices=sum(1 for row in choices if row.pool == "trainers"),
    )
    store.dispose()
    return figures
