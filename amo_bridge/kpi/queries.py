"""SQL aggregation over ``kpi_events`` (SQLAlchemy Core, the same on SQLite and PostgreSQL).

Every query aggregates in the database and returns a handful of rows per employee or per stage;
nothing loads the history into Python. Times are Unix seconds; a period is ``[start, end)``.
The credited employee of a row is ``COALESCE(user_id, actor_id)``: the lead's responsible user when
the source knows it, else whoever made the change (docs/kpi.md).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Exists,
    Select,
    and_,
    case,
    distinct,
    exists,
    false,
    func,
    literal,
    or_,
    select,
)

from amo_bridge.kpi.activities import ACTIVITIES, ActivityMap, Matcher
from amo_bridge.kpi.rows import (
    CALL_IN,
    CALL_OUT,
    LEAD_CREATED,
    REPORTED,
    RESPONSIBLE_CHANGED,
    STATUS_CHANGED,
    TASK_COMPLETED,
    TASK_CREATED,
    WON,
)
from amo_bridge.store.schema import kpi_events

e = kpi_events
CALLS = (CALL_IN, CALL_OUT)
RESPONSES = (CALL_IN, CALL_OUT, STATUS_CHANGED)
DAY = 86_400

Counts = dict[int, dict[str, float | None]]


# Some queries must read another index than (kind, time): a correlated probe the lead index, overdue
# tasks the deadline index. Without ANALYZE statistics (SQLite has none unless someone runs ANALYZE)
# SQLite prefers an equality on kind and would scan a whole kind; ``kind || ''`` takes the kind index
# out of the choice (on both databases) while keeping the comparison.


def kind_of(table: Any) -> ColumnElement[Any]:
    column: ColumnElement[Any] = table.c.kind.concat("")
    return column


def probe(*conditions: ColumnElement[bool]) -> Exists:
    return exists().where(*conditions)


def credited(table: Any = e) -> ColumnElement[Any]:
    return func.coalesce(table.c.user_id, table.c.actor_id)


def in_period(start: int, end: int, table: Any = e, *, scan: bool = False) -> ColumnElement[bool]:
    """``start <= occurred_at < end``. With ``scan`` on SQLite, the time index is bypassed: when most
    of the table is in the period, one sequential pass beats a random row lookup per index entry."""
    column: ColumnElement[Any] = table.c.occurred_at + 0 if scan else table.c.occurred_at
    return and_(column >= start, column < end)


SCAN_FRACTION = 0.2


def prefer_scan(conn: Connection, start: int, end: int) -> bool:
    """Whether the period holds so much of the history that a table scan is cheaper (SQLite only;
    PostgreSQL's planner decides by itself). Both counts are answered from indexes."""
    if conn.dialect.name != "sqlite":
        return False
    inside = conn.execute(select(func.count()).select_from(e).where(in_period(start, end))).scalar_one()
    total = conn.execute(select(func.max(e.c.id))).scalar_one() or 0
    return bool(total) and inside > SCAN_FRACTION * total


def day_index(column: ColumnElement[Any], day_starts: Sequence[int]) -> ColumnElement[Any]:
    """The local day a time falls on: arithmetic when every day is 24 h long, else a CASE over the
    local midnights (a day with a daylight-saving change is 23 or 25 hours long)."""
    if all(b - a == DAY for a, b in itertools.pairwise(day_starts)):
        return (column - day_starts[0]) // DAY
    whens = [(column < boundary, i) for i, boundary in enumerate(day_starts[1:])]
    return case(*whens, else_=len(day_starts) - 1)


def _row_condition(m: Matcher) -> ColumnElement[bool] | None:
    if m.kind == "task":
        return and_(e.c.kind == TASK_COMPLETED, e.c.task_type_id == int(m.value))
    if m.kind == "note":
        return and_(e.c.kind == "note_added", e.c.note_type == m.value)
    if m.kind == "call":
        if m.value == "in":
            return e.c.kind == CALL_IN
        if m.value == "out":
            return e.c.kind == CALL_OUT
        if m.value == "any":
            return e.c.kind.in_(CALLS)
        return None  # call:repeat is counted by repeat_calls(), a query of its own
    return None


def activity_row_columns(activities: ActivityMap) -> list[ColumnElement[Any]]:
    """Per activity, the rows that match it (tasks, notes, calls)."""
    columns: list[ColumnElement[Any]] = []
    for name in ACTIVITIES:
        conditions = [c for c in (_row_condition(m) for m in activities.of(name)) if c is not None]
        if conditions:
            columns.append(func.count(case((or_(*conditions), 1))).label(name))
    return columns


def activity_lead_columns(activities: ActivityMap) -> list[ColumnElement[Any]]:
    """Per activity, the distinct leads moved into a matching stage (re-entering a stage in the same
    period is not a second invoice)."""
    columns: list[ColumnElement[Any]] = []
    for name in ACTIVITIES:
        statuses = [int(m.value) for m in activities.of(name) if m.kind == "status"]
        if statuses:
            moved = and_(e.c.kind == STATUS_CHANGED, e.c.status_id.in_(statuses))
            columns.append(func.count(distinct(case((moved, e.c.lead_id)))).label(name))
    return columns


LEAD_MOVES = (LEAD_CREATED, RESPONSIBLE_CHANGED, STATUS_CHANGED)


def activity_counts(
    conn: Connection,
    start: int,
    end: int,
    day_starts: Sequence[int],
    activities: ActivityMap,
    qualified_statuses: frozenset[int],
) -> Counts:
    """Calls, active days, leads taken, qualified leads and every configured activity, per employee.

    Two passes over the period: every row for what counts rows and days; the lead moves alone (read
    from the covering index) for what counts distinct leads, so the distinct counts' per-employee
    sets are fed only rows that can match. An activity's figure is the sum of both parts."""
    rows_statement = (
        select(
            credited().label("who"),
            func.count(case((e.c.kind == CALL_IN, 1))).label("calls_in"),
            func.count(case((e.c.kind == CALL_OUT, 1))).label("calls_out"),
            func.count(distinct(day_index(e.c.occurred_at, day_starts))).label("active_days"),
            *activity_row_columns(activities),
        )
        .where(in_period(start, end, scan=prefer_scan(conn, start, end)), e.c.kind != REPORTED)
        .group_by(credited())
    )
    qualified: ColumnElement[bool] = (
        and_(e.c.kind == STATUS_CHANGED, e.c.status_id.in_(sorted(qualified_statuses)))
        if qualified_statuses
        else false()
    )
    leads_statement = (
        select(
            credited().label("who"),
            func.count(
                distinct(case((e.c.kind.in_((LEAD_CREATED, RESPONSIBLE_CHANGED)), e.c.lead_id)))
            ).label("leads_taken"),
            func.count(distinct(case((qualified, e.c.lead_id)))).label("qualified"),
            *activity_lead_columns(activities),
        )
        .where(e.c.kind.in_(LEAD_MOVES), in_period(start, end))
        .group_by(credited())
    )
    zeros = dict.fromkeys(("leads_taken", "qualified", *ACTIVITIES), 0.0)
    out: Counts = {}
    for row in conn.execute(rows_statement).mappings():
        if row["who"] is not None:
            counts: dict[str, float | None] = {
                **zeros,
                **{k: float(v or 0) for k, v in row.items() if k != "who"},
            }
            counts["calls"] = float(row["calls_in"] or 0) + float(row["calls_out"] or 0)
            out[int(row["who"])] = counts
    for row in conn.execute(leads_statement).mappings():
        if row["who"] is not None:
            counts = out.setdefault(int(row["who"]), dict(zeros))
            for k, v in row.items():
                if k != "who":
                    counts[k] = float(counts.get(k) or 0) + float(v or 0)
    for name in ACTIVITIES:
        if Matcher("call", "repeat") in activities.of(name):
            for user, n in repeat_calls(conn, start, end).items():
                counts = out.setdefault(user, {})
                counts[name] = float(counts.get(name) or 0) + n
    return out


def repeat_calls(conn: Connection, start: int, end: int) -> dict[int, float]:
    """Outgoing calls of the period on a lead that had a call (either way) at an earlier second."""
    earlier = e.alias("earlier")
    prior = probe(
        earlier.c.lead_id == e.c.lead_id,
        earlier.c.occurred_at < e.c.occurred_at,
        kind_of(earlier).in_(CALLS),
    )
    statement = (
        select(credited().label("who"), func.count())
        .where(e.c.kind == CALL_OUT, in_period(start, end), e.c.lead_id.is_not(None), prior)
        .group_by(credited())
    )
    return {int(w): float(n) for w, n in conn.execute(statement) if w is not None}


def sales(conn: Connection, start: int, end: int, retention_pipeline_id: int | None) -> Counts:
    """Won leads per employee: each lead once per period (a lead won, reopened and won again is one
    sale), its price the highest recorded for that win; upsells are wins in the retention pipeline."""
    retention = e.c.pipeline_id == retention_pipeline_id if retention_pipeline_id is not None else false()
    won = (
        select(
            credited().label("who"),
            e.c.lead_id,
            func.max(e.c.price).label("price"),
            func.max(case((retention, 1), else_=0)).label("upsell"),
        )
        .where(e.c.kind == STATUS_CHANGED, e.c.status_id == WON, in_period(start, end))
        .group_by(credited(), e.c.lead_id)
        .subquery()
    )
    statement = select(
        won.c.who,
        func.count().label("sales"),
        func.coalesce(func.sum(won.c.price), 0).label("revenue"),
        func.count(won.c.price).label("priced_sales"),
        func.sum(won.c.upsell).label("upsells"),
    ).group_by(won.c.who)
    return {
        int(r.who): {
            "sales": float(r.sales),
            "revenue": float(r.revenue),
            "priced_sales": float(r.priced_sales),
            "upsells": float(r.upsells or 0),
        }
        for r in conn.execute(statement)
        if r.who is not None
    }


def _median_by(conn: Connection, source: Any, group: str, value: str) -> dict[Any, float]:
    """Median of ``source.<value>`` per ``source.<group>`` with window functions (both databases)."""
    g, v = source.c[group], source.c[value]
    ranked = (
        select(
            g.label("g"),
            v.label("v"),
            func.row_number().over(partition_by=g, order_by=v).label("rn"),
            func.count().over(partition_by=g).label("n"),
        )
        .where(v.is_not(None))
        .subquery()
    )
    statement = (
        select(ranked.c.g, func.avg(ranked.c.v))
        .where(or_(ranked.c.rn == (ranked.c.n + 1) // 2, ranked.c.rn == (ranked.c.n + 2) // 2))
        .group_by(ranked.c.g)
    )
    return {row[0]: float(row[1]) for row in conn.execute(statement)}


def first_response(conn: Connection, start: int, end: int, sla: int, now: float) -> Counts:
    """Per employee responsible for new leads of the period: the median seconds from the lead's
    creation to its first call or stage move, and SLA misses (slower than ``sla``, or no response
    yet although ``sla`` has passed by ``min(end, now)``)."""
    created, response = e.alias("created"), e.alias("response")
    # A grouped join rather than a correlated subquery: SQLite would copy a correlated ``rt`` into
    # every place the outer query uses it and run it that many times per lead.
    joined = created.outerjoin(
        response,
        and_(
            response.c.lead_id == created.c.lead_id,
            kind_of(response).in_(RESPONSES),
            response.c.occurred_at >= created.c.occurred_at,
        ),
    )
    base = (
        select(
            credited(created).label("who"),
            created.c.occurred_at.label("created_at"),
            (func.min(response.c.occurred_at) - created.c.occurred_at).label("rt"),
        )
        .select_from(joined)
        .where(created.c.kind == LEAD_CREATED, created.c.lead_id.is_not(None), in_period(start, end, created))
        # By the row id alone (the other columns follow from it): with a longer key SQLite may walk
        # the time index to save the sort, reading every row of the period.
        .group_by(created.c.id)
        .subquery()
    )
    cutoff = int(min(end, now))
    missed = or_(base.c.rt > sla, and_(base.c.rt.is_(None), literal(cutoff) - base.c.created_at > sla))
    # One pass: SLA misses and the median (row numbers over the known response times, NULLs last).
    ranked = select(
        base.c.who,
        base.c.rt,
        case((missed, 1), else_=0).label("missed"),
        func.row_number()
        .over(partition_by=base.c.who, order_by=(case((base.c.rt.is_(None), 1), else_=0), base.c.rt))
        .label("rn"),
        func.count(base.c.rt).over(partition_by=base.c.who).label("n"),
    ).subquery()
    middle = and_(
        ranked.c.rt.is_not(None),
        or_(ranked.c.rn == (ranked.c.n + 1) // 2, ranked.c.rn == (ranked.c.n + 2) // 2),
    )
    statement = select(
        ranked.c.who, func.sum(ranked.c.missed), func.avg(case((middle, ranked.c.rt)))
    ).group_by(ranked.c.who)
    out: Counts = {}
    for who, misses, median in conn.execute(statement):
        if who is not None:
            out[int(who)] = {
                "sla_misses": float(misses or 0),
                "first_response_median": None if median is None else float(median),
            }
    return out


def tasks_overdue(conn: Connection, start: int, end: int, now: float) -> Counts:
    """Tasks due within the period (and before now) not completed by their deadline, per responsible."""
    task, done = e.alias("task"), e.alias("done")
    completed_in_time = probe(
        done.c.kind == TASK_COMPLETED,
        done.c.entity_id == task.c.entity_id,
        done.c.occurred_at <= task.c.due_at,
    )
    statement = (
        select(credited(task).label("who"), func.count())
        .where(
            kind_of(task) == TASK_CREATED,
            task.c.due_at >= start,
            task.c.due_at < min(end, int(now)),
            ~completed_in_time,
        )
        .group_by(credited(task))
    )
    return {int(w): {"tasks_overdue": float(n)} for w, n in conn.execute(statement) if w is not None}


def churned(conn: Connection, start: int, end: int, window_days: int, now: float) -> Counts:
    """Clients whose churn moment falls in the period, per employee of the client's last purchase.

    A purchase is a win of a lead with a known client. The churn moment of a purchase at ``t`` is
    ``t + window``; the client has churned then if no purchase followed within ``(t, t + window]``
    (a repeat purchase exactly at the window's end still counts) and the moment lies in
    ``[start, min(end, now))``.
    """
    window = window_days * DAY
    cutoff = int(min(end, now))
    purchases = (
        select(
            credited().label("who"),
            e.c.client_id,
            e.c.occurred_at.label("t"),
            func.lead(e.c.occurred_at)
            .over(partition_by=e.c.client_id, order_by=(e.c.occurred_at, e.c.id))
            .label("next_t"),
        )
        .where(
            e.c.kind == STATUS_CHANGED,
            e.c.status_id == WON,
            e.c.client_id.is_not(None),
            e.c.occurred_at >= start - window,
            e.c.occurred_at < end,
        )
        .subquery()
    )
    moment = purchases.c.t + window
    statement = (
        select(purchases.c.who, func.count(distinct(purchases.c.client_id)))
        .where(
            moment >= start,
            moment < cutoff,
            or_(purchases.c.next_t.is_(None), purchases.c.next_t > moment),
        )
        .group_by(purchases.c.who)
    )
    return {int(w): {"churned": float(n)} for w, n in conn.execute(statement) if w is not None}


def last_purchases(conn: Connection, client_ids: Sequence[int]) -> dict[int, int]:
    """The time of each client's last win."""
    out: dict[int, int] = {}
    for i in range(0, len(client_ids), 500):
        chunk = list(client_ids[i : i + 500])
        statement = (
            select(e.c.client_id, func.max(e.c.occurred_at))
            .where(e.c.kind == STATUS_CHANGED, e.c.status_id == WON, e.c.client_id.in_(chunk))
            .group_by(e.c.client_id)
        )
        out.update({int(c): int(t) for c, t in conn.execute(statement)})
    return out


def reported_numbers(
    conn: Connection, start: int, end: int, reported_fields: Mapping[int, str]
) -> dict[int, dict[str, float]]:
    """The last number each employee reported per configured field within ``[start, end)``."""
    if not reported_fields:
        return {}
    statement: Select[Any] = (
        select(credited().label("who"), e.c.field_id, e.c.value)
        .where(e.c.kind == REPORTED, in_period(start, end), e.c.field_id.in_(list(reported_fields)))
        .order_by(e.c.occurred_at, e.c.id)
    )
    out: dict[int, dict[str, float]] = {}
    for who, field_id, value in conn.execute(statement):
        if who is not None and value is not None:
            out.setdefault(int(who), {})[reported_fields[int(field_id)]] = float(value)
    return out


def funnel_max_ranks(
    conn: Connection, pipeline_id: int, order: Sequence[int], start: int, end: int
) -> dict[int, int]:
    """How many leads got furthest to each stage (by position in ``order``) within the period."""
    rank = case({status: i for i, status in enumerate(order)}, value=e.c.status_id)
    per_lead = (
        select(e.c.lead_id, func.max(rank).label("max_rank"))
        .where(
            e.c.kind.in_((LEAD_CREATED, STATUS_CHANGED)),
            e.c.pipeline_id == pipeline_id,
            e.c.status_id.in_(list(order)),
            e.c.lead_id.is_not(None),
            in_period(start, end),
        )
        .group_by(e.c.lead_id)
        .subquery()
    )
    statement = select(per_lead.c.max_rank, func.count()).group_by(per_lead.c.max_rank)
    return {int(r): int(n) for r, n in conn.execute(statement)}


def stage_medians(
    conn: Connection, pipeline_id: int, stages: Sequence[int], start: int, end: int
) -> dict[int, float]:
    """Median seconds a lead spends in each stage: per lead, the sum of its visits to the stage that
    began in the period and have ended (the lead moved on, also to another pipeline)."""
    moves = (
        select(
            e.c.lead_id,
            e.c.status_id,
            e.c.pipeline_id,
            e.c.occurred_at,
            func.lead(e.c.occurred_at)
            .over(partition_by=e.c.lead_id, order_by=(e.c.occurred_at, e.c.id))
            .label("left_at"),
        )
        .where(
            e.c.kind.in_((LEAD_CREATED, STATUS_CHANGED)),
            e.c.lead_id.is_not(None),
            e.c.occurred_at >= start,
            or_(e.c.pipeline_id == pipeline_id, e.c.old_pipeline_id == pipeline_id),
        )
        .subquery()
    )
    per_lead = (
        select(
            moves.c.status_id.label("stage"),
            func.sum(moves.c.left_at - moves.c.occurred_at).label("seconds"),
        )
        .where(
            moves.c.pipeline_id == pipeline_id,
            moves.c.status_id.in_(list(stages)),
            moves.c.occurred_at < end,
            moves.c.left_at.is_not(None),
        )
        .group_by(moves.c.lead_id, moves.c.status_id)
        .subquery()
    )
    return {int(k): v for k, v in _median_by(conn, per_lead, "stage", "seconds").items()}
