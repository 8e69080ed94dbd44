"""Weighted fair rotation: virtual time with eligibility and deadlines (EEVDF for unit-size leads).

Each rotation ("lane") keeps a virtual time ``V`` and, per member, a virtual start ``S`` (its
"pass"). A member of weight ``w`` is *owed* ``lag = w * (V - S)`` leads: its weighted share so far
minus what it got. Giving one lead to the lane:

1. ``V`` advances by ``1 / W``, where ``W`` is the total weight of the members available now, so
   each available member's share grows by ``w / W`` (the lead is shared out as a fluid would be);
2. the member chosen is, among those with ``lag >= 0`` (eligible: not ahead of their share), the one
   whose *virtual deadline* ``S + 1/w`` comes first; its ``S`` advances by ``1/w`` (its lag drops by 1).

Ties break on ``S``, then on the member's position in the configuration: the engine is deterministic.

Membership changes (joins, pauses, shifts, caps, vacations) are settled lazily at the next decision:

* a member who *leaves* the available set takes nothing with it: its lag (owed or ahead) is shared
  out among those who stay, in proportion to their weights (``V += L / W_stay``), so the lags of the
  available members always sum to zero;
* a member who *joins or returns* starts level: ``S = V``, lag 0. No catch-up burst, no debt.

With unit leads this is Stoica & Abdel-Wahab's EEVDF, whose lag bound gives: every available
member's count stays strictly within one lead of its weighted share, after every decision, however
weights and membership change. For a fixed set of members the share after ``N`` leads is exactly
``N * w / W``. The property tests in ``tests/test_distribution_fairness.py`` check both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

EPSILON = 1e-9  # float noise allowance on the eligibility test (lags are O(1), V grows slowly)


@dataclass(frozen=True)
class LaneState:
    """The persisted state of one rotation."""

    vtime: float = 0.0
    present: frozenset[int] = frozenset()
    passes: Mapping[int, float] = field(default_factory=dict)

    def lag(self, user_id: int, weight: int) -> float:
        return weight * (self.vtime - self.passes.get(user_id, self.vtime))


def settle(state: LaneState, weights: Mapping[int, int], available: Sequence[int]) -> LaneState:
    """Apply leaves and joins since the last decision: leavers' lag is shared, joiners start level."""
    now_present = frozenset(available)
    if now_present == state.present:
        return state
    passes = dict(state.passes)
    vtime = state.vtime
    leavers = state.present - now_present
    stayers = state.present & now_present
    if leavers:
        owed = sum(weights.get(u, 1) * (vtime - passes.get(u, vtime)) for u in leavers)
        stay_weight = sum(weights[u] for u in stayers)
        if stay_weight:
            vtime += owed / stay_weight
    for user_id in now_present - state.present:
        passes[user_id] = vtime
    return LaneState(vtime=vtime, present=now_present, passes=passes)


def choose(
    state: LaneState,
    weights: Mapping[int, int],
    available: Sequence[int],
    *,
    skip: frozenset[int] = frozenset(),
) -> int | None:
    """The member who gets the next lead, from a *settled* state (``None`` if nobody can).

    ``skip`` members stay in the rotation but cannot take this lead (e.g. the assignee who missed
    the SLA). If every member not skipped is ahead of their share, the least ahead is chosen.
    """
    order = {user_id: index for index, user_id in enumerate(available)}
    pool = [u for u in available if u not in skip]
    if not pool:
        return None
    eligible = [u for u in pool if state.passes[u] <= state.vtime + EPSILON] or pool

    def key(user_id: int) -> tuple[float, float, int]:
        start = state.passes[user_id]
        return (start + 1.0 / weights[user_id], start, order[user_id])

    return min(eligible, key=key)


def charge(state: LaneState, weights: Mapping[int, int], user_id: int) -> LaneState:
    """Give one lead to ``user_id`` (a present member of a settled state)."""
    total = sum(weights[u] for u in state.present)
    passes = dict(state.passes)
    passes[user_id] = passes[user_id] + 1.0 / weights[user_id]
    return LaneState(vtime=state.vtime + 1.0 / total, present=state.present, passes=passes)


def refund(state: LaneState, weights: Mapping[int, int], user_id: int) -> LaneState:
    """Undo one :func:`charge` (amoCRM refused the assignment): lags still sum to zero."""
    if not state.present:
        return state
    total = sum(weights.get(u, 1) for u in state.present)
    passes = dict(state.passes)
    if user_id in state.present:
        passes[user_id] = passes[user_id] - 1.0 / weights.get(user_id, 1)
    return LaneState(vtime=state.vtime - 1.0 / total, present=state.present, passes=passes)


def assign_next(
    state: LaneState,
    weights: Mapping[int, int],
    available: Sequence[int],
    *,
    skip: frozenset[int] = frozenset(),
) -> tuple[int | None, LaneState]:
    """Settle, choose and charge in one step: the whole rotation as a pure function."""
    settled = settle(state, weights, available)
    chosen = choose(settled, weights, available, skip=skip)
    if chosen is None:
        return None, settled
    return chosen, charge(settled, weights, chosen)
