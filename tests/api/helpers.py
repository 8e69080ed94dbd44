"""Shared helpers of the API client tests: settings, seeded tokens, sample bodies."""

from __future__ import annotations

import contextlib
import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from amo_bridge.api.tokens import TokenPair, TokenStore
from amo_bridge.config.settings import AmoSettings, Settings, StoreSettings
from amo_bridge.secrets import Secret
from amo_bridge.store import Store

SAMPLES = Path(__file__).parent.parent / "samples" / "api"
BASE = "https://example.amocrm.ru"
CLIENT_SECRET = "client-secret-value-0123456789abcdef"
ACCESS_1 = "access-token-first-0123456789abcdef"
REFRESH_1 = "refresh-token-first-0123456789abcdef"
ACCESS_2 = "access-token-second-0123456789abcdef"
REFRESH_2 = "refresh-token-second-0123456789abcdef"


def sample(name: str) -> Any:
    return json.loads((SAMPLES / name).read_text(encoding="utf-8"))


def sample_text(name: str) -> str:
    return (SAMPLES / name).read_text(encoding="utf-8")


def make_settings(*, database_url: str = "sqlite://", redis_url: str | None = None, **amo: Any) -> Settings:
    values: dict[str, Any] = {
        "subdomain": "example",
        "client_id": "client-id-0001",
        "client_secret": Secret(CLIENT_SECRET),
        "redirect_uri": "https://bridge.example.com/oauth/callback",
        "max_retries": 3,
        "block_cooldown": 600,
    }
    values.update(amo)
    return Settings(
        amo=AmoSettings(**values), store=StoreSettings(database_url=database_url, redis_url=redis_url)
    )


def seed_tokens(
    store: Store, *, access: str = ACCESS_1, refresh: str = REFRESH_1, expires_in: float = 86400
) -> TokenPair:
    pair = TokenPair(Secret(access), Secret(refresh), store.clock.now() + expires_in, None)
    TokenStore(store).save(pair)
    return pair


def token_body(access: str = ACCESS_2, refresh: str = REFRESH_2) -> dict[str, Any]:
    return {"token_type": "Bearer", "expires_in": 86400, "access_token": access, "refresh_token": refresh}


@contextlib.contextmanager
def captured_logs(fmt: str = "text") -> Iterator[io.StringIO]:
    """amo-bridge's own logging set-up writing to a buffer; the root logger is restored after."""
    from amo_bridge.logs import setup_logging

    root = logging.getLogger()
    level = root.level
    stream = io.StringIO()
    setup_logging("DEBUG", fmt, stream=stream)
    try:
        yield stream
    finally:
        root.handlers = [h for h in root.handlers if not getattr(h, "_amo_bridge", False)]
        root.setLevel(level)
