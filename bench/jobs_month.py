"""A simulated month of won_to_retention and triggers (in-memory amoCRM, real store), with crashes.

    python -m bench.jobs_month [DATABASE_URL]   (or: python -m bench jobs_month)

Prints won deals vs retention leads, trigger episodes vs tasks, amoCRM calls per won deal, and the
distributor's choices (the L3 pool's account managers, the trainers' pool's trigger tasks).
"""

from __future__ import annotations

import logging
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.jobs_simulation import Figures, simulate


def _ok(f: Figures) -> bool:
    """Every won deal has one retention lead and one pool choice; every episode one task and choice."""
    return (
        f.retention_leads == f.won_deals == f.manager_choices == f.linked_choices
        and f.trigger_tasks == f.trigger_episodes == f.trainer_choices
    )


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
                "L3 choices (tied to their lead)": f"{f.manager_choices} ({f.linked_choices})",
                "clients per account manager": ",".join(f"{v}" for _, v in sorted(f.managers.items())),
                "trainers' pool choices": f.trainer_choices,
                "ok": _ok(f),
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
        sys.exit(0 if _ok(figures) else 1)


if __name__ == "__main__":
    main()
