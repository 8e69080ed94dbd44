"""A simulated month of won_to_retention and triggers (in-memory amoCRM, real store), with crashes.

    python -m bench.jobs_month [DATABASE_URL]   (or: python -m bench jobs_month)

Prints won deals vs retention leads, trigger episodes vs tasks, and amoCRM calls per won deal.
"""

from __future__ import annotations

import logging
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.jobs_simulation import simulate


def run() -> list[dict[str, Any]]:
    """One row: the month's figures (in-memory amoCRM, crashes injected)."""
    logging.getLogger("amo_bridge").setLevel(logging.ERROR)
    logging.getLogger("jobs").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        f = simulate(f"sqlite:///{Path(tmp) / 'bench.db'}", days=30)
        return [
            {
                "days": f.days,
                "won deals": f.won_deals,
                "retention leads": f.retention_leads,
                "crashes injected": f.crashes,
                "runs abandoned": f.abandoned_runs,
                "trigger episodes": f.trigger_episodes,
                "trigger tasks": f.trigger_tasks,
                "port calls per won deal": round(f.calls_per_won_deal, 2),
                "ok": f.retention_leads == f.won_deals and f.trigger_tasks == f.trigger_episodes,
                "seconds": round(time.perf_counter() - started, 1),
            }
        ]


def main() -> None:
    logging.basicConfig(level=logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp:
        url = sys.argv[1] if len(sys.argv) > 1 else f"sqlite:///{Path(tmp) / 'bench.db'}"
        started = time.perf_counter()
        figures = simulate(url, days=30)
        print(figures.report())
        print(f"simulated in {time.perf_counter() - started:.1f}s")
        ok = (
            figures.retention_leads == figures.won_deals and figures.trigger_tasks == figures.trigger_episodes
        )
        sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
