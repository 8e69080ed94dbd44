"""KPI reports: per employee of a level and period, per pipeline funnel, per employee and day.

Joins the SQL aggregates of :mod:`.queries` with the formulas of :mod:`.arithmetic`, the level
membership and the targets of :class:`~amo_bridge.config.settings.KpiSettings`.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from amo_bridge.config.settings import KpiSettings
from amo_bridge.errors import AmoBridgeError
from amo_bridge.kpi import arithmetic, queries
from amo_bridge.kpi.activities import ACTIVITIES, METRICS
from amo_bridge.kpi.arithmetic import Discrepancy, StageStat
from amo_bridge.kpi.periods import Period, parse_period
from amo_bridge.kpi.ports import PipelineInfo, UserInfo
from amo_bridge.kpi.rows import LOST, WON

# The columns each standard level shows; any other level name shows every metric.
LEVEL_METRICS: Mapping[str, tuple[str, ...]] = {
    "l1": (
        "calls",
        "calls_per_day",
        "leads_taken",
        "qualified",
        "conversion_qualified",
        "first_response_median",
        "sla_misses",
        "tasks_overdue",
    ),
    "l2": ("sales", "revenue", "avg_check", "calls", *ACTIVITIES, "tasks_overdue"),
    "l3": ("upsells", "revenue", "churned", "calls", *ACTIVITIES, "tasks_overdue"),
}
DAILY_METRICS = ("calls", *ACTIVITIES, "sales")


class KpiError(AmoBridgeError):
    """A report cannot be made as asked (unknown level or pipeline, missing stage order)."""


@dataclass(frozen=True)
class KpiSnapshot:
    """One employee's KPIs for one period, with plan/fact percentages where a target is set."""

    user_id: int
    name: str
    level: str
    period: str
    metrics: Mapping[str, float | None]
    plan: Mapping[str, float | None]


def metrics_for(level: str) -> tuple[str, ...]:
    return LEVEL_METRICS.get(level, METRICS)


def level_members(settings: KpiSettings, level: str, users: Mapping[int, UserInfo]) -> list[int]:
    if level not in settings.levels:
        known = ", ".join(sorted(settings.levels)) or "none (set KPI_LEVELS)"
        raise KpiError(f"unknown level {level!r}; configured levels: {known}")
    members = settings.levels[level]
    found = set(members.users)
    found |= {u.id for u in users.values() if u.group_id is not None and u.group_id in members.groups}
    return sorted(found)


def all_metrics(
    conn: Connection, settings: KpiSettings, tz: ZoneInfo, period: Period, now: float
) -> dict[int, dict[str, float | None]]:
    """Every metric of every employee with any history in the period (raw SQL aggregates + formulas)."""
    start, end = period.bounds(tz)
    merged: dict[int, dict[str, float | None]] = {}
    parts = (
        queries.activity_counts(
            conn, start, end, period.day_starts(tz), settings.activities, settings.qualified_statuses
        ),
        queries.sales(conn, start, end, settings.retention_pipeline_id),
        queries.first_response(conn, start, end, settings.first_response_sla, now),
        queries.tasks_overdue(conn, start, end, now),
        queries.churned(conn, start, end, settings.churn_window_days, now),
    )
    for part in parts:
        for user, values in part.items():
            merged.setdefault(user, {}).update(values)
    return {user: arithmetic.derive(_with_zeros(values)) for user, values in merged.items()}


def _with_zeros(values: Mapping[str, float | None]) -> dict[str, float | None]:
    zero_defaults = {m: 0.0 for m in METRICS if m not in ("first_response_median",)}
    zero_defaults["priced_sales"] = 0.0
    return {**zero_defaults, "first_response_median": None, **values}


def level_report(
    conn: Connection,
    settings: KpiSettings,
    tz: ZoneInfo,
    period: Period,
    level: str,
    users: Mapping[int, UserInfo],
    now: float,
) -> list[KpiSnapshot]:
    members = level_members(settings, level, users)
    computed = all_metrics(conn, settings, tz, period, now)
    empty = arithmetic.derive(_with_zeros({}))
    snapshots = []
    for user_id in members:
        values = computed.get(user_id, empty)
        plan = {
            metric: arithmetic.plan_fact(values.get(metric), target)
            for (lvl, metric), target in settings.targets.items()
            if lvl == level
        }
        name = users[user_id].name if user_id in users else f"user {user_id}"
        snapshots.append(KpiSnapshot(user_id, name, level, period.label, values, plan))
    return snapshots


