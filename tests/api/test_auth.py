"""OAuth: refresh ahead of expiry, 401 refresh + replay once, revoked refresh tokens, code exchange,
long-lived tokens, auth status, and no token or secret in logs or exception text."""

from __future__ import annotations

import json
import logging

import pytest
import requests
import responses

from amo_bridge.api import (
    AmoApiError,
    AmoClient,
    AuthorizationRevoked,
    NotConnected,
    Unauthorized,
    auth_status,
)
from amo_bridge.api import state as integration
from amo_bridge.api.oauth import disconnect, exchange_code
from amo_bridge.api.ratelimit import UnlimitedRateLimiter
from amo_bridge.api.tokens import TokenStore
from amo_bridge.clock import FakeClock
from amo_bridge.secrets import Secret
from amo_bridge.store import Store
from tests.api.helpers import (
    ACCESS_1,
    ACCESS_2,
    BASE,
    CLIENT_SECRET,
    REFRESH_1,
    REFRESH_2,
    captured_logs,
    make_settings,
    sample,
    seed_tokens,
    token_body,
)

ACCOUNT = f"{BASE}/api/v4/account"
TOKEN = f"{BASE}/oauth2/access_token"


def bearer(call: responses.Call) -> str:
    return str(call.request.headers["Authorization"]).removeprefix("Bearer ")


def token_requests(mocked: responses.RequestsMock) -> list[dict[str, str]]:
    return [json.loads(c.request.body or b"{}") for c in mocked.calls if c.request.url == TOKEN]


def test_401_refreshes_once_and_replays_once(
    client: AmoClient, mocked: responses.RequestsMock, api_store: Store
) -> None:
    mocked.get(ACCOUNT, json=sample("error_401.json"), status=401)
    mocked.get(ACCOUNT, json=sample("account.json"))
    mocked.post(TOKEN, json=token_body())
    assert client.account.get().id == 29085955
    api_calls = [c for c in mocked.calls if c.request.url.startswith(ACCOUNT)]
    assert [bearer(c) for c in api_calls] == [ACCESS_1, ACCESS_2]
    (sent,) = token_requests(mocked)
    assert sent["grant_type"] == "refresh_token"
    assert sent["refresh_token"] == REFRESH_1
    assert sent["client_secret"] == CLIENT_SECRET
    stored = TokenStore(api_store).load()
    assert stored is not None
    assert stored.refresh_token == REFRESH_2
    assert stored.access_token == ACCESS_2


def test_second_401_after_refresh_is_raised(client: AmoClient, mocked: responses.RequestsMock) -> None:
    mocked.get(ACCOUNT, json=sample("error_401.json"), status=401)
    mocked.post(TOKEN, json=token_body())
    with pytest.raises(Unauthorized):
        client.account.get()
    assert len(token_requests(mocked)) == 1
    assert sum(1 for c in mocked.calls if c.request.url.startswith(ACCOUNT)) == 2


def test_refresh_ahead_of_expiry(api_store: Store, clock: FakeClock, mocked: responses.RequestsMock) -> None:
    seed_tokens(api_store, expires_in=600)  # inside the 3600 s margin
    client = AmoClient.from_settings(make_settings(), api_store, clock=clock, limiter=UnlimitedRateLimiter())
    mocked.post(TOKEN, json=token_body())
    mocked.get(ACCOUNT, json=sample("account.json"))
    client.account.get()
    assert [c.request.url.split("?")[0] for c in mocked.calls] == [TOKEN, ACCOUNT]
    assert bearer(mocked.calls[1]) == ACCESS_2


