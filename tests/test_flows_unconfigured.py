"""Without configuration the distributor's and the hand-offs' handlers do nothing, and say so once."""

from __future__ import annotations

import logging

import pytest

from amo_bridge.app_services import Services, ServicesProvider
from amo_bridge.config import load_settings
from amo_bridge.inbox import Inbox
from amo_bridge.inbox.worker import Worker
from amo_bridge.store import Store
from tests.inbox_helpers import record_sample
from webhooks.handlers import build_router


def test_unconfigured_flows_do_nothing_and_log_once(store: Store, caplog: pytest.LogCaptureFixture) -> None:
    built: list[Services] = []

    def build() -> Services:
        services = Services.from_settings(load_settings({"DISTRIBUTION_POOLS": "L1 = unsorted 1 : 1"}), store)
        built.append(services)
        return services

    inbox = Inbox(store)
    for name in ("unsorted_add", "leads_status", "leads_add", "note_lead_add", "task_update", "message_add"):
        record_sample(inbox, name)
    router = build_router(ServicesProvider(build))
    with caplog.at_level(logging.INFO, logger="amo_bridge.app_services"):
        processed = Worker(inbox, router, concurrency=1).run_once()
    assert processed >= 6
    assert len(built) == 1  # built once per process
    services = built[0]
    assert services.client is None
    assert services.distribution is None
    assert services.handoff is None
    assert services.missing == {
        "distribution": "DISTRIBUTION_ENABLED is off",
        "handoff": "HANDOFF_RULES_FILE is not set",
    }
    told = [r.getMessage() for r in caplog.records if "handlers do nothing" in r.getMessage()]
    assert len(told) == 2
    assert inbox.list("failed") == []
    assert inbox.list("dead") == []
    assert len(inbox.list("done", limit=100)) == processed
