"""Eight OS processes, one store, one expired token: exactly one refresh, all continue, newest pair stored."""

from __future__ import annotations

import multiprocessing
import queue as queue_module
from typing import Any

import pytest

from amo_bridge.api.tokens import TokenStore
from amo_bridge.store import Store
from tests.api.helpers import ACCESS_1, REFRESH_1, seed_tokens
from tests.api.tokenserver import TokenServer

PROCESSES = 8


def _worker(db_url: str, base_url: str, barrier: Any, results: Any) -> None:
    from amo_bridge.api import AmoClient
    from tests.api.helpers import make_settings

    store = Store(db_url)
    client = AmoClient.from_settings(
        make_settings(database_url=db_url, base_url=base_url, rate_limit=50), store
    )
    barrier.wait(timeout=120)
    account = client.account.get()
    refreshes = getattr(client.auth, "refreshes", 0)
    results.put((account.id, refreshes))
    store.dispose()


@pytest.mark.slow
@pytest.mark.parametrize("trigger", ["expired", "401"])
def test_eight_processes_refresh_exactly_once(db_url: str, trigger: str) -> None:
    store = Store(db_url)
    store.upgrade()
    # "expired": every process sees an expired pair; "401": the pair looks valid but amoCRM rejects it.
    seed_tokens(store, expires_in=-5 if trigger == "expired" else 86400)
    store.dispose()
    server_access = ACCESS_1 if trigger == "expired" else "access-token-server-side-only-0123456789"
    # fork: the children need nothing of the parent but the arguments (its store is disposed above),
    # and it spares eight interpreter start-ups on a busy machine.
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    ctx = multiprocessing.get_context(method)
    barrier = ctx.Barrier(PROCESSES)
    results = ctx.Queue()
    with TokenServer(server_access, REFRESH_1) as server:
        workers = [
            ctx.Process(target=_worker, args=(db_url, server.url, barrier, results)) for _ in range(PROCESSES)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=150)
        outcomes = []
        for _ in range(PROCESSES):
            try:
                outcomes.append(results.get(timeout=5))
            except queue_module.Empty:
                break
        for worker in workers:
            if worker.is_alive():
                worker.kill()
    assert [w.exitcode for w in workers] == [0] * PROCESSES
    assert len(outcomes) == PROCESSES
    assert all(account_id == 29085955 for account_id, _ in outcomes)
    assert server.refreshes == 1, f"{server.refreshes} refreshes"
    assert server.rejected_refreshes == 0  # nobody presented a dead refresh token
    assert sum(r for _, r in outcomes) == 1
    assert server.api_ok == PROCESSES
    check = Store(db_url)
    stored = TokenStore(check).load()
    check.dispose()
    assert stored is not None
    assert stored.access_token == server.access
    assert stored.refresh_token == server.refresh
