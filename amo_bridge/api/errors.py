"""Errors of the amoCRM API client, and the one pure function that turns a response into one.

Every error carries the HTTP ``status``, amoCRM's ``request_id`` when it sent one, a bounded excerpt of
the body (secrets redacted) and ``retryable``. Retry policies (:mod:`amo_bridge.api.retry`) decide on
the class and that flag, never on message text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from amo_bridge.errors import AmoBridgeError
from amo_bridge.logs import redact

BODY_EXCERPT_CHARS = 500


def excerpt(body: str, limit: int = BODY_EXCERPT_CHARS) -> str:
    """At most ``limit`` characters of ``body``, redacted, on one line."""
    text = redact(" ".join(body.split()))
    return text if len(text) <= limit else text[: limit - 1] + "…"


class AmoApiError(AmoBridgeError):
    """amoCRM answered with an error, or could not be reached."""

    retryable = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        request_id: str | None = None,
        body: str = "",
        retryable: bool | None = None,
    ) -> None:
        self.status = status
        self.request_id = request_id
        self.body_excerpt = excerpt(body)
        text = redact(message)
        if status is not None:
            text = f"{text} (HTTP {status}"
            text += f", request {request_id})" if request_id else ")"
        super().__init__(text, retryable=retryable)


@dataclass(frozen=True)
class FieldError:
    """One entry of amoCRM's ``validation-errors``: which item (request_id) and which field failed."""

    request_id: str | None
    code: str
    path: str
    detail: str


class ValidationError(AmoApiError):
    """400: amoCRM refused the payload; ``errors`` lists the fields at fault."""

    def __init__(self, message: str, *, errors: tuple[FieldError, ...] = (), **kwargs: Any) -> None:
        self.errors = errors
        if errors:
            shown = "; ".join(f"{e.path or '?'}: {e.detail or e.code}" for e in errors[:5])
            message = f"{message}: {shown}"
        super().__init__(message, **kwargs)


class Unauthorized(AmoApiError):
    """401: the access token is expired or invalid (the client refreshes once and replays)."""


class PaymentRequired(AmoApiError):
    """402: the account is not paid for; nothing will work until it is."""


class Forbidden(AmoApiError):
    """403 with an API problem body: the token's user lacks the rights (e.g. users need an admin)."""


class AccountBlocked(Forbidden):
    """403 after rate abuse: amoCRM blocks the IP. Every process stops until ``blocked_until``."""

    def __init__(self, message: str, *, blocked_until: float | None = None, **kwargs: Any) -> None:
        self.blocked_until = blocked_until
        super().__init__(message, **kwargs)


class NotFound(AmoApiError):
    """404: no such entity or endpoint."""


class Unprocessable(AmoApiError):
    """422: a well-formed request amoCRM will not do (e.g. more than 250 entities in a batch)."""


class RateLimited(AmoApiError):
    """429: too many requests. ``retry_after`` is amoCRM's hint in seconds, when it gave one."""

    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kwargs)


class ServerError(AmoApiError):
    """5xx: amoCRM failed. A read may be retried; a create only when made idempotent."""

    retryable = True


class ApiConnectionError(AmoApiError):
    """No HTTP answer: DNS, refused connection, TLS, timeout.

    ``maybe_sent`` is False when the request surely never reached amoCRM (the connection was never
    made), so even a non-idempotent call may be repeated.
    """

    retryable = True

    def __init__(self, message: str, *, maybe_sent: bool = True, **kwargs: Any) -> None:
        self.maybe_sent = maybe_sent
        super().__init__(message, **kwargs)


class AuthorizationRevoked(AmoApiError):
    """The integration has no usable authorisation: revoked refresh token, disconnected, never connected.

    A person must connect the account again (``amo-bridge auth exchange CODE`` or the OAuth callback).
    """


class NotConnected(AuthorizationRevoked):
    """No token pair is stored: the account was never connected or was disconnected."""


def parse_json(body: str) -> Any:
    try:
        return json.loads(body) if body.strip() else None
    except ValueError:
        return None


