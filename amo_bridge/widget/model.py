"""What the dashboard shows, as plain data, and the ports it reads and acts through.

The dashboard does not compute KPIs or distribute leads: it asks a :class:`DashboardData` source for
each section of the page and a :class:`MemberActions` port to pause or resume a member. The KPI engine
and the distributor implement these ports; :mod:`amo_bridge.widget.fixture` is an in-memory one for
tests and the demo. Everything here is pure: no Flask, no SQL, no clock.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal, Protocol
from zoneinfo import ZoneInfo

from amo_bridge.errors import AmoBridgeError

Level = Literal["L1", "L2", "L3"]
LEVELS: tuple[Level, ...] = ("L1", "L2", "L3")

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True)
class Period:
    """A calendar month in the account's time zone: ``start`` inclusive, ``end`` exclusive."""

    start: date
    end: date

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        last = calendar.monthrange(year, month)[1]
        return cls(date(year, month, 1), date(year, month, last) + timedelta(days=1))

    @classmethod
    def containing(cls, timestamp: float, tz: ZoneInfo) -> Period:
        """The month that contains Unix time ``timestamp`` in time zone ``tz``."""
        local = datetime.fromtimestamp(timestamp, tz)
        return cls.month(local.year, local.month)

    @classmethod
    def parse(cls, text: str) -> Period:
        """``YYYY-MM`` (what the page's period links carry); ``ValueError`` otherwise."""
        match = _MONTH.match(text.strip())
        if not match:
            raise ValueError("a month as YYYY-MM")
        year, month = int(match.group(1)), int(match.group(2))
        if not (2000 <= year <= 2100 and 1 <= month <= 12):
            raise ValueError("a month as YYYY-MM")
        return cls.month(year, month)

    @property
    def key(self) -> str:
        return f"{self.start.year:04d}-{self.start.month:02d}"

    def previous(self) -> Period:
        before = self.start - timedelta(days=1)
        return Period.month(before.year, before.month)

    def next(self) -> Period:
        return Period.month(self.end.year, self.end.month)


@dataclass(frozen=True)
class KpiCard:
    """One KPI of one level: what was done (``fact``) against the plan. ``name`` is a KPI key
    (``leads_qualified``) that the page translates, or a display name shown as it is."""

    level: Level
    name: str
    fact: float
    plan: float | None
    unit: str = ""  # "", "%", "RUB", "min"...
    higher_is_better: bool = True  # False for times such as the first response

    @property
    def completion(self) -> float | None:
        """How far the plan is met (1.0 = met): ``fact / plan``, or ``plan / fact`` when lower is
        better; ``None`` without a positive plan."""
        if self.plan is None or self.plan <= 0:
            return None
        if self.higher_is_better:
            return self.fact / self.plan
        return self.plan / self.fact if self.fact > 0 else None


@dataclass(frozen=True)
class EmployeeRow:
    """One person's results in the period. ``handled``: leads or clients worked on; ``succeeded``:
    those that reached the level's goal (qualified for L1, won for L2, repeat sale for L3)."""

    user_id: int
    name: str
    level: Level
    handled: int
    succeeded: int
    revenue: float
    plan_completion: float | None  # 1.0 = personal plan met; None without a plan
    paused: bool = False

    @property
    def conversion(self) -> float | None:
        return self.succeeded / self.handled if self.handled else None


@dataclass(frozen=True)
class FunnelStage:
    """A stage of the funnel. ``conversion`` is the share of the previous stage that reached this one
    (``None`` for the first stage); ``weakest`` marks the stage with the lowest conversion."""

    name: str
    count: int
    conversion: float | None
    weakest: bool = False


@dataclass(frozen=True)
class DistributionShare:
    """How many leads a member received in the period against the share they should get."""

    member_id: int
    member: str
    level: Level
    assigned: int
    target_share: float  # 0..1 within the level
    paused: bool = False


@dataclass(frozen=True)
class TrendPoint:
    day: date
    value: float


@dataclass(frozen=True)
class TrendSeries:
    """One metric over the days of the period (``name`` is a KPI key, translated like KpiCard.name)."""

    name: str
    unit: str
    points: tuple[TrendPoint, ...]


class DashboardData(Protocol):
    """The data source of the dashboard: one method per section, each for one period."""

    def kpis(self, period: Period) -> Sequence[KpiCard]: ...

    def employees(self, period: Period) -> Sequence[EmployeeRow]: ...

    def funnel(self, period: Period) -> Sequence[FunnelStage]: ...

    def distribution(self, period: Period) -> Sequence[DistributionShare]: ...

    def trend(self, period: Period) -> Sequence[TrendSeries]: ...


class UnknownMember(AmoBridgeError):
    """The member to pause or resume is not in any pool."""


class MemberActions(Protocol):
    """The switches the widget may flip (admins only). ``by_user_id`` is the amoCRM user acting."""

    def pause(self, member_id: int, *, by_user_id: int) -> None: ...

    def resume(self, member_id: int, *, by_user_id: int) -> None: ...


def funnel_from_counts(stages: Sequence[tuple[str, int]]) -> list[FunnelStage]:
    """Stages with their step conversions and the weakest step marked (the first lowest one)."""
    result: list[FunnelStage] = []
    conversions: list[float | None] = []
    previous: int | None = None
    for _, count in stages:
        conversions.append(None if previous is None else (count / previous if previous else 0.0))
        previous = count
    known = [c for c in conversions if c is not None]
    weakest_index = conversions.index(min(known)) if known else -1
    for index, ((name, count), conversion) in enumerate(zip(stages, conversions, strict=True)):
        result.append(FunnelStage(name, count, conversion, weakest=index == weakest_index))
    return result
