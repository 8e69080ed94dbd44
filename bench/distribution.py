"""Distribution figures: fairness over 10,000 simulated leads, engine and persisted-service speed,
webhook-to-assignment latency on the sandbox (:mod:`bench.wiring_latency`).

``python -m bench.distribution`` prints one JSON object per figure.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

from amo_bridge.clock import SYSTEM_CLOCK
from amo_bridge.distribution.calendar import WorkCalendar
from amo_bridge.distribution.fake import FakeAmo, FakeLead
from amo_bridge.distribution.model import Arrival, Member, Pool, Trigger
from amo_bridge.distribution.service import DistributionService
from amo_bridge.distribution.simulate import simulate
from amo_bridge.store import Store

MEMBERS = (Member(1), Member(2), Member(3, 2), Member(4), Member(5, 3), Member(6), Member(7, 2), Member(8))
LEADS = 10_000
SERVICE_LEADS = 300


def fairness() -> list[dict[str, object]]:
    worst = core = 0.0
    rates = []
    seeds = (1, 2, 3)
    for seed in seeds:
        result = simulate(MEMBERS, LEADS, seed=seed, joins=2, pauses=40, shifts=True)
        worst = max(worst, result.max_deviation)
        core = max(core, result.core_max_deviation)
        rates.append(result.decisions_per_second)
    detail = (
        f"{LEADS} leads x {len(seeds)} seeds, {len(MEMBERS)} members (weights 1-3),"
        " 2 late joins, 40 pauses, two overlapping shifts"
    )
    return [
        {"name": "distribution.max_deviation", "value": round(worst, 4), "unit": "leads", "detail": detail},
        {
            "name": "distribution.max_deviation_always_available",
            "value": round(core, 4),
            "unit": "leads",
            "detail": detail,
        },
        {
            "name": "distribution.engine_decisions_per_second",
            "value": round(min(rates)),
            "unit": "decisions/s",
            "detail": "engine.decide (availability, rotation, audit) in one process, slowest of the seeds",
        },
    ]


def persisted_service(where: str | None, label: str) -> list[dict[str, object]]:
    with tempfile.TemporaryDirectory(dir=where) as directory:
        store = Store(f"sqlite:///{Path(directory) / 'bench.db'}")
        store.upgrade()
        amo = FakeAmo()
        pool = Pool("L1", Trigger("unsorted", 1), MEMBERS[:5], sticky=False)
        service = DistributionService(store, [pool], WorkCalendar(ZoneInfo("UTC")), amo, SYSTEM_CLOCK)
        for n in range(SERVICE_LEADS):
            amo.add_unsorted(f"u{n}", FakeLead(10_000 + n, pipeline_id=1))
        started = time.perf_counter()
        for n in range(SERVICE_LEADS):
            service.handle(Arrival("unsorted", f"u{n}", 1, lead_id=10_000 + n))
        elapsed = time.perf_counter() - started
        store.dispose()
    return [
        {
            "name": f"distribution.service_sqlite_{label}_assignments_per_second",
            "value": round(SERVICE_LEADS / elapsed, 1),
            "unit": "assignments/s",
            "detail": (
                f"{SERVICE_LEADS} arrivals through DistributionService.handle on a SQLite file ({label}): "
                "decision, rotation and outbox in one transaction, then accept + move + first task"
                " on the fake port and the confirming transaction; one process"
            ),
        }
    ]


def run() -> list[dict[str, object]]:
    from bench.wiring_latency import run as webhook_latency

    figures = fairness() + persisted_service(None, "disk")
    if Path("/dev/shm").is_dir():
        figures += persisted_service("/dev/shm", "tmpfs")
    # Webhook to assignment on the sandbox: 60 leads at 7 arrivals/s, and 20 at 0.5/s (7 rps API).
    return figures + webhook_latency()


if __name__ == "__main__":
    for figure in run():
        print(json.dumps(figure, ensure_ascii=False))
