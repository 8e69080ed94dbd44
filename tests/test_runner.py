"""The runner, the registry, run history, the scheduler's APScheduler jobs and the CLI commands."""

from __future__ import annotations

import io
import logging
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

import jobs.ports
from amo_bridge.cli.main import cli
from amo_bridge.cli.run import parse_since
from amo_bridge.clock import FakeClock
from amo_bridge.config import load_settings
from amo_bridge.errors import AmoBridgeError, NotBuiltYet
from amo_bridge.logs import setup_logging
from amo_bridge.schedules import Schedule, parse_schedule
from amo_bridge.store import Store
from jobs.context import JobContext
from jobs.history import RunHistory
from jobs.ports import Ports
from jobs.registry import Registry, UnknownJob, load_builtin_jobs
from jobs.runner import Runner
from jobs.scheduler import build_scheduler

EXPECTED_JOBS = ["events_sync", "kpi_sync", "sla_reassign", "triggers", "users_sync", "won_to_retention"]


def make_registry() -> Registry:
    registry = Registry()

    @registry.job("count", schedule="SCHEDULE_USERS_SYNC", description="counts")
    def count(ctx: JobContext) -> None:
        for item in ctx.track(range(5), "items"):
            ctx.saw()
            if item == 3:
                ctx.failed("item 3 is broken")
            else:
                ctx.changed()
        logging.getLogger("test.count").info("counted")

    @registry.job("boom", schedule="SCHEDULE_KPI_SYNC", description="fails")
    def boom(ctx: JobContext) -> None:
        ctx.saw(2)
        raise AmoBridgeError("amoCRM said no")

    @registry.job("fine", schedule="SCHEDULE_EVENTS_SYNC", description="works")
    def fine(ctx: JobContext) -> None:
        ctx.saw()
        ctx.changed()

    @registry.job("later", schedule="SCHEDULE_SLA_REASSIGN", description="not yet")
    def later(ctx: JobContext) -> None:
        raise NotBuiltYet("later is not built yet")

    return registry


@pytest.fixture
def runner(store: Store) -> Runner:
    return Runner(store, load_settings({}), Ports(), registry=make_registry())


# --- schedules ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("every 10m", Schedule("interval", seconds=600)),
        ("every 0.5s", Schedule("interval", seconds=0.5)),
        ("EVERY 2h", Schedule("interval", seconds=7200)),
        ("*/15 8-20 * * mon-fri", Schedule("cron", cron="*/15 8-20 * * mon-fri")),
        ("0  8 * * *", Schedule("cron", cron="0 8 * * *")),
        ("off", Schedule("off")),
    ],
)
def test_schedules_parse(text: str, expected: Schedule) -> None:
    assert parse_schedule(text) == expected


@pytest.mark.parametrize(
    "text", ["61 * * * *", "* * *", "every", "every 0s", "every 10 minutes", "hourly", ""]
)
def test_bad_schedules_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="cron expression"):
        parse_schedule(text)