def test_401_when_another_process_already_refreshed_replays_without_refreshing(
    client: AmoClient, mocked: responses.RequestsMock, api_store: Store
) -> None:
    seen: list[str] = []

    def first_401_then_ok(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        seen.append(str(request.headers["Authorization"]))
        if len(seen) == 1:
            seed_tokens(api_store, access=ACCESS_2, refresh=REFRESH_2)  # another process refreshed
            return 401, {}, json.dumps(sample("error_401.json"))
        return 200, {}, json.dumps(sample("account.json"))

    mocked.add_callback(responses.GET, ACCOUNT, callback=first_401_then_ok)
    assert client.account.get().id == 29085955
    assert seen == [f"Bearer {ACCESS_1}", f"Bearer {ACCESS_2}"]
    assert token_requests(mocked) == []


def test_revoked_refresh_token_disconnects_the_integration(
    api_store: Store, clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    seed_tokens(api_store, expires_in=-10)
    settings = make_settings()
    client = AmoClient.from_settings(settings, api_store, clock=clock, limiter=UnlimitedRateLimiter())
    mocked.post(TOKEN, json=sample("error_401_revoked.json"), status=401)
    with pytest.raises(AuthorizationRevoked) as caught:
        client.account.get()
    assert "reconnect" in str(caught.value)
    assert len(token_requests(mocked)) == 1  # a refresh is never retried with a dead token
    assert TokenStore(api_store).load() is None
    state = api_store.kv.get(integration.INTEGRATION_KEY)
    assert state["state"] == "disconnected"
    assert state["since"] == clock.now()
    status = auth_status(settings, api_store)
    assert not status.ok
    assert status.state == "disconnected"
    with pytest.raises(NotConnected):
        client.account.get()
    assert len(token_requests(mocked)) == 1


def test_revoked_refresh_token_rereads_storage_once_and_uses_a_newer_pair(
    api_store: Store, clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    seed_tokens(api_store, expires_in=-10)
    client = AmoClient.from_settings(make_settings(), api_store, clock=clock, limiter=UnlimitedRateLimiter())

    def revoked_but_newer_pair_stored(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        # Someone (an exchange through the OAuth callback) stored a fresh pair meanwhile.
        seed_tokens(api_store, access=ACCESS_2, refresh=REFRESH_2)
        return 401, {}, json.dumps(sample("error_401_revoked.json"))

    mocked.add_callback(responses.POST, TOKEN, callback=revoked_but_newer_pair_stored)
    mocked.get(ACCOUNT, json=sample("account.json"))
    assert client.account.get().id == 29085955
    api_calls = [c for c in mocked.calls if c.request.url.startswith(ACCOUNT)]
    assert [bearer(c) for c in api_calls] == [ACCESS_2]
    assert api_store.kv.get(integration.INTEGRATION_KEY) is None  # never marked disconnected


def test_token_endpoint_5xx_is_retried_but_revocation_is_not(
    api_store: Store, clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    seed_tokens(api_store, expires_in=-10)
    client = AmoClient.from_settings(make_settings(), api_store, clock=clock, limiter=UnlimitedRateLimiter())
    mocked.post(TOKEN, status=502, body="bad gateway")
    mocked.post(TOKEN, json=token_body())
    mocked.get(ACCOUNT, json=sample("account.json"))
    client.account.get()
    assert len(token_requests(mocked)) == 2


def test_not_connected_without_tokens(api_store: Store, clock: FakeClock) -> None:
    client = AmoClient.from_settings(make_settings(), api_store, clock=clock, limiter=UnlimitedRateLimiter())
    with pytest.raises(NotConnected):
        client.account.get()
    assert not auth_status(client.settings, api_store).ok


def test_exchange_code_stores_tokens_and_marks_connected(
    api_store: Store, clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    mocked.post(TOKEN, json=sample("token.json"))
    settings = make_settings()
    pair = exchange_code(settings, api_store, "auth-code-0123456789", clock=clock)
    (sent,) = token_requests(mocked)
    assert sent["grant_type"] == "authorization_code"
    assert sent["code"] == "auth-code-0123456789"
    assert sent["redirect_uri"] == "https://bridge.example.com/oauth/callback"
    assert pair.expires_at == clock.now() + 86400
    stored = TokenStore(api_store).load()
    assert stored is not None
    assert stored.access_token == pair.access_token
    assert api_store.kv.get(integration.INTEGRATION_KEY)["state"] == "connected"
    status = auth_status(settings, api_store)
    assert status.ok
    assert status.to_dict()["token_expires_at"] == pair.expires_at


def test_exchange_code_uses_a_valid_referer_and_refuses_a_foreign_one(
    api_store: Store, clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    settings = make_settings(subdomain=None)
    other = "https://other.amocrm.com/oauth2/access_token"
    mocked.post(other, json=sample("token.json"))
    exchange_code(settings, api_store, "code-1", referer="other.amocrm.com", clock=clock)
    assert mocked.calls[-1].request.url == other
    with pytest.raises(Exception, match="refusing OAuth referer"):
        exchange_code(settings, api_store, "code-2", referer="evil.example.com", clock=clock)
    configured = make_settings()
    with pytest.raises(Exception, match="not the configured account"):
        exchange_code(configured, api_store, "code-3", referer="other.amocrm.ru", clock=clock)


def test_exchange_with_a_used_code_raises_revoked(
    api_store: Store, clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    mocked.post(
        TOKEN,
        json={"title": "Bad Request", "status": 400, "hint": "Authorization code has been revoked"},
        status=400,
    )
    with pytest.raises(AuthorizationRevoked):
        exchange_code(make_settings(), api_store, "used-code", clock=clock)
    assert TokenStore(api_store).load() is None


def test_disconnect_deletes_tokens(api_store: Store) -> None:
    seed_tokens(api_store)
    disconnect(api_store, "uninstalled from amoCRM")
    assert TokenStore(api_store).load() is None
    assert api_store.kv.get(integration.INTEGRATION_KEY)["reason"] == "uninstalled from amoCRM"


def test_long_lived_token_is_sent_as_is_and_a_401_disconnects(
    api_store: Store, clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    token = "long-lived-token-0123456789abcdefghij"
    settings = make_settings(long_lived_token=Secret(token), client_id=None, client_secret=None)
    client = AmoClient.from_settings(settings, api_store, clock=clock, limiter=UnlimitedRateLimiter())
    mocked.get(ACCOUNT, json=sample("account.json"))
    client.account.get()
    assert bearer(mocked.calls[0]) == token
    assert auth_status(settings, api_store).ok
    mocked.replace(responses.GET, ACCOUNT, json=sample("error_401.json"), status=401)
    with pytest.raises(AuthorizationRevoked):
        client.account.get()
    assert auth_status(settings, api_store).state == "disconnected"
    assert token_requests(mocked) == []


def test_secrets_never_reach_logs_or_exception_text(
    client: AmoClient, mocked: responses.RequestsMock
) -> None:
    with captured_logs("text") as stream:
        mocked.get(ACCOUNT, json=sample("error_401.json"), status=401)
        mocked.post(TOKEN, json=token_body())
        echo = {"title": "Bad Request", "status": 400, "detail": f"bad token {ACCESS_2} / {CLIENT_SECRET}"}
        mocked.get(ACCOUNT, json=echo, status=400)
        with pytest.raises(AmoApiError) as caught:
            client.account.get()
        text = str(caught.value) + caught.value.body_excerpt + repr(caught.value)
        logging.getLogger("amo_bridge.api").error(
            "failed: %s body=%s", caught.value, caught.value.body_excerpt
        )
        output = stream.getvalue()
    for secret in (ACCESS_1, ACCESS_2, REFRESH_1, REFRESH_2, CLIENT_SECRET):
        assert secret not in text
        assert secret not in output
    assert "refreshing the token" in output  # the log really was captured
    pair = TokenStore(client.store).load()
    assert pair is not None
    assert ACCESS_2 not in repr(pair)


def test_a_refused_client_keeps_the_tokens(
    api_store: Store, clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    seed_tokens(api_store, expires_in=-10)
    client = AmoClient.from_settings(make_settings(), api_store, clock=clock, limiter=UnlimitedRateLimiter())
    refused = {"title": "Unauthorized", "status": 401, "hint": "Client authentication failed"}
    mocked.post(TOKEN, json=refused, status=401)
    with pytest.raises(Unauthorized):
        client.account.get()
    assert TokenStore(api_store).load() is not None  # a configuration problem, not a dead grant
    assert api_store.kv.get(integration.INTEGRATION_KEY) is None


def test_a_400_dead_refresh_token_is_revoked(
    api_store: Store, clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    seed_tokens(api_store, expires_in=-10)
    client = AmoClient.from_settings(make_settings(), api_store, clock=clock, limiter=UnlimitedRateLimiter())
    dead = {"title": "Bad Request", "status": 400, "hint": "Cannot decrypt the refresh token", "detail": "x"}
    mocked.post(TOKEN, json=dead, status=400)
    with pytest.raises(AuthorizationRevoked):
        client.account.get()
    assert auth_status(client.settings, api_store).state == "disconnected"


def test_api_domain_from_the_token_routes_api_calls(
    api_store: Store, clock: FakeClock, mocked: responses.RequestsMock
) -> None:
    seed_tokens(api_store, expires_in=-10)
    client = AmoClient.from_settings(make_settings(), api_store, clock=clock, limiter=UnlimitedRateLimiter())
    mocked.post(TOKEN, json={**token_body(), "api_domain": "api-b.amocrm.ru"})
    mocked.get("https://api-b.amocrm.ru/api/v4/account", json=sample("account.json"))
    client.account.get()
    assert mocked.calls[-1].request.url.startswith("https://api-b.amocrm.ru/api/v4/account")
    stored = TokenStore(api_store).load()
    assert stored is not None
    assert stored.api_domain == "api-b.amocrm.ru"


def test_log_lines_of_one_call_share_a_correlation_id(
    client: AmoClient, mocked: responses.RequestsMock
) -> None:
    with captured_logs("json") as stream:
        mocked.get(ACCOUNT, json=sample("error_401.json"), status=401)
        mocked.post(TOKEN, json=token_body())
        mocked.get(ACCOUNT, json=sample("account.json"))
        client.account.get()
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    ours = [line for line in lines if line["logger"].startswith("amo_bridge.api")]
    assert len(ours) >= 3
    ids = {line["correlation_id"] for line in ours}
    assert len(ids) == 1
    assert next(iter(ids)).startswith("api-")
