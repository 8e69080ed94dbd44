"""The ports a job talks to amoCRM through, gathered in one object the runner hands to every run.

Each port is a small ``Protocol`` defined next to the pure core that uses it
(:mod:`amo_bridge.retention.port`, :mod:`amo_bridge.triggers.port`). Adapters over the amoCRM API
client implement them; tests pass in-memory fakes. A job asks for what it needs with
:meth:`Ports.need`, which fails with :class:`PortUnavailable` when the amoCRM API is not configured
and with :class:`~amo_bridge.errors.NotBuiltYet` while an adapter is missing, so a job never pretends
to work.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from amo_bridge.api import AmoClient
from amo_bridge.app_services import Services
from amo_bridge.config import Settings
from amo_bridge.distribution.choosers import PoolAccountManagers, PoolTaskChooser
from amo_bridge.errors import AmoBridgeError, ConfigError, NotBuiltYet
from amo_bridge.kpi.amocrm import KpiPorts, kpi_ports
from amo_bridge.retention.amocrm import AmoRetentionPort
from amo_bridge.retention.port import AccountManagerChooser, RetentionPort
from amo_bridge.store import Store
from amo_bridge.triggers.amocrm import AmoTriggerPort, FactNeeds, needs_of
from amo_bridge.triggers.port import PoolChooser, TriggerPort
from amo_bridge.triggers.source import load_rules

T = TypeVar("T")

log = logging.getLogger(__name__)


class PortUnavailable(AmoBridgeError):
    """The job needs amoCRM and the API settings are missing or invalid."""


@dataclass(frozen=True)
class Ports:
    retention: RetentionPort | None = None
    account_managers: AccountManagerChooser | None = None
    triggers: TriggerPort | None = None
    pools: PoolChooser | None = None
    kpi: KpiPorts | None = None
    # Why the adapters are missing although built (the amoCRM API is not configured).
    unavailable: str | None = None

    def need(self, port: T | None, what: str, job: str) -> T:
        if port is None and self.unavailable is not None:
            raise PortUnavailable(f"{job}: {what} cannot talk to amoCRM: {self.unavailable}")
        if port is None:
            raise NotBuiltYet(f"{job}: {what} is not built yet (it plugs in over the amoCRM API client)")
        return port


def production_ports(
    settings: Settings,
    store: Store,
    *,
    client: AmoClient | None = None,
    account_managers: AccountManagerChooser | None = None,
    pools: PoolChooser | None = None,
    pool_names: Callable[[], frozenset[str]] = frozenset,
) -> Ports:
    """The adapters over the amoCRM API client (``AMO_BASE_URL``/``AMO_SUBDOMAIN`` and a token).

    The seam for the distributor: ``account_managers`` is the L3 pool
    (:class:`~amo_bridge.retention.port.AccountManagerChooser`), ``pools`` and ``pool_names`` the named
    pools of trigger rules (:func:`process_ports` passes them). Without them a client without an
    account manager gets ``RETENTION_DEFAULT_MANAGER_ID`` and rules naming a pool are reported and
    skipped.

    Without API settings every port is missing and the jobs fail with the configuration problem.
    """
    problems = settings.amo.api_problems()
    if client is None and problems:
        return Ports(unavailable=ConfigError(problems).message)
    if client is None:
        client = AmoClient.from_settings(settings, store)
    jobs = settings.jobs
    retention = AmoRetentionPort(
        client,
        retention_pipeline_id=jobs.retention_pipeline_id,
        reference_field_id=jobs.retention_reference_field_id,
        manager_group_id=jobs.retention_manager_group_id,
    )

    def rule_needs() -> FactNeeds:
        return needs_of(load_rules(jobs).rules)

    triggers = AmoTriggerPort(client, needs=rule_needs, pools=pool_names)
    kpi = kpi_ports(client, settings.kpi.reported_fields)
    return Ports(
        retention=retention, account_managers=account_managers, triggers=triggers, pools=pools, kpi=kpi
    )


def process_ports(settings: Settings, store: Store, services: Services) -> Ports:
    """The ports of ``amo-bridge run`` and ``amo-bridge scheduler``: :func:`production_ports` over the
    process's services (one API client, one distributor), the distributor choosing when it is on:
    new clients' account managers in the retention pool (``RETENTION_POOL``, see
    :meth:`~amo_bridge.config.Settings.retention_pool`) and trigger tasks in the pools rules name."""
    distributor = services.distribution
    if distributor is None:
        log.info("jobs: distribution is off (%s): no pools", services.missing.get("distribution", "?"))
        return production_ports(settings, store, client=services.client)
    pool = settings.retention_pool()
    if pool is None:
        log.info("won_to_retention: no retention pool (RETENTION_POOL unset, no single pool in the pipeline)")
    tasks = PoolTaskChooser(distributor)
    return production_ports(
        settings,
        store,
        client=services.client,
        account_managers=PoolAccountManagers(distributor, pool) if pool is not None else None,
        pools=tasks,
        pool_names=tasks.names,
    )
