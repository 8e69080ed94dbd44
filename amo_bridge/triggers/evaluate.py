"""Conditions, templates and deadlines over the facts of one lead. Pure: time and zone are passed in."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from amo_bridge.triggers.parse import PLACEHOLDER
from amo_bridge.triggers.rules import Comparison, Deadline, Rule
from amo_bridge.workhours import WorkingHours

DAY = 86400


@dataclass(frozen=True)
class LeadFacts:
    """What a rule may look at, gathered by the port for one lead (amoCRM words)."""

    lead_id: int
    name: str
    pipeline_id: int
    status_id: int
    responsible_user_id: int
    price: int = 0
    contact_name: str = ""
    # custom field id -> value, of the lead and its main contact (amoCRM field ids are account-wide)
    fields: Mapping[int, object] = field(default_factory=dict)
    stage_entered_at: float | None = None
    last_activity_at: float | None = None
    last_purchase_at: float | None = None  # closed_at of the contact's latest won deal


def _whole_days(since: float | None, now: float) -> int | None:
    if since is None:
        return None
    return math.floor((now - since) / DAY)


def _as_date(value: object, tz: ZoneInfo) -> date | None:
    """amoCRM date fields: unix seconds (int or numeric text) or ISO text ``2026-05-03[T...]``."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(float(value), tz).date()
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"-?\d+", text):
            return datetime.fromtimestamp(int(text), tz).date()
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed.astimezone(tz).date() if parsed.tzinfo else parsed.date()
    return None


def _days_to_anniversary(original: date, today: date) -> int:
    for year in (today.year, today.year + 1):
        try:
            candidate = original.replace(year=year)
        except ValueError:  # 29 February in a common year: celebrate on 28 February
            candidate = date(year, 2, 28)
        if candidate >= today:
            return (candidate - today).days
    raise AssertionError("unreachable")  # pragma: no cover


def metric_value(c: Comparison, facts: LeadFacts, now: float, tz: ZoneInfo) -> float | str | None:
    """The value a comparison looks at, or ``None`` when the lead has no such value."""
    if c.metric == "days_since_purchase":
        return _whole_days(facts.last_purchase_at, now)
    if c.metric == "days_in_stage":
        return _whole_days(facts.stage_entered_at, now)
    if c.metric == "days_inactive":
        return _whole_days(facts.last_activity_at, now)
    assert c.field_id is not None
    raw = facts.fields.get(c.field_id)
    if c.metric == "field":
        if raw is None or isinstance(raw, bool | dict | list):
            return None
        if isinstance(c.value, str):
            return str(raw)
        try:
            return float(str(raw).replace(",", ".").strip())
        except ValueError:
            return None
    when = _as_date(raw, tz)
    if when is None:
        return None
    today = datetime.fromtimestamp(now, tz).date()
    if c.metric == "days_to_anniversary":
        return _days_to_anniversary(when, today)
    return (when - today).days  # days_to_date


def compare(left: float | str, op: str, right: float | str) -> bool:
    if isinstance(left, str) or isinstance(right, str):
        return (str(left) == str(right)) == (op == "==")
    return {
        ">=": left >= right,
        "<=": left <= right,
        ">": left > right,
        "<": left < right,
        "==": left == right,
        "!=": left != right,
    }[op]


def holds(rule: Rule, facts: LeadFacts, now: float, tz: ZoneInfo) -> bool:
    """True when every comparison holds; a missing value makes the condition false (not known true)."""
    for c in rule.condition:
        value = metric_value(c, facts, now, tz)
        if value is None or not compare(value, c.op, c.value):
            return False
    return True


def render(template: str, rule: Rule, facts: LeadFacts, now: float, tz: ZoneInfo) -> str:
    """Fill ``{lead.name}``, ``{field:512}``, ``{days_in_stage}``... (validated when parsed)."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        plain = {
            "lead.id": str(facts.lead_id),
            "lead.name": facts.name,
            "lead.price": str(facts.price),
            "contact.name": facts.contact_name,
            "rule": rule.name,
        }
        if name in plain:
            return plain[name]
        metric, _, field_id = name.partition(":")
        if metric == "field":
            raw = facts.fields.get(int(field_id))
            return "" if raw is None else str(raw)
        probe = Comparison(metric, "==", 0.0, int(field_id) if field_id else None)
        result = metric_value(probe, facts, now, tz)
        if result is None:
            return "?"
        return f"{result:g}" if isinstance(result, float) else str(result)

    return PLACEHOLDER.sub(value, template)


def due_at(deadline: Deadline, now: float, tz: ZoneInfo, hours: WorkingHours | None) -> int:
    """When the task is due: now + offset, at the time of day if given, moved into working hours."""
    moment = datetime.fromtimestamp(now + deadline.offset_seconds, tz)
    if deadline.at is not None:
        moment = moment.replace(hour=deadline.at.hour, minute=deadline.at.minute, second=0, microsecond=0)
        if moment.timestamp() < now:
            moment += timedelta(days=1)
    if deadline.working_hours and hours is not None and not hours.is_open(moment):
        if deadline.at is not None and hours.start <= deadline.at < hours.end:
            # "+1d 10:00" landing on a day off keeps its 10:00 on the next working day
            for _ in range(7):
                moment += timedelta(days=1)
                if moment.weekday() in hours.days:
                    break
        else:
            moment = hours.shift_into(moment)
    return int(moment.timestamp())
