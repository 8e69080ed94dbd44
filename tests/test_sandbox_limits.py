"""OAuth, the 7 rps limit, the IP block, faults, the request log and the admin API of the sandbox."""

from __future__ import annotations

import jwt
import pytest
import requests

from amo_bridge.clock import FakeClock
from amo_bridge.sandbox import SandboxServer
from amo_bridge.sandbox.auth import ACCESS_TTL, CODE_TTL
from amo_bridge.sandbox.faults import parse_faults
from tests.sandbox_support import TOKEN, Api, make

CLIENT = {
    "client_id": "sandbox-integration",
    "client_secret": "sandbox-secret",
    "redirect_uri": "https://example.test/cb",
}


def exchange(client: object, **body: str) -> object:
    return client.post("/oauth2/access_token", json={**CLIENT, **body})  # type: ignore[attr-defined]


def test_authorization_code_is_single_use_and_lives_20_minutes() -> None:
    app, _sandbox, clock = make()
    client = app.test_client()
    code = client.post("/_sandbox/oauth/code", json={}).get_json()["code"]
    first = exchange(client, grant_type="authorization_code", code=code)
    assert first.status_code == 200
    tokens = first.get_json()
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == 86400
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert "api_domain" in claims
    assert exchange(client, grant_type="authorization_code", code=code).status_code == 400
    late = client.post("/_sandbox/oauth/code", json={}).get_json()["code"]
    clock.advance(CODE_TTL + 1)
    assert exchange(client, grant_type="authorization_code", code=late).status_code == 400
    assert (
        exchange(client, grant_type="authorization_code", code=code, client_secret="wrong").status_code == 401
    )


