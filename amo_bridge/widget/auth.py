"""Verifying the ``X-Auth-Token`` that amoCRM widgets send with ``$authorizedAjax``.

The token is a one-time JWT signed HS256 with the integration's client secret. Its claims: ``iss``
(account URL), ``aud`` (base of the integration's redirect URI), ``jti`` (UUID), ``iat``, ``nbf``,
``exp`` (about 30 minutes), ``account_id``, ``subdomain``, ``client_uuid``, ``user_id``, ``is_admin``.

:func:`verify_widget_token` is pure: signature, algorithm, times (checked against the ``now`` the caller
passes, with a small leeway), account and integration. :class:`ReplayGuard` then accepts each ``jti``
once within the token's lifetime; :class:`StoreReplayGuard` shares that memory across processes
through the ``locks`` table (a lease named ``widget.jti:<jti>`` that expires with the token).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any, Protocol

import jwt
from sqlalchemy import delete

from amo_bridge.clock import SYSTEM_CLOCK, Clock
from amo_bridge.errors import AmoBridgeError
from amo_bridge.secrets import Secret
from amo_bridge.store.locks import Locks
from amo_bridge.store.schema import locks as locks_table
from amo_bridge.store.store import Store

log = logging.getLogger(__name__)

REQUIRED_CLAIMS = ("exp", "iat", "nbf", "jti", "account_id", "client_uuid", "user_id")
MAX_JTI_LENGTH = 128
JTI_LOCK_PREFIX = "widget.jti:"


class WidgetAuthError(AmoBridgeError):
    """A widget token or dashboard link was refused. The reason is for logs, never for the client."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class WidgetUser:
    """Who is asking, from a verified token (or a signed link: no user, never admin)."""

    account_id: int | None
    user_id: int | None
    is_admin: bool
    subdomain: str | None = None
    jti: str | None = None
    expires_at: float | None = None


def verify_widget_token(
    token: str,
    *,
    secret: Secret,
    account_id: int,
    client_uuid: str,
    now: float,
    leeway: float = 30.0,
) -> WidgetUser:
    """The user named by a valid token; :class:`WidgetAuthError` for anything else (no replay check)."""
    if not token or len(token) > 8192:
        raise WidgetAuthError("missing or oversized token")
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            secret.reveal(),
            algorithms=["HS256"],
            # Times are checked below against the injected clock. ``aud`` is the base of the
            # integration's redirect URI; its exact form is not documented, so it is not compared
            # (account_id and client_uuid identify the tenant and the integration).
            options={
                "require": list(REQUIRED_CLAIMS),
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
                "verify_aud": False,
                "verify_iss": False,
            },
        )
    except jwt.InvalidTokenError as exc:
        raise WidgetAuthError(f"invalid token: {exc.__class__.__name__}") from None

    exp, iat, nbf = (_number(claims, name) for name in ("exp", "iat", "nbf"))
    if exp <= now - leeway:
        raise WidgetAuthError("token expired")
    if nbf > now + leeway:
        raise WidgetAuthError("token not yet valid")
    if iat > now + leeway:
        raise WidgetAuthError("token issued in the future")
    if not _same_int(claims.get("account_id"), account_id):
        raise WidgetAuthError("token of another account")
    if str(claims.get("client_uuid")) != client_uuid:
        raise WidgetAuthError("token of another integration")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti or len(jti) > MAX_JTI_LENGTH:
        raise WidgetAuthError("token without a usable jti")
    user_id: Any = claims.get("user_id")
    subdomain = claims.get("subdomain")
    return WidgetUser(
        account_id=account_id,
        user_id=int(user_id) if _is_int(user_id) else None,
        is_admin=claims.get("is_admin") is True or claims.get("is_admin") in (1, "1", "true", "Y"),
        subdomain=subdomain if isinstance(subdomain, str) else None,
        jti=jti,
        expires_at=exp,
    )


def _number(claims: dict[str, Any], name: str) -> float:
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise WidgetAuthError(f"claim {name} is not a number")
    return float(value)


def _is_int(value: object) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, str) and value.isdigit()


def _same_int(value: Any, expected: int) -> bool:
    return _is_int(value) and int(value) == expected


class ReplayGuard(Protocol):
    def first_use(self, jti: str, expires_at: float) -> bool:
        """True the first time ``jti`` is seen before ``expires_at``; False on a replay."""
        ...


class StoreReplayGuard:
    """Remembers each ``jti`` in the ``locks`` table until its token expires (plus the leeway).

    Taking the lease is one atomic upsert, so two processes presented the same token at the same
    moment cannot both succeed. Expired entries are purged at most once a minute per process.
    """

    PURGE_INTERVAL = 60.0

    def __init__(self, store: Store, *, clock: Clock = SYSTEM_CLOCK, leeway: float = 30.0) -> None:
        self._store = store
        self._clock = clock
        self._leases = Locks(store, clock=clock)
        self._leeway = leeway
        self._next_purge = 0.0

    def first_use(self, jti: str, expires_at: float) -> bool:
        now = self._clock.now()
        self._maybe_purge(now)
        ttl = max(expires_at - now, 0.0) + self._leeway
        # A fresh owner per call: the lease is taken only if no unexpired one exists for this jti.
        return self._leases.try_acquire(JTI_LOCK_PREFIX + jti, uuid.uuid4().hex, ttl)

    def _maybe_purge(self, now: float) -> None:
        if self._clock.monotonic() < self._next_purge:
            return
        self._next_purge = self._clock.monotonic() + self.PURGE_INTERVAL
        statement = delete(locks_table).where(
            locks_table.c.name.startswith(JTI_LOCK_PREFIX, autoescape=True),
            locks_table.c.expires_at <= now,
        )
        with self._store.begin() as conn:
            purged = conn.execute(statement).rowcount
        if purged:
            log.debug("purged %d expired widget token ids", purged)