def retry_after_seconds(headers: Mapping[str, str], payload: Any) -> float | None:
    """amoCRM's ``retry_after`` field, else the ``Retry-After`` header (seconds), else ``None``."""
    candidates: list[Any] = []
    if isinstance(payload, dict):
        candidates.append(payload.get("retry_after"))
    candidates.append(headers.get("Retry-After") or headers.get("retry-after"))
    for value in candidates:
        try:
            if value is not None and float(value) >= 0:
                return float(value)
        except (TypeError, ValueError):
            continue  # an HTTP date or garbage: ignore, the policy's backoff applies
    return None


def _field_errors(payload: Any) -> tuple[FieldError, ...]:
    found: list[FieldError] = []
    groups = payload.get("validation-errors") if isinstance(payload, dict) else None
    for group in groups if isinstance(groups, list) else []:
        if not isinstance(group, dict):
            continue
        request_id = group.get("request_id")
        for item in group.get("errors") or []:
            if isinstance(item, dict):
                found.append(
                    FieldError(
                        request_id=None if request_id is None else str(request_id),
                        code=str(item.get("code", "")),
                        path=str(item.get("path", "")),
                        detail=str(item.get("detail", "")),
                    )
                )
    return tuple(found)


def looks_like_block(status: int, content_type: str, payload: Any, body: str) -> bool:
    """A 403 that is amoCRM's IP block rather than a rights problem.

    amoCRM documents the block only loosely (*unconfirmed* exact shape): it is an HTML page or a body
    that speaks of a block. A JSON problem without such words is a plain rights problem.
    """
    if status != 403:
        return False
    if payload is None:
        return "json" not in content_type.lower() or bool(body.strip())
    text = json.dumps(payload, ensure_ascii=False).lower()
    return "block" in text or "заблок" in text


def error_from_response(
    status: int,
    headers: Mapping[str, str],
    body: str,
    *,
    method: str,
    path: str,
) -> AmoApiError:
    """The error for one non-2xx response. Pure: no I/O, no clock."""
    payload = parse_json(body)
    request_id = headers.get("X-Request-Id") or headers.get("X-Amocrm-Requestid")
    title = detail = ""
    if isinstance(payload, dict):
        title = str(payload.get("title") or "")
        detail = str(payload.get("detail") or "")
        request_id = request_id or (str(payload["request_id"]) if payload.get("request_id") else None)
    summary = f"{method} {path}: {detail or title or 'HTTP error'}"
    common: dict[str, Any] = {"status": status, "request_id": request_id, "body": body}
    content_type = headers.get("Content-Type", "")
    if status == 400:
        return ValidationError(summary, errors=_field_errors(payload), **common)
    if status == 401:
        return Unauthorized(summary, **common)
    if status == 402:
        return PaymentRequired(summary, **common)
    if status == 403:
        if looks_like_block(status, content_type, payload, body):
            return AccountBlocked(f"{method} {path}: amoCRM blocked this client (403)", **common)
        return Forbidden(summary, **common)
    if status == 404:
        return NotFound(summary, **common)
    if status == 422:
        return Unprocessable(summary, **common)
    if status == 429:
        return RateLimited(summary, retry_after=retry_after_seconds(headers, payload), **common)
    if status >= 500:
        return ServerError(summary, **common)
    return AmoApiError(summary, **common)


_CLIENT_PROBLEM_MARKERS = ("client authentication", "invalid_client", "client not found", "wrong client")
_DEAD_GRANT_MARKERS = (
    "revoked",
    "invalid_grant",
    "expired",
    "decrypt",
    "refresh token",
    "authorization code",
)


def is_revoked_grant(error: AmoApiError) -> bool:
    """The token endpoint refused the grant itself (dead refresh token or code), not our client.

    A refused *client* (wrong ``AMO_CLIENT_ID``/``AMO_CLIENT_SECRET``) is a configuration problem: the
    refresh token may still be good, so it must not be thrown away.
    """
    if not isinstance(error, Unauthorized | ValidationError):
        return False
    text = error.body_excerpt.lower()
    if any(marker in text for marker in _CLIENT_PROBLEM_MARKERS):
        return False
    return isinstance(error, Unauthorized) or any(marker in text for marker in _DEAD_GRANT_MARKERS)
