"""Jobs whose work belongs to other parts of amo-bridge and is not built yet.

They are registered so the scheduler knows their names and schedules (``amo-bridge scheduler
--list``); running one fails with "not built yet" (exit 3) and never pretends to work. Each is
replaced by the real job function when its part lands.
"""

from __future__ import annotations

from amo_bridge.errors import NotBuiltYet
from jobs.context import JobContext
from jobs.registry import job


def _not_built(name: str, what: str) -> None:
    raise NotBuiltYet(f"{name} ({what}) is not built yet")


@job("events_sync", schedule="SCHEDULE_EVENTS_SYNC", description="amoCRM events into our own history")
def events_sync(ctx: JobContext) -> None:
    _not_built(ctx.job, "amoCRM events into the KPI event history")


@job("kpi_sync", schedule="SCHEDULE_KPI_SYNC", description="KPI rows into the amoCRM catalog")
def kpi_sync(ctx: JobContext) -> None:
    _not_built(ctx.job, "KPI rows into the amoCRM catalog")
