"""Working hours of the department: when a task deadline may fall. Pure (times are passed in).

``WorkingHours.parse("09:00-18:00", "mon-fri")``; :meth:`WorkingHours.shift_into` moves an instant
that falls outside working time to the next opening (the same instant if already inside).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_HOURS = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def parse_clock(text: str) -> time:
    match = re.match(r"^\s*(\d{1,2}):(\d{2})\s*$", text)
    if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise ValueError("a time of day such as 10:00")
    return time(int(match.group(1)), int(match.group(2)))


def parse_hours(text: str) -> tuple[time, time]:
    match = _HOURS.match(text)
    expected = "working hours such as 09:00-18:00 (start before end)"
    if not match:
        raise ValueError(expected)
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2 != 0):
        raise ValueError(expected)
    start = time(h1, m1)
    end = time(23, 59, 59) if h2 == 24 else time(h2, m2)
    if not start < end:
        raise ValueError(expected)
    return start, end


def parse_days(text: str) -> frozenset[int]:
    """``"mon-fri"``, ``"mon,wed,fri"``, ``"mon-sun"`` -> weekday numbers (Monday = 0)."""
    expected = "working days such as mon-fri or mon,tue,thu"
    days: set[int] = set()
    for part in text.lower().replace(" ", "").split(","):
        if not part:
            continue
        first, _, last = part.partition("-")
        if first not in _DAYS or (last and last not in _DAYS):
            raise ValueError(expected)
        a = _DAYS.index(first)
        b = _DAYS.index(last) if last else a
        if b < a:
            raise ValueError(expected)
        days.update(range(a, b + 1))
    if not days:
        raise ValueError(expected)
    return frozenset(days)


@dataclass(frozen=True)
class WorkingHours:
    start: time
    end: time
    days: frozenset[int]

    @classmethod
    def parse(cls, hours: str, days: str) -> WorkingHours:
        start, end = parse_hours(hours)
        return cls(start, end, parse_days(days))

    def is_open(self, moment: datetime) -> bool:
        return moment.weekday() in self.days and self.start <= moment.time() < self.end

    def shift_into(self, moment: datetime) -> datetime:
        """The first instant at or after ``moment`` (an aware datetime) inside working time."""
        if self.is_open(moment):
            return moment
        day = moment.date()
        if moment.time() >= self.start and moment.weekday() in self.days:
            day += timedelta(days=1)  # after hours today: open tomorrow (or later)
        elif moment.time() >= self.end:
            day += timedelta(days=1)
        for _ in range(8):
            if day.weekday() in self.days:
                candidate = datetime.combine(day, self.start, tzinfo=moment.tzinfo)
                if candidate >= moment:
                    return candidate
            day += timedelta(days=1)
        raise AssertionError("no working day within a week")  # pragma: no cover (days is non-empty)


def local(timestamp: float, tz: ZoneInfo) -> datetime:
    return datetime.fromtimestamp(timestamp, tz)
