"""The /widget/ endpoints through Flask's test client: who gets in, who gets 401/403, and what they see."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from amo_bridge.clock import FakeClock
from amo_bridge.secrets import Secret
from amo_bridge.store import Store
from amo_bridge.widget import links
from amo_bridge.widget.fixture import FixtureDashboard
from tests.widget_helpers import NOW, SECRET, make_app, make_token, widget_settings

FIXTURE_MARKERS = ("184", "Анна Смирнова", "3\u202f150\u202f000", "Leads qualified", "Anna")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def sqlite_store(sqlite_url: str) -> Iterator[Store]:
    """Most checks here are about HTTP, not the database: SQLite only (the replay memory runs on both)."""
    instance = Store(sqlite_url)
    instance.upgrade()
    yield instance
    instance.dispose()


@pytest.fixture
def app(sqlite_store: Store, clock: FakeClock) -> tuple[Flask, FixtureDashboard]:
    return make_app(sqlite_store, clock)


@pytest.fixture
def client(app: tuple[Flask, FixtureDashboard]) -> FlaskClient:
    return app[0].test_client()


def assert_refused(response: object, status: int = 401) -> None:
    assert response.status_code == status  # type: ignore[attr-defined]
    body = response.get_data(as_text=True)  # type: ignore[attr-defined]
    for marker in FIXTURE_MARKERS:
        assert marker not in body
    assert '"items"' not in body


def test_dashboard_with_a_valid_token_shows_the_fixture(client: FlaskClient) -> None:
    response = client.get("/widget/dashboard?lang=en", headers={"X-Auth-Token": make_token()})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Sales department KPIs" in html
    assert "November 2026" in html
    assert "184" in html
    assert "plan 200" in html
    assert "Meeting / proposal" in html  # funnel stage names translated
    assert 'class="bar weak"' in html  # the weakest stage is highlighted
    assert response.headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'self' https://mycompany.amocrm.ru" in response.headers["Content-Security-Policy"]


def test_dashboard_in_russian_by_default(client: FlaskClient) -> None:
    html = client.get("/widget/dashboard", headers={"X-Auth-Token": make_token()}).get_data(as_text=True)
    assert "KPI отдела продаж" in html
    assert "Ноябрь 2026" in html
    assert "3\u202f150\u202f000\u00a0₽" in html


@pytest.mark.parametrize(
    "token",
    [
        make_token(NOW - 7200),
        make_token(secret="a-wrong-secret-for-this-integration"),
        make_token(account_id=1),
        make_token(client_uuid="00000000-0000-0000-0000-000000000000"),
    ],
    ids=["expired", "wrong-signature", "wrong-account", "wrong-client-uuid"],
)
@pytest.mark.parametrize(
    "path", ["/widget/dashboard", "/widget/kpis", "/widget/funnel", "/widget/distribution"]
)
def test_bad_tokens_get_401_and_no_data(client: FlaskClient, token: str, path: str) -> None:
    assert_refused(client.get(path, headers={"X-Auth-Token": token}))


def test_a_replayed_token_gets_401(client: FlaskClient) -> None:
    token = make_token()
    assert client.get("/widget/kpis", headers={"X-Auth-Token": token}).status_code == 200
    assert_refused(client.get("/widget/kpis", headers={"X-Auth-Token": token}))
    assert_refused(client.get("/widget/dashboard", headers={"X-Auth-Token": token}))


def test_a_replay_in_another_process_is_refused(store: Store, clock: FakeClock) -> None:
    first, _ = make_app(store, clock)
    second, _ = make_app(store, clock)  # another worker on the same database
    token = make_token()
    assert first.test_client().get("/widget/funnel", headers={"X-Auth-Token": token}).status_code == 200
    assert_refused(second.test_client().get("/widget/funnel", headers={"X-Auth-Token": token}))


def test_no_credentials_gets_401(client: FlaskClient) -> None:
    for path in ("/widget/dashboard", "/widget/kpis", "/widget/employees", "/widget/trend"):
        assert_refused(client.get(path))
    assert_refused(client.post("/widget/session"))
    assert_refused(client.post("/widget/members/101/pause"))


def test_json_sections(client: FlaskClient) -> None:
    kpis = client.get("/widget/kpis?period=2026-11", headers={"X-Auth-Token": make_token()}).get_json()
    assert kpis["period"] == {"key": "2026-11", "start": "2026-11-01", "end": "2026-12-01"}
    assert kpis["items"][0] == {
        "level": "L1",
        "name": "leads_qualified",
        "fact": 184,
        "plan": 200,
        "unit": "",
        "higher_is_better": True,
    }
    funnel = client.get("/widget/funnel", headers={"X-Auth-Token": make_token()}).get_json()
    weakest = [stage["name"] for stage in funnel["items"] if stage["weakest"]]
    assert weakest == ["won"]
    shares = client.get("/widget/distribution", headers={"X-Auth-Token": make_token()}).get_json()
    assert {s["member_id"] for s in shares["items"]} == {101, 102, 201, 202, 301}
    trend = client.get("/widget/trend?period=2026-02", headers={"X-Auth-Token": make_token()}).get_json()
    assert len(trend["items"][0]["points"]) == 28


def test_bad_period_is_400_after_auth(client: FlaskClient) -> None:
    assert_refused(client.get("/widget/kpis?period=junk"))
    response = client.get("/widget/kpis?period=junk", headers={"X-Auth-Token": make_token()})
    assert response.status_code == 400


def test_signed_link_opens_the_dashboard_read_only(client: FlaskClient, clock: FakeClock) -> None:
    key = links.link_key(Secret(SECRET))
    params = links.link_params(key, now=NOW, ttl=600, lang="en")
    query = "&".join(f"{k}={v}" for k, v in params.items())
    response = client.get(f"/widget/dashboard?{query}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Sales department KPIs" in html
    assert f"sig={params['sig']}" in html  # period and language links keep the signature
    assert client.get(f"/widget/kpis?{query}").status_code == 200
    # a link never flips switches, and never mints sessions
    assert_refused(client.post(f"/widget/members/101/pause?{query}"))
    assert_refused(client.post(f"/widget/session?{query}"))
    clock.advance(601)
    assert_refused(client.get(f"/widget/dashboard?{query}"))


def test_a_forged_or_foreign_link_is_refused(client: FlaskClient) -> None:
    foreign = links.link_key(Secret("the-secret-of-some-other-deployment"))
    params = links.link_params(foreign, now=NOW, ttl=600)
    assert_refused(client.get(f"/widget/dashboard?exp={params['exp']}&sig={params['sig']}"))
    assert_refused(client.get(f"/widget/dashboard?exp={int(NOW) + 600}&sig=AAAA"))


def test_dashboard_secret_takes_precedence(sqlite_store: Store, clock: FakeClock) -> None:
    settings = widget_settings(DASHBOARD_SECRET="a-dedicated-dashboard-secret-value")
    app, _ = make_app(sqlite_store, clock, settings)
    derived_from_client_secret = links.link_params(links.link_key(Secret(SECRET)), now=NOW, ttl=600)
    dedicated = links.link_params(
        links.link_key(Secret("a-dedicated-dashboard-secret-value")), now=NOW, ttl=600
    )
    client = app.test_client()
    query = "exp={exp}&sig={sig}"
    assert_refused(client.get("/widget/kpis?" + query.format(**derived_from_client_secret)))
    assert client.get("/widget/kpis?" + query.format(**dedicated)).status_code == 200


def test_session_gives_a_short_link_for_the_iframe(client: FlaskClient, clock: FakeClock) -> None:
    response = client.post("/widget/session?lang=en", headers={"X-Auth-Token": make_token(user_id=5)})
    assert response.status_code == 200
    body = response.get_json()
    assert body["expires_at"] == int(NOW) + 900
    assert body["user_id"] == 5
    page = client.get(body["path"])
    assert page.status_code == 200
    assert "Sales department KPIs" in page.get_data(as_text=True)


def test_admin_pauses_and_resumes_a_member(client: FlaskClient, app: tuple[Flask, FixtureDashboard]) -> None:
    fixture = app[1]
    response = client.post("/widget/members/202/pause", headers={"X-Auth-Token": make_token(user_id=9)})
    assert response.status_code == 200
    assert response.get_json() == {"member_id": 202, "paused": True}
    shares = client.get("/widget/distribution", headers={"X-Auth-Token": make_token()}).get_json()["items"]
    assert [s["paused"] for s in shares if s["member_id"] == 202] == [True]
    html = client.get("/widget/dashboard?lang=en", headers={"X-Auth-Token": make_token()}).get_data(
        as_text=True
    )
    assert '<tr data-user-id="202" class="paused">' in html
    assert (
        client.post("/widget/members/202/resume", headers={"X-Auth-Token": make_token()}).status_code == 200
    )
    assert fixture.actions == [("pause", 202, 9), ("resume", 202, 7001)]
    assert client.post("/widget/members/999/pause", headers={"X-Auth-Token": make_token()}).status_code == 404


def test_non_admin_cannot_pause(client: FlaskClient, app: tuple[Flask, FixtureDashboard]) -> None:
    response = client.post("/widget/members/101/pause", headers={"X-Auth-Token": make_token(is_admin=False)})
    assert response.status_code == 403
    assert response.get_json() == {"error": "forbidden"}
    assert app[1].actions == []


def test_cors_preflight_for_the_account_origin_only(client: FlaskClient) -> None:
    ok = client.options(
        "/widget/session",
        headers={"Origin": "https://mycompany.amocrm.ru", "Access-Control-Request-Headers": "X-Auth-Token"},
    )
    assert ok.headers["Access-Control-Allow-Origin"] == "https://mycompany.amocrm.ru"
    assert "X-Auth-Token" in ok.headers["Access-Control-Allow-Headers"]
    other = client.options("/widget/session", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers


def test_without_integration_settings_every_token_is_refused(sqlite_store: Store, clock: FakeClock) -> None:
    settings = widget_settings(AMO_CLIENT_SECRET="", AMO_ACCOUNT_ID="")
    app, _ = make_app(sqlite_store, clock, settings)
    client = app.test_client()
    assert_refused(client.get("/widget/kpis", headers={"X-Auth-Token": make_token()}))
    assert_refused(client.get(f"/widget/kpis?exp={int(NOW) + 60}&sig=x"))


def test_json_bodies_are_plain_json(client: FlaskClient) -> None:
    body = client.get("/widget/employees", headers={"X-Auth-Token": make_token()}).get_data(as_text=True)
    rows = json.loads(body)["items"]
    assert rows[0]["name"] == "Анна Смирнова"
    assert rows[0]["plan_completion"] == 1.02
