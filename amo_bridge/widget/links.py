"""Signed, expiring links to the dashboard, for a plain browser (and the widget's iframe).

A link carries ``exp`` (Unix seconds) and ``sig`` = base64url(HMAC-SHA256(key, "amo-bridge.dashboard.v1|"
+ exp)). The key is derived from ``DASHBOARD_SECRET`` when set, else from ``AMO_CLIENT_SECRET``, so
rotating either secret revokes every link. A link grants read-only access: never the admin switches.
``lang`` and ``period`` stay free query parameters (the page's own links change them).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from urllib.parse import urlencode

from amo_bridge.secrets import Secret
from amo_bridge.widget.auth import WidgetAuthError

_CONTEXT = b"amo-bridge dashboard link key v1"
_MESSAGE = "amo-bridge.dashboard.v1|{exp}"
DASHBOARD_PATH = "/widget/dashboard"


def link_key(secret: Secret) -> bytes:
    """The HMAC key of dashboard links, derived from a secret (never the secret itself)."""
    return hmac.new(secret.reveal().encode(), _CONTEXT, hashlib.sha256).digest()


def sign(key: bytes, exp: int) -> str:
    digest = hmac.new(key, _MESSAGE.format(exp=exp).encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def link_params(key: bytes, *, now: float, ttl: int, lang: str | None = None) -> dict[str, str]:
    """The query parameters of a link valid for ``ttl`` seconds from ``now``."""
    exp = int(now) + ttl
    params = {"exp": str(exp), "sig": sign(key, exp)}
    if lang:
        params["lang"] = lang
    return params


def dashboard_url(base_url: str, params: Mapping[str, str]) -> str:
    return f"{base_url.rstrip('/')}{DASHBOARD_PATH}?{urlencode(dict(params))}"


def verify_link(key: bytes, params: Mapping[str, str], *, now: float) -> int:
    """The link's expiry if ``exp`` and ``sig`` are valid now; :class:`WidgetAuthError` otherwise."""
    raw_exp, sig = params.get("exp", ""), params.get("sig", "")
    if not raw_exp.isdigit() or len(raw_exp) > 12 or not sig:
        raise WidgetAuthError("link without exp or sig")
    exp = int(raw_exp)
    if not hmac.compare_digest(sign(key, exp), sig):
        raise WidgetAuthError("link signature mismatch")
    if exp <= now:
        raise WidgetAuthError("link expired")
    return exp
