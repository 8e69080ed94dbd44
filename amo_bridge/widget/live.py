"""The dashboard's real data: the KPI engine (:mod:`amo_bridge.kpi`) and the distributor.

:class:`LiveDashboard` implements :class:`~amo_bridge.widget.model.DashboardData` and
:class:`~amo_bridge.widget.model.MemberActions` over the store:

* **cards**: for each level ``l1``/``l2``/``l3`` of ``KPI_LEVELS``, the level's headline metrics and
  every metric with a target in ``KPI_TARGETS``. Counts (sales, revenue, qualified ...) are summed
  over the level's members and their plan is the per-employee target times the members; rates and
  averages (calls per day, conversion, average check, first response) are the members' mean against
  the target itself;
* **employees**: per member, leads taken (handled), qualified / won / upsells (succeeded), revenue, the
  mean plan completion of the targets, paused in the distributor or not;
* **funnel**: the stages of ``KPI_FUNNEL_PIPELINE_ID`` (amoCRM order, won last, weakest step marked),
  else the department funnel: new leads -> qualified -> won -> repeat sales;
* **distribution**: per pool of ``DISTRIBUTION_POOLS``, leads assigned in the period per member
  against the member's weight share; pauses from ``distribution_pauses``;
* **trend**: qualified leads and won deals per local day;
* **pause/resume**: a pause in every pool (``*``) recorded in ``distribution_pauses``, as
  ``amo-bridge distribution pause`` does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, and_, distinct, func, select

from amo_bridge.clock import SYSTEM_CLOCK, Clock
from amo_bridge.config import Settings
from amo_bridge.distribution import repository as repo
from amo_bridge.distribution.model import Pool
from amo_bridge.kpi import directory, queries, report
from amo_bridge.kpi.periods import Period as KpiPeriod
from amo_bridge.kpi.periods import parse_period
from amo_bridge.kpi.rows import LEAD_CREATED, STATUS_CHANGED, WON
from amo_bridge.store import Store
from amo_bridge.store.schema import distribution_assignments, kpi_events
from amo_bridge.widget.model import (
    LEVELS,
    DistributionShare,
    EmployeeRow,
    FunnelStage,
    KpiCard,
    Level,
    Period,
    TrendPoint,
    TrendSeries,
    UnknownMember,
    funnel_from_counts,
)

# Metrics shown as a level's cards even without a target, in this order.
HEADLINES: Mapping[str, tuple[str, ...]] = {
    "l1": ("qualified", "conversion_qualified", "first_response_median"),
    "l2": ("sales", "revenue", "avg_check"),
    "l3": ("upsells", "revenue", "churned"),
}
# Metrics whose level value is the members' mean (the others are summed).
AVERAGED = frozenset(
    {"calls_per_day", "conversion_qualified", "avg_check", "first_response_median", "active_days"}
)
LOWER_IS_BETTER = frozenset({"first_response_median", "sla_misses", "tasks_overdue", "churned"})
UNITS: Mapping[str, str] = {
    "revenue": "RUB",
    "avg_check": "RUB",
    "conversion_qualified": "%",
    "first_response_median": "min",
}
SUCCEEDED: Mapping[str, str] = {"l1": "qualified", "l2": "sales", "l3": "upsells"}


def _level(name: str) -> Level | None:
    upper = name.upper()
    for level in LEVELS:
        if level == upper:
            return level
    return None


def kpi_period(period: Period) -> KpiPeriod:
    return parse_period(period.key)


def _display(metric: str, value: float | None) -> float:
    if value is None:
        return 0.0
    if metric == "first_response_median":
        return round(value / 60.0, 1)  # seconds -> minutes
    if metric == "conversion_qualified":
        return round(value / 100.0, 4)  # percent -> share (the page formats shares)
    return float(value)


def _plan_value(metric: str, target: float) -> float:
    if metric == "first_response_median":
        return round(target / 60.0, 1)
    if metric == "conversion_qualified":
        return target / 100.0
    return target


class LiveDashboard:
    """Both dashboard ports over the store (see the module docstring)."""

    def __init__(self, settings: Settings, store: Store, *, clock: Clock = SYSTEM_CLOCK) -> None:
        self._settings = settings
        self._store = store
        self._clock = clock
        self._tz = settings.amo.timezone
        self._kpi = settings.kpi

    # -- helpers ---------------------------------------------------------------------------------

    def _pools(self) -> tuple[Pool, ...]:
        return self._settings.distribution.pools()

    def _snapshots(self, conn: Connection, period: Period) -> dict[str, list[report.KpiSnapshot]]:
        users = directory.users(self._store, conn)
        chosen = kpi_period(period)
        now = self._clock.now()
        out: dict[str, list[report.KpiSnapshot]] = {}
        for name in sorted(self._kpi.levels):
            if _level(name) is not None:
                out[name] = report.level_report(conn, self._kpi, self._tz, chosen, name, users, now)
        return out

    def _paused(self, conn: Connection) -> set[int]:
        return set(repo.paused(conn))

    # -- DashboardData ---------------------------------------------------------------------------

    def kpis(self, period: Period) -> Sequence[KpiCard]:
        with self._store.read() as conn:
            levels = self._snapshots(conn, period)
        cards: list[KpiCard] = []
        for name, snapshots in levels.items():
            level = _level(name)
            assert level is not None
            targets = {m: t for (lv, m), t in self._kpi.targets.items() if lv == name}
            metrics = list(HEADLINES.get(name, ()))
            metrics += [m for m in sorted(targets) if m not in metrics]
            for metric in metrics:
                values = [s.metrics.get(metric) for s in snapshots]
                known = [float(v) for v in values if v is not None]
                if metric in AVERAGED:
                    fact = sum(known) / len(known) if known else None
                    plan = targets.get(metric)
                else:
                    fact = sum(known)
                    plan = targets[metric] * len(snapshots) if metric in targets else None
                cards.append(
                    KpiCard(
                        level,
                        metric,
                        _display(metric, fact),
                        None if plan is None else _plan_value(metric, plan),
                        UNITS.get(metric, ""),
                        higher_is_better=metric not in LOWER_IS_BETTER,
                    )
                )
        return cards

    def employees(self, period: Period) -> Sequence[EmployeeRow]:
        with self._store.read() as conn:
            levels = self._snapshots(conn, period)
            paused = self._paused(conn)
        rows: list[EmployeeRow] = []
        for name, snapshots in levels.items():
            level = _level(name)
            assert level is not None
            for s in snapshots:
                pcts = [p for p in s.plan.values() if p is not None]
                rows.append(
                    EmployeeRow(
                        user_id=s.user_id,
                        name=s.name,
                        level=level,
                        handled=int(s.metrics.get("leads_taken") or 0),
                        succeeded=int(s.metrics.get(SUCCEEDED[name]) or 0),
                        revenue=float(s.metrics.get("revenue") or 0.0),
                        plan_completion=(sum(pcts) / len(pcts) / 100.0) if pcts else None,
                        paused=s.user_id in paused,
                    )
                )
        return rows

    def funnel(self, period: Period) -> Sequence[FunnelStage]:
        chosen = kpi_period(period)
        with self._store.read() as conn:
            pipeline_id = self._kpi.funnel_pipeline_id
            pipelines = directory.pipelines(self._store, conn)
            if pipeline_id is not None and pipeline_id in pipelines:
                stages = report.funnel_report(conn, pipelines[pipeline_id], self._tz, chosen)
                return funnel_from_counts([(s.name, s.reached) for s in stages])
            start, end = chosen.bounds(self._tz)
            counts = self._department_funnel(conn, start, end)
        return funnel_from_counts(counts)

    def _department_funnel(self, conn: Connection, start: int, end: int) -> list[tuple[str, int]]:
        e = kpi_events
        in_period = and_(e.c.occurred_at >= start, e.c.occurred_at < end)

        def leads(*conditions: Any) -> int:
            statement = select(func.count(distinct(e.c.lead_id))).where(in_period, *conditions)
            return int(conn.execute(statement).scalar_one() or 0)

        retention = self._kpi.retention_pipeline_id
        new = leads(e.c.kind == LEAD_CREATED)
        qualified = (
            leads(e.c.kind == STATUS_CHANGED, e.c.status_id.in_(sorted(self._kpi.qualified_statuses)))
            if self._kpi.qualified_statuses
            else 0
        )
        won_where = [e.c.kind == STATUS_CHANGED, e.c.status_id == WON]
        if retention is not None:
            won = leads(*won_where, func.coalesce(e.c.pipeline_id, 0) != retention)
            repeat = leads(*won_where, e.c.pipeline_id == retention)
            return [("incoming", new), ("qualified", qualified), ("won", won), ("repeat", repeat)]
        return [("incoming", new), ("qualified", qualified), ("won", leads(*won_where))]

    def distribution(self, period: Period) -> Sequence[DistributionShare]:
        chosen = kpi_period(period)
        start, end = chosen.bounds(self._tz)
        a = distribution_assignments
        shares: list[DistributionShare] = []
        with self._store.read() as conn:
            paused = self._paused(conn)
            users = directory.users(self._store, conn)
            names = repo.crm_user_names(conn, sorted({m.user_id for p in self._pools() for m in p.members}))
            for pool in self._pools():
                level = _level(pool.name) or self._level_of(pool, users)
                if level is None or not pool.members:
                    continue
                rows = conn.execute(
                    select(a.c.user_id, func.count())
                    .where(
                        a.c.pool == pool.name,
                        a.c.state.in_(repo.COUNTED_STATES),
                        a.c.created_at >= start,
                        a.c.created_at < end,
                    )
                    .group_by(a.c.user_id)
                )
                assigned = {int(u): int(n) for u, n in rows}
                total_weight = sum(m.weight for m in pool.members) or 1
                for member in pool.members:
                    uid = member.user_id
                    name = users[uid].name if uid in users else names.get(uid, (f"user {uid}", True))[0]
                    shares.append(
                        DistributionShare(
                            uid,
                            name,
                            level,
                            assigned.get(uid, 0),
                            member.weight / total_weight,
                            paused=uid in paused,
                        )
                    )
        return shares

    def _level_of(self, pool: Pool, users: Mapping[int, Any]) -> Level | None:
        """The KPI level most of the pool's members belong to (a pool named other than L1..L3)."""
        for name in sorted(self._kpi.levels):
            level = _level(name)
            if level is None:
                continue
            members = set(report.level_members(self._kpi, name, users))
            if any(m.user_id in members for m in pool.members):
                return level
        return None

    def trend(self, period: Period) -> Sequence[TrendSeries]:
        chosen = kpi_period(period)
        start, end = chosen.bounds(self._tz)
        day_starts = chosen.day_starts(self._tz)
        days = [period.start + timedelta(days=n) for n in range((period.end - period.start).days)]
        e = kpi_events
        index = queries.day_index(e.c.occurred_at, day_starts).label("day")

        def per_day(conn: Connection, *conditions: Any) -> dict[int, int]:
            statement = (
                select(index, func.count(distinct(e.c.lead_id)))
                .where(e.c.occurred_at >= start, e.c.occurred_at < end, *conditions)
                .group_by(index)
            )
            return {int(d): int(n) for d, n in conn.execute(statement)}

        with self._store.read() as conn:
            qualified = (
                per_day(
                    conn,
                    e.c.kind == STATUS_CHANGED,
                    e.c.status_id.in_(sorted(self._kpi.qualified_statuses)),
                )
                if self._kpi.qualified_statuses
                else {}
            )
            won = per_day(conn, e.c.kind == STATUS_CHANGED, e.c.status_id == WON)
        return (
            TrendSeries(
                "leads_qualified",
                "",
                tuple(TrendPoint(d, float(qualified.get(i, 0))) for i, d in enumerate(days)),
            ),
            TrendSeries(
                "deals_won", "", tuple(TrendPoint(d, float(won.get(i, 0))) for i, d in enumerate(days))
            ),
        )

    # -- MemberActions ---------------------------------------------------------------------------

    def _check_member(self, member_id: int) -> None:
        if not any(member_id in pool.user_ids for pool in self._pools()):
            raise UnknownMember(f"member {member_id} is in no pool")

    def pause(self, member_id: int, *, by_user_id: int) -> None:
        self._check_member(member_id)
        with self._store.begin() as conn:
            repo.pause(conn, member_id, repo.ALL_POOLS, self._clock.now(), f"widget, user {by_user_id}")

    def resume(self, member_id: int, *, by_user_id: int) -> None:
        self._check_member(member_id)
        with self._store.begin() as conn:
            repo.resume(conn, member_id, None)
