"""Both jobs end to end over HTTP against the sandbox: a simulated week, faults, a 403 block, the CLI."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import datetime
from typing import Any

import pytest
from click.testing import CliRunner

import jobs.retention as retention_job
from amo_bridge.api import state as api_state
from amo_bridge.cli.main import cli
from amo_bridge.sandbox import seed as S
from amo_bridge.triggers.ledger import EpisodeLedger
from jobs.history import RunHistory
from jobs.ports import process_ports
from jobs.registry import load_builtin_jobs
from jobs.runner import Runner
from tests.jobs_sandbox import (
    FIRST_CALL,
    MSK,
    Harness,
    account_manager_choices,
    expected_episodes,
    missed_sessions_now,
    play_with_jobs,
    retention_leads,
    sandbox_jobs,
    tasks_of,
    trigger_tasks,
    won_deals,
)


class Crash(BaseException):
    """The process dies."""


def contacts_of(h: Harness, lead: dict[str, Any]) -> set[int]:
    return {c["id"] for c in lead.get("contacts") or []}


def assert_one_retention_lead_each(h: Harness) -> None:
    won = won_deals(h)
    made = retention_leads(h)
    assert won, "the scenario won no deals"
    assert set(made) == set(won)
    managers = set(S.users_of(h.server.state, S.GROUP_ACCOUNT_MANAGERS))
    for won_id, leads in made.items():
        assert len(leads) == 1, (won_id, [x["id"] for x in leads])
        lead = leads[0]
        assert lead["pipeline_id"] == S.PIPELINE_RETENTION
        # The won deal's contacts (the scenario may merge a later duplicate enquiry in: more, not fewer).
        assert contacts_of(h, lead) >= contacts_of(h, won[won_id]) != set()
        assert lead["responsible_user_id"] in managers
        calls = tasks_of(h, lead["id"], FIRST_CALL)
        assert len(calls) == 1, (won_id, calls)
        assert calls[0]["responsible_user_id"] == lead["responsible_user_id"]
    # A new client's account manager is the L3 pool's recorded choice, tied to the retention lead;
    # a client with an account manager keeps them (sticky) and the pool is not asked.
    chosen = account_manager_choices(h)
    assert chosen, "the L3 pool chose no account manager"
    for won_id, (manager, lead_id, _reason) in chosen.items():
        [lead] = made[won_id]
        assert (lead["responsible_user_id"], lead["id"]) == (manager, lead_id)
    rotated = Counter(manager for manager, _, reason in chosen.values() if reason == "rotation")
    counts = [rotated[manager] for manager in managers]
    assert max(counts) - min(counts) <= 1  # fair: within one client of each other


def test_a_week_on_the_sandbox(db_url: str) -> None:
    with sandbox_jobs(db_url) as h:
        initial = missed_sessions_now(h)
        play_with_jobs(h, 7, leads_per_day=12)
        assert {r.status for r in h.results} == {"succeeded"}, [r.summary() for r in h.results]
        assert_one_retention_lead_each(h)
        # The client is the account manager's now: their calls and messages reach the manager.
        won = won_deals(h)
        for won_id, [lead] in retention_leads(h).items():
            owners = {h.server.state.contacts[c]["responsible_user_id"] for c in contacts_of(h, won[won_id])}
            assert owners == {lead["responsible_user_id"]}, won_id
        # Repeat purchases are won deals of the retention pipeline itself: not new clients.
        clients = h.server.admin.ground_truth()["clients"].values()
        repeat_deals = {p["lead_id"] for c in clients for p in c["repeat_purchases"]}
        assert repeat_deals
        assert not repeat_deals & set(retention_leads(h))

        # Trigger tasks match the episodes computed from the ground truth alone.
        episodes = expected_episodes(h, initial)
        assert episodes > 0
        assert trigger_tasks(h) == episodes
        assert EpisodeLedger(h.store).episode_count("missed_sessions") == episodes

        # Re-running over the whole window and overlapping runs create nothing more.
        leads_before, tasks_before = len(h.server.state.leads), len(h.server.state.tasks)
        window = h.settings.jobs.retention_lookback_days * 86400
        again = h.run("won_to_retention", since=h.started_at - window)
        assert again.status == "succeeded"
        assert again.changed == 0
        other = Runner(
            h.store,
            h.settings,
            process_ports(h.settings, h.store, h.services),
            clock=h.clock,
            registry=load_builtin_jobs(),
        )
        outcomes: list[str] = []
        threads = [
            threading.Thread(target=lambda r=r: outcomes.append(r.run("won_to_retention").status))
            for r in (h.runner, other)
        ] + [threading.Thread(target=lambda: outcomes.append(h.runner.run("triggers").status))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert len(outcomes) == 3
        assert set(outcomes) <= {"succeeded", "skipped"}
        assert (len(h.server.state.leads), len(h.server.state.tasks)) == (leads_before, tasks_before)


def test_a_crash_after_the_lead_is_created_leaves_one_lead(db_url: str) -> None:
    with sandbox_jobs(db_url) as h:
        crashes: list[int] = []

        def crash_once(won_id: int, _lead_id: int) -> None:
            if not crashes:
                crashes.append(won_id)
                raise Crash

        retention_job.after_lead_created = crash_once
        try:
            with pytest.raises(Crash):
                play_with_jobs(h, 3, leads_per_day=12)
            retention_job.after_lead_created = None
            play_with_jobs(h, 2, leads_per_day=12, seed=8)
        finally:
            retention_job.after_lead_created = None
        assert crashes
        assert_one_retention_lead_each(h)
        statuses = {r.status for r in RunHistory(h.store).list("won_to_retention", limit=1000)}
        assert "abandoned" in statuses


def test_rate_limits_and_server_errors_are_survived(db_url: str) -> None:
    with sandbox_jobs(db_url) as h:
        h.server.admin.set_faults(error_rate=0.08, force_429=5)
        play_with_jobs(h, 3, leads_per_day=12)
        statuses = [r["status"] for r in h.api_requests()]
        assert 429 in statuses
        assert any(s is not None and s >= 500 for s in statuses)
        h.server.admin.set_faults(error_rate=0.0)
        h.run("won_to_retention")
        assert_one_retention_lead_each(h)
        # No episode made two tasks, faults or not.
        assert trigger_tasks(h) == EpisodeLedger(h.store).episode_count("missed_sessions")


def test_a_403_block_stops_the_job_and_history_says_so(db_url: str) -> None:
    with sandbox_jobs(db_url, env={"AMO_BLOCK_COOLDOWN": str(30 * 86400)}) as h:
        blocked: list[int] = []

        def block_midway(won_id: int, _lead_id: int) -> None:
            if not blocked:
                blocked.append(won_id)
                h.server.admin.block()

        retention_job.after_lead_created = block_midway
        try:
            play_with_jobs(h, 1, leads_per_day=25)
        finally:
            retention_job.after_lead_created = None
        assert blocked
        failed = [r for r in h.results if r.status == "failed"]
        assert failed
        assert failed[0].job == "won_to_retention"
        assert "blocked" in (failed[0].error or "")
        assert failed[0].failed == 0  # stopped, not counted deal by deal
        # While the block is recorded, runs of either job stop at once without calling amoCRM.
        before = len(h.api_requests())
        assert h.run("won_to_retention").status == "failed"
        assert h.run("triggers").status == "failed"
        assert len(h.api_requests()) == before
        rows = RunHistory(h.store).list("won_to_retention", limit=1000)
        assert rows[0].status == "failed"
        assert "blocked" in (rows[0].error or "")

        h.server.admin.lift_block()
        api_state.clear_block(h.store)
        assert h.run("won_to_retention").status == "succeeded"
        assert_one_retention_lead_each(h)


def test_run_commands_against_the_sandbox(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    # The commands run on the real clock: the sandbox's limit is lifted (its clock stands still).
    with sandbox_jobs(db, rate_limit=1_000_000) as h:
        play_with_jobs(h, 1, leads_per_day=15)
        env = {
            "AMO_RATE_LIMIT": "50",
            "DATABASE_URL": db,
            "LOG_LEVEL": "WARNING",
            "AMO_BASE_URL": h.server.url,
            "AMO_LONG_LIVED_TOKEN": str(h.server.token),
            "AMO_TIMEZONE": "Europe/Moscow",
            "RETENTION_PIPELINE_ID": str(S.PIPELINE_RETENTION),
            "RETENTION_SOURCE_PIPELINES": str(S.PIPELINE_MAIN),
            "RETENTION_DEFAULT_MANAGER_ID": str(h.manager_id),
            "TRIGGER_RULES": h.settings.jobs.trigger_rules,
        }
        window_start = h.started_at - h.settings.jobs.retention_lookback_days * 86400 + 60
        since = ["--since", datetime.fromtimestamp(window_start, MSK).strftime("%Y-%m-%dT%H:%M")]
        dry = CliRunner().invoke(cli, ["run", "won_to_retention", "--dry-run", *since], env=env)
        assert dry.exit_code == 0, dry.output
        ran = CliRunner().invoke(cli, ["run", "won_to_retention", *since], env=env)
        assert ran.exit_code == 0, ran.output
        assert "succeeded" in ran.output
        assert "changed 0" in ran.output  # every deal was handed off already
        triggers = CliRunner().invoke(cli, ["run", "triggers"], env=env)
        assert triggers.exit_code == 0, triggers.output
        assert_one_retention_lead_each(h)

        h.server.admin.block()
        refused = CliRunner().invoke(cli, ["run", "won_to_retention"], env=env)
        assert refused.exit_code == 1
        assert "blocked" in refused.output
        history = CliRunner().invoke(cli, ["jobs", "history", "--job", "won_to_retention"], env=env)
        assert history.exit_code == 0, history.output
        latest = next(line for line in history.output.splitlines() if " won_to_retention " in line)
        assert " failed " in latest
        assert "blocked" in history.output
