"""What the live view shows: observations of the sandbox and of amo-bridge's store, and the lines
that tell what changed between two of them.

``Observation`` is plain data; ``Watcher.lines`` is pure (it only remembers what it has shown).
The readers at the bottom do the I/O: the sandbox's admin API and the store's tables.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import requests
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from amo_bridge.sandbox import seed as S
from amo_bridge.store import Store
from amo_bridge.store import schema as T

MAX_LINES_PER_KIND = 4


@dataclass
class Observation:
    business_time: float = 0.0
    arrivals: dict[int, dict[str, Any]] = field(default_factory=dict)  # ground truth, by lead id
    responsible: dict[int, int] = field(default_factory=dict)  # lead id -> responsible user
    won: dict[int, int] = field(default_factory=dict)  # lead id -> price, won today
    inbox: dict[str, int] = field(default_factory=dict)  # state -> rows
    assignments: dict[int, str] = field(default_factory=dict)  # lead id -> pool
    handoffs: list[dict[str, Any]] = field(default_factory=list)  # done rows
    retention: list[dict[str, Any]] = field(default_factory=list)  # done rows
    trigger_tasks: list[dict[str, Any]] = field(default_factory=list)  # episodes with a task
    day_over: bool = False


@dataclass
class Totals:
    arrived: int = 0
    assigned: int = 0
    handoffs: int = 0
    won: int = 0
    retention: int = 0
    trigger_tasks: int = 0
    inbox_received: int = 0
    inbox_done: int = 0
    inbox_dead: int = 0


class Watcher:
    """Turns successive observations into lines, each fact shown once."""

    def __init__(self, names: Mapping[int, str], timezone: ZoneInfo) -> None:
        self.names = names
        self.timezone = timezone
        self._shown: set[tuple[str, Any]] = set()
        self.totals = Totals()

    def clock(self, seconds: float) -> str:
        return datetime.fromtimestamp(seconds, self.timezone).strftime("%H:%M")

    def who(self, user_id: int | None) -> str:
        if user_id is None:
            return "nobody"
        return self.names.get(int(user_id), f"user {user_id}")

    def _new(self, kind: str, key: Any) -> bool:
        if (kind, key) in self._shown:
            return False
        self._shown.add((kind, key))
        return True

    def lines(self, obs: Observation) -> list[str]:
        at = self.clock(obs.business_time) if obs.business_time else "--:--"
        out: list[str] = []

        def emit(kind: str, items: list[str]) -> None:
            out.extend(f"{at}  {line}" for line in items[:MAX_LINES_PER_KIND])
            if len(items) > MAX_LINES_PER_KIND:
                out.append(f"{at}  ... and {len(items) - MAX_LINES_PER_KIND} more {kind}")

        arrived = [
            f"#{lead_id} ({a.get('category', '?')}, {a.get('source', '?')})"
            for lead_id, a in sorted(obs.arrivals.items())
            if self._new("arrived", lead_id)
        ]
        if arrived:
            more = (
                f" and {len(arrived) - MAX_LINES_PER_KIND} more" if len(arrived) > MAX_LINES_PER_KIND else ""
            )
            noun = "lead" if len(arrived) == 1 else "leads"
            out.append(
                f"{at}  {len(arrived)} {noun} arrived: {', '.join(arrived[:MAX_LINES_PER_KIND])}{more}"
            )
        assigned = []
        for lead_id, user in sorted(obs.responsible.items()):
            if lead_id not in obs.arrivals or user == S.ADMIN_USER_ID:
                continue
            if self._new("assigned", (lead_id, user)):
                pool = obs.assignments.get(lead_id)
                assigned.append(
                    f"lead #{lead_id} assigned to {self.who(user)}" + (f" (pool {pool})" if pool else "")
                )
        emit("assignments", assigned)
        handed = [
            f"hand-off {row['rule']}: lead #{row['lead_id']} -> {self.who(row['to_user_id'])}"
            for row in obs.handoffs
            if self._new("handoff", row["id"])
        ]
        emit("hand-offs", handed)
        won = [
            f"deal #{lead_id} won ({price} ₽)"
            for lead_id, price in sorted(obs.won.items())
            if self._new("won", lead_id)
        ]
        emit("won deals", won)
        retained = [
            f"won deal #{row['won_lead_id']} -> retention lead #{row['retention_lead_id']}, "
            f"account manager {self.who(row['account_manager_id'])}"
            for row in obs.retention
            if self._new("retention", row["won_lead_id"])
        ]
        emit("retention hand-offs", retained)
        tasks = [
            f"trigger {row['rule']}: task #{row['task_id']} on lead #{row['lead_id']}: {row['task_text']}"
            for row in obs.trigger_tasks
            if self._new("trigger", (row["rule"], row["lead_id"], row["task_id"]))
        ]
        emit("trigger tasks", tasks)
        t = self.totals
        t.arrived = len(obs.arrivals)
        t.assigned = sum(
            1
            for lead_id, user in obs.responsible.items()
            if lead_id in obs.arrivals and user != S.ADMIN_USER_ID
        )
        t.handoffs, t.won = len(obs.handoffs), len(obs.won)
        t.retention, t.trigger_tasks = len(obs.retention), len(obs.trigger_tasks)
        t.inbox_received = sum(obs.inbox.values())
        t.inbox_done, t.inbox_dead = obs.inbox.get("done", 0), obs.inbox.get("dead", 0)
        return out

    def status(self, obs: Observation) -> str:
        t = self.totals
        at = self.clock(obs.business_time) if obs.business_time else "--:--"
        return (
            f"{at}  == arrived {t.arrived} · webhook events {t.inbox_received} (done {t.inbox_done}, "
            f"dead {t.inbox_dead}) · assigned {t.assigned} · hand-offs {t.handoffs} · won {t.won} · "
            f"retention {t.retention} · trigger tasks {t.trigger_tasks}"
        )


# ---------------------------------------------------------------------------------------------- readers


class SandboxReader:
    """The sandbox's admin API (no auth, no limits, not in its request log)."""

    def __init__(self, base_url: str, *, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        self.timeout = timeout

    def get(self, path: str) -> Any:
        response = self.session.get(f"{self.base_url}/_sandbox/{path}", timeout=self.timeout)
        response.raise_for_status()
        return response.json() if response.content else None

    def observe(self, obs: Observation) -> None:
        truth = self.get("ground-truth") or {}
        clock = self.get("clock") or {}
        obs.business_time = float(clock.get("now") or 0.0)
        horizon = (truth.get("scenario") or {}).get("horizon")
        obs.day_over = horizon is not None and obs.business_time >= float(horizon)
        leads = {int(k): v for k, v in (truth.get("leads") or {}).items()}
        obs.arrivals = leads
        obs.won = {}
        for lead_id, lead in leads.items():
            for happened in lead.get("happened", []):
                if happened.get("what") == "won":
                    obs.won[lead_id] = int(happened.get("price") or 0)
        records = self.get("state/leads") or []
        obs.responsible = {
            int(r["id"]): int(r.get("responsible_user_id") or 0) for r in records if int(r["id"]) in leads
        }

    def requests_log(self) -> list[dict[str, Any]]:
        return list(self.get("requests") or [])


class StoreReader:
    """amo-bridge's own tables (read-only); a table a feature has not created yet reads as empty."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def _rows(self, statement: Any) -> list[dict[str, Any]]:
        try:
            with self.store.read() as conn:
                return [dict(row._mapping) for row in conn.execute(statement)]
        except SQLAlchemyError:
            return []

    def observe(self, obs: Observation) -> None:
        obs.inbox = {
            str(r["state"]): int(r["n"])
            for r in self._rows(select(T.inbox.c.state, func.count().label("n")).group_by(T.inbox.c.state))
        }
        obs.assignments = {
            int(r["lead_id"]): str(r["pool"])
            for r in self._rows(
                select(T.distribution_assignments.c.lead_id, T.distribution_assignments.c.pool).where(
                    T.distribution_assignments.c.lead_id.is_not(None)
                )
            )
        }
        obs.handoffs = self._rows(
            select(T.handoffs.c.id, T.handoffs.c.rule, T.handoffs.c.lead_id, T.handoffs.c.to_user_id)
            .where(T.handoffs.c.state == "done")
            .order_by(T.handoffs.c.id)
        )
        obs.retention = self._rows(
            select(
                T.retention_handoffs.c.won_lead_id,
                T.retention_handoffs.c.retention_lead_id,
                T.retention_handoffs.c.account_manager_id,
            ).where(T.retention_handoffs.c.state == "done")
        )
        obs.trigger_tasks = self._rows(
            select(
                T.trigger_episodes.c.rule,
                T.trigger_episodes.c.lead_id,
                T.trigger_episodes.c.task_id,
                T.trigger_episodes.c.task_text,
            ).where(T.trigger_episodes.c.task_id.is_not(None))
        )

    def job_runs(self, job: str) -> list[dict[str, Any]]:
        return self._rows(
            select(T.job_runs.c.status, T.job_runs.c.error, T.job_runs.c.changed)
            .where(T.job_runs.c.job == job)
            .order_by(T.job_runs.c.started_at)
        )

    def count(self, table: Any) -> int:
        rows = self._rows(select(func.count().label("n")).select_from(table))
        return int(rows[0]["n"]) if rows else 0


def api_usage(log: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Requests amo-bridge made to the sandbox's API by method and path family, plus 429s."""
    counts: dict[str, int] = {}
    for entry in log:
        path = str(entry.get("path", ""))
        parts = [p for p in path.split("/") if p and not p.isdigit()]
        key = f"{entry.get('method', '?')} /{'/'.join(parts[:4])}"
        counts[key] = counts.get(key, 0) + 1
        if entry.get("status") == 429:
            counts["429 answers"] = counts.get("429 answers", 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)
