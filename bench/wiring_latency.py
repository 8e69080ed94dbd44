"""Webhook-to-assignment latency on the sandbox: arrivals by webhook to an accepted, assigned lead.

The sandbox delivers its webhooks in the background to a real receiver on a loopback port; a real
worker runs the handlers, which act on the sandbox through the API client under the 7 rps limit.
Latency is from the moment the unsorted entry is created in the sandbox to the moment the
assignment's amoCRM writes are done (accepted, contacts moved, first-contact task created).

Each arrival of a new client costs 7 amoCRM calls (entry, contacts with leads, duplicate search,
accept, contacts to move, open tasks, first-contact task); the limiter sends up to 7 at once when
the budget is free and at most 7 in any 1.08 s. So arrivals up to about 0.8/s are served within a
few round trips each, and a burst faster than that queues and drains at about 0.93 arrivals/s:
amoCRM's budget, not ours, sets that ceiling. Figures: docs/benchmarks.md.
"""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
from pathlib import Path

from sqlalchemy import select

from amo_bridge.store import Store
from amo_bridge.store.schema import metadata

assignments = metadata.tables["distribution_assignments"]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(
    leads: int = 60,
    arrival_rps: float = 7.0,
    api_rps: int = 7,
    timeout: float = 240.0,
    client_rps: int | None = None,
) -> dict[str, object]:
    """``api_rps``: the sandbox's limit; ``client_rps``: AMO_RATE_LIMIT (default: the same)."""
    from tests.wiring_rig import Rig

    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{Path(tmp) / 'bench.db'}")
        store.upgrade()
        rig = Rig(
            store,
            Path(tmp),
            deliver=True,
            rate_limit=client_rps or api_rps,
            sandbox_rate=api_rps,
            concurrency=2,
        )
        worker = threading.Thread(target=rig.worker.run, kwargs={"install_signals": False}, daemon=True)
        worker.start()
        rig.sandbox.admin.clear_requests()
        created: dict[str, float] = {}
        try:
            start = time.monotonic()
            for i in range(leads):
                contact = rig.new_contact(f"+7 903 {i // 10000:03d}-{(i // 100) % 100:02d}-{i % 100:02d}")
                created[rig.new_unsorted(f"bench-{i}", contact)] = time.time()
                pause = start + (i + 1) / arrival_rps - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
            deadline = time.monotonic() + timeout
            applied: dict[str, float] = {}
            while time.monotonic() < deadline and len(applied) < leads:
                with store.read() as conn:
                    rows = conn.execute(
                        select(assignments.c.entity_id, assignments.c.applied_at).where(
                            assignments.c.applied_at.is_not(None)
                        )
                    ).all()
                applied = {str(r.entity_id): float(r.applied_at) for r in rows if str(r.entity_id) in created}
                time.sleep(0.2)
            requests = len(rig.sandbox.admin.requests())
        finally:
            rig.close()
            worker.join(timeout=10)
            store.dispose()
    latencies = [applied[uid] - created[uid] for uid in applied]
    return {
        "figure": "webhook-to-assignment latency on the sandbox",
        "leads": leads,
        "assigned": len(applied),
        "arrival_rps": arrival_rps,
        "api_rps": api_rps,
        "client_rps": client_rps or api_rps,
        "api_calls_per_arrival": round(requests / leads, 2),
        "p50_s": round(statistics.median(latencies), 3) if latencies else None,
        "p95_s": round(_percentile(latencies, 0.95), 3) if latencies else None,
        "max_s": round(max(latencies), 3) if latencies else None,
    }


def run() -> list[dict[str, object]]:
    # Steady arrivals well inside the API budget and close to its ceiling, then a burst at 7 arrivals/s
    # (far above what 7 requests/second can serve: it queues).
    return [measure(20, 0.5), measure(30, 0.8), measure(60, 7.0)]


if __name__ == "__main__":
    import json

    for figure in run():
        print(json.dumps(figure, ensure_ascii=False))
