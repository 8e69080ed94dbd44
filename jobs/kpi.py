"""The KPI jobs: ``events_sync`` (amoCRM's history into ours) and ``kpi_sync`` (KPIs into amoCRM).

* ``events_sync``: refreshes the user/pipeline directory, reads ``/api/v4/events`` from the watermark
  (or, with ``--since``, a resumable backfill from that moment) and reconciles lead snapshots
  (creation, wins with their prices, losses). Every page is committed with its progress, so an
  interrupted run carries on where it stopped; replays add nothing.
* ``kpi_sync``: one ``level_report`` per level of ``KPI_LEVELS`` for the current month (and, on the
  first day of a month, the month before, so its last day is written too) upserted into the
  ``KPI_CATALOG_NAME`` catalog; when ``KPI_RETENTION_PIPELINE_ID`` and a field id of
  ``KPI_DAYS_SINCE_PURCHASE_FIELD_ID`` / ``KPI_CHURN_RISK_FIELD_ID`` are set, days since the last
  purchase and the churn risk on the open retention leads.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from amo_bridge.kpi import directory, queries, report
from amo_bridge.kpi.amocrm import KpiPorts
from amo_bridge.kpi.events_sync import reconcile_leads, sync_events
from amo_bridge.kpi.kpi_sync import sync_catalog, sync_retention_fields
from amo_bridge.kpi.periods import Period, parse_period
from amo_bridge.kpi.ports import FieldValue, RetentionLead
from jobs.context import JobContext
from jobs.registry import job


def _ports(ctx: JobContext) -> KpiPorts:
    return ctx.ports.need(ctx.ports.kpi, "the KPI adapters", ctx.job)


@job(
    "events_sync",
    schedule="SCHEDULE_EVENTS_SYNC",
    description="amoCRM events into our own history",
    lease_seconds=120.0,
)
def events_sync(ctx: JobContext) -> None:
    ports = _ports(ctx)
    since = int(ctx.since) if ctx.since is not None else None
    if ctx.dry_run:
        start = since if since is not None else ctx.store.kv.get("kpi.events_sync.watermark")
        ctx.plan(f"read amoCRM events from {start or 'the last 7 days'} and lead snapshots into the history")
        return
    users, pipelines = directory.refresh(ctx.store, ports.directory)
    ctx.echo(f"directory: {users} users, {pipelines} pipelines")
    ctx.check_lease()
    synced = sync_events(ctx.store, ports.events, dict(ctx.settings.kpi.reported_fields), since=since)
    ctx.saw(synced.events)
    ctx.changed(synced.result.inserted + synced.result.merged)
    ctx.echo(
        f"events: {synced.events} read in {synced.pages} pages, {synced.result.inserted} new, "
        f"{synced.result.merged} merged, {synced.result.duplicates} seen before"
    )
    ctx.check_lease()
    leads = reconcile_leads(ctx.store, ports.leads, since=since)
    ctx.saw(leads.inserted + leads.merged + leads.duplicates)
    ctx.changed(leads.inserted + leads.merged)
    ctx.echo(f"leads: {leads.inserted} new, {leads.merged} merged, {leads.duplicates} seen before")


def periods_to_sync(now: float, ctx: JobContext) -> list[Period]:
    local = datetime.fromtimestamp(now, ctx.settings.amo.timezone)
    current = parse_period(f"{local.year:04d}-{local.month:02d}")
    if local.day != 1:
        return [current]
    year, month = (local.year, local.month - 1) if local.month > 1 else (local.year - 1, 12)
    return [parse_period(f"{year:04d}-{month:02d}"), current]


class _Listed:
    """A retention port whose open leads were read once already."""

    def __init__(self, leads: Sequence[RetentionLead], ports: KpiPorts) -> None:
        self._leads = leads
        self._ports = ports

    def open_leads(self, pipeline_id: int) -> Iterable[RetentionLead]:
        return self._leads

    def update_leads(self, updates: Sequence[tuple[int, Mapping[int, FieldValue]]]) -> None:
        self._ports.retention.update_leads(updates)


@job(
    "kpi_sync",
    schedule="SCHEDULE_KPI_SYNC",
    description="KPI rows into the amoCRM catalog",
    lease_seconds=120.0,
)
def kpi_sync(ctx: JobContext) -> None:
    ports = _ports(ctx)
    kpi = ctx.settings.kpi
    tz = ctx.settings.amo.timezone
    now = ctx.clock.now()
    if not kpi.levels:
        ctx.echo("KPI_LEVELS is empty: no level to report")
    snapshots: list[report.KpiSnapshot] = []
    with ctx.store.read() as conn:
        users = directory.users(ctx.store, conn)
        for period in periods_to_sync(now, ctx):
            for level in sorted(kpi.levels):
                snapshots += report.level_report(conn, kpi, tz, period, level, users, now)
    ctx.saw(len(snapshots))
    if ctx.dry_run:
        ctx.plan(f"upsert {len(snapshots)} KPI rows into the catalog {kpi.catalog_name!r}")
    elif snapshots:
        result = sync_catalog(ports.catalog, kpi.catalog_name, snapshots)
        ctx.changed(result.created + result.updated)
        ctx.echo(
            f"catalog {kpi.catalog_name!r}: {result.created} created, {result.updated} updated, "
            f"{result.unchanged} unchanged"
        )
    fields = (kpi.days_since_purchase_field_id, kpi.churn_risk_field_id)
    if kpi.retention_pipeline_id is None or all(f is None for f in fields):
        return
    ctx.check_lease()
    leads = list(ports.retention.open_leads(kpi.retention_pipeline_id))
    clients = sorted({lead.client_id for lead in leads if lead.client_id is not None})
    with ctx.store.read() as conn:
        last = queries.last_purchases(conn, clients)
    if ctx.dry_run:
        ctx.plan(f"write purchase recency onto up to {len(leads)} retention leads")
        return
    written = sync_retention_fields(
        _Listed(leads, ports),
        kpi.retention_pipeline_id,
        last,
        now=now,
        window_days=kpi.churn_window_days,
        days_field_id=kpi.days_since_purchase_field_id,
        risk_field_id=kpi.churn_risk_field_id,
    )
    ctx.changed(written.updated)
    ctx.echo(
        f"retention leads: {written.updated} updated, {written.unchanged} unchanged, "
        f"{written.unknown_client} without a known purchase"
    )
