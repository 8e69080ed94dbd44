"""Shared helpers of the inbox tests (importable by spawned child processes)."""

from __future__ import annotations

import time
from pathlib import Path

from amo_bridge.events import Router, parse_delivery
from amo_bridge.inbox import HandlerContext, Inbox
from amo_bridge.inbox.journal import record_processed
from amo_bridge.inbox.worker import Worker
from amo_bridge.store import Store

SAMPLES = Path(__file__).parent / "samples" / "webhooks"
HEADERS = {"User-Agent": "amoCRM-Webhooks/3.0", "X-Amocrm-Requestid": "req-1"}


def sample(name: str) -> bytes:
    return (SAMPLES / f"{name}.form").read_bytes()


def record_sample(inbox: Inbox, name: str) -> None:
    body = sample(name)
    inbox.record(body, HEADERS, parse_delivery(body, HEADERS))


def body_with_leads(count: int, start: int = 1000) -> bytes:
    pairs = [
        f"leads%5Badd%5D%5B{i}%5D%5Bid%5D={start + i}&leads%5Badd%5D%5B{i}%5D%5Blast_modified%5D=1767260000"
        for i in range(count)
    ]
    return ("&".join(pairs) + "&account%5Bid%5D=29384756").encode()


def claim_all(url: str, owner: str, lease: float = 300.0) -> list[int]:
    """Claim rows until none is left; return their ids (run in threads or child processes)."""
    store = Store(url)
    inbox = Inbox(store, lease_seconds=lease)
    claimed: list[int] = []
    for _ in range(10_000):
        got = inbox.claim(owner)
        if got is None:
            break
        claimed.append(got.row.id)
    store.dispose()
    return claimed


def claim_all_to_file(url: str, owner: str, path: str) -> None:
    ids = claim_all(url, owner)
    Path(path).write_text(",".join(map(str, ids)))


def stuck_worker(url: str, lease: float) -> None:
    """A worker whose handler marks that it started and then hangs (until SIGKILL)."""
    store = Store(url)
    router: Router[HandlerContext] = Router()

    @router.on("*")
    def hang(event: object, ctx: HandlerContext) -> None:
        ctx.store.kv.set("test.started", {"inbox_id": ctx.inbox_id})
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # bounded; the test kills us long before
            time.sleep(0.05)

    worker = Worker(Inbox(store, lease_seconds=lease), router, heartbeat_interval=lease / 3)
    worker.process_one("stuck-worker")


def journal_router(calls: list[int]) -> Router[HandlerContext]:
    router: Router[HandlerContext] = Router()

    @router.on("*")
    def journal(event: object, ctx: HandlerContext) -> None:
        calls.append(ctx.inbox_id)
        record_processed(
            ctx.store, event, dedupe_key=ctx.dedupe_key, inbox_id=ctx.inbox_id, now=ctx.clock.now()
        )  # type: ignore[arg-type]

    return router
