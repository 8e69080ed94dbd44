"""Metrics against hand-computed fixtures, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import pytest

from amo_bridge.config.settings import KpiSettings
from amo_bridge.kpi import arithmetic, queries, report
from amo_bridge.kpi.activities import parse_activities, parse_levels, parse_reported_fields, parse_targets
from amo_bridge.kpi.periods import local_midnight, parse_period
from amo_bridge.kpi.ports import PipelineInfo, StageInfo, UserInfo
from amo_bridge.kpi.rows import (
    CALL_IN,
    CALL_OUT,
    LEAD_CREATED,
    NOTE_ADDED,
    REPORTED,
    RESPONSIBLE_CHANGED,
    STATUS_CHANGED,
    TASK_COMPLETED,
    TASK_CREATED,
)
from amo_bridge.store import Store
from tests.kpi_helpers import put, row

MSK = ZoneInfo("Europe/Moscow")
M = local_midnight(date(2026, 11, 23), MSK)  # 2026-11-22T21:00:00Z
DAY = 86_400
NOW = M + 75
SETTINGS = KpiSettings(
    levels=parse_levels("l1=users:7;l2=group:200;l3=users:9"),
    targets=parse_targets("l1.calls_per_day=2;l2.sales=6;l3.churned=1"),
    activities=parse_activities("proposal=task:3,note:proposal;invoice=status:556;repeat_call=call:repeat"),
    qualified_statuses=frozenset({555}),
    retention_pipeline_id=9000,
    churn_window_days=30,
    reported_fields=parse_reported_fields("calls=512;proposal=513"),
    first_response_sla=400,
)
USERS = {7: UserInfo(7, "Anna"), 8: UserInfo(8, "Boris", group_id=200), 9: UserInfo(9, "Vera")}
W = 30 * DAY


def l1_rows() -> list:  # type: ignore[type-arg]
    u = {"user_id": 7}
    return [
        row(CALL_OUT, M - 1, lead_id=1, **u),  # 23:59:59 on the 22nd, Moscow time
        row(CALL_OUT, M, lead_id=1, **u),  # 00:00:00 on the 23rd
        row(CALL_IN, M + 3600, lead_id=1, **u),
        row(CALL_OUT, M + DAY + 10, lead_id=2, **u),  # the 24th
        row(LEAD_CREATED, M + 100, lead_id=1, pipeline_id=5, status_id=554, **u),
        row(LEAD_CREATED, M + 200, lead_id=2, pipeline_id=5, status_id=554, **u),
        row(RESPONSIBLE_CHANGED, M + 300, lead_id=3, old_user_id=4, **u),
        row(STATUS_CHANGED, M + 400, lead_id=1, old_status_id=554, status_id=555, pipeline_id=5, **u),
        row(STATUS_CHANGED, M + 500, lead_id=1, old_status_id=555, status_id=554, pipeline_id=5, **u),
        row(STATUS_CHANGED, M + 600, lead_id=1, old_status_id=554, status_id=555, pipeline_id=5, **u),
        row(STATUS_CHANGED, M + 700, lead_id=2, old_status_id=554, status_id=555, pipeline_id=5, **u),
        row(REPORTED, M + 5000, field_id=512, value=3, **u),
        row(REPORTED, M + 6000, field_id=512, value=5, **u),  # the last report of the day counts
        row(REPORTED, M + 6100, field_id=513, value=0, **u),
    ]


def l2_rows() -> list:  # type: ignore[type-arg]
    u = {"user_id": 8}
    return [
        row(STATUS_CHANGED, M + 1000, lead_id=20, status_id=142, pipeline_id=5, price=1000.0, **u),
        row(STATUS_CHANGED, M + 2000, lead_id=21, status_id=142, pipeline_id=5, price=3000.0, **u),
        row(STATUS_CHANGED, M + 3000, lead_id=22, status_id=142, pipeline_id=5, **u),  # price unknown
        row(
            STATUS_CHANGED, M + 4000, lead_id=20, status_id=142, pipeline_id=5, price=1000.0, **u
        ),  # reopened
        row(TASK_COMPLETED, M + 10, entity_id=800, task_type_id=3, **u),
        row(TASK_COMPLETED, M + 11, entity_id=801, task_type_id=1, **u),
        row(NOTE_ADDED, M + 20, entity_id=900, note_type="proposal", **u),
        row(STATUS_CHANGED, M + 30, lead_id=20, status_id=556, pipeline_id=5, **u),
        row(STATUS_CHANGED, M + 40, lead_id=20, status_id=557, pipeline_id=5, **u),
        row(STATUS_CHANGED, M + 50, lead_id=20, status_id=556, pipeline_id=5, **u),  # same invoice again
        row(CALL_OUT, M + 60, lead_id=20, **u),
        row(CALL_OUT, M + 70, lead_id=20, **u),  # a repeat call
        row(CALL_OUT, M + 80, lead_id=23, **u),
    ]


def l3_rows() -> list:  # type: ignore[type-arg]
    won = {"user_id": 9, "status_id": 142, "pipeline_id": 9000}
    return [
        row(STATUS_CHANGED, M + 100, lead_id=30, client_id=500, price=500.0, **won),
        row(STATUS_CHANGED, M - W + 50, lead_id=31, client_id=600, **won),  # churns at M+50
        row(STATUS_CHANGED, M - W + 60, lead_id=32, client_id=601, **won),
        row(STATUS_CHANGED, M + 60, lead_id=33, client_id=601, **won),  # repeat exactly at the edge
        row(STATUS_CHANGED, M - W + 70, lead_id=34, client_id=602, **won),
        row(STATUS_CHANGED, M + 71, lead_id=35, client_id=602, **won),  # one second too late
        row(STATUS_CHANGED, M - W + 80, lead_id=36, client_id=603, **won),  # churns at M+80 > now
        row(TASK_CREATED, M - 100, entity_id=700, due_at=M + 50, user_id=9),
        row(TASK_COMPLETED, M + 60, entity_id=700, user_id=9),  # completed late
        row(TASK_CREATED, M - 100, entity_id=701, due_at=M + 40, user_id=9),
        row(TASK_COMPLETED, M + 30, entity_id=701, user_id=9),
        row(TASK_CREATED, M - 100, entity_id=702, due_at=M + 74, user_id=9),  # never completed
        row(TASK_CREATED, M - 100, entity_id=703, due_at=M + 1000, user_id=9),  # not due yet
    ]


@pytest.fixture
def history(store: Store) -> Store:
    put(store, *l1_rows(), *l2_rows(), *l3_rows())
    return store


def level(store: Store, name: str, period: str = "2026-11") -> dict[int, report.KpiSnapshot]:
    with store.read() as conn:
        snaps = report.level_report(conn, SETTINGS, MSK, parse_period(period), name, USERS, NOW)
    return {s.user_id: s for s in snaps}


def test_l1_calls_per_day_conversion_and_first_response(history: Store) -> None:
    anna = level(history, "l1")[7]
    m = anna.metrics
    assert (m["calls"], m["calls_in"], m["calls_out"]) == (4, 1, 3)
    # Active days: the 22nd (23:59:59 Moscow), the 23rd and the 24th.
    assert m["active_days"] == 3
    assert m["calls_per_day"] == pytest.approx(4 / 3)
    assert m["leads_taken"] == 3
    assert m["qualified"] == 2  # lead 1 went 555 -> 554 -> 555: one qualified lead
    assert m["conversion_qualified"] == pytest.approx(200 / 3)
    assert m["first_response_median"] == 400  # responses after 300 s and 500 s
    assert m["sla_misses"] == 1  # 500 s > 400 s
    assert anna.plan == {"calls_per_day": pytest.approx(100 * (4 / 3) / 2)}


def test_day_boundaries_follow_the_account_time_zone(history: Store) -> None:
    day = level(history, "l1", "2026-11-23")[7].metrics
    assert day["calls"] == 2  # not the call at 23:59:59 of the 22nd, nor the one of the 24th
    assert level(history, "l1", "2026-11-22")[7].metrics["calls"] == 1
    week = level(history, "l1", "2026-W48")[7].metrics  # Monday 23rd .. Sunday 29th
    assert week["calls"] == 3


def test_l2_sales_average_check_and_activities(history: Store) -> None:
    boris = level(history, "l2")[8]
    m = boris.metrics
    assert m["sales"] == 3  # lead 20 won twice is one sale
    assert m["revenue"] == 4000
    assert m["avg_check"] == 2000  # over the two sales with a known price
    assert m["proposal"] == 2  # task of type 3 + note of type proposal
    assert m["invoice"] == 1  # lead 20 moved into 556 twice
    assert m["repeat_call"] == 1
    assert boris.plan == {"sales": pytest.approx(50.0)}


def test_l3_upsells_churn_window_edges_and_overdue_tasks(history: Store) -> None:
    vera = level(history, "l3")[9].metrics
    assert vera["upsells"] == 3  # leads 30, 33, 35 in the retention pipeline
    assert vera["churned"] == 2  # 600 (no repeat) and 602 (repeat 1 s after the window); not 601, 603
    assert vera["tasks_overdue"] == 2  # 700 completed late, 702 never
    with history.read() as conn:
        start, end = parse_period("2026-11").bounds(MSK)
        later = queries.churned(conn, start, end, 30, now=M + 81)
    assert later[9]["churned"] == 3  # 603's moment (M+80) has passed by then


def test_members_without_history_get_zeros_and_unknown_level_fails(history: Store) -> None:
    put(history)
    snaps = level(history, "l1", "2026-10")
    assert snaps[7].metrics["calls"] == 0
    assert snaps[7].metrics["calls_per_day"] is None
    with pytest.raises(report.KpiError, match="unknown level"), history.read() as conn:
        report.level_report(conn, SETTINGS, MSK, parse_period("2026-11"), "l9", USERS, NOW)


def test_daily_report_flags_disagreeing_reported_numbers(history: Store) -> None:
    with history.read() as conn:
        rows = report.daily_report(conn, SETTINGS, MSK, parse_period("2026-11-23"), USERS, only_user=7)
    [anna] = rows
    assert anna.recorded["calls"] == 2
    assert anna.reported == {"calls": 5.0, "proposal": 0.0}
    assert [(d.metric, d.reported, d.recorded) for d in anna.discrepancies] == [("calls", 5.0, 2.0)]
    text = report.render_daily(rows, "table")
    assert "2 (reported 5)" in text
    assert "0 (ok)" in text


PIPELINE = PipelineInfo(
    5,
    "Main",
    (StageInfo(101, "Contact", 20), StageInfo(100, "New", 10), StageInfo(102, "Invoice", 30),
     StageInfo(142, "Won", 10000), StageInfo(143, "Lost", 11000)),
)  # fmt: skip
PATHS = {  # lead: [(status, at)], the first being its creation
    "A": [(100, 0), (101, 100), (100, 200), (101, 300), (102, 400), (142, 500)],
    "B": [(100, 0), (101, 1000), (143, 1100)],
    "C": [(100, 0), (101, 50), (100, 60)],
    "D": [(100, 0), (143, 10)],
}


def test_funnel_counts_back_and_forth_once_and_flags_weakest(store: Store) -> None:
    rows = []
    for n, (_name, path) in enumerate(PATHS.items()):
        lead = 40 + n
        (first, at0), *moves = path
        rows.append(row(LEAD_CREATED, M + at0, lead_id=lead, pipeline_id=5, status_id=first))
        previous = first
        for status, at in moves:
            rows.append(row(STATUS_CHANGED, M + at, lead_id=lead, pipeline_id=5, status_id=status,
                            old_status_id=previous, old_pipeline_id=5))  # fmt: skip
            previous = status
    put(store, *rows)
    with store.read() as conn:
        stages = report.funnel_report(conn, PIPELINE, MSK, parse_period("2026-11"))
    assert [(s.status_id, s.reached) for s in stages] == [(100, 4), (101, 3), (102, 1), (142, 1)]
    assert [s.conversion_to_next for s in stages] == [75.0, pytest.approx(100 / 3), 100.0, None]
    assert [s.weakest for s in stages] == [False, True, False, False]
    # Time in stage per lead sums its visits: 100 -> A 200, B 1000, C 50 (+ an open visit), D 10.
    assert [s.median_seconds for s in stages] == [125.0, 100.0, 100.0, None]
    # The SQL agrees with the pure reference implementation.
    order = [100, 101, 102, 142]
    reference = arithmetic.max_ranks(order, {k: [s for s, _ in v] for k, v in PATHS.items()})
    assert [s.reached for s in stages] == arithmetic.funnel_reached(order, reference)
    assert "<- weakest" in report.render_funnel(stages, "table")


def test_active_days_across_a_daylight_saving_change(store: Store) -> None:
    berlin = ZoneInfo("Europe/Berlin")  # 2026-03-29 has 23 hours
    late = local_midnight(date(2026, 3, 30), berlin) + 1800  # 00:30 on the 30th
    noon = local_midnight(date(2026, 3, 29), berlin) + 12 * 3600
    put(store, row(CALL_OUT, late, user_id=5), row(CALL_OUT, noon, user_id=5))
    period = parse_period("2026-03")
    start, end = period.bounds(berlin)
    with store.read() as conn:
        counts = queries.activity_counts(
            conn, start, end, period.day_starts(berlin), SETTINGS.activities, frozenset()
        )
    assert counts[5]["active_days"] == 2
