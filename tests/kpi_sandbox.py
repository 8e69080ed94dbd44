"""The KPI pipeline against the in-process sandbox: a played month, its webhooks and amoCRM's own log.

The sandbox's scenario (free-for-all: its people qualify, win and lose leads themselves) plays a month
instantly on a ``FakeClock``. Every change is also captured as the webhook body amoCRM would have sent
(the sandbox's own payload builder and PHP form encoder), so tests feed the same month into the history
twice: through the webhook handlers and through the ``events_sync`` job. Expected figures come from the
sandbox's ground truth, never from the history.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from amo_bridge.api import AmoClient
from amo_bridge.clock import FakeClock
from amo_bridge.config import Settings, load_settings
from amo_bridge.events.model import Event
from amo_bridge.events.parse import parse_delivery
from amo_bridge.inbox.context import HandlerContext
from amo_bridge.sandbox import SandboxServer
from amo_bridge.sandbox import seed as S
from amo_bridge.sandbox.hooks import payloads, phpform
from amo_bridge.sandbox.scenario import Scenario, ScenarioConfig, play
from amo_bridge.store import Store
from jobs.ports import production_ports
from jobs.registry import load_builtin_jobs
from jobs.runner import Runner
from webhooks.kpi_flow import make_router

MSK = ZoneInfo("Europe/Moscow")
MONTH = "2026-03"
START = datetime(2026, 3, 1, 0, 5, tzinfo=MSK).timestamp()
KPI_ENV = {
    "KPI_LEVELS": f"l1=group:{S.GROUP_LEAD_MANAGERS};l2=group:{S.GROUP_CLOSERS};"
    f"l3=group:{S.GROUP_ACCOUNT_MANAGERS}",
    "KPI_QUALIFIED_STATUSES": str(S.ST_LX_QUALIFIED),
    "KPI_RETENTION_PIPELINE_ID": str(S.PIPELINE_RETENTION),
    "KPI_TARGETS": "l1.qualified=40;l2.sales=12;l2.revenue=150000",
}


@dataclass
class KpiHarness:
    server: SandboxServer
    clock: FakeClock
    store: Store
    settings: Settings
    client: AmoClient
    runner: Runner
    bodies: list[str] = field(default_factory=list)
    scenario: Scenario | None = None
    parsed: list[tuple[Event, ...]] = field(default_factory=list)  # the events of bodies[:len(parsed)]

    def api_requests(self, method: str | None = None) -> int:
        return sum(
            1
            for r in list(self.server.sandbox.request_log)
            if str(r.get("path", "")).startswith("/api/") and (method is None or r.get("method") == method)
        )

    def play_month(self, days: int = 28, leads_per_day: int = 12, seed: int = 5) -> None:
        config = ScenarioConfig(seed=seed, days=days, leads_per_day=leads_per_day, assigned_only=False)
        self.scenario = play(self.server.state, config, advance=self.clock.advance)

    @property
    def truth(self) -> dict[str, Any]:
        assert self.scenario is not None
        return self.scenario.truth

    def deliver_webhooks(self) -> int:
        """Run every captured webhook body through the KPI handlers (as the worker would). A body is
        parsed once: delivering it again hands the handlers the same events."""
        router = make_router(dict(self.settings.kpi.reported_fields))
        handled = 0
        for body in self.bodies[len(self.parsed) :]:
            delivery = parse_delivery(body.encode(), {"Content-Type": "application/x-www-form-urlencoded"})
            self.parsed.append(delivery.events)
        for n, events in enumerate(self.parsed):
            for event in events:
                ctx = HandlerContext(
                    store=self.store,
                    clock=self.clock,
                    inbox_id=n,
                    dedupe_key=f"test:{n}",
                    attempt=1,
                    heartbeat=lambda: True,
                    log=logging.getLogger("test.kpi"),
                )
                handled += len(router.dispatch(event, ctx))
        return handled


@contextlib.contextmanager
def kpi_sandbox(db_url: str, *, seed: int = 5, env: dict[str, str] | None = None) -> Iterator[KpiHarness]:
    clock = FakeClock(START)
    server = SandboxServer(seed=seed, clock=clock, deliver_webhooks=False, contacts=120, companies=20)
    with server:
        settings = load_settings(
            {
                "AMO_BASE_URL": server.url,
                "AMO_LONG_LIVED_TOKEN": str(server.token),
                "AMO_TIMEZONE": "Europe/Moscow",
                "AMO_RATE_LIMIT": "6",
                **KPI_ENV,
                **(env or {}),
            }
        )
        store = Store(db_url, clock=clock)
        store.upgrade()
        client = AmoClient.from_settings(settings, store, clock=clock)
        runner = Runner(
            store,
            settings,
            production_ports(settings, store, client=client),
            clock=clock,
            registry=load_builtin_jobs(),
        )
        harness = KpiHarness(server, clock, store, settings, client, runner)
        state = server.state

        def capture(change: Any) -> None:
            if payloads.setting_for(change) is None:
                return
            body = payloads.build(change, state.account, server.url)
            harness.bodies.append(phpform.encode(body))

        state.listeners.append(capture)
        try:
            yield harness
        finally:
            state.listeners.remove(capture)
            client.close()
            store.dispose()
