"""A simulated week of both jobs with injected crashes: the books stay straight.

``python -m bench.jobs_month`` runs the same simulation over a month and prints the figures.
"""

from __future__ import annotations

import pytest

from tests.jobs_simulation import simulate


@pytest.mark.slow
def test_a_week_of_jobs_keeps_the_books_straight(db_url: str) -> None:
    figures = simulate(db_url, days=7, crash_rate=0.1)
    print("\n" + figures.report())
    assert figures.crashes > 0
    assert figures.won_deals > 20
    assert figures.retention_leads == figures.distinct_references == figures.won_deals
    assert figures.first_call_tasks == figures.won_deals
    assert figures.abandoned_runs == figures.crashes
    assert figures.run_statuses == {"succeeded", "abandoned"}
    assert figures.trigger_tasks == figures.trigger_episodes > 0
    # The distributor chose once per won deal and per trigger episode, crashes or not, and fairly.
    assert figures.manager_choices == figures.linked_choices == figures.won_deals
    assert max(figures.managers.values()) - min(figures.managers.values()) <= 1
    assert len(figures.managers) == 3
    assert figures.trainer_choices == figures.trigger_episodes
    # five calls per deal (account manager, reference lookup, create, task lookup, create task)
    # and a little more for each crash recovered
    assert 5 <= figures.item_calls_per_won_deal < 5 + figures.crashes / figures.won_deals + 0.01
