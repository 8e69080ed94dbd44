"""The parts wired together once per process: the API client, the distributor, the hand-offs.

The webhook handlers (``webhooks/flows.py``) and the jobs (``users_sync``, ``sla_reassign``) get
their services from here. Each service is built only when its configuration is present:

- the distributor when ``DISTRIBUTION_ENABLED`` is on and ``DISTRIBUTION_POOLS`` names pools;
- the hand-offs when ``HANDOFF_RULES_FILE`` is set;
- both need the amoCRM API (``AMO_BASE_URL`` and a token).

A part that is not configured is ``None``; the handlers then do nothing for it (and say so once).
The hand-off service's ``assign_from_pool`` is the distributor: :meth:`Services.assign_from_pool`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from amo_bridge.api import AmoClient
from amo_bridge.clock import SYSTEM_CLOCK, Clock
from amo_bridge.config import Settings
from amo_bridge.distribution.amocrm import AmoAssignmentPort
from amo_bridge.distribution.arrivals import arrival_from_lead
from amo_bridge.distribution.choosers import retention_reference
from amo_bridge.distribution.service import DistributionService
from amo_bridge.handoff.amocrm import AmoHandoffPort
from amo_bridge.handoff.service import HandoffService
from amo_bridge.store import Store

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    store: Store
    client: AmoClient | None = None
    distribution: DistributionService | None = None
    handoff: HandoffService | None = None
    handoff_port: AmoHandoffPort | None = None
    missing: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_settings(
        cls, settings: Settings, store: Store, *, clock: Clock = SYSTEM_CLOCK, client: AmoClient | None = None
    ) -> Services:
        services = cls(settings, store)
        wants_distribution = bool(settings.distribution.pool_specs) and settings.distribution.enabled
        wants_handoff = settings.handoff.rules is not None
        if not settings.distribution.pool_specs:
            services.missing["distribution"] = "DISTRIBUTION_POOLS is empty"
        elif not settings.distribution.enabled:
            services.missing["distribution"] = "DISTRIBUTION_ENABLED is off"
        if not wants_handoff:
            services.missing["handoff"] = "HANDOFF_RULES_FILE is not set"
        if not (wants_distribution or wants_handoff):
            return services
        if client is None:
            problems = settings.amo.api_problems()
            if problems:
                why = "the amoCRM API is not configured (" + ", ".join(p.variable for p in problems) + ")"
                services.missing.setdefault("distribution", why)
                services.missing.setdefault("handoff", why)
                return services
            client = AmoClient.from_settings(settings, store, clock=clock)
        services.client = client
        if wants_distribution:
            dist = settings.distribution
            services.distribution = DistributionService(
                store,
                dist.pools(),
                dist.calendar(settings.amo.timezone),
                AmoAssignmentPort(client, store),
                clock=clock,
                task_text=dist.first_task_text,
                max_attempts=dist.max_attempts,
                retry_seconds=float(dist.retry_seconds),
                stands_for=retention_reference(settings.jobs.retention_reference_field_id),
            )
        if wants_handoff:
            assert settings.handoff.rules is not None
            services.handoff_port = AmoHandoffPort(
                client, assign_from_pool=services.assign_from_pool, phone_region=settings.handoff.phone_region
            )
            services.handoff = HandoffService(
                store, services.handoff_port, settings.handoff.rules, clock=clock
            )
        return services

    def assign_from_pool(self, lead_id: int, pool: str) -> int | None:
        """The hand-off's "assign through pool": decide for the lead as it is now in amoCRM."""
        if self.distribution is None or self.client is None:
            raise RuntimeError(f"lead {lead_id}: pool {pool!r} asked for, but distribution is off")
        lead = self.client.leads.get(lead_id, with_=("contacts",))
        outcome = self.distribution.assign_in(pool, arrival_from_lead(lead.raw))
        return outcome.member if outcome.status in ("assigned", "duplicate") else None

    def close(self) -> None:
        if self.client is not None:
            self.client.close()


class ServicesProvider:
    """Builds :class:`Services` on first use (a worker thread), once per process."""

    def __init__(self, build: Callable[[], Services]) -> None:
        self._build = build
        self._lock = threading.Lock()
        self._services: Services | None = None
        self._told: set[str] = set()

    def get(self) -> Services:
        with self._lock:
            if self._services is None:
                self._services = self._build()
                for part, why in sorted(self._services.missing.items()):
                    log.info("%s is off: %s; its webhook handlers do nothing", part, why)
            return self._services

    def close(self) -> None:
        with self._lock:
            if self._services is not None:
                self._services.close()
                self._services = None


def from_environment() -> ServicesProvider:
    """The provider the worker uses by default: settings from the environment and the env file."""

    def build() -> Services:
        import os
        from pathlib import Path

        from amo_bridge.config import load_settings

        env_file = Path(os.environ.get("AMO_BRIDGE_ENV_FILE", ".env"))
        settings = load_settings(env_file=env_file if env_file.exists() else None)
        store = Store(settings.store.database_url)
        return Services.from_settings(settings, store)

    return ServicesProvider(build)
