"""Writing the event history: each change once, however many sources report it.

``record(conn, rows)`` is the one way rows enter ``kpi_events``:

1. a row whose natural ``key`` is already in ``kpi_event_keys`` is a replay (a webhook delivered
   twice, a page of events read again after a resume): nothing changes, except that columns the
   source is authoritative for are refreshed (a won lead's price);
2. otherwise, a row already recorded by *another* source with the same ``match_key`` (within the
   row's ``window`` of time, nearest first) is the same change: the new source's key is added to it,
   blank columns are filled and authoritative columns overwritten;
3. otherwise the row is new.

On PostgreSQL a transaction-scoped advisory lock on the ``match_key`` serialises concurrent writers
of the same change (a webhook worker and the events sync); SQLite serialises writers anyway.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, func, insert, literal, select, text, update

from amo_bridge.kpi.mapping import WebhookEvent, from_webhook
from amo_bridge.kpi.rows import DATA_COLUMNS, SOURCE_BITS, HistoryRow
from amo_bridge.store.schema import kpi_event_keys, kpi_events


@dataclass
class RecordResult:
    inserted: int = 0
    merged: int = 0
    duplicates: int = 0

    def __iadd__(self, other: RecordResult) -> RecordResult:
        self.inserted += other.inserted
        self.merged += other.merged
        self.duplicates += other.duplicates
        return self


def record(conn: Connection, rows: Iterable[HistoryRow], *, now: float) -> RecordResult:
    """Record ``rows`` in the caller's transaction (see the module docstring for the rules)."""
    result = RecordResult()
    is_pg = conn.dialect.name == "postgresql"
    for row in rows:
        if is_pg:
            conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": row.match_key})
        existing = conn.execute(
            select(kpi_event_keys.c.event_id).where(kpi_event_keys.c.key == row.key)
        ).scalar_one_or_none()
        if existing is not None:
            _overwrite(conn, existing, row, only_authoritative=True)
            result.duplicates += 1
            continue
        bit = SOURCE_BITS[row.source]
        twin_query = select(kpi_events.c.id).where(
            kpi_events.c.match_key == row.match_key,
            kpi_events.c.sources.op("&")(bit) == 0,
        )
        if row.window is not None:
            twin_query = twin_query.where(
                kpi_events.c.occurred_at >= row.occurred_at - row.window,
                kpi_events.c.occurred_at <= row.occurred_at + row.window,
            )
        twin_query = twin_query.order_by(
            func.abs(kpi_events.c.occurred_at - literal(row.occurred_at)), kpi_events.c.id
        ).limit(1)
        twin = conn.execute(twin_query).scalar_one_or_none()
        if twin is not None:
            _overwrite(conn, twin, row, only_authoritative=False)
            event_id = twin
            result.merged += 1
        else:
            values = row.data()
            values.update(
                kind=row.kind,
                occurred_at=row.occurred_at,
                match_key=row.match_key,
                sources=bit,
                recorded_at=now,
            )
            event_id = conn.execute(
                insert(kpi_events).values(**values).returning(kpi_events.c.id)
            ).scalar_one()
            result.inserted += 1
        conn.execute(insert(kpi_event_keys).values(key=row.key, event_id=event_id, source=row.source))
    return result


def _overwrite(conn: Connection, event_id: int, row: HistoryRow, *, only_authoritative: bool) -> None:
    changes: dict[str, object] = {}
    for name in row.authoritative:
        value = getattr(row, name)
        if value is not None:
            changes[name] = value
    if not only_authoritative:
        changes["sources"] = kpi_events.c.sources.op("|")(SOURCE_BITS[row.source])
        for name in DATA_COLUMNS:
            value = getattr(row, name)
            if value is not None and name not in changes:
                changes[name] = func.coalesce(kpi_events.c[name], value)
    if changes:
        conn.execute(update(kpi_events).where(kpi_events.c.id == event_id).values(**changes))


def record_webhook_event(
    conn: Connection, event: WebhookEvent, reported_fields: dict[int, str] | None = None, *, now: float
) -> RecordResult:
    """What the webhook handler for lead/task/note kinds calls, in the worker's transaction."""
    return record(conn, from_webhook(event, reported_fields or {}), now=now)
