"""KPI arithmetic over plain numbers: ratios, medians, funnels, plan/fact. Pure, no I/O.

The SQL in :mod:`.queries` returns counts and sums; the formulas live here so they can be checked
against hand-computed fixtures (docs/kpi.md lists every formula).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """``numerator / denominator``; ``None`` when the denominator is 0 or unknown."""
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def percent(numerator: float | None, denominator: float | None) -> float | None:
    value = ratio(numerator, denominator)
    return None if value is None else 100.0 * value


def median(values: Iterable[float]) -> float | None:
    ordered = sorted(values)
    if not ordered:
        return None
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return float(ordered[middle])
    return (ordered[middle - 1] + ordered[middle]) / 2


def plan_fact(fact: float | None, target: float | None) -> float | None:
    """Fact as a percentage of the target (100 = on plan)."""
    return percent(fact if fact is not None else 0.0, target) if target else None


def derive(counts: Mapping[str, float | None]) -> dict[str, float | None]:
    """Ratios from raw counts: calls per active day, conversion to qualified, average check."""
    out: dict[str, float | None] = dict(counts)
    out["calls_per_day"] = ratio(counts.get("calls"), counts.get("active_days"))
    out["conversion_qualified"] = percent(counts.get("qualified"), counts.get("leads_taken"))
    out["avg_check"] = ratio(counts.get("revenue"), counts.get("priced_sales"))
    out.pop("priced_sales", None)
    return out


@dataclass(frozen=True)
class StageStat:
    """One stage of a funnel: how many leads reached it, conversion to the next stage, time in it."""

    status_id: int
    name: str
    reached: int
    conversion_to_next: float | None  # percent; None for the last stage
    median_seconds: float | None
    weakest: bool = False


def funnel_reached(order: Sequence[int], max_rank_counts: Mapping[int, int]) -> list[int]:
    """Leads that reached each stage: those whose furthest stage is this one or a later one.

    ``max_rank_counts`` maps a stage's position in ``order`` to how many leads got furthest there.
    A lead moving back and forth counts once, at the furthest stage it ever reached.
    """
    reached = [0] * len(order)
    running = 0
    for rank in range(len(order) - 1, -1, -1):
        running += max_rank_counts.get(rank, 0)
        reached[rank] = running
    return reached


def max_ranks(order: Sequence[int], paths: Mapping[int, Sequence[int]]) -> dict[int, int]:
    """Reference implementation of the SQL: ``{lead: [status ids visited]}`` -> counts by max rank."""
    position = {status: i for i, status in enumerate(order)}
    counts: dict[int, int] = {}
    for visited in paths.values():
        ranks = [position[s] for s in visited if s in position]
        if ranks:
            counts[max(ranks)] = counts.get(max(ranks), 0) + 1
    return counts


def funnel(
    order: Sequence[int],
    names: Mapping[int, str],
    max_rank_counts: Mapping[int, int],
    medians: Mapping[int, float | None],
) -> list[StageStat]:
    """Stage-to-stage conversion with the weakest transition flagged on its *from* stage.

    conversion(k -> k+1) = reached(k+1) / reached(k). The weakest stage is the one with the lowest
    conversion among stages that some lead reached (ties: the earlier stage).
    """
    reached = funnel_reached(order, max_rank_counts)
    conversions: list[float | None] = [
        percent(reached[i + 1], reached[i]) if i + 1 < len(order) else None for i in range(len(order))
    ]
    candidates = [(c, i) for i, c in enumerate(conversions) if c is not None]
    weakest = min(candidates)[1] if candidates else None
    return [
        StageStat(
            status_id=status,
            name=names.get(status, str(status)),
            reached=reached[i],
            conversion_to_next=conversions[i],
            median_seconds=medians.get(status),
            weakest=i == weakest,
        )
        for i, status in enumerate(order)
    ]


def churn_risk(days_since_purchase: float, window_days: int) -> str:
    """low below half the churn window, medium up to the window, high beyond it."""
    if days_since_purchase < window_days / 2:
        return "low"
    if days_since_purchase < window_days:
        return "medium"
    return "high"


@dataclass(frozen=True)
class Discrepancy:
    user_id: int
    day: str
    metric: str
    reported: float
    recorded: float


def discrepancies(
    user_id: int, day: str, reported: Mapping[str, float], recorded: Mapping[str, float | None]
) -> list[Discrepancy]:
    """Metrics where the number an employee reported differs from what the CRM recorded."""
    return [
        Discrepancy(user_id, day, metric, value, float(recorded.get(metric) or 0))
        for metric, value in sorted(reported.items())
        if abs(value - float(recorded.get(metric) or 0)) > 1e-9
    ]
