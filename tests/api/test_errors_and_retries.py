"""Every error class, retried and non-retried paths, Retry-After, 403 blocks."""

from __future__ import annotations

import pytest
import requests
import responses

from amo_bridge.api import (
    AccountBlocked,
    AmoApiError,
    AmoClient,
    ApiConnectionError,
    Forbidden,
    NotFound,
    PaymentRequired,
    RateLimited,
    ServerError,
    Unprocessable,
    ValidationError,
)
from amo_bridge.api import state as integration
from amo_bridge.api.errors import BODY_EXCERPT_CHARS, error_from_response
from amo_bridge.api.retry import MAX_HONOURED_RETRY_AFTER, UNSAFE_WRITE
from amo_bridge.clock import FakeClock
from amo_bridge.store import Store
from tests.api.helpers import BASE, sample, sample_text

ACCOUNT = f"{BASE}/api/v4/account"
LEADS = f"{BASE}/api/v4/leads"


def calls_to(mocked: responses.RequestsMock, url: str) -> int:
    return sum(1 for c in mocked.calls if c.request.url.split("?")[0] == url)


@pytest.mark.parametrize(
    ("status", "body", "error_class"),
    [
        (400, "error_400_validation.json", ValidationError),
        (402, "error_402.json", PaymentRequired),
        (403, "error_403_rights.json", Forbidden),
        (404, "error_404.json", NotFound),
        (422, "error_422.json", Unprocessable),
    ],
)
def test_client_errors_are_typed_and_never_retried(
    client: AmoClient, mocked: responses.RequestsMock, status: int, body: str, error_class: type[AmoApiError]
) -> None:
    mocked.get(ACCOUNT, json=sample(body), status=status, headers={"X-Request-Id": "req-42"})
    with pytest.raises(error_class) as caught:
        client.account.get()
    assert type(caught.value) is error_class
    assert caught.value.status == status
    assert caught.value.request_id == "req-42"
    assert not caught.value.retryable
    assert calls_to(mocked, ACCOUNT) == 1


def test_validation_errors_are_parsed_with_path_and_detail(
    client: AmoClient, mocked: responses.RequestsMock
) -> None:
    mocked.patch(LEADS, json=sample("error_400_validation.json"), status=400)
    with pytest.raises(ValidationError) as caught:
        client.request("PATCH", "/api/v4/leads", json=[{"id": 1}, {"id": 2}])
    (error,) = caught.value.errors
    assert error.request_id == "1"
    assert error.path == "custom_fields_values.0.values.0.enum_id"
    assert "not a valid choice" in error.detail
    assert "custom_fields_values.0.values.0.enum_id" in str(caught.value)


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_retried_then_raised(
    client: AmoClient, mocked: responses.RequestsMock, clock: FakeClock, status: int
) -> None:
    mocked.get(ACCOUNT, json=sample("error_500.json"), status=status)
    with pytest.raises(ServerError) as caught:
        client.account.get()
    assert caught.value.retryable
    assert calls_to(mocked, ACCOUNT) == 4  # AMO_MAX_RETRIES=3 in the test settings
    assert len(clock.sleeps) == 3
    assert clock.sleeps[0] < clock.sleeps[2]  # exponential backoff (jittered within [c/2, c])


def test_server_error_then_success(client: AmoClient, mocked: responses.RequestsMock) -> None:
    mocked.get(ACCOUNT, status=503, body="")
    mocked.get(ACCOUNT, json=sample("account.json"))
    assert client.account.get().subdomain == "example"
    assert calls_to(mocked, ACCOUNT) == 2


def test_429_honours_retry_after_field(
    client: AmoClient, mocked: responses.RequestsMock, clock: FakeClock
) -> None:
    mocked.get(ACCOUNT, json=sample("error_429.json"), status=429)
    mocked.get(ACCOUNT, json=sample("account.json"))
    client.account.get()
    assert clock.sleeps == [2.0]


def test_429_honours_retry_after_header_when_body_is_not_json(
    client: AmoClient, mocked: responses.RequestsMock, clock: FakeClock
) -> None:
    mocked.get(ACCOUNT, body="Too Many Requests", status=429, headers={"Retry-After": "7"})
    mocked.get(ACCOUNT, json=sample("account.json"))
    client.account.get()
    assert clock.sleeps == [7.0]


def test_429_exhausted_raises_rate_limited_with_retry_after(
    client: AmoClient, mocked: responses.RequestsMock
) -> None:
    mocked.get(ACCOUNT, json=sample("error_429.json"), status=429)
    with pytest.raises(RateLimited) as caught:
        client.account.get()
    assert caught.value.retry_after == 2.0
    assert calls_to(mocked, ACCOUNT) == 4


