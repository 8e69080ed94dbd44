"""The distributor's jobs: ``users_sync`` (the users mirror) and ``sla_reassign`` (outbox and SLA).

``users_sync`` reads every user of the account (``GET /api/v4/users?with=role,group``, which needs
an administrator's token) into ``crm_users``: inactive users and users missing from the account are
never chosen. ``sla_reassign`` works the distributor's outbox (held decisions whose time came,
amoCRM writes to retry: :meth:`DistributionService.run_due`) and reassigns leads whose assignee has
not acted in time (:meth:`DistributionService.check_sla`).
"""

from __future__ import annotations

import logging

from amo_bridge.api import AmoClient
from amo_bridge.app_services import Services
from amo_bridge.distribution import repository as repo
from amo_bridge.errors import ConfigError
from amo_bridge.store import Store
from jobs.context import JobContext
from jobs.registry import job

log = logging.getLogger(__name__)


def read_users(client: AmoClient) -> list[repo.CrmUser]:
    """Every user of the account, as the ``crm_users`` mirror keeps them."""
    return [repo.CrmUser(u.id, u.name, u.email, u.is_active, u.group_id) for u in client.users.list() if u.id]


def store_users(store: Store, users: list[repo.CrmUser], now: float) -> int:
    with store.begin() as conn:
        return repo.upsert_crm_users(conn, users, now, complete=True)


@job("users_sync", schedule="SCHEDULE_USERS_SYNC", description="Active users and groups from amoCRM")
def users_sync(ctx: JobContext) -> None:
    problems = ctx.settings.amo.api_problems()
    if problems:
        raise ConfigError(problems)
    client = AmoClient.from_settings(ctx.settings, ctx.store, clock=ctx.clock)
    try:
        users = read_users(client)
    finally:
        client.close()
    ctx.saw(len(users))
    active = sum(1 for u in users if u.is_active)
    if ctx.dry_run:
        ctx.plan(f"{len(users)} user(s), {active} active")
        return
    ctx.changed(store_users(ctx.store, users, ctx.clock.now()))
    log.info("users_sync: %d user(s), %d active", len(users), active)


@job("sla_reassign", schedule="SCHEDULE_SLA_REASSIGN", description="Reassign leads whose SLA ran out")
def sla_reassign(ctx: JobContext) -> None:
    services = Services.from_settings(ctx.settings, ctx.store, clock=ctx.clock)
    try:
        service = services.distribution
        if service is None:
            log.info("sla_reassign: distribution is off (%s)", services.missing.get("distribution", "?"))
            return
        if ctx.dry_run:
            ctx.plan("work the distribution outbox and reassign leads past their SLA")
            return
        due = service.run_due()
        reassigned = service.check_sla()
        ctx.saw(due)
        ctx.changed(reassigned)
        log.info("sla_reassign: %d outbox row(s) worked, %d lead(s) reassigned", due, reassigned)
    finally:
        services.close()
