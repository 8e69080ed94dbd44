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


@job("users_sync", schedule="SCHEDULE_USERS_SYNC", description="Active users and groups from amoCRM")
def users_sync(ctx: JobContext) -> None:
    _not_built(ctx.job, "active users and groups from amoCRM; needs the API client")


@job("sla_reassign", schedule="SCHEDULE_SLA_REASSIGN", description="Reassign leads whose SLA ran out")
def sla_reassign(ctx: JobContext) -> None:
    _not_built(ctx.job, "the distributor's SLA reassignment")
