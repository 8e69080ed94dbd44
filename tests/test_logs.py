from __future__ import annotations

import io
import json
import logging

import pytest

from amo_bridge.logs import correlation, redact, setup_logging
from amo_bridge.secrets import Secret, mask, register_secret


@pytest.fixture
def captured() -> io.StringIO:
    stream = io.StringIO()
    setup_logging("DEBUG", "text", stream)
    return stream


@pytest.mark.parametrize(
    "text",
    [
        "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig",
        '{"access_token": "eyJhbGciOiJIUzI1NiJ9", "expires_in": 86400}',
        '{"refresh_token":"def5020012345"}',
        "grant_type=refresh_token&refresh_token=def5020012345&client_id=x",
        "client_secret=verysecretvalue",
        "{'Authorization': 'Bearer eyJhbGciOiJIUzI1NiJ9'}",
    ],
)
def test_patterns_redacted(text: str) -> None:
    out = redact(text)
    assert "eyJhbGciOiJIUzI1NiJ9" not in out
    assert "def5020012345" not in out
    assert "verysecretvalue" not in out
    assert "***" in out


def test_registered_secret_redacted_anywhere(captured: io.StringIO) -> None:
    secret = Secret("webhook-path-secret-123")
    log = logging.getLogger("test")
    log.info("POST /webhooks/amocrm/%s from %s", secret.reveal(), "1.2.3.4")
    try:
        raise ValueError(f"bad token {secret.reveal()}")
    except ValueError:
        log.exception("failed")
    output = captured.getvalue()
    assert "webhook-path-secret-123" not in output
    assert "/webhooks/amocrm/***" in output
    assert "bad token ***" in output


def test_runtime_token_registration(captured: io.StringIO) -> None:
    register_secret("fresh-access-token-xyz")
    logging.getLogger("test").warning("got %s", {"value": "fresh-access-token-xyz"})
    assert "fresh-access-token-xyz" not in captured.getvalue()


def test_correlation_id_on_every_line_and_json_format() -> None:
    stream = io.StringIO()
    setup_logging("INFO", "json", stream)
    with correlation("req-42"):
        logging.getLogger("test").info("stored", extra={"inbox_id": 7})
    logging.getLogger("test").info("outside")
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["correlation_id"] == "req-42"
    assert first["inbox_id"] == 7
    assert first["message"] == "stored"
    assert second["correlation_id"] == "-"


def test_secret_type_masks_and_compares() -> None:
    secret = Secret("abc123")
    assert str(secret) == "***"
    assert repr(secret) == "Secret('***')"
    assert f"{secret}" == "***"
    assert secret == "abc123"
    assert secret != "abc124"
    assert secret == Secret("abc123")
    assert mask("a" * 30).endswith("aaaa")
    assert mask("a" * 30).startswith("***")
