"""Carrying out hand-offs in amoCRM, each at most once, resumable after a crash.

Every plan becomes one row of the ``handoffs`` table keyed by the plan's ``dedupe_key`` *before* any
call to amoCRM. A duplicate webhook finds the row and does nothing; a retry after a failure resumes
at the first action not yet done (``done_actions``). Creating a task carries an idempotency key so
that a crash between amoCRM's answer and our progress update cannot create the task twice.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select, update

from amo_bridge.clock import SYSTEM_CLOCK, Clock
from amo_bridge.handoff.duplicates import find_duplicate
from amo_bridge.handoff.model import (
    AcceptUnsorted,
    Action,
    Activity,
    AddNote,
    AddTags,
    AssignFromPool,
    AssignUser,
    CreateTask,
    LinkUnsorted,
    MoveLead,
    NewEntry,
    Plan,
    StageChange,
)
from amo_bridge.handoff.planner import (
    loop_exceeded,
    moves_lead,
    plan_duplicate,
    plan_stage_change,
    plan_warmup_return,
)
from amo_bridge.handoff.ports import HandoffPort
from amo_bridge.handoff.rules import HandoffRules
from amo_bridge.store import Store
from amo_bridge.store.engine import upsert
from amo_bridge.store.schema import handoffs

log = logging.getLogger(__name__)

LOOP_WINDOW_S = 24 * 3600


@dataclass(frozen=True)
class HandoffResult:
    """What happened to one trigger: ``done``, ``duplicate`` (already done before) or ``loop_stopped``."""

    outcome: str
    record_id: int
    plan: Plan
    to_user_id: int | None = None


class HandoffService:
    def __init__(self, store: Store, port: HandoffPort, rules: HandoffRules, *, clock: Clock = SYSTEM_CLOCK):
        self._store = store
        self._port = port
        self._rules = rules
        self._clock = clock

    # --- triggers -------------------------------------------------------------------------------

    def on_stage_change(self, change: StageChange) -> HandoffResult | None:
        """A lead entered a stage: carry out the outcome rule for that stage, if any."""
        plan = plan_stage_change(self._rules, change)
        return self.execute(plan) if plan else None

    def on_new_entry(self, entry: NewEntry) -> HandoffResult | None:
        """A new unsorted entry or lead: if its client has a live deal, route it there.

        Returns ``None`` when it is not a duplicate (the caller then distributes it as new).
        """
        if not entry.keys or self._rules.duplicates.mode == "off":
            return None
        live = find_duplicate(
            entry.keys,
            self._port.open_leads_of(entry.keys, exclude_lead_id=entry.lead_id),
            match=self._rules.duplicates.match,
            exclude_lead_id=entry.lead_id,
        )
        if live is None:
            return None
        plan = plan_duplicate(self._rules, entry, live)
        return self.execute(plan) if plan else None

    def on_activity(self, activity: Activity) -> HandoffResult | None:
        """A client showed life: bring a warm-up lead back."""
        plan = plan_warmup_return(self._rules, activity, self.last_closer(activity.lead_id))
        return self.execute(plan) if plan else None

    # --- execution ------------------------------------------------------------------------------

    def execute(self, plan: Plan) -> HandoffResult:
        if plan.lead_id is not None and moves_lead(plan) and plan.kind != "duplicate":
            stopped = self._loop_guard(plan)
            if stopped is not None:
                return stopped
        record_id, state, done = self._record(plan)
        if state == "done":
            return HandoffResult("duplicate", record_id, plan)
        to_user = None
        for index, action in enumerate(plan.actions):
            if index < done:
                continue
            try:
                chosen = self._perform(plan, index, action)
            except Exception as exc:
                self._update(record_id, error=f"{type(exc).__name__}: {exc}"[:2000])
                log.warning(
                    "hand-off %s step %d (%s) failed; it resumes on retry",
                    plan.dedupe_key,
                    index,
                    type(action).__name__,
                )
                raise
            to_user = chosen if chosen is not None else to_user
            values: dict[str, Any] = {"done_actions": index + 1}
            if chosen is not None:
                values["to_user_id"] = chosen
            self._update(record_id, **values)
        self._update(record_id, state="done", error=None, finished_at=self._clock.now())
        log.info("hand-off %s done: %s", plan.dedupe_key, plan.reason)
        return HandoffResult("done", record_id, plan, to_user)

    def _perform(self, plan: Plan, index: int, action: Action) -> int | None:
        port, lead_id = self._port, plan.lead_id
        match action:
            case LinkUnsorted(uid=uid, lead_id=target):
                port.link_unsorted(uid, target)
            case AcceptUnsorted(uid=uid, user_id=user_id):
                port.accept_unsorted(uid, user_id)
                return user_id
            case _ if lead_id is None:
                raise ValueError(f"{type(action).__name__} needs a lead")
            case MoveLead(pipeline_id=pipeline_id, status=status, loss_reason_id=reason):
                port.move_lead(lead_id, pipeline_id, status, reason)
            case AssignUser(user_id=user_id):
                port.assign_user(lead_id, user_id)
                return user_id
            case AssignFromPool(pool=pool):
                return port.assign_from_pool(lead_id, pool)
            case AddTags(tags=tags):
                port.add_tags(lead_id, tags)
            case AddNote(text=text):
                port.add_note(lead_id, text)
            case CreateTask(text=text, due_minutes=minutes, task_type_id=task_type):
                due_at = self._clock.now() + minutes * 60
                port.create_task(lead_id, text, due_at, task_type, key=f"{plan.dedupe_key}#{index}")
        return None

    def _loop_guard(self, plan: Plan) -> HandoffResult | None:
        since = self._clock.now() - LOOP_WINDOW_S
        with self._store.read() as conn:
            keys = conn.execute(
                select(handoffs.c.dedupe_key).where(
                    handoffs.c.lead_id == plan.lead_id,
                    handoffs.c.kind.in_(("outcome", "warmup_return")),
                    handoffs.c.created_at >= since,
                    handoffs.c.dedupe_key != plan.dedupe_key,
                )
            ).all()
        if not loop_exceeded(keys, self._rules.max_moves_per_day):
            return None
        day = int(self._clock.now() // 86400)
        note = (
            f"amo-bridge stopped moving this lead: it was moved {len(keys)} times in 24 hours "
            f"(rule {plan.rule!r}). Please decide by hand."
        )
        stop = Plan(
            kind="loop_stopped",
            rule=plan.rule,
            lead_id=plan.lead_id,
            dedupe_key=f"loop:{plan.lead_id}:{day}",
            actions=(AddNote(note),),
            reason=f"more than {self._rules.max_moves_per_day} moves in 24 hours",
        )
        record_id, state, _ = self._record(stop)
        if state != "done":
            assert plan.lead_id is not None
            self._port.add_note(plan.lead_id, note)
            self._update(record_id, state="done", done_actions=1, finished_at=self._clock.now())
        log.warning("lead %s bounces between rules; stopped moving it", plan.lead_id)
        return HandoffResult("loop_stopped", record_id, stop)

    # --- records --------------------------------------------------------------------------------

    def _record(self, plan: Plan) -> tuple[int, str, int]:
        """Insert the plan's row if new; return (id, state, actions done)."""

        def work(conn: Connection) -> tuple[int, str, int]:
            insert = upsert(self._store.dialect, handoffs).values(
                dedupe_key=plan.dedupe_key,
                kind=plan.kind,
                rule=plan.rule,
                lead_id=plan.lead_id,
                from_pipeline_id=plan.from_pipeline_id,
                from_status_id=plan.from_status_id,
                to_pipeline_id=plan.to_pipeline_id,
                from_user_id=plan.from_user_id,
                reason=plan.reason,
                actions=json.dumps([_describe(a) for a in plan.actions], ensure_ascii=False),
                done_actions=0,
                state="planned",
                created_at=self._clock.now(),
            )
            conn.execute(insert.on_conflict_do_nothing(index_elements=[handoffs.c.dedupe_key]))
            row = conn.execute(
                select(handoffs.c.id, handoffs.c.state, handoffs.c.done_actions).where(
                    handoffs.c.dedupe_key == plan.dedupe_key
                )
            ).one()
            return int(row.id), str(row.state), int(row.done_actions)

        return self._store.run_in_transaction(work)

    def _update(self, record_id: int, **values: Any) -> None:
        with self._store.begin() as conn:
            conn.execute(update(handoffs).where(handoffs.c.id == record_id).values(**values))

    def last_closer(self, lead_id: int) -> int | None:
        """The user a previous outcome hand-off gave this lead to (for "back to the last closer")."""
        with self._store.read() as conn:
            return conn.execute(
                select(handoffs.c.to_user_id)
                .where(
                    handoffs.c.lead_id == lead_id,
                    handoffs.c.kind == "outcome",
                    handoffs.c.to_user_id.is_not(None),
                )
                .order_by(handoffs.c.created_at.desc(), handoffs.c.id.desc())
                .limit(1)
            ).scalar_one_or_none()

    def history(self, lead_id: int) -> list[dict[str, Any]]:
        with self._store.read() as conn:
            rows = conn.execute(
                select(handoffs).where(handoffs.c.lead_id == lead_id).order_by(handoffs.c.id)
            ).mappings()
            return [dict(row) for row in rows]

    def counts(self, since: float, until: float) -> dict[tuple[str, str], int]:
        """Hand-offs done per (kind, rule) in a period: the basis of L1 qualification conversion."""
        with self._store.read() as conn:
            rows = conn.execute(
                select(handoffs.c.kind, handoffs.c.rule, func.count())
                .where(
                    handoffs.c.state == "done", handoffs.c.created_at >= since, handoffs.c.created_at < until
                )
                .group_by(handoffs.c.kind, handoffs.c.rule)
            ).all()
        return {(str(kind), str(rule)): int(n) for kind, rule, n in rows}


def _describe(action: Action) -> dict[str, Any]:
    return {"action": type(action).__name__, **dataclasses.asdict(action)}
