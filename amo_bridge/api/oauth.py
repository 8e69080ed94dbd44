"""Authorisation: long-lived token or OAuth 2.0 with rotating, single-use refresh tokens.

OAuth refresh is **single-flight across processes**: the refresher takes the store lease
``amo.token_refresh``, re-reads the stored pair (another process may have refreshed meanwhile), refreshes
only if still needed, and persists the new pair *before* anyone uses it. A refresh token amoCRM calls
revoked/invalid makes us re-read storage once (a concurrent exchange may have stored a new pair); if the
stored pair is still the dead one, the integration is marked disconnected and
:class:`~amo_bridge.api.errors.AuthorizationRevoked` is raised.
"""

from __future__ import annotations

import logging
import random
import re
from dataclasses import dataclass
from typing import Any, Protocol

import requests

from amo_bridge.api import state
from amo_bridge.api.errors import (
    AmoApiError,
    AuthorizationRevoked,
    NotConnected,
    error_from_response,
    is_revoked_grant,
    parse_json,
)
from amo_bridge.api.ratelimit import RateLimiter
from amo_bridge.api.retry import TOKEN_REFRESH, retrying
from amo_bridge.api.tokens import TokenPair, TokenStore
from amo_bridge.api.transport import Transport
from amo_bridge.clock import SYSTEM_CLOCK, Clock
from amo_bridge.config import Settings
from amo_bridge.secrets import Secret
from amo_bridge.store import Store

log = logging.getLogger(__name__)

TOKEN_PATH = "/oauth2/access_token"  # noqa: S105 (a path, not a secret)
REFRESH_LOCK = "amo.token_refresh"
REFRESH_LOCK_TTL = 30.0
REFRESH_LOCK_TIMEOUT = 120.0
_AMO_HOST = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}\.(amocrm\.ru|amocrm\.com|kommo\.com)$")


class AuthProvider(Protocol):
    def access_token(self) -> Secret:
        """A token to send now (refreshing ahead of expiry when needed)."""
        ...

    def after_unauthorized(self, rejected: Secret) -> Secret:
        """amoCRM answered 401 to ``rejected``: return a token worth one replay, or raise."""
        ...

    def api_domain(self) -> str | None: ...


class LongLivedAuth:
    """A private integration's long-lived token: plain Bearer, nothing to refresh."""

    def __init__(self, token: Secret, store: Store) -> None:
        self._token = token
        self._store = store

    def access_token(self) -> Secret:
        return self._token

    def after_unauthorized(self, rejected: Secret) -> Secret:
        reason = "amoCRM rejected the long-lived token (401): issue a new one in the integration settings"
        state.write_integration(self._store, state.DISCONNECTED, reason)
        log.error("%s", reason)
        raise AuthorizationRevoked(reason, status=401)

    def api_domain(self) -> str | None:
        return None


