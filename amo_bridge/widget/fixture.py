"""An in-memory data source and action port with fixed numbers, for tests and the demo.

The numbers are the same for every period (only the trend follows the period's days), so a test can
assert what the page shows. The real source is wired from the KPI engine and the distributor.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta

from amo_bridge.widget.model import (
    DistributionShare,
    EmployeeRow,
    FunnelStage,
    KpiCard,
    Period,
    TrendPoint,
    TrendSeries,
    UnknownMember,
    funnel_from_counts,
)

KPIS: tuple[KpiCard, ...] = (
    KpiCard("L1", "leads_qualified", 184, 200),
    KpiCard("L1", "first_response_minutes", 12, 10, "min", higher_is_better=False),
    KpiCard("L2", "deals_won", 42, 50),
    KpiCard("L2", "revenue", 3_150_000, 3_500_000, "RUB"),
    KpiCard("L3", "repeat_sales", 27, 25),
    KpiCard("L3", "tasks_done_share", 0.91, 0.95, "%"),
)

EMPLOYEES: tuple[EmployeeRow, ...] = (
    EmployeeRow(101, "Анна Смирнова", "L1", 160, 98, 0, 1.02),
    EmployeeRow(102, "Борис Иванов", "L1", 150, 86, 0, 0.9),
    EmployeeRow(201, "Вера Петрова", "L2", 70, 24, 1_850_000, 1.06),
    EmployeeRow(202, "Глеб Орлов", "L2", 64, 18, 1_300_000, 0.74),
    EmployeeRow(301, "Дарья Кузнецова", "L3", 120, 27, 640_000, 1.08),
)

FUNNEL: tuple[tuple[str, int], ...] = (
    ("incoming", 310),
    ("qualified", 184),
    ("meeting", 96),
    ("won", 42),
    ("repeat", 27),
)

DISTRIBUTION: tuple[DistributionShare, ...] = (
    DistributionShare(101, "Анна Смирнова", "L1", 160, 0.5),
    DistributionShare(102, "Борис Иванов", "L1", 150, 0.5),
    DistributionShare(201, "Вера Петрова", "L2", 70, 0.6),
    DistributionShare(202, "Глеб Орлов", "L2", 64, 0.4),
    DistributionShare(301, "Дарья Кузнецова", "L3", 120, 1.0),
)


class FixtureDashboard:
    """Implements both :class:`DashboardData` and :class:`MemberActions` over fixed numbers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._paused: set[int] = set()
        self.actions: list[tuple[str, int, int]] = []  # (action, member_id, by_user_id)

    def kpis(self, period: Period) -> Sequence[KpiCard]:
        return KPIS

    def employees(self, period: Period) -> Sequence[EmployeeRow]:
        with self._lock:
            return [replace(row, paused=row.user_id in self._paused) for row in EMPLOYEES]

    def funnel(self, period: Period) -> Sequence[FunnelStage]:
        return funnel_from_counts(FUNNEL)

    def distribution(self, period: Period) -> Sequence[DistributionShare]:
        with self._lock:
            return [replace(share, paused=share.member_id in self._paused) for share in DISTRIBUTION]

    def trend(self, period: Period) -> Sequence[TrendSeries]:
        days = [period.start + timedelta(days=n) for n in range((period.end - period.start).days)]
        # A weekly rhythm (quiet weekends) plus a slow rise: plausible shapes, fixed numbers.
        leads = tuple(
            TrendPoint(day, float(3 if day.weekday() >= 5 else 7 + day.day // 6 + day.day % 3))
            for day in days
        )
        won = tuple(TrendPoint(day, float(0 if day.weekday() >= 5 else 1 + day.day % 3)) for day in days)
        return (TrendSeries("leads_qualified", "", leads), TrendSeries("deals_won", "", won))

    def pause(self, member_id: int, *, by_user_id: int) -> None:
        self._switch("pause", member_id, by_user_id)

    def resume(self, member_id: int, *, by_user_id: int) -> None:
        self._switch("resume", member_id, by_user_id)

    def _switch(self, action: str, member_id: int, by_user_id: int) -> None:
        if member_id not in {share.member_id for share in DISTRIBUTION}:
            raise UnknownMember(f"member {member_id} is in no pool")
        with self._lock:
            if action == "pause":
                self._paused.add(member_id)
            else:
                self._paused.discard(member_id)
            self.actions.append((action, member_id, by_user_id))
