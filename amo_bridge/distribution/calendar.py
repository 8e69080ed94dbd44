"""Working time: weekly hours per member in the account's time zone, days off and vacations.

Pure functions of a :class:`WorkCalendar` and a Unix timestamp; no clock is read here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

Interval = tuple[int, int]  # minutes since local midnight, [start, end), end <= 1440
WeeklyHours = tuple[tuple[Interval, ...], ...]  # seven entries, Monday first: that day's intervals
DateRange = tuple[dt.date, dt.date]  # inclusive

ALWAYS: WeeklyHours = tuple(((0, 1440),) for _ in range(7))  # printed as 'mon-sun 00:00-24:00'
_SEARCH_DAYS = 370


@dataclass(frozen=True)
class WorkCalendar:
    """Company hours, member overrides, company days off and member vacations."""

    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Europe/Moscow"))
    hours: WeeklyHours = ALWAYS
    member_hours: Mapping[int, WeeklyHours] = field(default_factory=dict)
    days_off: frozenset[dt.date] = frozenset()
    vacations: Mapping[int, tuple[DateRange, ...]] = field(default_factory=dict)

    def hours_of(self, user_id: int) -> WeeklyHours:
        return self.member_hours.get(user_id, self.hours)

    def local(self, timestamp: float) -> dt.datetime:
        return dt.datetime.fromtimestamp(timestamp, self.timezone)

    def day_off(self, user_id: int, day: dt.date) -> str | None:
        """``"day off"`` / ``"vacation"`` if the member does not work on ``day`` at all."""
        if day in self.days_off:
            return "day off"
        for first, last in self.vacations.get(user_id, ()):
            if first <= day <= last:
                return "vacation"
        return None

    def absence(self, user_id: int, timestamp: float) -> str | None:
        """Why the member is not working at ``timestamp`` (``None`` if on shift)."""
        local = self.local(timestamp)
        reason = self.day_off(user_id, local.date())
        if reason:
            return reason
        minute = local.hour * 60 + local.minute
        for start, end in self.hours_of(user_id)[local.weekday()]:
            if start <= minute < end:
                return None
        return "off shift"

    def on_shift(self, user_id: int, timestamp: float) -> bool:
        return self.absence(user_id, timestamp) is None

    def _intervals(self, user_id: int, timestamp: float) -> Iterator[tuple[float, float]]:
        """Working intervals as absolute times, from the day of ``timestamp`` on (a year at most)."""
        start_day = self.local(timestamp).date() - dt.timedelta(days=1)
        hours = self.hours_of(user_id)
        for offset in range(_SEARCH_DAYS):
            day = start_day + dt.timedelta(days=offset)
            if self.day_off(user_id, day):
                continue
            for begin, end in hours[day.weekday()]:
                yield self._at(day, begin), self._at(day, end)

    def _at(self, day: dt.date, minute: int) -> float:
        midnight = dt.datetime(day.year, day.month, day.day, tzinfo=self.timezone)
        # Add the minutes as wall-clock time, then let zoneinfo resolve the offset (DST-safe).
        naive = dt.datetime(day.year, day.month, day.day) + dt.timedelta(minutes=minute)
        return naive.replace(tzinfo=midnight.tzinfo).timestamp()

    def next_shift_start(self, user_id: int, timestamp: float) -> float | None:
        """When the member is next on shift (``timestamp`` itself if on shift now)."""
        for begin, end in self._intervals(user_id, timestamp):
            if end > timestamp:
                return max(begin, timestamp)
        return None

    def add_working_minutes(self, user_id: int, timestamp: float, minutes: float) -> float | None:
        """The moment ``minutes`` of the member's working time after ``timestamp`` have passed."""
        remaining = minutes * 60.0
        for begin, end in self._intervals(user_id, timestamp):
            if end <= timestamp:
                continue
            begin = max(begin, timestamp)
            if end - begin >= remaining:
                return begin + remaining
            remaining -= end - begin
        return None

    def day_start(self, timestamp: float) -> float:
        """Local midnight of the day of ``timestamp`` (daily quotas, "assigned today")."""
        local = self.local(timestamp)
        return dt.datetime(local.year, local.month, local.day, tzinfo=self.timezone).timestamp()

    def week_start(self, timestamp: float) -> float:
        local = self.local(timestamp)
        monday = local.date() - dt.timedelta(days=local.weekday())
        return dt.datetime(monday.year, monday.month, monday.day, tzinfo=self.timezone).timestamp()