def test_bad_schedule_stops_start_up_with_exit_2_naming_the_variable(tmp_path: Path) -> None:
    env = {"SCHEDULE_TRIGGERS": "every fortnight", "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}
    for command in (["scheduler"], ["run", "triggers"]):
        result = CliRunner().invoke(cli, command, env=env)
        assert result.exit_code == 2
        assert "SCHEDULE_TRIGGERS='every fortnight'" in result.output


# --- registry and runner ------------------------------------------------------------------------------


def test_builtin_registry_knows_every_job() -> None:
    registry = load_builtin_jobs()
    assert registry.names() == EXPECTED_JOBS
    with pytest.raises(UnknownJob, match="known jobs: events_sync"):
        registry.get("nope")
    settings = load_settings({})
    for spec in registry:
        settings.jobs.schedule_of(spec.schedule_variable)  # each names a real variable


def test_run_history_for_success_partial_and_failure(runner: Runner, store: Store) -> None:
    fine = runner.run("fine")
    assert (fine.status, fine.seen, fine.changed, fine.exit_code) == ("succeeded", 1, 1, 0)
    partial = runner.run("count")
    assert (partial.status, partial.seen, partial.changed, partial.failed) == ("partial", 5, 4, 1)
    assert partial.exit_code == 1
    assert partial.error == "item 3 is broken"
    boom = runner.run("boom")
    assert (boom.status, boom.seen, boom.exit_code) == ("failed", 2, 1)
    assert boom.error == "AmoBridgeError: amoCRM said no"
    later = runner.run("later")
    assert (later.status, later.exit_code) == ("failed", 3)
    assert "not built yet" in (later.error or "")

    records = {r.run_id: r for r in RunHistory(store).list(limit=10)}
    assert set(records) == {fine.run_id, partial.run_id, boom.run_id, later.run_id}
    assert records[boom.run_id].status == "failed"
    assert records[boom.run_id].error == "AmoBridgeError: amoCRM said no"
    assert records[partial.run_id].failed == 1
    for record in records.values():
        assert record.finished_at is not None
        assert record.finished_at >= record.started_at
        assert record.origin == "manual"
    assert [r.job for r in RunHistory(store).list("boom")] == ["boom"]
    assert store.locks.info("job:boom") is None  # the lease is released even on failure


def test_a_run_is_skipped_while_another_holds_the_job(runner: Runner, store: Store) -> None:
    assert store.locks.try_acquire("job:fine", "run-other", ttl=60)
    skipped = runner.run("fine")
    assert (skipped.status, skipped.exit_code) == ("skipped", 0)
    assert "run-other" in (skipped.error or "")
    assert RunHistory(store).get(skipped.run_id) is not None
    # a dry run writes nothing, so it does not need the job's lease
    assert runner.run("fine", dry_run=True).status == "succeeded"


def test_runs_that_died_are_marked_abandoned(db_url: str) -> None:
    clock = FakeClock()
    store = Store(db_url, clock=clock)
    store.upgrade()
    history = RunHistory(store)
    history.start("run-ghost", "fine", "scheduler", False, "elsewhere:1", clock.now())
    result = Runner(store, load_settings({}), Ports(), registry=make_registry(), clock=clock).run("fine")
    ghost = history.get("run-ghost")
    assert ghost is not None
    assert (ghost.status, result.status) == ("abandoned", "succeeded")
    store.dispose()


def test_run_id_is_the_correlation_id_of_the_log_lines(runner: Runner) -> None:
    stream = io.StringIO()
    setup_logging("INFO", "text", stream)
    try:
        result = runner.run("count")
    finally:
        setup_logging("WARNING", "text", io.StringIO())
    lines = [line for line in stream.getvalue().splitlines() if "test.count" in line or "jobs.runner" in line]
    assert lines
    assert all(f"[{result.run_id}]" in line for line in lines)


def test_progress_is_shown_on_a_terminal_stream(store: Store) -> None:
    stream = io.StringIO()
    Runner(store, load_settings({}), Ports(), registry=make_registry(), progress_stream=stream).run("count")
    assert stream.getvalue().rstrip().endswith("count items: 5/5")


# --- the scheduler's APScheduler jobs ---------------------------------------------------------------


def test_apscheduler_jobs_have_ids_coalesce_misfire_and_single_instance() -> None:
    settings = load_settings(
        {
            "SCHEDULE_KPI_SYNC": "off",
            "SCHEDULE_TRIGGERS": "*/5 9-18 * * mon-fri",
            "SCHEDULE_MISFIRE_GRACE_SECONDS": "120",
        }
    )
    scheduler = build_scheduler(load_builtin_jobs(), settings, lambda name: None)
    scheduler.start(paused=True)
    try:
        jobs_ = {job.id: job for job in scheduler.get_jobs()}
        assert sorted(jobs_) == [name for name in EXPECTED_JOBS if name != "kpi_sync"]  # off: not scheduled
        for job_id, job in jobs_.items():
            assert job.name == job_id
            assert job.args == (job_id,)
            assert job.coalesce is True
            assert job.max_instances == 1
            assert job.misfire_grace_time == 120
        assert type(jobs_["triggers"].trigger).__name__ == "CronTrigger"
        assert str(jobs_["triggers"].trigger.timezone) == "Europe/Moscow"
        assert type(jobs_["won_to_retention"].trigger).__name__ == "IntervalTrigger"
        assert jobs_["won_to_retention"].trigger.interval.total_seconds() == 600
        # replace_existing: adding the same ids again replaces, never duplicates
        again = build_scheduler(load_builtin_jobs(), settings, lambda name: None)
        for job in again.get_jobs():
            scheduler.add_job(job.func, trigger=job.trigger, args=job.args, id=job.id, replace_existing=True)
        assert len(scheduler.get_jobs()) == len(jobs_)
    finally:
        scheduler.shutdown(wait=False)


# --- the CLI ----------------------------------------------------------------------------------------


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.chdir(tmp_path)
    return {"DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "LOG_LEVEL": "WARNING"}


def test_run_exit_codes(cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    # Before its adapter exists a job says so and exits 3.
    for name in ("users_sync", "sla_reassign", "events_sync", "kpi_sync"):
        result = CliRunner().invoke(cli, ["run", name], env=cli_env)
        assert result.exit_code == 3, (name, result.output)
        assert "not built yet" in result.output
    # The amoCRM jobs are built; without API settings they fail naming what is missing.
    for name in ("won_to_retention", "triggers"):
        result = CliRunner().invoke(cli, ["run", name], env=cli_env)
        assert result.exit_code == 1, (name, result.output)
        assert "cannot talk to amoCRM" in result.output
        assert "AMO_SUBDOMAIN" in result.output
    unknown = CliRunner().invoke(cli, ["run", "nope"], env=cli_env)
    assert unknown.exit_code == 2
    assert "known: events_sync" in unknown.output
    bad_since = CliRunner().invoke(cli, ["run", "triggers", "--since", "yesterday"], env=cli_env)
    assert bad_since.exit_code == 2

    from tests.jobs_fakes import FakeAmo, FakeTriggerPort
    from tests.test_triggers_job import CATALOG, RULES

    amo = FakeAmo()
    monkeypatch.setattr(
        jobs.ports, "production_ports", lambda *_a, **_k: Ports(triggers=FakeTriggerPort(amo, CATALOG))
    )
    ok = CliRunner().invoke(cli, ["run", "triggers"], env={**cli_env, "TRIGGER_RULES": RULES})
    assert ok.exit_code == 0, ok.output
    assert "triggers [run-" in ok.output
    assert "succeeded" in ok.output
    broken = CliRunner().invoke(
        cli, ["run", "triggers"], env={**cli_env, "TRIGGER_RULES": "[[rule]]\nname=1"}
    )
    assert broken.exit_code == 1
    assert "partial" in broken.output

    history = CliRunner().invoke(cli, ["jobs", "history", "--job", "triggers", "--limit", "2"], env=cli_env)
    assert history.exit_code == 0
    rows = [line for line in history.output.splitlines() if " triggers " in line]
    assert [row.split()[3] for row in rows] == ["partial", "succeeded"]
    listed = CliRunner().invoke(cli, ["jobs", "list"], env=cli_env)
    assert "won_to_retention   every 10m" in listed.output
    assert CliRunner().invoke(cli, ["scheduler", "--list"], env=cli_env).output == listed.output


def test_since_accepts_dates_and_durations() -> None:
    from zoneinfo import ZoneInfo

    tz = ZoneInfo("Europe/Moscow")
    assert parse_since("3d", tz, 1_000_000.0) == 1_000_000.0 - 3 * 86400
    from datetime import UTC, datetime

    assert parse_since("2026-11-01", tz, 0) == datetime(2026, 10, 31, 21, 0, tzinfo=UTC).timestamp()
    assert parse_since("2026-11-01T00:00+00:00", tz, 0) == datetime(2026, 11, 1, tzinfo=UTC).timestamp()


def test_check_config_reports_bad_trigger_rules(cli_env: dict[str, str]) -> None:
    from tests.test_triggers_job import RULES

    good = CliRunner().invoke(
        cli, ["check-config", "--require", "triggers"], env={**cli_env, "TRIGGER_RULES": RULES}
    )
    assert good.exit_code == 0, good.output
    assert "triggers: ready" in good.output
    bad_rules = RULES + '\n[[rule]]\nname = "x"\npipeline = 1\nwhen = "field:1 >> 2"\ntask = "t"\n'
    bad = CliRunner().invoke(
        cli, ["check-config", "--require", "triggers"], env={**cli_env, "TRIGGER_RULES": bad_rules}
    )
    assert bad.exit_code == 2
    assert "trigger rule x (TRIGGER_RULES, line 13): cannot read condition" in bad.output
    # without --require the rule is reported but check-config passes: the job skips that rule
    assert (
        CliRunner().invoke(cli, ["check-config"], env={**cli_env, "TRIGGER_RULES": bad_rules}).exit_code == 0
    )


def _steal(store: Store, name: str) -> None:
    import sqlalchemy as sa

    from amo_bridge.store.schema import locks

    with store.begin() as conn:
        conn.execute(
            sa.update(locks).where(locks.c.name == name).values(owner="thief", expires_at=time.time() + 3600)
        )


def _wait(condition: object, what: str, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_run_that_loses_its_lease_stops_before_the_next_item(store: Store) -> None:
    registry = Registry()
    done: list[int] = []

    @registry.job("long", schedule="SCHEDULE_USERS_SYNC", description="x", lease_seconds=0.3)
    def long(ctx: JobContext) -> None:
        for item in ctx.track(range(3), "items"):
            done.append(item)
            if item == 0:
                _steal(ctx.store, "job:long")
                _wait(lambda: ctx.is_live("thief"), "the theft")
                time.sleep(0.35)  # the keep-alive thread notices within a third of the lease

    result = Runner(store, load_settings({}), Ports(), registry=registry).run("long")
    assert result.status == "failed"
    assert "LeaseLost" in (result.error or "")
    assert done == [0]
    holder = store.locks.info("job:long")
    assert holder is not None
    assert holder.owner == "thief"  # a lost lease is not released by the loser


def test_scheduler_steps_down_when_it_loses_leadership_and_leads_again(store: Store) -> None:
    import threading

    from jobs.scheduler import LEADER_LOCK, SchedulerService

    registry = Registry()

    @registry.job("tick", schedule="SCHEDULE_USERS_SYNC", description="x")
    def tick(ctx: JobContext) -> None:
        pass

    calls: list[float] = []
    settings = load_settings({"SCHEDULE_USERS_SYNC": "every 0.1s"})
    service = SchedulerService(
        store, settings, registry, lambda name: calls.append(time.monotonic()), lease_seconds=0.6, owner="me"
    )
    stop = threading.Event()
    thread = threading.Thread(target=service.run_forever, args=(stop,))
    thread.start()
    try:
        _wait(lambda: len(calls) >= 2, "the leader to run jobs")
        _steal(store, LEADER_LOCK)
        _wait(lambda: not service.leading.is_set(), "the leader to step down")
        stepped_down = len(calls)
        time.sleep(0.4)
        assert len(calls) == stepped_down  # no jobs while not leading
        assert service.terms == 1
        store.locks.release(LEADER_LOCK, "thief")
        _wait(lambda: service.terms == 2 and len(calls) > stepped_down, "leadership regained")
    finally:
        stop.set()
        thread.join(20)
    assert not thread.is_alive()
    assert store.locks.info(LEADER_LOCK) is None


def test_a_new_leader_catches_up_on_a_run_that_fell_due_without_a_leader() -> None:
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from jobs.scheduler import first_run_time, make_trigger

    tz = ZoneInfo("Europe/Moscow")
    daily = Schedule("cron", cron="0 8 * * *")
    trigger = make_trigger(daily, tz)
    eight = datetime(2026, 3, 4, 8, 0, tzinfo=tz)
    after = eight + timedelta(seconds=20)
    assert first_run_time(daily, trigger, after, 300, None) == after
    assert first_run_time(daily, trigger, after, 300, (eight - timedelta(days=1)).timestamp()) == after
    assert first_run_time(daily, trigger, after, 300, eight.timestamp() + 1) is None  # it did run
    assert first_run_time(daily, trigger, eight + timedelta(minutes=10), 300, None) is None  # too late
    assert first_run_time(daily, trigger, eight - timedelta(minutes=1), 300, None) is None  # not yet due

    every10 = Schedule("interval", seconds=600)
    interval = make_trigger(every10, tz)
    assert first_run_time(every10, interval, eight, 300, None) == eight
    assert first_run_time(every10, interval, eight, 300, eight.timestamp() - 300) is None
    assert first_run_time(every10, interval, eight, 300, eight.timestamp() - 601) == eight

    settings = load_settings({"SCHEDULE_TRIGGERS": "0 8 * * *"})
    started = {"triggers": None, "won_to_retention": after.timestamp() - 60}
    scheduler = build_scheduler(
        load_builtin_jobs(), settings, lambda name: None, last_started=started.get, now=after
    )
    scheduler.start(paused=True)
    try:
        jobs_ = {job.id: job for job in scheduler.get_jobs()}
        assert jobs_["triggers"].next_run_time == after  # caught up at once
        assert jobs_["won_to_retention"].next_run_time > after  # ran a minute ago: waits its turn
    finally:
        scheduler.shutdown(wait=False)
