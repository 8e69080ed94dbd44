"""Webhook-to-assignment latency on the sandbox: arrivals by webhook to an accepted, assigned lead.

The sandbox delivers its webhooks in the background to a real receiver on a loopback port; a real
worker runs the handlers, which act on the sandbox through the API client under the 7 rps limit.
Latency is from the moment the unsorted entry is created in the sandbox to the moment the
assignment's amoCRM writes are done (accepted, contacts moved, first-contact task created).

Measured (2 shared cores, SQLite): a burst of 60 leads at 7 arrivals/s: p50 45.9 s, p95 84.9 s (the
queue drains at about 0.65 leads/s: each arrival costs about 12 API calls under the 7 rps budget);
20 leads at 0.5/s: p50 2.7 s, p95 6.6 s with the client at 7 rps (the sandbox's strict rolling window
answers some calls 429, each retried a second later), p50 1.9 s, p95 1.9 s with the client at 6 rps.
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
        "p50_s": round(statistics.median(latencies), 3) if latencies else None,
        "p95_s": round(_percentile(latencies, 0.95), 3) if latencies else None,
        "max_s": round(max(latencies), 3) if latencies else None,
    }


def run() -> list[dict[str, object]]:
    # A burst at 7 arrivals/s (more than the API budget serves: it queues), a steady 0.5/s, and the
    # same with the client held at 6 rps under the sandbox's strict 7 rps window (no 429 retries).
    return [measure(60, 7.0), measure(20, 0.5), measure(20, 0.5, client_rps=6)]


if __name__ == "__main__":
    import json

    for figure in run():
        print(json.dumps(figure, ensure_ascii=False))
