"""A simulated month of won_to_retention and triggers (in-memory amoCRM, real store), with crashes.

    python -m bench.jobs_month [DATABASE_URL]

Prints won deals vs retention leads, trigger episodes vs tasks, and amoCRM calls per won deal.
"""

from __future__ import annotations

import logging
import sys
import tempfile
import time
from pathlib import Path

from tests.jobs_simulation import simulate


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
