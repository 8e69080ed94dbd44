"""The distribution service: an arrival in, a persisted decision and its amoCRM writes out.

Flow of :meth:`DistributionService.handle` for each pool whose trigger matches the arrival:

1. read the related open leads through the port (stickiness), outside any transaction;
2. in ONE transaction, serialised per pool: skip it if the entity already has an assignment in this
   pool episode (duplicate webhooks, bulk imports, several workers), decide, advance the rotation
   and its counters, insert the assignment and an ``apply`` outbox row (or a ``decide`` row to try
   again later when the lead is held);
3. perform the outbox row's writes through the port. Each write is idempotent, so a retry after a
   failure or a crash repeats nothing. A retryable failure is retried with backoff; a refusal
   (the entity is gone, the user is refused) or running out of attempts rolls the assignment back
   (the rotation is refunded) and, unless the entity is gone, decides again. Nothing is lost: every
   arrival ends as an applied assignment, a pending outbox row, or an audited rejection.

:meth:`run_due` works the outbox (scheduled and after restarts), :meth:`check_sla` reassigns leads
whose assignee has not acted in time, :meth:`record_activity` marks the first action.

:meth:`choose` decides without writing to amoCRM, for callers that write the responsible themselves
(the retention job's account manager, a trigger rule's task); :meth:`link_lead` ties such a choice
to the lead it stands for once that lead exists.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from sqlalchemy import Connection

from amo_bridge.clock import SYSTEM_CLOCK, Clock
from amo_bridge.distribution import repository as repo
from amo_bridge.distribution.calendar import WorkCalendar
from amo_bridge.distribution.engine import DEFAULT_RETRY_SECONDS, Facts, decide
from amo_bridge.distribution.fairness import LaneState, refund
from amo_bridge.distribution.model import (
    CHOICE_ENTITIES,
    ON_DUTY_LANE,
    Arrival,
    Decision,
    Pool,
    RelatedLead,
)
from amo_bridge.distribution.ports import AssigneeRefused, AssignmentPort, EntityGone, PortError
from amo_bridge.store import Store

log = logging.getLogger(__name__)

CHARGED_REASONS = ("rotation", "rule", "fallback", "on_duty", "after_hours", "sla")
CLAIM_SECONDS = 60.0
MAX_BACKOFF_SECONDS = 900.0


@dataclass(frozen=True)
class Outcome:
    """What :meth:`DistributionService.handle` did for one pool."""

    pool: str
    entity_type: str
    entity_id: str
    episode: int
    status: str  # assigned | duplicate | held
    member: int | None = None
    reason: str | None = None
    assignment_id: int | None = None
    outbox_id: int | None = None
    hold_until: float | None = None


def arrival_to_dict(arrival: Arrival) -> dict[str, Any]:
    data = asdict(arrival)
    data["tags"] = sorted(arrival.tags)
    data["fields"] = {str(k): list(v) for k, v in arrival.fields.items()}
    data["contact_ids"] = list(arrival.contact_ids)
    return data


def arrival_from_dict(data: Mapping[str, Any]) -> Arrival:
    return Arrival(
        entity_type=data["entity_type"],
        entity_id=str(data["entity_id"]),
        pipeline_id=int(data["pipeline_id"]),
        status_id=data.get("status_id"),
        lead_id=data.get("lead_id"),
        source_name=data.get("source_name"),
        category=data.get("category"),
        tags=frozenset(data.get("tags", ())),
        fields={int(k): tuple(v) for k, v in data.get("fields", {}).items()},
        contact_ids=tuple(data.get("contact_ids", ())),
        company_id=data.get("company_id"),
        episode=data.get("episode"),
    )


def _settled(row: Any) -> bool:
    """The episode needs no new decision: assigned, or rejected because the entity is gone."""
    return row.state != "rejected" or str(row.note or "").startswith("entity gone")


# What a lead stands for, if a job chose for it before it existed: (entity type, entity id) of the
# choice, e.g. ("won_deal", "77") for a retention lead that refers to won deal 77.
StandsFor = Callable[[Arrival], "tuple[str, str] | None"]


def _linked(conn: Connection, pool: str, arrival: Arrival, stands_for: StandsFor | None) -> list[Any]:
    """Live choices of ``pool`` that stand for the arrival's lead: tied to it by
    :meth:`DistributionService.link_lead`, or named by the lead itself (``stands_for``: its reference
    to the won deal), which also covers the lead's webhook arriving before the job could link it. The
    lead is already given, so its own arrival in the pool is a duplicate."""
    lead_id = arrival.target_lead_id
    if lead_id is None:
        return []
    rows = list(repo.assignments_of_lead(conn, lead_id))
    key = stands_for(arrival) if stands_for is not None else None
    if key is not None:
        rows += repo.assignments_of_entity(conn, *key)
    return [
        row
        for row in rows
        if row.pool == pool and row.entity_type in CHOICE_ENTITIES and row.state in repo.LIVE_STATES
    ]


def lane_weights(pool: Pool, lane: str) -> dict[int, int]:
    if lane == ON_DUTY_LANE:
        return {uid: 1 for uid in pool.after_hours.on_duty}
    for rule in pool.rules:
        if rule.lane == lane:
            return {m.user_id: m.weight for m in rule.members}
    return {m.user_id: m.weight for m in pool.members}


@dataclass
class DistributionService:
    store: Store
    pools: Sequence[Pool]
    calendar: WorkCalendar
    port: AssignmentPort
    clock: Clock = SYSTEM_CLOCK
    task_text: str = "Contact the client"
    max_attempts: int = 8
    retry_seconds: float = DEFAULT_RETRY_SECONDS
    stands_for: StandsFor | None = None  # see _linked
    _by_name: dict[str, Pool] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._by_name = {pool.name: pool for pool in self.pools}

    def pool(self, name: str) -> Pool:
        return self._by_name[name]

    def pools_for(self, arrival: Arrival) -> list[Pool]:
        return [pool for pool in self.pools if pool.trigger.matches(arrival)]

    # -- arrivals ---------------------------------------------------------------------------

    def handle(self, arrival: Arrival, *, apply_now: bool = True) -> list[Outcome]:
        """A lead or unsorted entry appeared: decide in every pool that takes it, then act."""
        outcomes = []
        for pool in self.pools_for(arrival):
            outcome, claimed = self._decide(pool, arrival, claim=apply_now)
            if claimed is not None:
                self._execute(*claimed)
            outcomes.append(outcome)
        return outcomes

    def assign_in(self, pool_name: str, arrival: Arrival) -> Outcome:
        """Decide for ``arrival`` in the named pool whatever its trigger (a hand-off's "assign through
        pool"), and perform the writes at once. Raises ``KeyError`` for an unknown pool."""
        pool = self._by_name[pool_name]
        outcome, claimed = self._decide(pool, arrival, claim=True)
        if claimed is not None:
            self._execute(*claimed)
        return outcome

    def choose(self, pool_name: str, arrival: Arrival, *, holds_lead: bool = True) -> Outcome:
        """Decide in the named pool WITHOUT writing to amoCRM: the caller sets the responsible itself
        (the retention job creates the account manager's lead with it; a trigger rule gives its task).

        The same decision as :meth:`assign_in` (routing rules, stickiness, availability, caps, the fair
        rotation), the rotation advanced and the assignment recorded with its reason and candidates in
        one transaction, but no outbox row. The arrival's entity is a key the caller owns (entity type
        ``won_deal`` with the won lead's id, ``trigger`` with the rule's episode) and is decided once: a
        re-run gets the recorded member back (``duplicate``) and charges nothing.

        ``holds_lead``: the choice holds a lead (state ``active``: counted by ``cap`` until the lead
        given by :meth:`link_lead` is closed, :meth:`close_lead`); otherwise it is closed at once (a
        task: counted in the day's quota and the reports only). When nobody can take it (after hours
        under ``hold``, everyone paused, capped or away) the outcome is ``held`` and nothing is
        recorded: the caller falls back on its own default. A choice has no SLA clock and no outbox
        row, so :meth:`check_sla` and :meth:`run_due` never touch it. Raises ``KeyError`` for an
        unknown pool.
        """
        pool = self._by_name[pool_name]
        keyed = replace(arrival, episode=arrival.episode or 1)  # a caller's key has one episode
        known = self._already_assigned(pool, keyed)
        if known is not None:
            return known
        related = self._related(pool, keyed)
        now = self.clock.now()
        etype, eid, episode = keyed.entity_type, keyed.entity_id, int(keyed.episode or 1)

        def work(conn: Connection) -> Outcome:
            repo.lock_pool(conn, pool.name, now)
            rows = repo.episode_rows(conn, pool.name, etype, eid, episode)
            taken = [row for row in rows if _settled(row)]
            if taken:
                last = taken[-1]
                return Outcome(
                    pool.name, etype, eid, episode, "duplicate", int(last.user_id), last.reason, last.id
                )
            lanes = repo.load_lanes(conn, pool.name)
            statuses = repo.member_statuses(conn, pool, day_start=self.calendar.day_start(now))
            facts = Facts(lanes, statuses, self.calendar, now, related, frozenset(), self.retry_seconds)
            decision = decide(pool, keyed, facts)
            if decision.member is None:
                log.info("%s %s: nobody in %s can take it now (%s)", etype, eid, pool.name, decision.reason)
                hold = decision.hold_until
                return Outcome(pool.name, etype, eid, episode, "held", None, decision.reason, hold_until=hold)
            assignment_id = self._record(conn, pool, keyed, lanes, decision, episode, len(rows), now)
            state = "active" if holds_lead else "closed"
            closed_at = None if holds_lead else now
            repo.set_assignment(conn, assignment_id, state=state, applied_at=now, closed_at=closed_at)
            log.info("%s %s -> user %s in %s (%s)", etype, eid, decision.member, pool.name, decision.reason)
            return Outcome(
                pool.name, etype, eid, episode, "assigned", decision.member, decision.reason, assignment_id
            )

        return self.store.run_in_transaction(work)

    def link_lead(self, entity_type: str, entity_id: str, lead_id: int) -> int:
        """The lead a choice stands for exists now (the retention lead of a won deal): record it on the
        live choice, so the lead's own arrival in the pool (its webhook) is answered as a duplicate
        instead of being decided again, and the choice ends with the lead (:meth:`close_lead`).
        Idempotent; returns how many choices were linked."""
        with self.store.begin() as conn:
            count = 0
            for row in repo.assignments_of_entity(conn, entity_type, entity_id):
                if row.state in repo.LIVE_STATES and row.lead_id != lead_id:
                    count += repo.set_assignment(conn, row.id, lead_id=lead_id)
            return count

    def _related(self, pool: Pool, arrival: Arrival) -> Sequence[RelatedLead]:
        if not pool.sticky or not (arrival.contact_ids or arrival.company_id):
            return ()
        try:
            return self.port.related_open_leads(arrival)
        except PortError as exc:
            # Availability over stickiness: the lead is distributed by rotation instead.
            log.warning(
                "related leads unavailable for %s %s: %s", arrival.entity_type, arrival.entity_id, exc
            )
            return ()

    def _decide(
        self,
        pool: Pool,
        arrival: Arrival,
        *,
        item_id: int | None = None,
        exclude: frozenset[int] = frozenset(),
        claim: bool = False,
    ) -> tuple[Outcome, tuple[Any, Any] | None]:
        """Decide in one transaction. ``claim``: the new apply row is taken for this process, and
        returned with its assignment, so the caller performs it at once (others see it only if this
        process dies before finishing it, :data:`CLAIM_SECONDS` later)."""
        now = self.clock.now()
        if item_id is None:
            known = self._already_assigned(pool, arrival)
            if known is not None:  # the common duplicate: answered without taking the pool's lock
                return known, None
        related = self._related(pool, arrival)

        def work(conn: Connection) -> tuple[Outcome, tuple[Any, Any] | None]:
            repo.lock_pool(conn, pool.name, now)
            etype, eid = arrival.entity_type, arrival.entity_id
            episode = arrival.episode or repo.current_episode(conn, pool.name, etype, eid)
            rows = repo.episode_rows(conn, pool.name, etype, eid, episode)
            taken = [row for row in rows if _settled(row)]
            taken = taken or _linked(conn, pool.name, arrival, self.stands_for)
            if taken:
                last = taken[-1]
                if item_id is not None:
                    repo.set_item(conn, item_id, state="done", updated_at=now, last_error="already assigned")
                duplicate = Outcome(
                    pool.name, etype, eid, episode, "duplicate", int(last.user_id), last.reason, last.id
                )
                return duplicate, None
            refused = frozenset(int(row.user_id) for row in rows if row.note == "refused by amoCRM")
            lanes = repo.load_lanes(conn, pool.name)
            statuses = repo.member_statuses(conn, pool, day_start=self.calendar.day_start(now))
            facts = Facts(lanes, statuses, self.calendar, now, related, exclude | refused, self.retry_seconds)
            decision = decide(pool, arrival, facts)
            if decision.member is None:
                return self._hold(conn, pool, arrival, episode, len(rows), decision, item_id, now), None
            assignment_id = self._record(conn, pool, arrival, lanes, decision, episode, len(rows), now)
            due = now + CLAIM_SECONDS if claim else now
            outbox_id = self._enqueue_apply(conn, pool, arrival, assignment_id, decision.member, due)
            claimed = None
            if claim and outbox_id is not None:
                claimed = (repo.outbox_item(conn, outbox_id), repo.assignment(conn, assignment_id))
            if item_id is not None:
                repo.set_item(conn, item_id, state="done", updated_at=now)
            log.info("%s %s -> user %s in %s (%s)", etype, eid, decision.member, pool.name, decision.reason)
            outcome = Outcome(
                pool.name,
                etype,
                eid,
                episode,
                "assigned",
                decision.member,
                decision.reason,
                assignment_id,
                outbox_id,
            )
            return outcome, claimed

        return self.store.run_in_transaction(work)

    def _already_assigned(self, pool: Pool, arrival: Arrival) -> Outcome | None:
        etype, eid = arrival.entity_type, arrival.entity_id
        with self.store.read() as conn:
            episode = arrival.episode or repo.current_episode(conn, pool.name, etype, eid)
            taken = [r for r in repo.episode_rows(conn, pool.name, etype, eid, episode) if _settled(r)]
            taken = taken or _linked(conn, pool.name, arrival, self.stands_for)
        if not taken:
            return None
        last = taken[-1]
        return Outcome(pool.name, etype, eid, episode, "duplicate", int(last.user_id), last.reason, last.id)

    def _record(
        self,
        conn: Connection,
        pool: Pool,
        arrival: Arrival,
        lanes: Mapping[str, LaneState],
        decision: Decision,
        episode: int,
        seq: int,
        now: float,
    ) -> int:
        """Charge the decision to the rotation and insert its assignment row; return the row's id."""
        self._save_rotation(conn, pool, lanes, decision, now)
        return repo.insert_assignment(
            conn,
            decision,
            entity_type=arrival.entity_type,
            entity_id=arrival.entity_id,
            episode=episode,
            seq=seq,
            lead_id=arrival.target_lead_id,
            now=now,
        )

    def _save_rotation(
        self, conn: Connection, pool: Pool, lanes: Mapping[str, LaneState], decision: Decision, now: float
    ) -> None:
        if decision.rotation is not None:
            repo.save_lane(
                conn,
                pool.name,
                decision.lane,
                lanes.get(decision.lane),
                decision.rotation,
                charged=decision.member,
                now=now,
            )

    def _hold(
        self,
        conn: Connection,
        pool: Pool,
        arrival: Arrival,
        episode: int,
        seq: int,
        decision: Decision,
        item_id: int | None,
        now: float,
    ) -> Outcome:
        due = decision.hold_until if decision.hold_until is not None else now + self.retry_seconds
        payload = {
            "arrival": arrival_to_dict(arrival),
            "reason": decision.reason,
            "candidates": decision.candidates_json(),
        }
        if item_id is not None:
            repo.set_item(
                conn, item_id, due_at=due, updated_at=now, payload=json.dumps(payload, ensure_ascii=False)
            )
            outbox_id: int | None = item_id
        else:
            key = f"decide:{pool.name}:{arrival.entity_type}:{arrival.entity_id}:{episode}:{seq}"
            outbox_id = repo.enqueue(
                conn,
                dedupe_key=key,
                kind="decide",
                pool=pool.name,
                entity_type=arrival.entity_type,
                entity_id=arrival.entity_id,
                payload=payload,
                due_at=due,
                now=now,
            )
        return Outcome(
            pool.name,
            arrival.entity_type,
            arrival.entity_id,
            episode,
            "held",
            None,
            decision.reason,
            None,
            outbox_id,
            due,
        )

    def _enqueue_apply(
        self,
        conn: Connection,
        pool: Pool,
        arrival: Arrival,
        assignment_id: int,
        user_id: int,
        now: float,
        note: str | None = None,
    ) -> int | None:
        payload = {"arrival": arrival_to_dict(arrival), "user_id": user_id, "note": note}
        return repo.enqueue(
            conn,
            dedupe_key=f"apply:{assignment_id}",
            kind="apply",
            pool=pool.name,
            entity_type=arrival.entity_type,
            entity_id=arrival.entity_id,
            payload=payload,
            due_at=now,
            now=now,
            assignment_id=assignment_id,
        )

    # -- the outbox -------------------------------------------------------------------------

    def run_due(self, limit: int = 100) -> int:
        """Work the outbox rows that are due: amoCRM writes and held decisions. Returns how many."""
        now = self.clock.now()
        with self.store.read() as conn:
            items = repo.due_items(conn, now, limit)
        done = 0
        for item in items:
            if item.kind == "apply":
                done += self.apply(item.id) != "skipped"
            else:
                done += self._redecide(item) is not None
        return done

    def _claim(self, item_id: int) -> Any:
        now = self.clock.now()

        def work(conn: Connection) -> Any:
            item = repo.outbox_item(conn, item_id)
            if item is None or item.state != "pending" or item.due_at > now + 1e-6:
                return None
            if not repo.claim(conn, item_id, item.due_at, now + CLAIM_SECONDS, now):
                return None
            claimed = repo.outbox_item(conn, item_id)
            return claimed, repo.assignment(conn, claimed.assignment_id) if claimed.assignment_id else None

        return self.store.run_in_transaction(work)

    def _redecide(self, item: Any) -> Outcome | None:
        taken = self._claim(item.id)
        if taken is None:
            return None
        claimed = taken[0]
        payload = json.loads(claimed.payload)
        pool = self._by_name.get(claimed.pool)
        if pool is None:
            self._finish(claimed.id, "dead", f"pool {claimed.pool} is no longer configured")
            return None
        exclude = frozenset(int(u) for u in payload.get("exclude", ()))
        arrival = arrival_from_dict(payload["arrival"])
        outcome, now_claimed = self._decide(pool, arrival, item_id=claimed.id, exclude=exclude, claim=True)
        if now_claimed is not None:
            self._execute(*now_claimed)
        return outcome

    def _finish(self, item_id: int, state: str, error: str | None = None) -> None:
        now = self.clock.now()
        with self.store.begin() as conn:
            repo.set_item(conn, item_id, state=state, updated_at=now, last_error=error)

    def apply(self, item_id: int) -> str:
        """Perform one ``apply`` row's amoCRM writes: ``done``, ``retry``, ``rolled_back`` or ``skipped``."""
        claimed = self._claim(item_id)
        if claimed is None:
            return "skipped"
        return self._execute(*claimed)

    def _execute(self, item: Any, row: Any) -> str:
        """Perform a claimed apply row (``item``) for its assignment (``row``)."""
        if row is None or row.state not in repo.LIVE_STATES:
            self._finish(item.id, "done", "assignment no longer live")
            return "skipped"
        payload = json.loads(item.payload)
        pool = self._by_name.get(item.pool)
        arrival = arrival_from_dict(payload["arrival"])
        user_id = int(row.user_id)
        try:
            lead_id = self._perform(pool, arrival, row, user_id, payload.get("note"))
        except EntityGone as exc:
            self._roll_back(item, row, f"entity gone: {exc}", decide_again=False)
            return "rolled_back"
        except AssigneeRefused as exc:
            self._roll_back(item, row, "refused by amoCRM", decide_again=True, error=str(exc))
            return "rolled_back"
        except PortError as exc:
            attempts = int(item.attempts) + 1
            if attempts >= self.max_attempts:
                self._roll_back(
                    item, row, f"gave up after {attempts} attempts", decide_again=True, error=str(exc)
                )
                return "rolled_back"
            now = self.clock.now()
            delay = min(MAX_BACKOFF_SECONDS, 15.0 * 2 ** (attempts - 1))
            with self.store.begin() as conn:
                repo.set_item(
                    conn,
                    item.id,
                    attempts=attempts,
                    due_at=now + delay,
                    updated_at=now,
                    last_error=str(exc)[:500],
                )
            log.warning("amoCRM write for assignment %s failed (attempt %d): %s", row.id, attempts, exc)
            return "retry"
        now = self.clock.now()
        sla_due = None
        if pool is not None and pool.sla_minutes:
            sla_due = (
                self.calendar.add_working_minutes(user_id, now, pool.sla_minutes)
                or now + pool.sla_minutes * 60
            )
        with self.store.begin() as conn:
            values: dict[str, Any] = {"applied_at": now, "lead_id": lead_id, "sla_due_at": sla_due}
            if row.state == "pending":
                values["state"] = "active"
            repo.set_assignment(conn, row.id, **values)
            repo.set_item(
                conn, item.id, state="done", attempts=int(item.attempts) + 1, updated_at=now, last_error=None
            )
        return "done"

    def _perform(self, pool: Pool | None, arrival: Arrival, row: Any, user_id: int, note: str | None) -> int:
        lead_id = int(row.lead_id) if row.lead_id is not None else None
        # An unsorted entry is accepted (SLA reassignments find it accepted already: a lead by now).
        # Its links are the entry's, read just before the decision: no need to read the lead again.
        links: dict[str, Any] = {}
        if (arrival.entity_type == "unsorted" and row.reason != "sla") or lead_id is None:
            lead_id = self.port.accept_unsorted(arrival.entity_id, user_id, None)
            if arrival.entity_type == "unsorted":
                companies = () if arrival.company_id is None else (arrival.company_id,)
                links = {"contact_ids": arrival.contact_ids, "company_ids": companies}
        else:
            self.port.set_responsible(lead_id, user_id)
        if pool is None or pool.move_related:
            self.port.move_related(lead_id, user_id, **links)
        if pool is not None and pool.first_task_minutes:
            now = self.clock.now()
            minutes = pool.first_task_minutes
            deadline = self.calendar.add_working_minutes(user_id, now, minutes) or now + minutes * 60
            self.port.create_task(
                lead_id, user_id, self.task_text, int(deadline), f"amo-bridge:first-contact:{row.id}"
            )
        if note:
            self.port.add_note(lead_id, note, f"amo-bridge:note:{row.id}")
        return lead_id

    def _roll_back(
        self, item: Any, row: Any, why: str, *, decide_again: bool, error: str | None = None
    ) -> None:
        """Undo an assignment amoCRM did not take: refund the rotation, audit it, decide again."""
        now = self.clock.now()
        pool = self._by_name.get(row.pool)
        payload = json.loads(item.payload)

        def work(conn: Connection) -> None:
            repo.lock_pool(conn, row.pool, now)
            current = repo.assignment(conn, row.id)
            if current is None or current.state not in repo.LIVE_STATES:
                return
            note = "refused by amoCRM" if why == "refused by amoCRM" else why
            repo.set_assignment(conn, row.id, state="rejected", closed_at=None, note=note)
            if pool is not None and row.reason in CHARGED_REASONS:
                lanes = repo.load_lanes(conn, row.pool)
                state = lanes.get(row.lane)
                if state is not None and int(row.user_id) in state.passes:
                    weights = lane_weights(pool, row.lane)
                    after = refund(state, weights, int(row.user_id))
                    repo.save_lane(
                        conn, row.pool, row.lane, state, after, charged=int(row.user_id), now=now, delta=-1
                    )
            repo.set_item(
                conn,
                item.id,
                state="done",
                updated_at=now,
                last_error=(error or why)[:500],
            )
            if decide_again:
                exclude = sorted({int(row.user_id), *payload.get("exclude", ())})
                entity = f"{row.entity_type}:{row.entity_id}"
                repo.enqueue(
                    conn,
                    dedupe_key=f"decide:{row.pool}:{entity}:{row.episode}:{row.seq + 1}",
                    kind="decide",
                    pool=row.pool,
                    entity_type=row.entity_type,
                    entity_id=row.entity_id,
                    payload={
                        "arrival": {**payload["arrival"], "episode": int(row.episode)},
                        "exclude": exclude,
                    },
                    due_at=now,
                    now=now,
                )

        self.store.run_in_transaction(work)
        log.warning("assignment %s rolled back: %s", row.id, why)

    # -- SLA --------------------------------------------------------------------------------

    def record_activity(self, lead_id: int, user_id: int | None = None, at: float | None = None) -> int:
        """The assignee acted on the lead (call, note, stage change, completed task): stop its SLA clock."""
        when = self.clock.now() if at is None else at
        with self.store.begin() as conn:
            count = 0
            for row in repo.assignments_of_lead(conn, lead_id):
                if (
                    row.state == "active"
                    and row.first_action_at is None
                    and (user_id is None or row.user_id == user_id)
                ):
                    count += repo.set_assignment(conn, row.id, first_action_at=when)
            return count

    def check_sla(self, limit: int = 100) -> int:
        """Reassign leads whose assignee has not acted in time. Returns how many were reassigned."""
        now = self.clock.now()
        with self.store.read() as conn:
            overdue = repo.sla_overdue(conn, now, limit)
        reassigned = 0
        for row in overdue:
            outbox_id = self._reassign(row, now)
            if outbox_id is not None:
                reassigned += 1
                self.apply(outbox_id)
        return reassigned

    def _reassign(self, row: Any, now: float) -> int | None:
        pool = self._by_name.get(row.pool)

        def work(conn: Connection) -> int | None:
            repo.lock_pool(conn, row.pool, now)
            current = repo.assignment(conn, row.id)
            if current is None or current.state != "active" or current.first_action_at is not None:
                return None
            if pool is None or int(current.reassign_count) >= pool.sla_max_reassign:
                repo.set_assignment(conn, row.id, sla_due_at=None)  # stop watching: the limit is reached
                return None
            item = repo.outbox_item_by_key(conn, f"apply:{row.id}")
            if item is None:
                repo.set_assignment(conn, row.id, sla_due_at=None)
                return None
            arrival = arrival_from_dict(json.loads(item.payload)["arrival"])
            rows = repo.episode_rows(conn, row.pool, row.entity_type, row.entity_id, int(row.episode))
            exclude = frozenset(int(r.user_id) for r in rows)
            lanes = repo.load_lanes(conn, pool.name)
            statuses = repo.member_statuses(conn, pool, day_start=self.calendar.day_start(now))
            facts = Facts(lanes, statuses, self.calendar, now, (), exclude, self.retry_seconds)
            decision = decide(pool, arrival, facts, reassign=True)
            if decision.member is None or decision.member in exclude:
                repo.set_assignment(conn, row.id, sla_due_at=now + self.retry_seconds)
                return None
            self._save_rotation(conn, pool, lanes, decision, now)
            repo.set_assignment(
                conn, row.id, state="missed", note=f"no action within {pool.sla_minutes} minutes"
            )
            new_id = repo.insert_assignment(
                conn,
                decision,
                entity_type=row.entity_type,
                entity_id=row.entity_id,
                episode=int(row.episode),
                seq=max(int(r.seq) for r in rows) + 1,
                lead_id=row.lead_id,
                now=now,
                reassign_count=int(current.reassign_count) + 1,
            )
            note = (
                f"amo-bridge: reassigned from user {row.user_id} to user {decision.member}: "
                f"no action within {pool.sla_minutes} minutes"
            )
            return self._enqueue_apply(conn, pool, arrival, new_id, decision.member, now, note=note)

        return self.store.run_in_transaction(work)

    # -- episodes and pauses ----------------------------------------------------------------

    def live_pools(self, lead_id: int) -> set[str]:
        """The pools in which the lead has an episode that is not closed yet."""
        with self.store.read() as conn:
            return {row.pool for row in repo.assignments_of_lead(conn, lead_id) if row.closed_at is None}

    def close_lead(self, lead_id: int, at: float | None = None, *, pools: Sequence[str] | None = None) -> int:
        """The lead was won, lost or left the pool: its episode ends in ``pools`` (default: every pool)."""
        when = self.clock.now() if at is None else at
        with self.store.begin() as conn:
            count = 0
            for row in repo.assignments_of_lead(conn, lead_id):
                if pools is not None and row.pool not in pools:
                    continue
                if row.closed_at is None:
                    state = "closed" if row.state in repo.LIVE_STATES else row.state
                    count += repo.set_assignment(conn, row.id, closed_at=when, state=state)
            return count

    def pause(self, user_id: int, pool: str | None = None, reason: str | None = None) -> None:
        with self.store.begin() as conn:
            repo.pause(conn, user_id, pool or repo.ALL_POOLS, self.clock.now(), reason)

    def resume(self, user_id: int, pool: str | None = None) -> int:
        with self.store.begin() as conn:
            return repo.resume(conn, user_id, pool)
