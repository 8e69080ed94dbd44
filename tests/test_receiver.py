"""The Flask receiver through its test client: security, size, storage, dedupe, health, metrics."""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from amo_bridge.clock import FakeClock
from amo_bridge.config import load_settings
from amo_bridge.inbox import Inbox
from amo_bridge.inbox.journal import count as journal_count
from amo_bridge.inbox.worker import Worker
from amo_bridge.store import Store
from tests.inbox_helpers import sample
from webhooks.app import create_app
from webhooks.handlers import build_router

SECRET = "s3cret-path-segment-0123456789"
CLIENT_ID = "5f2a1c3e-8b7d-4e6f-9a0b-1c2d3e4f5a6b"
CLIENT_SECRET = "client-secret-abcdefghijklmnopqrstuvwxyz"
URL = f"/webhooks/amocrm/{SECRET}"
FORM = {"Content-Type": "application/x-www-form-urlencoded", "X-Amocrm-Requestid": "req-42"}


def make_settings(**extra: str):  # type: ignore[no-untyped-def]
    env = {
        "WEBHOOK_SECRET": SECRET,
        "AMO_ACCOUNT_ID": "29384756",
        "AMO_SUBDOMAIN": "romashka",
        "AMO_CLIENT_ID": CLIENT_ID,
        "AMO_CLIENT_SECRET": CLIENT_SECRET,
        "WEBHOOK_MAX_BODY_BYTES": "20000",
        **extra,
    }
    return load_settings(environ=env)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fstore(db_url: str, clock: FakeClock) -> Iterator[Store]:
    store = Store(db_url, clock=clock)
    store.upgrade()
    yield store
    store.dispose()


@pytest.fixture
def client(fstore: Store, clock: FakeClock) -> FlaskClient:
    return create_app(make_settings(), fstore, clock=clock).test_client()


def test_stores_and_answers_200(client: FlaskClient, fstore: Store) -> None:
    response = client.post(URL, data=sample("leads_status"), headers=FORM)
    assert response.status_code == 200
    assert response.get_json() == {"ok": True, "stored": 3, "duplicates": 0, "unparseable": False}
    assert Inbox(fstore).stats().by_state["received"] == 3


def test_duplicate_delivery_one_row_one_effect(client: FlaskClient, fstore: Store, clock: FakeClock) -> None:
    for _ in range(3):
        assert client.post(URL, data=sample("leads_add"), headers=FORM).status_code == 200
    inbox = Inbox(fstore, clock=clock)
    assert len(inbox.list(limit=100)) == 1
    Worker(inbox, build_router(), clock=clock).run_once()
    assert client.post(URL, data=sample("leads_add"), headers=FORM).get_json()["stored"] == 0
    Worker(inbox, build_router(), clock=clock).run_once()
    assert journal_count(fstore) == 1


def test_wrong_secret_is_an_empty_404(client: FlaskClient, fstore: Store) -> None:
    for url in ("/webhooks/amocrm/wrong", f"/webhooks/amocrm/{SECRET}x", "/webhooks/amocrm/"):
        response = client.post(url, data=sample("leads_add"), headers=FORM)
        assert response.status_code == 404
        assert response.data == b""
    assert Inbox(fstore).stats().depth == 0


def test_without_configured_secret_everything_is_404(fstore: Store) -> None:
    settings = load_settings(environ={})
    client = create_app(settings, fstore).test_client()
    assert client.post("/webhooks/amocrm/anything", data=sample("leads_add")).status_code == 404


@pytest.mark.parametrize(
    ("replace", "status"),
    [
        (b"account%5Bid%5D=29384756", 200),
        (b"account%5Bid%5D=11111111", 403),
    ],
)
def test_account_id_must_match(client: FlaskClient, replace: bytes, status: int) -> None:
    body = sample("task_add").replace(b"account%5Bid%5D=29384756", replace)
    assert client.post(URL, data=body, headers=FORM).status_code == status


def test_other_subdomain_or_no_account_is_403(client: FlaskClient, fstore: Store) -> None:
    other = sample("task_add").replace(b"account%5Bsubdomain%5D=romashka", b"account%5Bsubdomain%5D=evil")
    assert client.post(URL, data=other, headers=FORM).status_code == 403
    anonymous = b"leads%5Badd%5D%5B0%5D%5Bid%5D=1"
    assert client.post(URL, data=anonymous, headers=FORM).status_code == 403
    assert Inbox(fstore).stats().depth == 0


def test_any_account_when_none_configured(fstore: Store) -> None:
    settings = load_settings(environ={"WEBHOOK_SECRET": SECRET})
    client = create_app(settings, fstore).test_client()
    assert client.post(URL, data=b"leads%5Badd%5D%5B0%5D%5Bid%5D=1", headers=FORM).status_code == 200


def test_oversize_body_is_413(client: FlaskClient, fstore: Store) -> None:
    big = b"leads%5Badd%5D%5B0%5D%5Bname%5D=" + b"x" * 20_001
    assert client.post(URL, data=big, headers=FORM).status_code == 413
    assert Inbox(fstore).stats().depth == 0


def test_unparseable_is_stored_and_answered_200(client: FlaskClient, fstore: Store) -> None:
    response = client.post(URL, data=b"\xff\xfe\x00 binary", headers=FORM)
    assert response.status_code == 200
    assert response.get_json()["unparseable"] is True
    (row,) = Inbox(fstore).list("unparseable")
    assert "encoding" in (row.last_error or "")


