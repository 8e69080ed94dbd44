"""Helpers for the sandbox tests: an in-process client with a token, and a PHP-bracket decoder.

The decoder lives here, in the tests, on purpose: it checks the sandbox's webhook bodies
independently of any parser amo-bridge has.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

from flask import Flask
from flask.testing import FlaskClient

from amo_bridge.clock import FakeClock
from amo_bridge.sandbox import Sandbox, create_app, sandbox_of

TOKEN = "test-long-lived-token-0123456789"


def make(seed: int = 1, **options: Any) -> tuple[Flask, Sandbox, FakeClock]:
    clock = FakeClock()
    options.setdefault("deliver_webhooks", False)
    options.setdefault("contacts", 120)
    options.setdefault("companies", 20)
    app = create_app(seed, clock, long_lived_token=TOKEN, **options)
    return app, sandbox_of(app), clock


class Api:
    """A test client that sends the long-lived token (or another) on every request."""

    def __init__(
        self, client: FlaskClient, clock: FakeClock | None = None, token: str | None = TOKEN
    ) -> None:
        self.client = client
        self.clock = clock
        self.token = token

    def _headers(self) -> dict[str, str]:
        if self.clock is not None:
            self.clock.advance(0.2)  # a polite client: 5 requests per second, under amoCRM's 7
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def get(self, path: str, **kw: Any) -> Any:
        return self.client.get(path, headers=self._headers(), **kw)

    def post(self, path: str, json: Any = None, **kw: Any) -> Any:
        return self.client.post(path, headers=self._headers(), json=json, **kw)

    def patch(self, path: str, json: Any = None, **kw: Any) -> Any:
        return self.client.patch(path, headers=self._headers(), json=json, **kw)

    def delete(self, path: str, json: Any = None, **kw: Any) -> Any:
        return self.client.delete(path, headers=self._headers(), json=json, **kw)


_KEY = re.compile(r"^([^\[]+)((?:\[[^\]]*\])*)$")


def php_decode(body: str) -> dict[str, Any]:
    """Decode ``a[b][0][c]=1`` form bodies into nested dicts, as PHP's ``$_POST`` would.

    Every bracket level becomes a dict keyed by the bracket text (PHP arrays are ordered maps), so
    ``leads[status][0][id]`` is ``d["leads"]["status"]["0"]["id"]``.
    """
    root: dict[str, Any] = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        match = _KEY.match(key)
        assert match, key
        parts = [match.group(1), *re.findall(r"\[([^\]]*)\]", match.group(2))]
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return root
