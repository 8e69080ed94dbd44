"""HTTP at the edge: one ``requests.Session`` per client, timeouts, a User-Agent, no secrets in logs.

:meth:`Transport.send` returns an :class:`HttpResponse` for any HTTP answer and raises
:class:`~amo_bridge.api.errors.ApiConnectionError` when there was none. Turning statuses into errors is
the pure :func:`~amo_bridge.api.errors.error_from_response`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

from amo_bridge import __version__
from amo_bridge.api.errors import ApiConnectionError

log = logging.getLogger(__name__)

USER_AGENT = f"amo-bridge/{__version__} (+https://github.com/amo-bridge/amo-bridge)"


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: Mapping[str, str]
    text: str
    url: str = ""
    elapsed: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


def _never_connected(exc: requests.RequestException) -> bool:
    """True when the request surely never reached the server (safe to repeat even a create)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if isinstance(exc, requests.exceptions.ConnectionError):
        text = repr(exc)
        return any(
            marker in text
            for marker in ("NewConnectionError", "Failed to establish", "Name or service not known")
        )
    return False


class Transport:
    def __init__(
        self,
        base_url: str,
        *,
        session: requests.Session | None = None,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        user_agent: str = USER_AGENT,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = session or requests.Session()
        self.timeout = (connect_timeout, read_timeout)
        self.user_agent = user_agent

    def url(self, path_or_url: str, base_url: str | None = None) -> str:
        if urlsplit(path_or_url).scheme:
            return path_or_url
        return urljoin((base_url or self.base_url).rstrip("/") + "/", path_or_url.lstrip("/"))

    def send(
        self,
        method: str,
        path_or_url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        base_url: str | None = None,
    ) -> HttpResponse:
        url = self.url(path_or_url, base_url)
        all_headers = {"User-Agent": self.user_agent, "Accept": "application/json", **(headers or {})}
        started = time.monotonic()
        shown = urlsplit(url).path
        try:
            response = self.session.request(
                method, url, params=params, json=json, headers=all_headers, timeout=self.timeout
            )
        except requests.RequestException as exc:
            log.warning("amoCRM %s %s: no answer (%s)", method, shown, exc.__class__.__name__)
            raise ApiConnectionError(
                f"{method} {shown}: no answer from amoCRM ({exc.__class__.__name__})",
                maybe_sent=not _never_connected(exc),
            ) from None
        elapsed = time.monotonic() - started
        log.debug("amoCRM %s %s -> %d in %.3fs", method, shown, response.status_code, elapsed)
        return HttpResponse(
            status=response.status_code,
            headers=response.headers,
            text=response.text,
            url=response.url,
            elapsed=elapsed,
        )

    def close(self) -> None:
        self.session.close()
