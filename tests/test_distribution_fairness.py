"""Property tests of the rotation's fairness bound, checked against independent bookkeeping."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from amo_bridge.distribution.fairness import LaneState, assign_next

BOUND = 1.0


class FluidLedger:
    """The weighted share of each member computed without the engine's state.

    Each lead is shared out among the members available for it in proportion to their weights.
    A member who leaves takes nothing with it: what it was owed (or ahead) is shared among those who
    stay, by weight. A member who joins or returns starts at share 0 and count 0.
    """

    def __init__(self, weights: dict[int, int]) -> None:
        self.weights = weights
        self.share: dict[int, float] = {}
        self.count: dict[int, int] = {}
        self.present: set[int] = set()

    def settle(self, available: list[int]) -> None:
        now = set(available)
        leavers, stayers = self.present - now, self.present & now
        owed = sum(self.share[u] - self.count[u] for u in leavers)
        stay_weight = sum(self.weights[u] for u in stayers)
        for user in stayers:
            self.share[user] += owed * self.weights[user] / stay_weight
        for user in now - self.present:
            self.share[user], self.count[user] = 0.0, 0
        self.present = now

    def record(self, available: list[int], chosen: int) -> None:
        total = sum(self.weights[u] for u in available)
        for user in available:
            self.share[user] += self.weights[user] / total
        self.count[chosen] += 1

    def worst(self) -> float:
        return max(abs(self.count[u] - self.share[u]) for u in self.present)


@settings(max_examples=200, deadline=None)
@given(
    weights=st.lists(st.integers(1, 10), min_size=1, max_size=8),
    leads=st.integers(1, 300),
)
def test_fixed_members_stay_within_one_lead_of_weighted_share(weights: list[int], leads: int) -> None:
    members = dict(enumerate(weights, start=1))
    available = list(members)
    state = LaneState()
    counts = dict.fromkeys(members, 0)
    total = sum(weights)
    for n in range(1, leads + 1):
        chosen, state = assign_next(state, members, available)
        assert chosen is not None
        counts[chosen] += 1
        for user, weight in members.items():
            assert abs(counts[user] - n * weight / total) < BOUND, (n, counts)


@st.composite
def schedules(draw: st.DrawFn) -> tuple[dict[int, int], list[list[int]]]:
    """Weights and, for each lead, who is available: a core always there, others joining, pausing
    and working shifts (runs of presence and absence of random lengths)."""
    weights = draw(st.lists(st.integers(1, 10), min_size=2, max_size=8))
    members = dict(enumerate(weights, start=1))
    core = draw(st.integers(1, len(members)))
    seed = draw(st.integers(0, 2**32 - 1))
    leads = draw(st.integers(20, 400))
    rng = random.Random(seed)
    present = {u: u <= core or rng.random() < 0.5 for u in members}
    mean_run = {u: rng.choice([1, 3, 10, 50]) for u in members}
    timeline: list[list[int]] = []
    for _ in range(leads):
        for user in members:
            if user > core and rng.random() < 1 / mean_run[user]:
                present[user] = not present[user]
        timeline.append([u for u in members if present[u]])
    return members, timeline


@settings(max_examples=200, deadline=None)
@given(schedules())
def test_share_bound_holds_under_joins_pauses_and_shifts(
    case: tuple[dict[int, int], list[list[int]]],
) -> None:
    members, timeline = case
    ledger = FluidLedger(members)
    state = LaneState()
    for available in timeline:
        ledger.settle(available)
        chosen, state = assign_next(state, members, available)
        assert chosen in available
        ledger.record(available, chosen)
        assert ledger.worst() < BOUND


@settings(max_examples=100, deadline=None)
@given(
    weights=st.lists(st.integers(1, 10), min_size=1, max_size=6),
    before=st.integers(0, 500),
    joiner_weight=st.integers(1, 10),
    after=st.integers(1, 60),
)
def test_joiner_gets_no_catch_up_burst(
    weights: list[int], before: int, joiner_weight: int, after: int
) -> None:
    members = dict(enumerate(weights, start=1))
    state = LaneState()
    for _ in range(before):
        _, state = assign_next(state, members, list(members))
    joiner = len(members) + 1
    everyone = {**members, joiner: joiner_weight}
    got = 0
    for n in range(1, after + 1):
        chosen, state = assign_next(state, everyone, list(everyone))
        got += chosen == joiner
        # never more than its weighted share of the leads since it joined, plus less than one
        assert got < n * joiner_weight / sum(everyone.values()) + 1


@settings(max_examples=100, deadline=None)
@given(weights=st.lists(st.integers(1, 5), min_size=2, max_size=6), away=st.integers(1, 300))
def test_returner_comes_back_level_without_debt(weights: list[int], away: int) -> None:
    members = dict(enumerate(weights, start=1))
    state = LaneState()
    for _ in range(20):
        _, state = assign_next(state, members, list(members))
    others = [u for u in members if u != 1]
    for _ in range(away):
        _, state = assign_next(state, members, others)
    total = sum(members.values())
    got = 0
    for n in range(1, 40):
        chosen, state = assign_next(state, members, list(members))
        got += chosen == 1
        assert got < n * members[1] / total + 1


def test_rotation_is_deterministic() -> None:
    members = {1: 2, 2: 1, 3: 3}
    runs = []
    for _ in range(2):
        state, picks = LaneState(), []
        for _ in range(50):
            chosen, state = assign_next(state, members, [1, 2, 3])
            picks.append(chosen)
        runs.append(picks)
    assert runs[0] == runs[1]
    assert runs[0][:6].count(3) == 3
