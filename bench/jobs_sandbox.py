"""A simulated month of ``won_to_retention`` and ``triggers`` over HTTP against the sandbox.

The sandbox's scenario plays 30 working days (free-for-all: its people win and lose deals themselves,
retention clients buy again or miss sessions); ``won_to_retention`` runs every two hours and
``triggers`` (rule: missed sessions >= 3) every morning, through the real API client and the
production adapters and the distributor's L3 pool (``process_ports``, as ``amo-bridge scheduler``
wires them). Won deals are counted in the sandbox (closed since the first run's look-back),
retention leads by their ``won-<id>`` reference tag, trigger episodes from the sandbox's ground truth
alone; API requests from the sandbox's request log (429 answers included).
"""

from __future__ import annotations

import logging
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from tests.jobs_sandbox import (
    account_manager_choices,
    expected_episodes,
    missed_sessions_now,
    play_with_jobs,
    retention_leads,
    sandbox_jobs,
    trigger_tasks,
    won_deals,
)

DAYS = 30
LEADS_PER_DAY = 20


def run(
    days: int = DAYS, leads_per_day: int = LEADS_PER_DAY, db_url: str | None = None
) -> list[dict[str, Any]]:
    logging.getLogger("amo_bridge").setLevel(logging.ERROR)
    logging.getLogger("jobs").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp:
        url = db_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        started = time.perf_counter()
        with sandbox_jobs(url) as h:
            initial = missed_sessions_now(h)
            play_with_jobs(h, days, leads_per_day=leads_per_day)
            won = len(won_deals(h))
            made = retention_leads(h)
            leads = sum(len(v) for v in made.values())
            tasks = trigger_tasks(h)
            episodes = expected_episodes(h, initial)
            retention_runs = [(changed, n) for job, changed, n in h.run_requests if job == "won_to_retention"]
            idle = [n for changed, n in retention_runs if changed == 0]
            idle_cost = sum(idle) / len(idle) if idle else 0.0
            retention_requests = h.requests.get("won_to_retention", 0)
            per_deal = retention_requests / won if won else 0.0
            marginal = (retention_requests - idle_cost * len(retention_runs)) / won if won else 0.0
            trigger_runs = [n for job, _, n in h.run_requests if job == "triggers"]
            statuses = sorted({r.status for r in h.results})
            throttled = sum(1 for r in h.api_requests() if r.get("status") == 429)
            chosen = account_manager_choices(h)
            reasons = Counter(reason for _, _, reason in chosen.values())
            per_manager = Counter(manager for manager, _, _ in chosen.values())
            tied = sum(
                1
                for won_id, (_, lead_id, _) in chosen.items()
                if [lead_id] == [x["id"] for x in made.get(won_id, [])]
            )
        elapsed = time.perf_counter() - started
    return [
        {
            "days": days,
            "leads/day": leads_per_day,
            "won deals": won,
            "retention leads": leads,
            "deals with one lead": sum(1 for v in made.values() if len(v) == 1),
            "trigger episodes (truth)": episodes,
            "trigger tasks": tasks,
            "L3 pool choices (tied to their lead)": f"{len(chosen)} ({tied})",
            "L3 reasons": ",".join(f"{k} {v}" for k, v in sorted(reasons.items())),
            "clients per account manager (L3)": ",".join(str(v) for _, v in sorted(per_manager.items())),
            "API req per won deal": round(per_deal, 2),
            "API req per deal beyond an idle run": round(marginal, 2),
            "idle retention run (req)": round(idle_cost, 2),
            "retention runs": len(retention_runs),
            "trigger run (req, mean)": round(sum(trigger_runs) / len(trigger_runs), 1) if trigger_runs else 0,
            "429 answers": throttled,
            "run statuses": ",".join(statuses),
            "ok": won == leads and tasks == episodes and tied == len(chosen) > 0,
            "seconds": round(elapsed, 1),
        }
    ]


if __name__ == "__main__":
    rows = run()
    for key, value in rows[0].items():
        print(f"{key:>38}: {value}")
    sys.exit(0 if rows[0]["ok"] else 1)