def funnel_report(conn: Connection, pipeline: PipelineInfo, tz: ZoneInfo, period: Period) -> list[StageStat]:
    """The pipeline's stages in amoCRM order (won last; lost is not a funnel stage)."""
    stages = sorted((s for s in pipeline.stages if s.id not in (WON, LOST)), key=lambda s: (s.sort, s.id))
    order = [s.id for s in stages] + [WON]
    names = {s.id: s.name for s in pipeline.stages}
    names.setdefault(WON, "won")
    start, end = period.bounds(tz)
    ranks = queries.funnel_max_ranks(conn, pipeline.id, order, start, end)
    medians: dict[int, float | None] = dict(queries.stage_medians(conn, pipeline.id, order[:-1], start, end))
    return arithmetic.funnel(order, names, ranks, medians)


@dataclass(frozen=True)
class DailyRow:
    user_id: int
    name: str
    day: str
    recorded: Mapping[str, float | None]
    reported: Mapping[str, float]
    discrepancies: Sequence[Discrepancy]


def daily_report(
    conn: Connection,
    settings: KpiSettings,
    tz: ZoneInfo,
    period: Period,
    users: Mapping[int, UserInfo],
    only_user: int | None = None,
) -> list[DailyRow]:
    """Per employee and day: what the CRM recorded and, where the employee reported numbers in a
    configured field, the disagreements."""
    rows: list[DailyRow] = []
    for day in period.days():
        one = parse_period(day.isoformat())
        start, end = one.bounds(tz)
        counts = queries.activity_counts(
            conn, start, end, one.day_starts(tz), settings.activities, settings.qualified_statuses
        )
        for user, values in queries.sales(conn, start, end, settings.retention_pipeline_id).items():
            counts.setdefault(user, {}).update(values)
        reported = queries.reported_numbers(conn, start, end, settings.reported_fields)
        for user in sorted(set(counts) | set(reported)):
            if only_user is not None and user != only_user:
                continue
            recorded = {m: float(counts.get(user, {}).get(m) or 0) for m in DAILY_METRICS}
            own = reported.get(user, {})
            name = users[user].name if user in users else f"user {user}"
            found = arithmetic.discrepancies(user, day.isoformat(), own, recorded)
            rows.append(DailyRow(user, name, day.isoformat(), dict(recorded), own, found))
    return rows


# --- rendering ------------------------------------------------------------------------------------------


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.1f}"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    for row in rows:
        lines.append(
            "  ".join(
                c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
    return "\n".join(lines)


def render_level(snapshots: Sequence[KpiSnapshot], level: str, fmt: str) -> str:
    metrics = list(metrics_for(level))
    plan_metrics = sorted({m for s in snapshots for m in s.plan})
    if fmt == "json":
        return json.dumps([asdict(s) for s in snapshots], ensure_ascii=False, indent=2, default=dict)
    headers = ["user_id", "name", *metrics, *(f"{m}_plan_pct" for m in plan_metrics)]
    rows = [
        [
            str(s.user_id),
            s.name,
            *(_fmt(s.metrics.get(m)) for m in metrics),
            *(_fmt(s.plan.get(m)) for m in plan_metrics),
        ]
        for s in snapshots
    ]
    if fmt == "csv":
        return _csv(headers, rows)
    return table(headers, rows)


def render_funnel(stages: Sequence[StageStat], fmt: str) -> str:
    if fmt == "json":
        return json.dumps([asdict(s) for s in stages], ensure_ascii=False, indent=2)
    headers = ["status_id", "stage", "reached", "conversion_to_next_pct", "median_hours_in_stage", "weakest"]
    rows = [
        [
            str(s.status_id),
            s.name,
            str(s.reached),
            _fmt(s.conversion_to_next),
            _fmt(None if s.median_seconds is None else s.median_seconds / 3600),
            "<- weakest" if s.weakest else "",
        ]
        for s in stages
    ]
    return _csv(headers, rows) if fmt == "csv" else table(headers, rows)


def render_daily(rows: Sequence[DailyRow], fmt: str) -> str:
    if fmt == "json":
        return json.dumps([asdict(r) for r in rows], ensure_ascii=False, indent=2, default=dict)
    headers = ["day", "user_id", "name", *DAILY_METRICS, "disagrees"]
    out = []
    for r in rows:
        flagged = {d.metric for d in r.discrepancies}
        cells = []
        for m in DAILY_METRICS:
            cell = _fmt(r.recorded.get(m))
            if m in r.reported:
                cell += f" (reported {_fmt(r.reported[m])})" if m in flagged else " (ok)"
            cells.append(cell)
        out.append([r.day, str(r.user_id), r.name, *cells, ", ".join(sorted(flagged)) or ""])
    return _csv(headers, out) if fmt == "csv" else table(headers, out)


def _csv(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(headers)
    writer.writerows(rows)
    return buffer.getvalue().rstrip("\n")