class TokenEndpoint:
    """Calls ``POST /oauth2/access_token`` (through the shared limiter, with the refresh policy)."""

    def __init__(
        self,
        settings: Settings,
        transport: Transport,
        *,
        clock: Clock,
        limiter: RateLimiter | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._amo = settings.amo
        self._transport = transport
        self._clock = clock
        self._limiter = limiter
        self._rng = rng

    def _post(self, body: dict[str, Any], base_url: str | None) -> TokenPair:
        def attempt() -> TokenPair:
            if self._limiter is not None:
                self._limiter.acquire()
            response = self._transport.send("POST", TOKEN_PATH, json=body, base_url=base_url)
            if not 200 <= response.status < 300:
                raise error_from_response(
                    response.status, response.headers, response.text, method="POST", path=TOKEN_PATH
                )
            try:
                return TokenPair.from_response(parse_json(response.text), now=self._clock.now())
            except ValueError as exc:
                raise AmoApiError(f"POST {TOKEN_PATH}: {exc}", status=response.status) from None

        controller = retrying(TOKEN_REFRESH, max_retries=0, sleep=self._clock.sleep, rng=self._rng)
        return controller(attempt)

    def _client_fields(self) -> dict[str, Any]:
        secret = self._amo.client_secret
        return {
            "client_id": self._amo.client_id,
            "client_secret": secret.reveal() if secret else None,
            "redirect_uri": self._amo.redirect_uri,
        }

    def exchange(self, code: str, *, base_url: str | None = None) -> TokenPair:
        body = {**self._client_fields(), "grant_type": "authorization_code", "code": code}
        return self._post(body, base_url)

    def refresh(self, refresh_token: Secret) -> TokenPair:
        body = {
            **self._client_fields(),
            "grant_type": "refresh_token",
            "refresh_token": refresh_token.reveal(),
        }
        return self._post(body, None)


class OAuthAuth:
    """OAuth 2.0 with the stored pair; refreshes ahead of expiry and after a 401, single-flight."""

    def __init__(
        self,
        store: Store,
        endpoint: TokenEndpoint,
        *,
        clock: Clock,
        margin: float,
    ) -> None:
        self._store = store
        self._tokens = TokenStore(store)
        self._endpoint = endpoint
        self._clock = clock
        self._margin = margin
        self._cached: TokenPair | None = None
        self.refreshes = 0  # refreshes this process performed (observability, tests)

    def _load(self) -> TokenPair:
        pair = self._tokens.load()
        if pair is None:
            raise NotConnected(
                "amoCRM is not connected: no OAuth tokens stored "
                "(run `amo-bridge auth exchange CODE` or open the integration's OAuth link)"
            )
        return pair

    def current(self) -> TokenPair:
        pair = self._cached
        if pair is None or pair.expires_within(self._clock.now(), self._margin):
            pair = self._load()
        if pair.expires_within(self._clock.now(), self._margin):
            pair = self._refresh(stale=pair, forced=False)
        self._cached = pair
        return pair

    def access_token(self) -> Secret:
        return self.current().access_token

    def api_domain(self) -> str | None:
        return self.current().api_domain

    def after_unauthorized(self, rejected: Secret) -> Secret:
        self._cached = None
        stored = self._load()
        if stored.access_token != rejected:
            return stored.access_token  # another process already refreshed: replay with its token
        pair = self._refresh(stale=stored, forced=True)
        self._cached = pair
        return pair.access_token

    def _refresh(self, *, stale: TokenPair, forced: bool) -> TokenPair:
        with self._store.locks.hold(
            REFRESH_LOCK, ttl=REFRESH_LOCK_TTL, timeout=REFRESH_LOCK_TIMEOUT
        ) as lease:
            lease.keep_alive()
            current = self._load()
            now = self._clock.now()
            if current.access_token != stale.access_token and not current.expires_within(now, self._margin):
                log.info("amoCRM token already refreshed by another process")
                return current
            if not forced and not current.expires_within(now, self._margin):
                return current
            try:
                fresh = self._endpoint.refresh(current.refresh_token)
            except AmoApiError as error:
                if not is_revoked_grant(error):
                    raise
                return self._after_revoked(current, error)
            self._tokens.save(fresh)  # persisted before anyone uses it
            self.refreshes += 1
            log.info("amoCRM access token refreshed; valid until %.0f", fresh.expires_at)
            return fresh

    def _after_revoked(self, used: TokenPair, error: AmoApiError) -> TokenPair:
        again = self._tokens.load()  # once: a concurrent exchange may have stored a new pair
        if again is not None and again.refresh_token != used.refresh_token:
            log.warning("refresh token was revoked, but storage holds a newer pair; using it")
            return again
        reason = f"amoCRM refused the refresh token ({error.status}): reconnect the integration"
        disconnect(self._store, reason)
        log.error("amoCRM integration DISCONNECTED: %s", reason)
        raise AuthorizationRevoked(reason, status=error.status, body=error.body_excerpt) from None


def make_auth(
    settings: Settings,
    store: Store,
    transport: Transport,
    *,
    clock: Clock,
    limiter: RateLimiter | None,
    rng: random.Random | None = None,
) -> AuthProvider:
    amo = settings.amo
    if amo.effective_auth_mode == "long_lived":
        if amo.long_lived_token is None:
            raise NotConnected("AMO_LONG_LIVED_TOKEN is not set")
        return LongLivedAuth(amo.long_lived_token, store)
    endpoint = TokenEndpoint(settings, transport, clock=clock, limiter=limiter, rng=rng)
    return OAuthAuth(store, endpoint, clock=clock, margin=amo.token_refresh_margin)


def _exchange_base_url(settings: Settings, referer: str | None) -> str:
    """Where to send the code: the configured account, or amoCRM's ``referer`` when it is one of ours."""
    amo = settings.amo
    if amo.base_url:
        return amo.base_url
    if referer:
        host = referer.strip().lower().removeprefix("https://").split("/")[0]
        if not _AMO_HOST.match(host):
            raise AmoApiError(f"refusing OAuth referer {host!r}: not an amoCRM/Kommo account domain")
        if amo.subdomain and host.split(".")[0] != amo.subdomain.lower():
            raise AmoApiError(f"OAuth referer {host!r} is not the configured account {amo.subdomain!r}")
        return f"https://{host}"
    if amo.api_base_url is None:
        raise AmoApiError("AMO_SUBDOMAIN (or AMO_BASE_URL) is not set")
    return amo.api_base_url


def exchange_code(
    settings: Settings,
    store: Store,
    code: str,
    *,
    referer: str | None = None,
    session: requests.Session | None = None,
    clock: Clock = SYSTEM_CLOCK,
) -> TokenPair:
    """Trade an authorisation code for a token pair, store it and mark the integration connected."""
    base_url = _exchange_base_url(settings, referer)
    amo = settings.amo
    transport = Transport(
        base_url, session=session, connect_timeout=amo.connect_timeout, read_timeout=amo.read_timeout
    )
    endpoint = TokenEndpoint(settings, transport, clock=clock)
    with store.locks.hold(REFRESH_LOCK, ttl=REFRESH_LOCK_TTL, timeout=REFRESH_LOCK_TIMEOUT):
        try:
            pair = endpoint.exchange(code, base_url=base_url)
        except AmoApiError as error:
            if is_revoked_grant(error):
                raise AuthorizationRevoked(
                    "amoCRM refused the authorisation code (used, expired after 20 minutes, or for "
                    "another integration)",
                    status=error.status,
                    body=error.body_excerpt,
                ) from None
            raise
        TokenStore(store).save(pair)
    state.write_integration(store, state.CONNECTED, "authorization code exchanged")
    log.info("amoCRM connected; access token valid until %.0f", pair.expires_at)
    return pair


def disconnect(store: Store, reason: str) -> None:
    """Forget the tokens and mark the integration disconnected (uninstall hook, revoked grant, CLI)."""
    with store.begin() as conn:
        TokenStore(store).delete(conn=conn)
    state.write_integration(store, state.DISCONNECTED, reason)


@dataclass(frozen=True)
class AuthStatus:
    """What ``/healthz`` and ``amo-bridge auth status`` report. ``ok`` is False when calls cannot work."""

    mode: str
    state: str
    reason: str
    since: float | None
    token_expires_at: float | None
    api_domain: str | None
    blocked_until: float | None

    @property
    def ok(self) -> bool:
        return (
            self.state != state.DISCONNECTED
            and self.blocked_until is None
            and (self.mode == "long_lived" or self.token_expires_at is not None)
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "state": self.state,
            "reason": self.reason,
            "since": self.since,
            "token_expires_at": self.token_expires_at,
            "api_domain": self.api_domain,
            "blocked_until": self.blocked_until,
            "ok": self.ok,
        }


def auth_status(settings: Settings, store: Store) -> AuthStatus:
    """The integration's state as every process sees it (reads the store only, no API call)."""
    integration = state.read_integration(store)
    mode = settings.amo.effective_auth_mode
    pair = TokenStore(store).load() if mode == "oauth" else None
    current, reason = integration.state, integration.reason
    if mode == "long_lived" and current == state.UNKNOWN and settings.amo.long_lived_token:
        current, reason = state.CONNECTED, "long-lived token configured"
    if mode == "oauth" and pair is None and current != state.DISCONNECTED:
        current, reason = state.DISCONNECTED, "no OAuth tokens stored"
    return AuthStatus(
        mode=mode,
        state=current,
        reason=reason,
        since=integration.since,
        token_expires_at=pair.expires_at if pair else None,
        api_domain=pair.api_domain if pair else None,
        blocked_until=state.blocked_until(store),
    )
