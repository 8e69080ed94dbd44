"""Dry runs of the engine on generated arrivals: joins, pauses and shifts, with fairness figures.

Pure and seeded: the same arguments give the same figures. Each arrival is decided by
:func:`~amo_bridge.distribution.engine.decide` (availability, rotation, audit), and an independent
ledger keeps every member's weighted share: each lead is shared among the members available for it
by weight; what a leaver was owed or ahead is shared among those who stay; joiners start at zero.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from amo_bridge.distribution.calendar import WorkCalendar
from amo_bridge.distribution.engine import Facts, decide
from amo_bridge.distribution.fairness import LaneState
from amo_bridge.distribution.model import Arrival, Member, MemberStatus, Pool, Trigger


@dataclass
class Ledger:
    weights: dict[int, int]
    share: dict[int, float] = field(default_factory=dict)
    count: dict[int, int] = field(default_factory=dict)
    total: dict[int, int] = field(default_factory=dict)
    present: set[int] = field(default_factory=set)

    def settle(self, available: Sequence[int]) -> None:
        now = set(available)
        leavers, stayers = self.present - now, self.present & now
        owed = sum(self.share[u] - self.count[u] for u in leavers)
        weight = sum(self.weights[u] for u in stayers)
        for user in stayers:
            self.share[user] += owed * self.weights[user] / weight
        for user in now - self.present:
            self.share[user], self.count[user] = 0.0, 0
        self.present = now

    def record(self, available: Sequence[int], chosen: int) -> float:
        weight = sum(self.weights[u] for u in available)
        for user in available:
            self.share[user] += self.weights[user] / weight
        self.count[chosen] += 1
        self.total[chosen] = self.total.get(chosen, 0) + 1
        return max(abs(self.count[u] - self.share[u]) for u in self.present)


@dataclass(frozen=True)
class Simulation:
    leads: int
    members: tuple[Member, ...]
    max_deviation: float  # the largest |count - weighted share| of any available member, any time
    core_max_deviation: float  # the same for members available the whole run
    counts: dict[int, int]
    availability: dict[int, float]  # fraction of arrivals each member was available for
    joins: int
    pauses: int
    seconds: float

    @property
    def decisions_per_second(self) -> float:
        return self.leads / self.seconds if self.seconds > 0 else float("inf")


def timeline(
    members: Sequence[Member], leads: int, *, seed: int, joins: int, pauses: int, shifts: bool
) -> tuple[list[list[int]], int, int]:
    """Who is available for each arrival.

    The first ``joins`` members after the first join late; ``pauses`` pauses of random members
    (never the first) of random lengths; with ``shifts``, every other member works the first 60%
    of each "day" of 500 arrivals and the others the last 60%."""
    rng = random.Random(seed)
    ids = [m.user_id for m in members]
    join_at = {uid: 0 for uid in ids}
    late = ids[1 : 1 + joins]
    for uid in late:
        join_at[uid] = rng.randrange(1, max(2, leads))
    paused: list[tuple[int, int, int]] = []
    for _ in range(pauses):
        start = rng.randrange(0, max(1, leads))
        paused.append((rng.choice(ids[1:] or ids), start, start + rng.randint(1, max(1, leads // 20))))
    day = 500
    result: list[list[int]] = []
    for n in range(leads):
        phase = n % day
        available = []
        for index, uid in enumerate(ids):
            if n < join_at[uid]:
                continue
            if any(user == uid and start <= n < end for user, start, end in paused):
                continue
            if shifts and len(ids) > 1 and index > 0:
                early = index % 2 == 1
                if (early and phase >= day * 0.6) or (not early and phase < day * 0.4):
                    continue
            available.append(uid)
        result.append(available)
    return result, len(late), pauses


def simulate(
    members: Sequence[Member],
    leads: int,
    *,
    seed: int = 1,
    joins: int = 1,
    pauses: int = 20,
    shifts: bool = True,
) -> Simulation:
    """Run the engine on ``leads`` generated arrivals; member 1 is always available."""
    plan, joined, paused = timeline(members, leads, seed=seed, joins=joins, pauses=pauses, shifts=shifts)
    pool = Pool("sim", Trigger("unsorted", 1), tuple(members), sticky=False)
    calendar = WorkCalendar(ZoneInfo("UTC"))
    ids = [m.user_id for m in members]
    ledger = Ledger({m.user_id: m.weight for m in members})
    core = {uid for uid in ids if all(uid in available for available in plan)}
    state = LaneState()
    worst = core_worst = 0.0
    elapsed = 0.0
    for n, available in enumerate(plan):
        if not available:
            continue
        statuses = {uid: MemberStatus(paused=uid not in available) for uid in ids}
        arrival = Arrival("unsorted", str(n), 1)
        started = time.perf_counter()
        decision = decide(pool, arrival, Facts({"default": state}, statuses, calendar, float(n)))
        elapsed += time.perf_counter() - started
        assert decision.member is not None
        assert decision.rotation is not None
        state = decision.rotation
        ledger.settle(available)
        worst = max(worst, ledger.record(available, decision.member))
        if core:
            core_worst = max(core_worst, max(abs(ledger.count[u] - ledger.share[u]) for u in core))
    share = {uid: sum(uid in a for a in plan) / max(1, len(plan)) for uid in ids}
    return Simulation(leads, tuple(members), worst, core_worst, ledger.total, share, joined, paused, elapsed)