def test_429_with_a_retry_after_too_long_is_not_waited_for(
    client: AmoClient, mocked: responses.RequestsMock, clock: FakeClock
) -> None:
    mocked.get(ACCOUNT, body="", status=429, headers={"Retry-After": str(int(MAX_HONOURED_RETRY_AFTER) + 1)})
    with pytest.raises(RateLimited):
        client.account.get()
    assert calls_to(mocked, ACCOUNT) == 1
    assert clock.sleeps == []


def test_connection_errors_are_retried_for_reads(client: AmoClient, mocked: responses.RequestsMock) -> None:
    mocked.get(ACCOUNT, body=requests.exceptions.ReadTimeout("slow"))
    mocked.get(ACCOUNT, json=sample("account.json"))
    assert client.account.get().id == 29085955


def test_connection_error_classification(client: AmoClient, mocked: responses.RequestsMock) -> None:
    mocked.get(ACCOUNT, body=requests.exceptions.ConnectTimeout("no route"))
    with pytest.raises(ApiConnectionError) as never:
        client.account.get()
    assert never.value.maybe_sent is False
    mocked.replace(responses.GET, ACCOUNT, body=requests.exceptions.ReadTimeout("slow"))
    with pytest.raises(ApiConnectionError) as maybe:
        client.account.get()
    assert maybe.value.maybe_sent is True


def test_unsafe_write_is_not_retried_after_an_unknown_outcome(
    client: AmoClient, mocked: responses.RequestsMock
) -> None:
    mocked.post(LEADS, json=sample("error_500.json"), status=500)
    with pytest.raises(ServerError):
        client.request("POST", "/api/v4/leads", json=[{"name": "x"}], policy=UNSAFE_WRITE)
    assert calls_to(mocked, LEADS) == 1
    mocked.replace(responses.POST, LEADS, body=requests.exceptions.ReadTimeout("slow"))
    with pytest.raises(ApiConnectionError):
        client.request("POST", "/api/v4/leads", json=[{"name": "x"}], policy=UNSAFE_WRITE)
    assert calls_to(mocked, LEADS) == 2


def test_unsafe_write_is_retried_when_amo_surely_did_nothing(
    client: AmoClient, mocked: responses.RequestsMock
) -> None:
    mocked.post(LEADS, json=sample("error_429.json"), status=429)
    mocked.post(LEADS, body=requests.exceptions.ConnectTimeout("no route"))
    mocked.post(LEADS, json=sample("leads_created.json"))
    body = client.request("POST", "/api/v4/leads", json=[{"name": "x"}], policy=UNSAFE_WRITE)
    assert body["_embedded"]["leads"][0]["id"] == 31402901
    assert calls_to(mocked, LEADS) == 3


def test_403_block_page_stops_every_process_for_the_cooldown(
    client: AmoClient, mocked: responses.RequestsMock, api_store: Store, clock: FakeClock
) -> None:
    mocked.get(ACCOUNT, body=sample_text("error_403_block.html"), status=403, content_type="text/html")
    with pytest.raises(AccountBlocked) as caught:
        client.account.get()
    assert not caught.value.retryable
    assert calls_to(mocked, ACCOUNT) == 1
    until = api_store.kv.get(integration.BLOCKED_UNTIL_KEY)
    assert until == pytest.approx(clock.now() + 600)
    assert caught.value.blocked_until == pytest.approx(until)
    # Another client on the same store (another process) refuses without calling amoCRM.
    other = AmoClient.from_settings(client.settings, api_store, clock=clock, limiter=client.limiter)
    with pytest.raises(AccountBlocked):
        other.account.get()
    assert calls_to(mocked, ACCOUNT) == 1
    clock.advance(601)
    mocked.replace(responses.GET, ACCOUNT, json=sample("account.json"))
    assert other.account.get().id == 29085955


def test_403_rights_problem_is_not_a_block(
    client: AmoClient, mocked: responses.RequestsMock, api_store: Store
) -> None:
    mocked.get(f"{BASE}/api/v4/users", json=sample("error_403_rights.json"), status=403)
    with pytest.raises(Forbidden) as caught:
        list(client.users.list())
    assert not isinstance(caught.value, AccountBlocked)
    assert api_store.kv.get(integration.BLOCKED_UNTIL_KEY) is None


def test_body_excerpt_is_bounded() -> None:
    error = error_from_response(500, {}, "x" * 10_000, method="GET", path="/api/v4/leads")
    assert len(error.body_excerpt) <= BODY_EXCERPT_CHARS
    assert isinstance(error, ServerError)


def test_unknown_status_is_a_plain_api_error() -> None:
    error = error_from_response(418, {}, "{}", method="GET", path="/x")
    assert type(error) is AmoApiError
    assert not error.retryable
