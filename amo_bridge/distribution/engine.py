"""The decision: routing, stickiness, availability, after-hours policy and the fair rotation.

:func:`decide` is a pure function of the pool, the arrival and the facts the caller loaded (lane
states, member statuses, the calendar, the time, related open leads). It returns a
:class:`~amo_bridge.distribution.model.Decision` that explains itself; the caller persists it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from amo_bridge.distribution.calendar import WorkCalendar
from amo_bridge.distribution.fairness import LaneState, charge, choose, settle
from amo_bridge.distribution.model import (
    DEFAULT_LANE,
    ON_DUTY_LANE,
    Arrival,
    Candidate,
    Decision,
    Member,
    MemberStatus,
    Pool,
    RelatedLead,
    Rule,
)

UNKNOWN = MemberStatus()
DEFAULT_RETRY_SECONDS = 300.0


@dataclass(frozen=True)
class Facts:
    """Everything :func:`decide` needs besides the pool and the arrival."""

    lanes: Mapping[str, LaneState]
    statuses: Mapping[int, MemberStatus]
    calendar: WorkCalendar
    now: float
    related: Sequence[RelatedLead] = ()
    exclude: frozenset[int] = frozenset()  # stay in the rotation but may not take this lead
    retry_seconds: float = DEFAULT_RETRY_SECONDS


def route(pool: Pool, arrival: Arrival) -> tuple[str, Rule | None, tuple[Member, ...]]:
    """The first rule whose conditions all hold picks the sub-pool; otherwise the whole pool."""
    for rule in pool.rules:
        if rule.matches(arrival):
            return rule.lane, rule, rule.members
    return DEFAULT_LANE, None, pool.members


def _absent(pool: Pool, user_id: int, facts: Facts, *, ignore_shift: bool) -> str | None:
    """Why ``user_id`` cannot take a lead of ``pool`` now (``None``: available)."""
    status = facts.statuses.get(user_id, UNKNOWN)
    if not status.active:
        return "inactive in amoCRM"
    if status.paused:
        return "paused"
    absence = facts.calendar.absence(user_id, facts.now)
    if absence is not None and (absence != "off shift" or not ignore_shift):
        return absence
    if pool.cap and status.open_leads >= pool.cap:
        return f"cap reached ({status.open_leads}/{pool.cap} open leads)"
    if pool.daily_quota and status.assigned_today >= pool.daily_quota:
        return f"daily quota reached ({status.assigned_today}/{pool.daily_quota})"
    return None


def _rotate(
    pool: Pool,
    lane: str,
    members: Sequence[Member],
    facts: Facts,
    *,
    ignore_shift: bool = False,
) -> tuple[int | None, LaneState | None, list[Candidate]]:
    weights = {m.user_id: m.weight for m in members}
    available: list[int] = []
    refused: dict[int, str] = {}
    for member in members:
        why = _absent(pool, member.user_id, facts, ignore_shift=ignore_shift)
        if why is None:
            available.append(member.user_id)
        else:
            refused[member.user_id] = why
    if not available:
        return None, None, [Candidate(m.user_id, False, refused[m.user_id]) for m in members]
    state = settle(facts.lanes.get(lane, LaneState()), weights, available)
    skip = frozenset(u for u in available if u in facts.exclude)
    chosen = choose(state, weights, available, skip=skip)
    candidates: list[Candidate] = []
    for member in members:
        uid = member.user_id
        if uid in refused:
            candidates.append(Candidate(uid, False, refused[uid]))
            continue
        lag = state.lag(uid, member.weight)
        if uid in skip:
            why, eligible = "excluded: already had this lead in this episode", False
        elif uid == chosen:
            why, eligible = "chosen: earliest virtual deadline among members not ahead of their share", True
        elif lag < -1e-9:
            why, eligible = "available, ahead of its share", True
        else:
            why, eligible = "available, later virtual deadline", True
        candidates.append(Candidate(uid, eligible, why, lag))
    if chosen is None:
        return None, None, candidates
    return chosen, charge(state, weights, chosen), candidates


def _sticky(pool: Pool, arrival: Arrival, facts: Facts) -> tuple[int, RelatedLead] | None:
    own = arrival.target_lead_id
    members = pool.user_ids
    day = facts.calendar.local(facts.now).date()
    for related in sorted(facts.related, key=lambda r: -r.lead_id):
        uid = related.responsible_user_id
        if related.lead_id == own or uid not in members or uid in facts.exclude:
            continue
        status = facts.statuses.get(uid, UNKNOWN)
        if status.active and not status.paused and facts.calendar.day_off(uid, day) is None:
            return uid, related
    return None


def decide(pool: Pool, arrival: Arrival, facts: Facts, *, reassign: bool = False) -> Decision:
    """Who gets ``arrival`` in ``pool`` now, and why. ``reassign``: an SLA reassignment."""
    lane, rule, members = route(pool, arrival)

    rule_text = str(rule) if rule else None
    if not reassign:
        sticky = _sticky(pool, arrival, facts) if pool.sticky else None
        if sticky is not None:
            uid, related = sticky
            why = f"open lead {related.lead_id} of the same contact or company is theirs"
            return Decision(pool.name, lane, uid, "sticky", (Candidate(uid, True, why),), rule=rule_text)

    attempts: list[tuple[str, Sequence[Member], str]] = []
    if rule is not None:
        attempts.append((lane, members, "rule"))
        attempts.append((DEFAULT_LANE, pool.members, "fallback"))
    else:
        attempts.append((DEFAULT_LANE, pool.members, "rotation"))

    considered: list[Candidate] = []
    for attempt_lane, attempt_members, reason in attempts:
        chosen, state, candidates = _rotate(pool, attempt_lane, attempt_members, facts)
        considered += candidates
        if chosen is not None:
            final = "sla" if reassign else reason
            return Decision(
                pool.name, attempt_lane, chosen, final, tuple(considered), rule_text, rotation=state
            )

    # Nobody available. After hours (someone would be available but for the shift), or not?
    off_shift = [
        m
        for _, attempt_members, _ in attempts
        for m in attempt_members
        if _absent(pool, m.user_id, facts, ignore_shift=True) is None
    ]
    if off_shift:
        policy = pool.after_hours.policy
        if policy == "on_duty" and pool.after_hours.on_duty:
            duty = [Member(uid, 1) for uid in pool.after_hours.on_duty]
            chosen, state, candidates = _rotate(pool, ON_DUTY_LANE, duty, facts, ignore_shift=True)
            considered += candidates
            if chosen is not None:
                return Decision(
                    pool.name, ON_DUTY_LANE, chosen, "on_duty", tuple(considered), rule_text, rotation=state
                )
        if policy == "assign":
            first_lane, first_members, _ = attempts[0]
            chosen, state, candidates = _rotate(pool, first_lane, first_members, facts, ignore_shift=True)
            if chosen is not None:
                return Decision(
                    pool.name, first_lane, chosen, "after_hours", tuple(candidates), rule_text, rotation=state
                )
        starts = [facts.calendar.next_shift_start(m.user_id, facts.now) for m in off_shift]
        known = [s for s in starts if s is not None]
        if known:
            return Decision(
                pool.name, lane, None, "hold", tuple(considered), rule_text, hold_until=min(known)
            )
    return Decision(
        pool.name,
        lane,
        None,
        "none_available",
        tuple(considered),
        rule_text,
        hold_until=facts.now + facts.retry_seconds,
    )
