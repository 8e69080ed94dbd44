"""Parsers for the variables of the scheduled jobs (see :class:`~amo_bridge.config.settings.JobsSettings`)."""

from __future__ import annotations

from amo_bridge.schedules import Schedule, parse_duration, parse_schedule
from amo_bridge.workhours import parse_days, parse_hours


def schedule(value: str) -> Schedule:
    return parse_schedule(value)


def duration(value: str) -> float:
    return parse_duration(value)


def id_list(value: str) -> tuple[int, ...]:
    """``"3411, 3412"`` -> ``(3411, 3412)``: amoCRM ids, comma-separated."""
    expected = "comma-separated amoCRM ids such as 3411,3412"
    ids: list[int] = []
    for part in value.split(","):
        part = part.strip()
        if not part:
            continue
        if not part.isdigit() or int(part) <= 0:
            raise ValueError(expected)
        ids.append(int(part))
    return tuple(ids)


def working_hours(value: str) -> str:
    parse_hours(value)
    return value.strip()


def working_days(value: str) -> str:
    parse_days(value)
    return value.strip().lower()


def rules_text(value: str) -> str:
    """Trigger rules are checked rule by rule when loaded (a bad rule is skipped, never fatal)."""
    return value.strip()
