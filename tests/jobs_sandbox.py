"""Both jobs over real HTTP against the in-process sandbox, while its scenario plays (tests and bench).

The scenario (free-for-all: the sandbox's people qualify, win and lose deals themselves) runs on a
``FakeClock`` shared by the sandbox, the API client and the jobs; ``won_to_retention`` runs every two
hours and ``triggers`` every morning at 08:00 (account time), interleaved with the scenario's actions.
The jobs get their ports as ``amo-bridge scheduler`` does (``process_ports``): the distributor's L3
pool (the account managers, ``pipeline`` trigger on the retention pipeline) gives new clients their
account manager. Expected trigger episodes are computed independently from the sandbox's ground truth.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from amo_bridge.api import AmoClient
from amo_bridge.app_services import Services
from amo_bridge.clock import FakeClock
from amo_bridge.config import Settings, load_settings
from amo_bridge.sandbox import SandboxServer
from amo_bridge.sandbox import seed as S
from amo_bridge.sandbox.scenario import ScenarioConfig, play
from amo_bridge.store import Store
from amo_bridge.store.schema import distribution_assignments
from jobs.ports import process_ports
from jobs.registry import load_builtin_jobs
from jobs.runner import Runner, RunResult

MSK = ZoneInfo("Europe/Moscow")
HOUR = 3600
RETENTION_EVERY = 2 * HOUR
TRIGGER_HOUR = 8
MISSED_LIMIT = 3
TASK_PREFIX = "Пропущено занятий"
FIRST_CALL = "Первый звонок клиенту"

RULES = f"""
[[rule]]
name = "missed_sessions"
pipeline = {S.PIPELINE_RETENTION}
when = "field:{S.CF_MISSED_SESSIONS} >= {MISSED_LIMIT}"
task = "{TASK_PREFIX}: {{field:{S.CF_MISSED_SESSIONS}}} ({{lead.name}}), позвонить"
task_type = {S.TASK_MISSED_SESSIONS}
deadline = "+1d 10:00"
tag = "пропуски"
"""


@dataclass
class Harness:
    server: SandboxServer
    clock: FakeClock
    store: Store
    settings: Settings
    client: AmoClient
    runner: Runner
    services: Services
    manager_id: int
    started_at: float
    results: list[RunResult] = field(default_factory=list)
    trigger_times: list[float] = field(default_factory=list)
    requests: dict[str, int] = field(default_factory=dict)  # job -> API requests its runs made
    run_requests: list[tuple[str, int, int]] = field(default_factory=list)  # (job, changed, requests)

    def run(self, job: str, **kw: Any) -> RunResult:
        before = self.request_count()
        result = self.runner.run(job, origin="scheduler", **kw)
        made = self.request_count() - before
        self.requests[job] = self.requests.get(job, 0) + made
        self.run_requests.append((job, result.changed, made))
        self.results.append(result)
        if job == "triggers" and result.status in ("succeeded", "partial"):
            self.trigger_times.append(self.clock.now())
        return result

    def request_count(self) -> int:
        log = self.server.sandbox.request_log
        assert log.maxlen is None or len(log) < log.maxlen, "the sandbox request log overflowed"
        return sum(1 for r in list(log) if str(r.get("path", "")).startswith("/api/"))

    def api_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.server.admin.requests() if str(r.get("path", "")).startswith("/api/")]


@contextlib.contextmanager
def sandbox_jobs(
    db_url: str, *, seed: int = 7, env: dict[str, str] | None = None, **sandbox_options: Any
) -> Iterator[Harness]:
    clock = FakeClock(datetime(2026, 3, 1, 12, 0, tzinfo=MSK).timestamp())
    options: dict[str, Any] = {"deliver_webhooks": False, "contacts": 120, "companies": 20}
    server = SandboxServer(seed=seed, clock=clock, **{**options, **sandbox_options})
    with server:
        managers = S.users_of(server.state, S.GROUP_ACCOUNT_MANAGERS)
        l3_pool = f"L3 = pipeline {S.PIPELINE_RETENTION} : {','.join(map(str, managers))}"
        settings = load_settings(
            {
                "AMO_BASE_URL": server.url,
                "AMO_LONG_LIVED_TOKEN": str(server.token),
                "AMO_TIMEZONE": "Europe/Moscow",
                "RETENTION_PIPELINE_ID": str(S.PIPELINE_RETENTION),
                "RETENTION_SOURCE_PIPELINES": str(S.PIPELINE_MAIN),
                "RETENTION_DEFAULT_MANAGER_ID": str(managers[0]),
                "RETENTION_MANAGER_GROUP_ID": str(S.GROUP_ACCOUNT_MANAGERS),
                "RETENTION_FIRST_CALL_TEXT": f"{FIRST_CALL}: знакомство",
                "DISTRIBUTION_ENABLED": "true",
                "DISTRIBUTION_POOLS": l3_pool,
                "TRIGGER_RULES": RULES,
                "AMO_RATE_LIMIT": "6",  # a little under the sandbox's 7 per second
                **(env or {}),
            }
        )
        store = Store(db_url, clock=clock)
        store.upgrade()
        client = AmoClient.from_settings(settings, store, clock=clock)
        services = Services.from_settings(settings, store, clock=clock, client=client)
        runner = Runner(
            store,
            settings,
            process_ports(settings, store, services),
            clock=clock,
            registry=load_builtin_jobs(),
        )
        try:
            yield Harness(server, clock, store, settings, client, runner, services, managers[0], clock.now())
        finally:
            client.close()
            store.dispose()


def play_with_jobs(
    h: Harness,
    days: int,
    *,
    seed: int = 7,
    leads_per_day: int = 20,
    between: Callable[[Harness], None] | None = None,
) -> None:
    """Play ``days`` working days, running the jobs on their schedules, then a final catch-up run."""
    next_retention = h.clock.now() + RETENTION_EVERY
    next_triggers = _next_morning(h.clock.now())

    def advance(seconds: float) -> None:
        nonlocal next_retention, next_triggers
        target = h.clock.now() + seconds
        while min(next_retention, next_triggers) <= target:
            due = min(next_retention, next_triggers)
            if due > h.clock.now():
                h.clock.set(due)
            if due == next_triggers:
                h.run("triggers")
                next_triggers = _next_morning(h.clock.now())
            else:
                h.run("won_to_retention")
                next_retention = due + RETENTION_EVERY
            if between is not None:
                between(h)
        if target > h.clock.now():
            h.clock.set(target)

    config = ScenarioConfig(seed=seed, days=days, leads_per_day=leads_per_day, assigned_only=False)
    play(h.server.state, config, advance=advance)
    advance(max(next_retention, next_triggers) - h.clock.now() + 1)  # the last deals and one more morning


def _next_morning(now: float) -> float:
    local = datetime.fromtimestamp(now, MSK)
    morning = local.replace(hour=TRIGGER_HOUR, minute=0, second=0, microsecond=0)
    if morning.timestamp() <= now:
        morning += timedelta(days=1)
    return morning.timestamp()


# -- what happened in the sandbox --------------------------------------------------------------


def won_deals(h: Harness) -> dict[int, dict[str, Any]]:
    """Deals won in the main pipeline since the first run's look-back (RETENTION_LOOKBACK_DAYS)."""
    since = h.started_at - h.settings.jobs.retention_lookback_days * 86400
    return {
        lead["id"]: lead
        for lead in h.server.state.leads.values()
        if lead["pipeline_id"] == S.PIPELINE_MAIN
        and lead["status_id"] == 142
        and not lead["is_deleted"]
        and lead["closed_at"] >= since
    }


