"""The ``events_sync`` job's logic: amoCRM's event log and lead snapshots into the history.

* :func:`sync_events` pages ``/api/v4/events`` through an :class:`~amo_bridge.kpi.ports.EventSource`
  and commits each page together with its watermark, so an interrupted run resumes where it stopped.
  Regular runs continue from ``kpi.events_sync.watermark``; a backfill (``since=``) keeps its own
  progress in ``kpi.events_sync.backfill`` and resumes it when run again with the same ``since``.
  Events are recorded under their amoCRM id, so re-reading a page (the resume point is inclusive:
  several events can share one second) changes nothing.
* :func:`reconcile_leads` records what lead snapshots prove (creation; win or loss at ``closed_at``
  with the current price and client), the source of prices for won leads.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from amo_bridge.kpi.history import RecordResult, record
from amo_bridge.kpi.mapping import from_amo_event, from_lead
from amo_bridge.kpi.ports import EventSource, LeadSource
from amo_bridge.store import Store

log = logging.getLogger(__name__)

WATERMARK_KEY = "kpi.events_sync.watermark"
BACKFILL_KEY = "kpi.events_sync.backfill"
LEADS_WATERMARK_KEY = "kpi.leads_sync.watermark"
DEFAULT_LOOKBACK = 7 * 86_400  # first regular run without a watermark


@dataclass
class SyncReport:
    pages: int = 0
    events: int = 0
    result: RecordResult = field(default_factory=RecordResult)
    started_from: int = 0
    watermark: int | None = None


def sync_events(
    store: Store,
    source: EventSource,
    reported_fields: Mapping[int, str],
    *,
    since: int | None = None,
    max_pages: int | None = None,
) -> SyncReport:
    """Read events from the watermark (or a backfill from ``since``) and record them page by page."""
    now = store.clock.now()
    backfill: dict[str, Any] | None = None
    if since is not None:
        saved = store.kv.get(BACKFILL_KEY)
        if isinstance(saved, dict) and saved.get("since") == since and not saved.get("done"):
            backfill = saved
        else:
            backfill = {"since": since, "next": since, "done": False}
            store.kv.set(BACKFILL_KEY, backfill)
        start = int(backfill["next"])
    else:
        start = int(store.kv.get(WATERMARK_KEY, int(now) - DEFAULT_LOOKBACK))
    report = SyncReport(started_from=start)
    last = start
    for page in source.pages(start):
        rows = [row for event in page for row in from_amo_event(event, reported_fields)]
        times = [int(ev["created_at"]) for ev in page if isinstance(ev.get("created_at"), int | float)]
        last = max([last, *times])

        def work(conn: Any, rows: Any = rows, last: int = last) -> RecordResult:
            result = record(conn, rows, now=now)
            if backfill is not None:
                backfill["next"] = last
                store.kv.set(BACKFILL_KEY, backfill, conn=conn)
            watermark = store.kv.get(WATERMARK_KEY, None, conn=conn)
            if backfill is None or watermark is not None:
                store.kv.set(WATERMARK_KEY, max(int(watermark or 0), last), conn=conn)
            return result

        report.result += store.run_in_transaction(work)
        report.pages += 1
        report.events += len(page)
        if max_pages is not None and report.pages >= max_pages:
            break
    else:
        if backfill is not None:
            # A finished backfill hands over to the regular runs, which continue from its end.
            backfill["done"] = True
            with store.begin() as conn:
                store.kv.set(BACKFILL_KEY, backfill, conn=conn)
                watermark = store.kv.get(WATERMARK_KEY, None, conn=conn)
                store.kv.set(WATERMARK_KEY, max(int(watermark or 0), last), conn=conn)
    report.watermark = store.kv.get(WATERMARK_KEY)
    log.info(
        "events sync: %d pages, %d events, %d new, %d merged, %d seen before",
        report.pages,
        report.events,
        report.result.inserted,
        report.result.merged,
        report.result.duplicates,
    )
    return report


def reconcile_leads(
    store: Store, source: LeadSource, *, since: int | None = None, batch: int = 200
) -> RecordResult:
    """Record lead snapshots updated since the leads watermark (or ``since``)."""
    now = store.clock.now()
    start = since if since is not None else int(store.kv.get(LEADS_WATERMARK_KEY, 0))
    total = RecordResult()
    pending: list[Any] = []
    newest = start

    def flush() -> None:
        nonlocal pending
        rows = [row for lead in pending for row in from_lead(lead)]
        high = max([newest, *(lead.updated_at for lead in pending)])

        def work(conn: Any) -> RecordResult:
            result = record(conn, rows, now=now)
            current = int(store.kv.get(LEADS_WATERMARK_KEY, 0, conn=conn))
            store.kv.set(LEADS_WATERMARK_KEY, max(current, high), conn=conn)
            return result

        nonlocal total
        total += store.run_in_transaction(work)
        pending = []

    for lead in source.leads(start):
        pending.append(lead)
        newest = max(newest, lead.updated_at)
        if len(pending) >= batch:
            flush()
    if pending:
        flush()
    return total
