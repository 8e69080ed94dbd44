"""The dashboard's JSON endpoints over a seeded store: real numbers from the KPI history and the
distributor, served by the receiver's app."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert

from amo_bridge.clock import FakeClock
from amo_bridge.config import load_settings
from amo_bridge.kpi import directory
from amo_bridge.kpi.ports import PipelineInfo, StageInfo, UserInfo
from amo_bridge.kpi.rows import CALL_OUT, LEAD_CREATED, RESPONSIBLE_CHANGED, STATUS_CHANGED
from amo_bridge.secrets import Secret
from amo_bridge.store import Store
from amo_bridge.store.schema import distribution_assignments
from amo_bridge.widget.links import link_key, link_params
from amo_bridge.widget.live import LiveDashboard
from amo_bridge.widget.model import Period, UnknownMember
from tests.kpi_helpers import put, row
from webhooks.app import create_app

MSK = ZoneInfo("Europe/Moscow")
SECRET = "dashboard-secret-for-tests-0123456789"
QUALIFIED = 555
RETENTION = 7003
ENV = {
    "AMO_TIMEZONE": "Europe/Moscow",
    "DASHBOARD_SECRET": SECRET,
    "KPI_LEVELS": "l1=users:101,102;l2=users:201,202;l3=users:301",
    "KPI_TARGETS": "l1.qualified=2;l2.sales=2;l2.revenue=10000",
    "KPI_QUALIFIED_STATUSES": str(QUALIFIED),
    "KPI_RETENTION_PIPELINE_ID": str(RETENTION),
    "DISTRIBUTION_POOLS": "L1 = unsorted 7001 : 101,102*3 ; L2 = status 7002/41 : 201,202",
}


class _Directory:
    def users(self) -> list[UserInfo]:
        return [
            UserInfo(101, "Anna"),
            UserInfo(102, "Boris"),
            UserInfo(201, "Vera"),
            UserInfo(202, "Gleb"),
            UserInfo(301, "Daria"),
        ]

    def pipelines(self) -> list[PipelineInfo]:
        return [
            PipelineInfo(7001, "Exchange", (StageInfo(500, "New", 10), StageInfo(QUALIFIED, "Qualified", 20)))
        ]


def _t(day: int, hour: int = 12) -> int:
    return int(datetime(2026, 3, day, hour, tzinfo=MSK).timestamp())


def _seed(store: Store) -> None:
    directory.refresh(store, _Directory())
    put(
        store,
        *(row(LEAD_CREATED, _t(2), lead_id=n, user_id=101 if n < 4 else 102) for n in range(1, 7)),
        row(STATUS_CHANGED, _t(2, 13), lead_id=1, user_id=101, status_id=QUALIFIED, old_status_id=500),
        row(STATUS_CHANGED, _t(3, 13), lead_id=2, user_id=101, status_id=QUALIFIED, old_status_id=500),
        row(STATUS_CHANGED, _t(3, 14), lead_id=4, user_id=102, status_id=QUALIFIED, old_status_id=500),
        row(RESPONSIBLE_CHANGED, _t(4), lead_id=1, user_id=201, old_user_id=101),
        row(RESPONSIBLE_CHANGED, _t(4), lead_id=2, user_id=202, old_user_id=101),
        row(STATUS_CHANGED, _t(5), lead_id=1, user_id=201, status_id=142, pipeline_id=7002, price=7000.0),
        row(STATUS_CHANGED, _t(6), lead_id=2, user_id=202, status_id=142, pipeline_id=7002, price=5000.0),
        row(STATUS_CHANGED, _t(9), lead_id=9, user_id=301, status_id=142, pipeline_id=RETENTION, price=900.0),
        row(CALL_OUT, _t(2, 12), entity_id=70, user_id=101),
        row(CALL_OUT, _t(3, 12), entity_id=71, user_id=101),
    )
    with store.begin() as conn:
        for n, (user, day) in enumerate([(101, 2), (101, 3), (102, 3), (102, 4), (102, 5), (101, 1)]):
            conn.execute(
                insert(distribution_assignments).values(
                    pool="L1",
                    lane="default",
                    entity_type="lead",
                    entity_id=str(n),
                    episode=1,
                    seq=0,
                    lead_id=n,
                    user_id=user,
                    reason="rotation",
                    candidates="[]",
                    state="active",
                    created_at=_t(day) if day > 1 else _t(1, 0) - 3600 * 5,  # the last one is in February
                    reassign_count=0,
                )
            )


@pytest.fixture
def seeded(db_url: str) -> Any:
    clock = FakeClock(_t(20))
    settings = load_settings(ENV)
    store = Store(db_url, clock=clock)
    store.upgrade()
    _seed(store)
    app = create_app(settings, store, clock=clock)
    params = link_params(link_key(Secret(SECRET)), now=clock.now(), ttl=3600)
    yield app.test_client(), params, LiveDashboard(settings, store, clock=clock)
    store.dispose()


def _get(client: Any, params: dict[str, str], section: str) -> list[dict[str, Any]]:
    response = client.get(f"/widget/{section}", query_string={**params, "period": "2026-03"})
    assert response.status_code == 200, response.data
    body = response.get_json()
    assert body["period"]["key"] == "2026-03"
    items: list[dict[str, Any]] = body["items"]
    return items


def test_kpi_cards_and_employees_are_the_history(seeded: Any) -> None:
    client, params, _ = seeded
    cards = {(c["level"], c["name"]): c for c in _get(client, params, "kpis")}
    assert cards[("L1", "qualified")]["fact"] == 3
    assert cards[("L1", "qualified")]["plan"] == 4  # 2 per lead manager
    assert cards[("L2", "sales")]["fact"] == 2
    assert cards[("L2", "revenue")]["fact"] == 12000
    assert cards[("L2", "revenue")]["plan"] == 20000
    assert cards[("L2", "avg_check")]["fact"] == 6000
    assert cards[("L3", "upsells")]["fact"] == 1
    rows = {r["user_id"]: r for r in _get(client, params, "employees")}
    assert rows[101]["handled"] == 3
    assert rows[101]["succeeded"] == 2
    assert rows[101]["plan_completion"] == 1.0
    assert rows[201]["revenue"] == 7000
    assert rows[201]["succeeded"] == 1
    assert rows[301]["level"] == "L3"


def test_funnel_trend_and_distribution(seeded: Any) -> None:
    client, params, _ = seeded
    funnel = [(s["name"], s["count"]) for s in _get(client, params, "funnel")]
    assert funnel == [("incoming", 6), ("qualified", 3), ("won", 2), ("repeat", 1)]
    weakest = [s["name"] for s in _get(client, params, "funnel") if s["weakest"]]
    assert weakest == ["qualified"]  # 3/6 = 50 %, the first of the two lowest steps
    trend = {s["name"]: s["points"] for s in _get(client, params, "trend")}
    qualified = {p["day"]: p["value"] for p in trend["leads_qualified"]}
    assert qualified["2026-03-02"] == 1
    assert qualified["2026-03-03"] == 2
    assert sum(qualified.values()) == 3
    assert len(trend["deals_won"]) == 31
    shares = {s["member_id"]: s for s in _get(client, params, "distribution")}
    assert shares[101]["assigned"] == 2  # the February one is outside the period
    assert shares[102]["assigned"] == 3
    assert shares[102]["target_share"] == 0.75
    assert shares[201]["level"] == "L2"


def test_pause_and_resume_reach_the_distributor(seeded: Any) -> None:
    client, params, live = seeded
    live.pause(102, by_user_id=7)
    shares = {s["member_id"]: s for s in _get(client, params, "distribution")}
    assert shares[102]["paused"]
    assert not shares[101]["paused"]
    assert {r["user_id"]: r for r in _get(client, params, "employees")}[102]["paused"]
    live.resume(102, by_user_id=7)
    assert not {s["member_id"]: s for s in _get(client, params, "distribution")}[102]["paused"]
    with pytest.raises(UnknownMember):
        live.pause(999, by_user_id=7)
    assert live.kpis(Period.month(2026, 3))


def test_without_a_link_no_data(seeded: Any) -> None:
    client, _, _ = seeded
    response = client.get("/widget/kpis", query_string={"period": "2026-03"})
    assert response.status_code == 401
    assert response.get_json() == {"error": "unauthorized"}