def test_refresh_tokens_rotate_and_a_reused_one_is_revoked() -> None:
    app, sandbox, clock = make()
    client = app.test_client()
    code = sandbox.auth.issue_code("sandbox-integration")
    tokens = exchange(client, grant_type="authorization_code", code=code).get_json()
    refreshed = exchange(client, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert refreshed.status_code == 200
    new = refreshed.get_json()
    assert new["refresh_token"] != tokens["refresh_token"]
    reused = exchange(client, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert reused.status_code == 401
    assert reused.content_type == "application/problem+json"
    assert reused.get_json()["detail"] == "Token has been revoked"
    # The new pair works; the access token dies after 24 h with a problem+json 401.
    api = Api(client, clock, token=new["access_token"])
    assert api.get("/api/v4/account").status_code == 200
    clock.advance(ACCESS_TTL)
    expired = api.get("/api/v4/account")
    assert expired.status_code == 401
    assert expired.get_json() == {
        "title": "Unauthorized",
        "type": "https://httpstatus.es/401",
        "status": 401,
        "detail": "Token has expired",
    }
    assert exchange(client, grant_type="refresh_token", refresh_token=new["refresh_token"]).status_code == 200


def test_missing_or_bad_token_is_401_problem_json_and_long_lived_token_works() -> None:
    app, _, clock = make()
    client = app.test_client()
    missing = client.get("/api/v4/leads")
    assert missing.status_code == 401
    assert missing.content_type == "application/problem+json"
    assert missing.get_json()["title"] == "Unauthorized"
    assert Api(client, clock, token="nonsense").get("/api/v4/leads").status_code == 401
    assert Api(client, clock, token=TOKEN).get("/api/v4/leads").status_code == 200


def test_expire_token_fault() -> None:
    app, sandbox, clock = make()
    client = app.test_client()
    tokens = exchange(
        client, grant_type="authorization_code", code=sandbox.auth.issue_code("sandbox-integration")
    ).get_json()
    api = Api(client, clock, token=tokens["access_token"])
    assert api.get("/api/v4/account").status_code == 200
    assert client.post(
        "/_sandbox/faults/expire-token", json={"token": tokens["access_token"]}
    ).get_json() == {"expired": 1}
    assert api.get("/api/v4/account").status_code == 401


def test_the_eighth_request_within_a_second_is_429() -> None:
    app, _, clock = make()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {TOKEN}"}
    statuses = [client.get("/api/v4/account", headers=headers).status_code for _ in range(8)]
    assert statuses == [200] * 7 + [429]
    refused = client.get("/api/v4/account", headers=headers)
    body = refused.get_json()
    assert body["title"] == "Too Many Requests"
    assert body["retry_after"] >= 1
    clock.advance(1.0)
    assert client.get("/api/v4/account", headers=headers).status_code == 200


def test_forced_429_fault_and_429_that_is_not_json() -> None:
    app, _, clock = make(faults={"force_429": "2"})
    api = Api(app.test_client(), clock)
    assert [api.get("/api/v4/account").status_code for _ in range(3)] == [429, 429, 200]
    app.test_client().post("/_sandbox/faults", json={"force_429": 1, "html_429_rate": 1.0})
    html = api.get("/api/v4/account")
    assert html.status_code == 429
    assert html.content_type.startswith("text/html")


def test_ip_block_after_sustained_abuse_then_lift() -> None:
    app, sandbox, clock = make(faults={"block_after": "5"})
    client = app.test_client()
    headers = {"Authorization": f"Bearer {TOKEN}"}
    statuses = [client.get("/api/v4/account", headers=headers).status_code for _ in range(7 + 5)]
    assert statuses[:7] == [200] * 7
    assert statuses[-1] == 403
    clock.advance(3600)
    for path in ("/api/v4/leads", "/oauth2/access_token", "/api/v4/account"):
        blocked = client.get(path, headers=headers)
        assert blocked.status_code == 403
        assert blocked.content_type.startswith("text/html")
    assert client.get("/_sandbox/faults").get_json()["blocked"] is True
    assert client.delete("/_sandbox/block").status_code == 200
    assert client.get("/api/v4/account", headers=headers).status_code == 200
    # The admin API can also block on demand.
    client.post("/_sandbox/block", json={})
    assert client.get("/api/v4/account", headers=headers).status_code == 403
    sandbox.limiter.lift()


def test_5xx_rate_and_latency_faults() -> None:
    app, _sandbox, clock = make()
    client = app.test_client()
    api = Api(client, clock)
    assert client.post("/_sandbox/faults", json={"error_rate": 1.0}).status_code == 200
    assert api.get("/api/v4/account").status_code in {500, 502, 503, 504}
    client.post("/_sandbox/faults", json={"error_rate": 0, "latency": 2.5})
    before = clock.now()
    assert api.get("/api/v4/account").status_code == 200
    assert clock.now() - before >= 2.5  # the injected clock slept
    assert client.post("/_sandbox/faults", json={"error_rate": 7}).status_code == 400
    assert client.post("/_sandbox/faults", json={"nonsense": 1}).status_code == 400


def test_parse_faults_flag() -> None:
    assert parse_faults("error_rate=0.05, latency=0.2,webhook_reorder") == {
        "error_rate": "0.05",
        "latency": "0.2",
        "webhook_reorder": "1",
    }
    with pytest.raises(ValueError, match="unknown fault"):
        parse_faults("explode=1")


def test_dropped_connection_fault_over_real_http() -> None:
    with SandboxServer(seed=2, clock=FakeClock(), deliver_webhooks=False, contacts=20, companies=5) as server:
        server.admin.set_faults(drop_rate=1.0)
        with pytest.raises(requests.ConnectionError):
            requests.get(f"{server.url}/api/v4/account", headers=server.headers(), timeout=5)
        server.admin.set_faults(drop_rate=0.0)
        assert (
            requests.get(f"{server.url}/api/v4/account", headers=server.headers(), timeout=5).status_code
            == 200
        )


def test_request_log_clock_reset_and_state_over_http() -> None:
    app, sandbox, clock = make()
    client = app.test_client()
    api = Api(client, clock)
    client.delete("/_sandbox/requests")
    api.get("/api/v4/leads?limit=5&page=2")
    api.patch("/api/v4/leads", json=[{"id": 1}])
    log = client.get("/_sandbox/requests").get_json()
    assert [(r["method"], r["path"], r["query"], r["status"]) for r in log] == [
        ("GET", "/api/v4/leads", "limit=5&page=2", 200),
        ("PATCH", "/api/v4/leads", "", 400),
    ]
    assert all(isinstance(r["timestamp"], float) for r in log)
    assert client.delete("/_sandbox/requests").status_code == 204
    assert client.get("/_sandbox/requests").get_json() == []

    before = client.get("/_sandbox/clock").get_json()["now"]
    after = client.post("/_sandbox/clock/advance", json={"seconds": 3600}).get_json()["now"]
    assert after - before == pytest.approx(3600)

    leads = client.get("/_sandbox/state/leads").get_json()
    assert len(leads) == len(sandbox.state.leads)
    api.post("/api/v4/leads", json=[{"name": "new"}])
    assert len(client.get("/_sandbox/state/leads").get_json()) == len(leads) + 1
    client.post("/_sandbox/reset", json={"seed": 1})
    assert len(client.get("/_sandbox/state/leads").get_json()) == len(leads)
    assert client.get("/_sandbox/state/nonsense").status_code == 404
    info = client.get("/_sandbox/info").get_json()
    assert info["pipelines"]["retention"] == 7_100_004


def test_consent_page_redirects_with_a_code() -> None:
    app, _, _ = make(redirect_uri="https://example.test/cb")
    client = app.test_client()
    response = client.get("/oauth?client_id=sandbox-integration&state=xyz&mode=post_message")
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith("https://example.test/cb?code=")
    assert "state=xyz" in location
    assert "referer=sandbox.amocrm.ru" in location
    code = location.split("code=")[1].split("&")[0]
    assert exchange(client, grant_type="authorization_code", code=code).status_code == 200
    assert client.get("/oauth?client_id=unknown").status_code == 400