def retention_leads(h: Harness) -> dict[int, list[dict[str, Any]]]:
    """won lead id -> the retention leads referring to it (tag ``won-<id>``)."""
    out: dict[int, list[dict[str, Any]]] = {}
    for lead in h.server.state.leads.values():
        if lead["pipeline_id"] != S.PIPELINE_RETENTION or lead["is_deleted"]:
            continue
        for tag in lead.get("tags") or []:
            name = str(tag.get("name", ""))
            if name.startswith("won-"):
                out.setdefault(int(name[4:]), []).append(lead)
    return out


def tasks_of(h: Harness, lead_id: int, prefix: str) -> list[dict[str, Any]]:
    return [
        t
        for t in h.server.state.tasks.values()
        if t.get("entity_id") == lead_id
        and t.get("entity_type") == "leads"
        and str(t["text"]).startswith(prefix)
    ]


def trigger_tasks(h: Harness) -> int:
    return sum(1 for t in h.server.state.tasks.values() if str(t["text"]).startswith(TASK_PREFIX))


def expected_episodes(h: Harness, initial: dict[int, int]) -> int:
    """Rising edges of "missed sessions >= 3" at the trigger runs, from the ground truth alone.

    ``initial``: the field's value per retention lead before the scenario started (the seed).
    """
    truth = h.server.admin.ground_truth()
    changes: dict[int, list[tuple[float, int]]] = {}
    for key, client in truth.get("clients", {}).items():
        lead_id = int(key)
        series = [(float(m["at"]), int(m["value"])) for m in client.get("missed_sessions", [])]
        series += [(float(p["at"]), 0) for p in client.get("repeat_purchases", [])]
        changes[lead_id] = sorted(series)
    episodes = 0
    for lead_id in set(changes) | set(initial):
        series = changes.get(lead_id, [])
        was = False
        for when in h.trigger_times:
            value = initial.get(lead_id)
            for at, v in series:
                if at <= when:
                    value = v
            now = value is not None and value >= MISSED_LIMIT
            if now and not was:
                episodes += 1
            was = now
    return episodes


def missed_sessions_now(h: Harness) -> dict[int, int]:
    out: dict[int, int] = {}
    for lead in h.server.state.leads.values():
        if lead["pipeline_id"] != S.PIPELINE_RETENTION or lead["is_deleted"]:
            continue
        for cf in lead.get("custom_fields_values") or []:
            if cf["field_id"] == S.CF_MISSED_SESSIONS and cf["values"]:
                out[lead["id"]] = int(float(cf["values"][0]["value"]))
    return out


def account_manager_choices(h: Harness) -> dict[int, tuple[int, int | None, str]]:
    """won lead id -> (account manager, retention lead, reason) as the L3 pool recorded its choices."""
    a = distribution_assignments
    with h.store.read() as conn:
        rows = conn.execute(sa.select(a).where(a.c.pool == "L3", a.c.entity_type == "won_deal"))
        return {int(r.entity_id): (int(r.user_id), r.lead_id, str(r.reason)) for r in rows}
