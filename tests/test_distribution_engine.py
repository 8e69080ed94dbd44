from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from amo_bridge.distribution.calendar import WorkCalendar
from amo_bridge.distribution.config import parse_hours
from amo_bridge.distribution.engine import Facts, decide
from amo_bridge.distribution.fairness import LaneState
from amo_bridge.distribution.model import (
    AfterHours,
    Arrival,
    Condition,
    Member,
    MemberStatus,
    Pool,
    RelatedLead,
    Rule,
    Trigger,
)

MSK = ZoneInfo("Europe/Moscow")
# Monday 2026-01-05 12:00 Moscow time
NOON = dt.datetime(2026, 1, 5, 12, 0, tzinfo=MSK).timestamp()
NIGHT = dt.datetime(2026, 1, 5, 22, 0, tzinfo=MSK).timestamp()
WORKDAYS = WorkCalendar(MSK, parse_hours("mon-fri 09:00-18:00"))


def pool(**options: object) -> Pool:
    base: dict[str, object] = {
        "name": "L1",
        "trigger": Trigger("unsorted", 7001),
        "members": (Member(1), Member(2), Member(3, 2)),
    }
    base.update(options)
    return Pool(**base)  # type: ignore[arg-type]


def arrival(**extra: object) -> Arrival:
    return Arrival("unsorted", "u1", 7001, lead_id=10, **extra)  # type: ignore[arg-type]


def facts(now: float = NOON, **extra: object) -> Facts:
    base: dict[str, object] = {"lanes": {}, "statuses": {}, "calendar": WORKDAYS, "now": now}
    base.update(extra)
    return Facts(**base)  # type: ignore[arg-type]


def test_rotation_explains_every_candidate() -> None:
    decision = decide(pool(), arrival(), facts(statuses={2: MemberStatus(paused=True)}))
    assert decision.reason == "rotation"
    assert decision.member in (1, 3)
    by_user = {c.user_id: c for c in decision.candidates}
    assert by_user[2].why == "paused"
    assert not by_user[2].eligible
    assert decision.rotation is not None


def test_inactive_capped_quota_and_vacation_members_are_skipped() -> None:
    calendar = WorkCalendar(MSK, WORKDAYS.hours, vacations={3: ((dt.date(2026, 1, 5), dt.date(2026, 1, 9)),)})
    statuses = {1: MemberStatus(active=False), 2: MemberStatus(open_leads=5)}
    decision = decide(pool(cap=5), arrival(), facts(statuses=statuses, calendar=calendar))
    assert decision.member is None
    whys = {c.user_id: c.why for c in decision.candidates}
    assert whys[1] == "inactive in amoCRM"
    assert whys[2].startswith("cap reached")
    assert whys[3] == "vacation"
    assert decision.reason == "none_available"
    quota = decide(pool(daily_quota=3), arrival(), facts(statuses={1: MemberStatus(assigned_today=3)}))
    assert quota.member in (2, 3)


def test_rule_routes_to_sub_pool_and_falls_back() -> None:
    vip = Rule("vip", (Condition("tag", "VIP"),), (Member(2),))
    routed = decide(pool(rules=(vip,)), arrival(tags=frozenset({"vip"})), facts())
    assert (routed.member, routed.reason, routed.lane) == (2, "rule", "vip")
    fallback = decide(
        pool(rules=(vip,)), arrival(tags=frozenset({"VIP"})), facts(statuses={2: MemberStatus(paused=True)})
    )
    assert fallback.reason == "fallback"
    assert fallback.lane == "default"
    other = decide(pool(rules=(vip,)), arrival(), facts())
    assert other.reason == "rotation"


def test_conditions_on_source_category_and_field() -> None:
    source = Condition("source", "Site form")
    assert source.holds(arrival(source_name="site FORM"))
    assert not source.holds(arrival(source_name="Call"))
    assert Condition("category", "sip").holds(arrival(category="sip"))
    assert Condition("field", "Moscow", 55).holds(arrival(fields={55: ("Moscow",)}))
    assert not Condition("field", "Moscow", 55).holds(arrival(fields={56: ("Moscow",)}))


def test_sticky_goes_to_existing_manager_unless_disabled_or_absent() -> None:
    related = (RelatedLead(5, 2),)
    sticky = decide(pool(), arrival(), facts(related=related))
    assert (sticky.member, sticky.reason) == (2, "sticky")
    assert sticky.rotation is None  # not charged to the rotation
    off = decide(pool(sticky=False), arrival(), facts(related=related))
    assert off.reason == "rotation"
    paused = decide(pool(), arrival(), facts(related=related, statuses={2: MemberStatus(paused=True)}))
    assert paused.reason == "rotation"
    outsider = decide(pool(), arrival(), facts(related=(RelatedLead(5, 99),)))
    assert outsider.reason == "rotation"


def test_after_hours_policies() -> None:
    held = decide(pool(), arrival(), facts(now=NIGHT))
    assert held.reason == "hold"
    assert held.hold_until == dt.datetime(2026, 1, 6, 9, 0, tzinfo=MSK).timestamp()
    duty = decide(pool(after_hours=AfterHours("on_duty", (3,))), arrival(), facts(now=NIGHT))
    assert (duty.member, duty.reason, duty.lane) == (3, "on_duty", "on_duty")
    anyway = decide(pool(after_hours=AfterHours("assign")), arrival(), facts(now=NIGHT))
    assert anyway.reason == "after_hours"
    assert anyway.member is not None


def test_weighted_rotation_from_persisted_state() -> None:
    state = LaneState()
    counts = {1: 0, 2: 0, 3: 0}
    for _ in range(40):
        decision = decide(pool(), arrival(), facts(lanes={"default": state}))
        assert decision.member is not None
        assert decision.rotation is not None
        counts[decision.member] += 1
        state = decision.rotation
    assert counts == {1: 10, 2: 10, 3: 20}


def test_reassignment_excludes_previous_assignees() -> None:
    decision = decide(pool(), arrival(), facts(exclude=frozenset({1, 3})), reassign=True)
    assert (decision.member, decision.reason) == (2, "sla")


def test_calendar_working_minutes_skip_nights_and_days_off() -> None:
    calendar = WorkCalendar(
        MSK, parse_hours("mon-fri 09:00-18:00"), days_off=frozenset({dt.date(2026, 1, 6)})
    )
    late = dt.datetime(2026, 1, 5, 17, 50, tzinfo=MSK).timestamp()
    deadline = calendar.add_working_minutes(1, late, 15)
    assert deadline == dt.datetime(2026, 1, 7, 9, 5, tzinfo=MSK).timestamp()
    assert calendar.absence(1, NOON) is None
    assert calendar.absence(1, NIGHT) == "off shift"
