"""A simulated day of hand-offs on the sandbox, checked against the scenario's ground truth.

The sandbox scenario plays one working day: leads arrive as unsorted entries (some are injected
duplicates of earlier clients), lead managers act only on leads amo-bridge assigned to them, set the
outcome stage, closers act on leads handed to them. Every action's webhooks go to a real receiver
on a loopback port and a real worker runs the handlers before the scenario's next action.

Figures: outcome hand-offs performed vs expected (from the intended qualification outcomes of the
leads whose outcome stage was set, ``/_sandbox/ground-truth``), the median hand-off latency (from the
start of the action that set the stage to the hand-off's end, wall time), and duplicates caught vs
injected (an injected duplicate whose original deal was no longer live is not a duplicate to catch).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import select

from amo_bridge.sandbox.scenario import Scenario, ScenarioConfig
from amo_bridge.store import Store
from amo_bridge.store.schema import handoffs

RULE_OF = {"qualified": "qualified", "non_target": "non-target", "warm_up": "warm-up"}
WON, LOST = 142, 143


def simulate(leads_per_day: int = 40, seed: int = 11) -> dict[str, Any]:
    from tests.wiring_rig import Rig

    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{Path(tmp) / 'day.db'}")
        store.upgrade()
        rig = Rig(store, Path(tmp), rate_limit=50, sandbox_rate=10_000)
        try:
            return _play(rig, store, ScenarioConfig(seed=seed, days=1, leads_per_day=leads_per_day))
        finally:
            rig.close()
            store.dispose()


def _play(rig: Any, store: Store, config: ScenarioConfig) -> dict[str, Any]:
    state = rig.state
    scenario = Scenario(state, config)
    staged_at: dict[int, float] = {}
    seen: set[tuple[int, int]] = set()
    live_at_arrival: dict[int, bool] = {}
    steps = 0
    while not scenario.finished and steps < 20_000:
        steps += 1
        due = scenario.next_time()
        assert due is not None
        now = state.clock.now()
        if due > now:
            state.clock.advance(due - now)
        started = time.time()
        before = set(state.ground_truth.get("leads", {}))
        scenario.run_due(state.clock.now())
        for key in set(state.ground_truth.get("leads", {})) - before:
            original = state.ground_truth["leads"][key]["intended"]["duplicate_of"]
            if original is not None:
                lead = state.leads.get(original)
                live_at_arrival[int(key)] = bool(
                    lead and not lead["is_deleted"] and lead["status_id"] not in (WON, LOST)
                )
        for key, entry in state.ground_truth.get("leads", {}).items():
            for index, event in enumerate(entry["happened"]):
                if event["what"] == "qualified_as" and (int(key), index) not in seen:
                    seen.add((int(key), index))
                    staged_at[int(key)] = started
        rig.settle(rounds=200)
    truth = requests.get(f"{rig.sandbox.url}/_sandbox/ground-truth", timeout=10).json()
    with store.read() as conn:
        rows = conn.execute(select(handoffs).where(handoffs.c.state == "done")).all()
    expected = set()
    for key, entry in truth["leads"].items():
        outcomes = [e["outcome"] for e in entry["happened"] if e["what"] == "qualified_as"]
        if outcomes and outcomes[-1] in RULE_OF:
            assert outcomes[-1] == entry["intended"]["qualification"]
            expected.add((int(key), RULE_OF[outcomes[-1]]))
    performed = {(int(r.lead_id), str(r.rule)) for r in rows if r.kind == "outcome"}
    latencies = [
        float(r.finished_at) - staged_at[int(r.lead_id)]
        for r in rows
        if r.kind == "outcome" and int(r.lead_id) in staged_at and r.finished_at is not None
    ]
    injected = [int(k) for k, e in truth["leads"].items() if e["intended"]["duplicate_of"] is not None]
    catchable = [lead for lead in injected if live_at_arrival.get(lead)]
    caught = [r for r in rows if r.kind == "duplicate"]
    return {
        "leads": len(truth["leads"]),
        "handoffs_expected": len(expected),
        "handoffs_performed": len(performed),
        "handoffs_match": performed == expected,
        "median_handoff_latency_s": round(statistics.median(latencies), 3) if latencies else None,
        "duplicates_injected": len(injected),
        "duplicates_injected_with_live_deal": len(catchable),
        "duplicates_caught": len(caught),
    }


def run() -> list[dict[str, object]]:
    result = simulate()
    return [
        {
            "figure": "hand-offs in a simulated day on the sandbox",
            "leads": result["leads"],
            "performed": result["handoffs_performed"],
            "expected": result["handoffs_expected"],
            "match": result["handoffs_match"],
            "median_latency_s": result["median_handoff_latency_s"],
        },
        {
            "figure": "duplicates caught in a simulated day on the sandbox",
            "injected": result["duplicates_injected"],
            "injected_with_live_deal": result["duplicates_injected_with_live_deal"],
            "caught": result["duplicates_caught"],
        },
    ]


if __name__ == "__main__":
    import json

    for figure in run():
        print(json.dumps(figure, ensure_ascii=False))
