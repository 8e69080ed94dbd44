"""Report periods (day, ISO week, month) and their boundaries in the account's time zone. Pure."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


@dataclass(frozen=True)
class Period:
    """Local calendar days ``[first, end)``; ``label`` is what the user typed (``2026-11``,
    ``2026-W47``, ``2026-11-23``)."""

    label: str
    kind: str  # day | week | month
    first: date
    end: date

    def days(self) -> Iterator[date]:
        day = self.first
        while day < self.end:
            yield day
            day += timedelta(days=1)

    def bounds(self, tz: ZoneInfo) -> tuple[int, int]:
        """Unix seconds of local midnight at the start and at the end (exclusive)."""
        return local_midnight(self.first, tz), local_midnight(self.end, tz)

    def day_starts(self, tz: ZoneInfo) -> list[int]:
        """Local midnights of every day and of the end: ``len(days) + 1`` boundaries."""
        return [local_midnight(d, tz) for d in self.days()] + [local_midnight(self.end, tz)]


def local_midnight(day: date, tz: ZoneInfo) -> int:
    return int(datetime.combine(day, time(0), tzinfo=tz).timestamp())


def parse_period(text: str) -> Period:
    """``2026-11`` (month), ``2026-W47`` (ISO week, Monday to Sunday) or ``2026-11-23`` (day)."""
    value = text.strip()
    try:
        if m := _MONTH.match(value):
            first = date(int(m.group(1)), int(m.group(2)), 1)
            end = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
            return Period(value, "month", first, end)
        if m := _WEEK.match(value):
            first = date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1)
            return Period(value, "week", first, first + timedelta(days=7))
        if m := _DAY.match(value):
            first = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            return Period(value, "day", first, first + timedelta(days=1))
    except ValueError:
        pass
    raise ValueError(f"{text!r}: expected a period such as 2026-11, 2026-W47 or 2026-11-23")


def period_of(kind: str, moment: float, tz: ZoneInfo) -> Period:
    """The day/week/month containing ``moment`` in ``tz``."""
    local = datetime.fromtimestamp(moment, tz).date()
    if kind == "day":
        return parse_period(local.isoformat())
    if kind == "week":
        year, week, _ = local.isocalendar()
        return parse_period(f"{year}-W{week:02d}")
    return parse_period(f"{local.year}-{local.month:02d}")
