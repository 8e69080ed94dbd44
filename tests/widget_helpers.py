"""Shared helpers of the widget tests: settings, tokens as amoCRM makes them, an app."""

from __future__ import annotations

import uuid
from typing import Any

import jwt
from flask import Flask

from amo_bridge.clock import FakeClock
from amo_bridge.config import Settings, load_settings
from amo_bridge.store import Store
from amo_bridge.widget.fixture import FixtureDashboard
from webhooks.widget import register_widget

SECRET = "test-client-secret-0123456789abcdef"
ACCOUNT_ID = 31415926
CLIENT_ID = "5f0c6d2e-1b1e-4b7a-9d1c-0a1b2c3d4e5f"
NOW = 1_795_000_000.0  # 2026-11-18, inside the fixture's month of November 2026


def widget_settings(**extra: str) -> Settings:
    env = {
        "AMO_SUBDOMAIN": "mycompany",
        "AMO_ACCOUNT_ID": str(ACCOUNT_ID),
        "AMO_CLIENT_ID": CLIENT_ID,
        "AMO_CLIENT_SECRET": SECRET,
        "PUBLIC_URL": "https://bridge.example.com",
        **extra,
    }
    return load_settings(env)


def make_token(now: float = NOW, *, secret: str = SECRET, **overrides: Any) -> str:
    """A token shaped like the ones amoCRM's $authorizedAjax sends."""
    claims: dict[str, Any] = {
        "iss": "https://mycompany.amocrm.ru",
        "aud": "https://bridge.example.com",
        "jti": str(uuid.uuid4()),
        "iat": int(now),
        "nbf": int(now),
        "exp": int(now) + 1800,
        "account_id": ACCOUNT_ID,
        "subdomain": "mycompany",
        "client_uuid": CLIENT_ID,
        "user_id": 7001,
        "is_admin": True,
    }
    claims.update(overrides)
    for key in [k for k, v in claims.items() if v is None]:
        del claims[key]
    return jwt.encode(claims, secret, algorithm="HS256")


def make_app(
    store: Store, clock: FakeClock, settings: Settings | None = None
) -> tuple[Flask, FixtureDashboard]:
    app = Flask("widget-test")
    fixture = FixtureDashboard()
    register_widget(app, settings or widget_settings(), store, fixture, fixture, clock=clock)
    return app, fixture
