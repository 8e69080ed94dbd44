"""The trigger job over days of an injected clock: one task per episode, crashes and bad rules."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from amo_bridge.clock import FakeClock
from amo_bridge.config import load_settings
from amo_bridge.distribution.choosers import PoolTaskChooser
from amo_bridge.store import Store
from amo_bridge.store.schema import distribution_assignments
from amo_bridge.triggers.evaluate import LeadFacts
from amo_bridge.triggers.ledger import EpisodeLedger
from amo_bridge.triggers.port import TriggerTask
from amo_bridge.triggers.rules import Catalog
from jobs.history import RunHistory
from jobs.ports import Ports
from jobs.registry import load_builtin_jobs
from jobs.runner import Runner, RunResult
from tests.jobs_fakes import FakeAmo, FakeTriggerPort, FixedChooser

MSK = ZoneInfo("Europe/Moscow")
START = datetime(2026, 3, 2, 8, 0, tzinfo=MSK).timestamp()  # Monday 08:00
DAY = 86400
GYM, SESSIONS = 7001, 512

RULES = f"""
[[rule]]
name = "missed_sessions"
pipeline = {GYM}
stages = [101, 102]
when = "field:{SESSIONS} >= 3"
task = "{{lead.name}}: пропущено занятий {{field:{SESSIONS}}}, консультация тренера"
task_type = 2
deadline = "+1d 10:00"
responsible = "pool:trainers"
tag = "пропуски"
note = "Правило {{rule}}"
"""

CATALOG = Catalog(
    pipelines={GYM: frozenset({101, 102, 103})},
    field_ids=frozenset({SESSIONS}),
    pools=frozenset({"trainers"}),
)


class SimulatedCrash(BaseException):
    pass


@dataclass
class Gym:
    clock: FakeClock
    store: Store
    amo: FakeAmo
    port: FakeTriggerPort
    pools: FixedChooser | PoolTaskChooser

    def run(self, rules: str = RULES, **kwargs: object) -> RunResult:
        settings = load_settings({"TRIGGER_RULES": rules})
        ports = Ports(triggers=self.port, pools=self.pools)
        runner = Runner(self.store, settings, ports, registry=load_builtin_jobs(), clock=self.clock)
        return runner.run("triggers", **kwargs)  # type: ignore[arg-type]

    def client(self, lead_id: int, missed: int, stage: int = 101) -> None:
        self.port.set(
            LeadFacts(
                lead_id=lead_id,
                name=f"Клиент {lead_id}",
                pipeline_id=GYM,
                status_id=stage,
                responsible_user_id=11,
                fields={SESSIONS: missed},
            )
        )

    def tasks(self, lead_id: int) -> list[str]:
        return [task.text for task in self.port.tasks_for(lead_id)]


@pytest.fixture
def gym(db_url: str) -> Iterator[Gym]:
    clock = FakeClock(START)
    store = Store(db_url, clock=clock)
    store.upgrade()
    amo = FakeAmo(clock.now)
    yield Gym(clock, store, amo, FakeTriggerPort(amo, CATALOG), FixedChooser(41))
    store.dispose()


def test_one_task_per_episode_over_a_sequence_of_days(gym: Gym) -> None:
    gym.client(1, missed=1)
    days = [
        (1, 0),  # day 0: fine
        (3, 1),  # day 1: missed 3 -> true: one task
        (4, 0),  # day 2: stays true, task open -> nothing
        (5, 0),  # day 3: still true -> nothing
        (0, 0),  # day 4: came back, counter reset -> clears, re-armed
        (1, 0),  # day 5: false
        (3, 1),  # day 6: true again -> second task
        (3, 0),  # day 7: stays true
    ]
    for day, (missed, new_tasks) in enumerate(days):
        before = len(gym.tasks(1))
        gym.port.update(1, fields={SESSIONS: missed})
        result = gym.run()
        assert result.status == "succeeded", result.error
        assert len(gym.tasks(1)) - before == new_tasks, f"day {day}"
        assert result.changed == new_tasks
        gym.clock.advance(DAY)
    assert gym.tasks(1) == ["Клиент 1: пропущено занятий 3, консультация тренера"] * 2
    assert EpisodeLedger(gym.store).episode_count("missed_sessions") == 2
    task = gym.port.tasks_for(1)[0]
    assert task.responsible_user_id == 41  # from the trainers' pool
    assert task.task_type_id == 2
    due = datetime.fromtimestamp(task.complete_till, MSK)
    assert (due.date().isoformat(), due.hour) == ("2026-03-04", 10)  # day 1 (Tue) + 1 day, at 10:00
    assert gym.amo.leads[1].tags == {"пропуски"}
    assert gym.amo.notes == [(1, "Правило missed_sessions")] * 2


def test_completed_task_with_condition_still_true_waits_for_the_cooldown(gym: Gym) -> None:
    rules = RULES + 'cooldown = "7d"\n'
    gym.client(2, missed=3)
    assert gym.run(rules).changed == 1
    gym.port.tasks_for(2)[0].is_completed = True
    for _ in range(6):
        gym.clock.advance(DAY)
        assert gym.run(rules).changed == 0  # done, still true, but within the cooldown
    gym.clock.advance(DAY)
    assert gym.run(rules).changed == 1  # a week after the first task: a new episode
    assert len(gym.tasks(2)) == 2


def test_lead_leaving_the_scope_ends_its_episode(gym: Gym) -> None:
    gym.client(3, missed=5)
    assert gym.run().changed == 1
    gym.port.update(3, status_id=103)  # out of stages [101, 102]
    gym.run()
    gym.port.update(3, status_id=101)
    assert gym.run().changed == 1  # back in scope, still true: a new episode


def test_crash_after_the_task_is_created_never_doubles_it(gym: Gym) -> None:
    gym.client(4, missed=3)

    def crash(_task_id: int) -> None:
        raise SimulatedCrash

    gym.port.after_create_task = crash
    with pytest.raises(SimulatedCrash):
        gym.run()
    gym.port.after_create_task = None
    assert len(gym.tasks(4)) == 1
    row = EpisodeLedger(gym.store).get("missed_sessions", 4)
    assert row is not None
    assert row.episode.state == "pending"
    gym.clock.advance(3600)
    recovered = gym.run()
    assert recovered.status == "succeeded"
    assert len(gym.tasks(4)) == 1  # found by its text, not created again
    row = EpisodeLedger(gym.store).get("missed_sessions", 4)
    assert row is not None
    assert (row.episode.state, row.episode.task_id) == ("active", gym.port.tasks_for(4)[0].id)
    assert gym.amo.leads[4].tags == {"пропуски"}
    gym.clock.advance(DAY)
    assert gym.run().changed == 0


def test_a_broken_rule_is_skipped_and_the_others_run(gym: Gym) -> None:
    broken = RULES + '\n[[rule]]\nname = "typo"\npipeline = 7001\nwhen = "missed >= 3"\ntask = "x"\n'
    broken += '\n[[rule]]\nname = "ghost_field"\npipeline = 7001\nwhen = "field:999 > 1"\ntask = "x"\n'
    gym.client(5, missed=3)
    result = gym.run(broken)
    assert (result.status, result.changed, result.failed, result.exit_code) == ("partial", 1, 2, 1)
    assert "unknown metric 'missed'" in (result.error or "")
    assert "custom field(s) [999] do not exist" in (result.error or "")
    assert len(gym.tasks(5)) == 1


def test_dry_run_plans_tasks_and_writes_nothing(gym: Gym) -> None:
    gym.client(6, missed=4)
    result = gym.run(dry_run=True)
    assert result.planned == (
        "rule missed_sessions: task on lead #6: 'Клиент 6: пропущено занятий 4, консультация тренера'",
    )
    assert gym.tasks(6) == []
    assert gym.amo.calls["create_task"] == gym.amo.calls["add_tag"] == gym.amo.calls["add_note"] == 0
    assert EpisodeLedger(gym.store).get("missed_sessions", 6) is None
    assert gym.pools.calls == 0
    assert RunHistory(gym.store).list("triggers")[0].dry_run


def test_empty_pool_fails_that_lead_only(gym: Gym) -> None:
    gym.pools.user_id = None
    gym.client(7, missed=3)
    result = gym.run()
    assert (result.status, result.failed) == ("partial", 1)
    assert "pool 'trainers' offered nobody" in (result.error or "")
    assert EpisodeLedger(gym.store).get("missed_sessions", 7) is None  # nothing half-done
    gym.pools.user_id = 42
    assert gym.run().changed == 1


def test_overlapping_runs_fire_an_episode_once(gym: Gym) -> None:
    for lead_id in range(10, 15):
        gym.client(lead_id, missed=3)
    inner: list[RunResult] = []

    def second_run(_task_id: int) -> None:
        if not inner:
            inner.append(gym.run())  # starts while the first run holds the job

    gym.port.after_create_task = second_run
    first = gym.run()
    assert inner[0].status == "skipped"
    assert first.changed == 5
    assert all(len(gym.tasks(lead_id)) == 1 for lead_id in range(10, 15))


def test_concurrent_engines_fire_each_episode_once(gym: Gym) -> None:
    import threading

    from amo_bridge.triggers.engine import TriggerEngine
    from amo_bridge.triggers.parse import parse_rules

    for lead_id in range(20, 40):
        gym.client(lead_id, missed=3)
    (rule,) = parse_rules(RULES).rules
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def engine_run(n: int) -> None:
        engine = TriggerEngine(gym.store, gym.port, gym.pools, clock=gym.clock, tz=MSK, hours=None)
        barrier.wait()
        try:
            # every run is alive: an episode another run is firing is left to it
            engine.run_rule(rule, f"run-{n}", is_live=lambda _run: True)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=engine_run, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert [len(gym.tasks(lead_id)) for lead_id in range(20, 40)] == [1] * 20
    assert EpisodeLedger(gym.store).episode_count("missed_sessions") == 20


def test_the_pool_key_names_the_rule_s_episode(gym: Gym) -> None:
    gym.client(50, missed=3)
    gym.run()
    gym.port.update(50, fields={SESSIONS: 0})
    gym.clock.advance(DAY)
    gym.run()  # cleared
    gym.port.update(50, fields={SESSIONS: 4})
    gym.clock.advance(DAY)
    gym.run()
    assert gym.pools.keys == ["missed_sessions:50:1", "missed_sessions:50:2"]


def test_a_rule_naming_a_distributor_pool_gets_its_members_fairly_once_per_episode(gym: Gym) -> None:
    from amo_bridge.api.errors import ServerError
    from amo_bridge.distribution.model import Member, Pool, Trigger
    from tests.distribution_helpers import make_service

    trainers = Pool("trainers", Trigger("pipeline", GYM), (Member(41), Member(42)))
    service, _, _ = make_service(gym.store, [trainers], clock=gym.clock)
    gym.pools = PoolTaskChooser(service)
    for lead_id in (60, 61):
        gym.client(lead_id, missed=3)
    create = gym.port.create_task
    failures = iter([ServerError("503 from amoCRM")])

    def flaky_create(task: TriggerTask) -> int:
        if task.lead_id == 61 and (error := next(failures, None)) is not None:
            raise error
        return create(task)

    gym.port.create_task = flaky_create  # type: ignore[method-assign]
    first = gym.run()
    assert (first.changed, first.failed) == (1, 1)  # lead 61's episode is left pending
    gym.clock.advance(3600)
    assert gym.run().changed == 1  # resumed: the pool's choice for that episode is reused
    responsible = {lead_id: gym.port.tasks_for(lead_id)[0].responsible_user_id for lead_id in (60, 61)}
    assert sorted(responsible.values()) == [41, 42]
    with gym.store.read() as conn:
        a = distribution_assignments
        rows = list(
            conn.execute(sa.select(a.c.entity_id, a.c.lead_id, a.c.user_id, a.c.state).order_by(a.c.id))
        )
    assert sorted((r.entity_id, r.lead_id, r.user_id, r.state) for r in rows) == [
        (f"missed_sessions:{lead_id}:1", lead_id, responsible[lead_id], "closed") for lead_id in (60, 61)
    ]
