"""How fast the sandbox plays working days: instantly (the clock advanced) and in real time.

python -m bench sandbox_day                 # the table below: 5 days instantly, one day at speed 3600
python bench/sandbox_day.py                 # instant play (clock advanced), 5 days
python bench/sandbox_day.py --realtime      # one day at --speed 600 in real time (about 60 s)
"""

from __future__ import annotations

import argparse
import time
from datetime import datetime
from zoneinfo import ZoneInfo

from amo_bridge.clock import SYSTEM_CLOCK, FakeClock
from amo_bridge.sandbox import Sandbox, SandboxConfig
from amo_bridge.sandbox.clock import SandboxClock
from amo_bridge.sandbox.scenario import Scenario, ScenarioConfig, ScenarioDriver, play


def instant(days: int, seed: int) -> None:
    started = time.perf_counter()
    sandbox = Sandbox(SandboxConfig(seed=seed, deliver_webhooks=False), clock=FakeClock())
    seeded = time.perf_counter()
    scenario = play(sandbox.state, ScenarioConfig(seed=seed, days=days, assigned_only=False))
    done = time.perf_counter()
    print(
        f"seed account: {seeded - started:.2f} s; {days} day(s) played instantly in {done - seeded:.2f} s "
        f"({scenario.actions_run} actions, {len(sandbox.state.events)} events)"
    )


def realtime(speed: float, seed: int) -> None:
    start = datetime.now(ZoneInfo("Europe/Moscow")).replace(hour=8, minute=59, second=0, microsecond=0)
    clock = SandboxClock(SYSTEM_CLOCK)
    clock.set_speed(speed, start=start.timestamp())
    sandbox = Sandbox(SandboxConfig(seed=seed, deliver_webhooks=False), clock=clock)
    scenario = Scenario(sandbox.state, ScenarioConfig(seed=seed, assigned_only=False))
    started = time.perf_counter()
    driver = ScenarioDriver(scenario).start()
    driver.done.wait(3600)
    print(f"one working day at speed {speed:g}: {time.perf_counter() - started:.1f} s real time")
    sandbox.close()


def run() -> list[dict[str, object]]:
    """Two rows: five days played at once, and one day in real time at speed 3600 (about 10 s)."""
    started = time.perf_counter()
    sandbox = Sandbox(SandboxConfig(seed=1, deliver_webhooks=False), clock=FakeClock())
    seeded = time.perf_counter()
    scenario = play(sandbox.state, ScenarioConfig(seed=1, days=5, assigned_only=False))
    done = time.perf_counter()
    rows: list[dict[str, object]] = [
        {
            "mode": "instant, 5 days",
            "seed account s": round(seeded - started, 2),
            "play s": round(done - seeded, 2),
            "leads": len(sandbox.state.ground_truth["leads"]),
            "actions": scenario.actions_run,
            "events": len(sandbox.state.events),
        }
    ]
    speed = 3600.0
    start = datetime.now(ZoneInfo("Europe/Moscow")).replace(hour=8, minute=59, second=0, microsecond=0)
    clock = SandboxClock(SYSTEM_CLOCK)
    clock.set_speed(speed, start=start.timestamp())
    live = Sandbox(SandboxConfig(seed=1, deliver_webhooks=False), clock=clock)
    day = Scenario(live.state, ScenarioConfig(seed=1, assigned_only=False))
    began = time.perf_counter()
    driver = ScenarioDriver(day).start()
    finished = driver.done.wait(120)
    driver.stop()
    rows.append(
        {
            "mode": f"real time, 1 day at speed {speed:g}" + ("" if finished else " (cut at 120 s)"),
            "play s": round(time.perf_counter() - began, 1),
            "actions": day.actions_run,
            "events": len(live.state.events),
        }
    )
    live.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--realtime", action="store_true")
    parser.add_argument("--speed", type=float, default=600.0)
    args = parser.parse_args()
    if args.realtime:
        realtime(args.speed, args.seed)
    else:
        instant(args.days, args.seed)


if __name__ == "__main__":
    main()