def test_store_down_is_503_so_amocrm_retries(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = Store(f"sqlite:///{tmp_path / 'never-migrated.db'}")
    client = create_app(make_settings(), store).test_client()
    assert client.post(URL, data=sample("task_add"), headers=FORM).status_code == 503
    assert client.get("/healthz").status_code == 503


def test_logs_carry_request_id_never_the_secret(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    from amo_bridge.logs import TextFormatter, _CorrelationFilter

    caplog.handler.addFilter(_CorrelationFilter())
    caplog.handler.setFormatter(TextFormatter())
    with caplog.at_level(logging.INFO):
        client.post(URL, data=sample("task_add"), headers=FORM)
        client.post("/webhooks/amocrm/wrong-secret", data=b"x", headers=FORM)
    text = caplog.text
    assert "amo-req-42" in text
    assert "stored" in text
    assert "wrong secret" in text
    assert SECRET not in text


MALFORMED = st.one_of(
    st.binary(max_size=400),
    st.text(max_size=200).map(lambda t: t.encode()),
    st.lists(
        st.sampled_from(["leads[", "]", "[0]", "[add]", "=", "&", "%", "%ZZ", "account[id]=29384756", "x"]),
        max_size=30,
    ).map(lambda parts: "".join(parts).encode()),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=MALFORMED,
    content_type=st.sampled_from(
        ["application/x-www-form-urlencoded", "application/json", "", "text/plain; charset=latin-1"]
    ),
)
def test_malformed_input_never_gets_5xx(client: FlaskClient, body: bytes, content_type: str) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    response = client.post(URL, data=body, headers=headers)
    assert response.status_code < 500


def signed(account_id: str = "29384756", client_uuid: str = CLIENT_ID, secret: str = CLIENT_SECRET) -> str:
    signature = hmac.new(secret.encode(), f"{client_uuid}|{account_id}".encode(), hashlib.sha256).hexdigest()
    return f"/oauth/disconnect?account_id={account_id}&client_uuid={client_uuid}&signature={signature}"


def test_disconnect_hook_verifies_signature_and_marks_disconnected(
    client: FlaskClient, fstore: Store, clock: FakeClock
) -> None:
    assert client.get(signed(secret="wrong-secret-xxxxxxxxxxxx")).status_code == 403
    assert client.get(signed(account_id="11111111")).status_code == 403
    assert client.get(signed(client_uuid="00000000-0000-0000-0000-000000000000")).status_code == 403
    assert client.get("/oauth/disconnect").status_code == 403
    assert fstore.kv.get("amo.integration") is None
    response = client.get(signed())
    assert response.status_code == 200
    state = fstore.kv.get("amo.integration")
    assert state["state"] == "disconnected"
    assert state["since"] == int(clock.now())
    health = client.get("/healthz").get_json()
    assert health["integration"]["state"] == "disconnected"


def test_oauth_callback_exchanges_the_code_with_the_sandbox(tmp_path: Path) -> None:
    from amo_bridge.api.oauth import auth_status
    from amo_bridge.sandbox.server import SandboxServer

    with SandboxServer(seed=1, clock=FakeClock(), deliver_webhooks=False, contacts=5, companies=1) as sandbox:
        settings = load_settings(
            {
                "AMO_BASE_URL": sandbox.url,
                "AMO_CLIENT_ID": "sandbox-integration",
                "AMO_CLIENT_SECRET": "sandbox-secret",
                "AMO_REDIRECT_URI": "https://amo-bridge.example.com/oauth/callback",
                "WEBHOOK_SECRET": SECRET,
            }
        )
        store = Store(f"sqlite:///{tmp_path / 'oauth.db'}")
        store.upgrade()
        client = create_app(settings, store).test_client()
        assert client.get("/oauth/callback").status_code == 400
        code = sandbox.admin.issue_code()
        response = client.get(f"/oauth/callback?code={code}&referer=sandbox.amocrm.ru")
        assert response.status_code == 200, response.data
        status = auth_status(settings, store)
        assert status.state == "connected"
        assert status.token_expires_at is not None
        reused = client.get(f"/oauth/callback?code={code}&referer=sandbox.amocrm.ru")
        assert reused.status_code == 502  # a code is single use
        assert code not in reused.get_data(as_text=True)


def test_healthz_reports_queue_and_block(client: FlaskClient, fstore: Store, clock: FakeClock) -> None:
    client.post(URL, data=sample("leads_status"), headers=FORM)
    clock.advance(30)
    fstore.kv.set("amo.blocked_until", clock.now() + 600)
    body = client.get("/healthz").get_json()
    assert body["ok"]
    assert body["store"] == "ok"
    assert body["integration"] == {"state": "unknown"}
    assert body["queue"]["depth"] == 3
    assert body["queue"]["oldest_unprocessed_age_seconds"] == 30
    assert body["blocked_until"] == clock.now() + 600


def test_metrics_count_and_read_the_queue(client: FlaskClient) -> None:
    client.post(URL, data=sample("leads_status"), headers=FORM)
    client.post(URL, data=sample("leads_status"), headers=FORM)
    client.post("/webhooks/amocrm/nope", data=b"x")
    client.post(URL, data=b"", headers=FORM)
    text = client.get("/metrics").get_data(as_text=True)
    assert "amo_bridge_webhook_received_total 4.0" in text
    assert "amo_bridge_webhook_events_stored_total 3.0" in text
    assert "amo_bridge_webhook_events_duplicate_total 0.0" in text  # a redelivered body adds no rows
    assert 'amo_bridge_webhook_rejected_total{reason="secret"} 1.0' in text
    assert 'amo_bridge_webhook_unparseable_total{reason="empty"} 1.0' in text
    assert 'amo_bridge_inbox_rows{state="received"} 3.0' in text
    assert "amo_bridge_inbox_depth 3.0" in text
    assert "amo_bridge_webhook_ack_seconds_bucket" in text
    assert "amo_bridge_inbox_processed_total" in text  # the worker metrics of this process
