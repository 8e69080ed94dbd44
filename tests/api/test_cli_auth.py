"""``amo-bridge auth exchange | status | disconnect``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import responses
from click.testing import CliRunner

from amo_bridge.cli.main import cli
from amo_bridge.store import Store
from tests.api.helpers import BASE, CLIENT_SECRET, sample

TOKEN = f"{BASE}/oauth2/access_token"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.chdir(tmp_path)
    return {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "AMO_SUBDOMAIN": "example",
        "AMO_CLIENT_ID": "client-id-0001",
        "AMO_CLIENT_SECRET": CLIENT_SECRET,
        "AMO_REDIRECT_URI": "https://bridge.example.com/oauth/callback",
        "AMO_LONG_LIVED_TOKEN": "",
        "AMO_AUTH_MODE": "oauth",
        "AMO_BASE_URL": "",
        "REDIS_URL": "",
    }


def test_status_is_non_zero_before_connecting(env: dict[str, str]) -> None:
    result = CliRunner().invoke(cli, ["auth", "status"], env=env)
    assert result.exit_code == 1
    assert "disconnected" in result.output


def test_exchange_then_status_then_disconnect(env: dict[str, str]) -> None:
    runner = CliRunner()
    with responses.RequestsMock() as mocked:
        mocked.post(TOKEN, json=sample("token.json"))
        exchanged = runner.invoke(cli, ["auth", "exchange", "code-0123456789"], env=env)
    assert exchanged.exit_code == 0, exchanged.output
    assert "connected" in exchanged.output
    assert "sample-access-token" not in exchanged.output
    status = runner.invoke(cli, ["auth", "status", "--json"], env=env)
    assert status.exit_code == 0, status.output
    payload = json.loads(status.output)
    assert payload["state"] == "connected"
    assert payload["ok"] is True
    assert "sample-access-token" not in status.output
    refused = runner.invoke(cli, ["auth", "disconnect"], env=env)
    assert refused.exit_code == 2
    gone = runner.invoke(cli, ["auth", "disconnect", "--yes", "--reason", "test over"], env=env)
    assert gone.exit_code == 0
    after = runner.invoke(cli, ["auth", "status"], env=env)
    assert after.exit_code == 1
    assert "test over" in after.output
    store = Store(env["DATABASE_URL"])
    assert store.kv.get("amo.integration")["state"] == "disconnected"
    store.dispose()


def test_exchange_without_oauth_settings_exits_2_naming_them(env: dict[str, str]) -> None:
    env = {**env, "AMO_CLIENT_ID": "", "AMO_CLIENT_SECRET": "", "AMO_SUBDOMAIN": ""}
    result = CliRunner().invoke(cli, ["auth", "exchange", "code-1"], env=env)
    assert result.exit_code == 2
    for name in ("AMO_SUBDOMAIN", "AMO_CLIENT_ID", "AMO_CLIENT_SECRET"):
        assert name in result.output


def test_status_reports_a_block(env: dict[str, str]) -> None:
    store = Store(env["DATABASE_URL"])
    store.upgrade()
    store.kv.set("amo.blocked_until", store.clock.now() + 3600)
    store.dispose()
    result = CliRunner().invoke(cli, ["auth", "status"], env=env)
    assert result.exit_code == 1
    assert "BLOCKED" in result.output
