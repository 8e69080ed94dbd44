"""Retry policy as data: one tenacity policy per kind of call, all defined here.

- ``READ``: GET, and writes idempotent by nature (PATCH of fields, accept/decline, link, subscribe).
  Retried on connection errors, 429 and 5xx.
- ``GUARDED_WRITE``: creates made idempotent by a stored key and a lookup (:mod:`.idempotency`).
  Retried like READ.
- ``UNSAFE_WRITE``: creates without a guard (batch POST). Retried on 429 and on connection errors that
  surely never reached amoCRM.
- ``TOKEN_REFRESH``: the OAuth token endpoint (a rotated refresh token must not be sent twice).
  Retried on 429, 5xx and connections never made.
- ``SINGLE``: one attempt; the caller decides (the guarded-create loop).

Never retried: 400, 402, 403 (a block above all), 404, 422; 401 is handled by the client (refresh once,
replay once). A 429's ``retry_after`` / ``Retry-After`` is honoured up to ``MAX_HONOURED_RETRY_AFTER``
seconds; a longer hint ends the retries. Backoff is exponential with full jitter; sleep and randomness
are injected so tests never wait.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass

import tenacity

from amo_bridge.api.errors import AccountBlocked, ApiConnectionError, RateLimited, ServerError

log = logging.getLogger(__name__)

MAX_HONOURED_RETRY_AFTER = 120.0


def _rate_limited_within_bounds(exc: BaseException) -> bool:
    return isinstance(exc, RateLimited) and (
        exc.retry_after is None or exc.retry_after <= MAX_HONOURED_RETRY_AFTER
    )


def retry_read(exc: BaseException) -> bool:
    if isinstance(exc, AccountBlocked):
        return False
    return _rate_limited_within_bounds(exc) or isinstance(exc, ServerError | ApiConnectionError)


def retry_unsafe_write(exc: BaseException) -> bool:
    return _rate_limited_within_bounds(exc) or (isinstance(exc, ApiConnectionError) and not exc.maybe_sent)


def retry_token_refresh(exc: BaseException) -> bool:
    return (
        _rate_limited_within_bounds(exc)
        or isinstance(exc, ServerError)
        or (isinstance(exc, ApiConnectionError) and not exc.maybe_sent)
    )


def retry_never(exc: BaseException) -> bool:
    return False


@dataclass(frozen=True)
class RetryPolicy:
    name: str
    retry_on: Callable[[BaseException], bool]
    max_attempts: int | None = None  # None: AMO_MAX_RETRIES + 1
    base_delay: float = 0.5
    max_delay: float = 30.0


READ = RetryPolicy("read", retry_read)
GUARDED_WRITE = RetryPolicy("guarded_write", retry_read)
UNSAFE_WRITE = RetryPolicy("unsafe_write", retry_unsafe_write)
TOKEN_REFRESH = RetryPolicy("token_refresh", retry_token_refresh, max_attempts=3)
SINGLE = RetryPolicy("single", retry_never, max_attempts=1)

POLICIES = {p.name: p for p in (READ, GUARDED_WRITE, UNSAFE_WRITE, TOKEN_REFRESH, SINGLE)}


def backoff(policy: RetryPolicy, attempt: int, exc: BaseException | None, rng: random.Random) -> float:
    """Seconds to wait before attempt ``attempt + 1``: the server's hint, else jittered exponential."""
    if isinstance(exc, RateLimited) and exc.retry_after is not None:
        return exc.retry_after
    ceiling = min(policy.max_delay, policy.base_delay * 2 ** (attempt - 1))
    return rng.uniform(ceiling / 2, ceiling)


def retrying(
    policy: RetryPolicy,
    *,
    max_retries: int,
    sleep: Callable[[float], None],
    rng: random.Random | None = None,
) -> tenacity.Retrying:
    """A tenacity controller for ``policy``: ``retrying(...)(fn)`` runs ``fn`` with the retries."""
    attempts = policy.max_attempts if policy.max_attempts is not None else max_retries + 1
    generator = rng or random.Random()

    def wait(state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        return backoff(policy, state.attempt_number, exc, generator)

    def before_sleep(state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        log.warning(
            "amoCRM call failed (%s), retry %d/%d in %.2fs [policy %s]",
            exc.__class__.__name__,
            state.attempt_number,
            attempts - 1,
            state.upcoming_sleep,
            policy.name,
        )

    return tenacity.Retrying(
        stop=tenacity.stop_after_attempt(max(1, attempts)),
        wait=wait,
        retry=tenacity.retry_if_exception(policy.retry_on),
        sleep=sleep,
        before_sleep=before_sleep,
        reraise=True,
    )
