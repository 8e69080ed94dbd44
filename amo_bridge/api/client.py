"""The amoCRM API v4 client: one object per process wiring transport, auth, limiter and retries.

Every request: refuse at once while a 403 block is recorded (``amo.blocked_until``), wait for a slot of
the shared limiter, send with the current token, turn any non-2xx into a typed error, refresh once and
replay once on 401, and retry by the call's policy. A 403 block is recorded for every process and never
retried.

Inside :meth:`AmoClient.read_cache` (one webhook handler, say), a GET repeated with the same path and
parameters is answered from the first answer, until the next write: the duplicate check and the
distributor's stickiness read the same contacts once, not twice, out of a 7 requests/second budget.
"""

from __future__ import annotations

import copy
import json as jsonlib
import logging
import random
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import requests

from amo_bridge.api import state
from amo_bridge.api.batching import DEFAULT_CHUNK, BatchResult, run_batch
from amo_bridge.api.errors import AccountBlocked, AmoApiError, Unauthorized, error_from_response, parse_json
from amo_bridge.api.idempotency import IdempotencyKeys, KeyRecord, guarded_create
from amo_bridge.api.oauth import AuthProvider, make_auth
from amo_bridge.api.paging import MAX_LIMIT, iterate
from amo_bridge.api.ratelimit import RateLimiter, make_limiter
from amo_bridge.api.retry import READ, UNSAFE_WRITE, RetryPolicy, retrying
from amo_bridge.api.transport import Transport
from amo_bridge.clock import SYSTEM_CLOCK, Clock
from amo_bridge.config import Settings
from amo_bridge.errors import ConfigError
from amo_bridge.logs import correlation, current_correlation_id, new_correlation_id
from amo_bridge.secrets import Secret
from amo_bridge.store import Store

log = logging.getLogger(__name__)

# The answers of GETs made inside ``read_cache`` in this thread/context: {(client, path, params): body}.
_read_cache: ContextVar[dict[tuple[int, str, str], Any] | None] = ContextVar("amo_read_cache", default=None)


class AmoClient:
    """``AmoClient.from_settings(settings, store)``; resources hang off it: ``client.leads.list()``."""

    def __init__(
        self,
        *,
        settings: Settings,
        store: Store,
        transport: Transport,
        auth: AuthProvider,
        limiter: RateLimiter,
        clock: Clock = SYSTEM_CLOCK,
        rng: random.Random | None = None,
    ) -> None:
        from amo_bridge.api import resources as r

        self.settings = settings
        self.store = store
        self.transport = transport
        self.auth = auth
        self.limiter = limiter
        self.clock = clock
        self.rng = rng or random.Random()
        self.idempotency = IdempotencyKeys(store, clock)
        self.requests_sent = 0
        self.account = r.AccountResource(self)
        self.users = r.UsersResource(self)
        self.pipelines = r.PipelinesResource(self)
        self.leads = r.LeadsResource(self)
        self.unsorted = r.UnsortedResource(self)
        self.contacts = r.ContactsResource(self)
        self.companies = r.CompaniesResource(self)
        self.links = r.LinksResource(self)
        self.tasks = r.TasksResource(self)
        self.events = r.EventsResource(self)
        self.calls = r.CallsResource(self)
        self.catalogs = r.CatalogsResource(self)
        self.notes = r.NotesResource(self)
        self.webhooks = r.WebhooksResource(self)

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        store: Store,
        *,
        clock: Clock = SYSTEM_CLOCK,
        session: requests.Session | None = None,
        limiter: RateLimiter | None = None,
        rng: random.Random | None = None,
    ) -> AmoClient:
        problems = settings.amo.api_problems()
        if problems:
            raise ConfigError(problems)
        amo = settings.amo
        assert amo.api_base_url is not None  # api_problems() checked it
        transport = Transport(
            amo.api_base_url,
            session=session,
            connect_timeout=amo.connect_timeout,
            read_timeout=amo.read_timeout,
        )
        if limiter is None:
            limiter = make_limiter(
                amo.rate_limit, store, clock=clock, redis_url=settings.store.redis_url, burst=amo.rate_burst
            )
        auth = make_auth(settings, store, transport, clock=clock, limiter=limiter, rng=rng)
        return cls(
            settings=settings,
            store=store,
            transport=transport,
            auth=auth,
            limiter=limiter,
            clock=clock,
            rng=rng,
        )

    # -- one request -------------------------------------------------------------------------

    def _api_base(self) -> str | None:
        """``https://{api_domain}`` from the token, unless AMO_BASE_URL pins the server."""
        if self.settings.amo.base_url:
            return None
        domain = self.auth.api_domain()
        return f"https://{domain}" if domain else None

    def _check_block(self) -> None:
        until = state.blocked_until(self.store)
        if until is not None:
            raise AccountBlocked(
                f"amoCRM blocked this client; no calls until {until:.0f} "
                f"({until - self.clock.now():.0f} s left)",
                blocked_until=until,
            )

    def _send(self, method: str, path: str, params: Any, json: Any, token: Secret) -> Any:
        self._check_block()
        self.limiter.acquire()
        self.requests_sent += 1
        response = self.transport.send(
            method,
            path,
            params=params,
            json=json,
            headers={"Authorization": f"Bearer {token.reveal()}"},
            base_url=self._api_base(),
        )
        if response.status == 204:
            return None
        if 200 <= response.status < 300:
            return parse_json(response.text)
        error = error_from_response(
            response.status, response.headers, response.text, method=method, path=path
        )
        if isinstance(error, AccountBlocked):
            error.blocked_until = state.mark_blocked(self.store, self.settings.amo.block_cooldown)
        raise error

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        policy: RetryPolicy = READ,
    ) -> Any:
        """Parsed JSON body (``None`` for 204), or a typed :class:`AmoApiError`."""
        cache = _read_cache.get()
        if cache is None:
            return self._correlated(method, path, params, json, policy)
        if method != "GET":
            cache.clear()  # a write may change what any earlier read said
            return self._correlated(method, path, params, json, policy)
        key = (id(self), path, jsonlib.dumps(params, sort_keys=True, default=str))
        if key not in cache:
            cache[key] = self._correlated(method, path, params, json, policy)
        return copy.deepcopy(cache[key])

    @contextmanager
    def read_cache(self) -> Iterator[None]:
        """Answer repeated identical GETs in this block from the first answer, until the next write.

        For one unit of work that reads before it decides (a webhook handler): the entity is read
        fresh when the block starts, and the parts that consult it share one read. Per thread."""
        token = _read_cache.set({})
        try:
            yield
        finally:
            _read_cache.reset(token)

    def _correlated(self, method: str, path: str, params: Any, json: Any, policy: RetryPolicy) -> Any:
        if current_correlation_id() == "-":
            with correlation(new_correlation_id("api-")):
                return self._request(method, path, params, json, policy)
        return self._request(method, path, params, json, policy)

    def _request(self, method: str, path: str, params: Any, json: Any, policy: RetryPolicy) -> Any:
        replayed = False

        def attempt() -> Any:
            nonlocal replayed
            token = self.auth.access_token()
            try:
                return self._send(method, path, params, json, token)
            except Unauthorized:
                if replayed:
                    raise
                replayed = True
                log.info(
                    "amoCRM answered 401 to %s %s; refreshing the token and replaying once", method, path
                )
                fresh = self.auth.after_unauthorized(token)
                return self._send(method, path, params, json, fresh)

        controller = retrying(
            policy, max_retries=self.settings.amo.max_retries, sleep=self.clock.sleep, rng=self.rng
        )
        return controller(attempt)

    # -- helpers for resources ---------------------------------------------------------------

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return self.request("GET", path, params=params)

    def paginate(
        self,
        path: str,
        key: str,
        params: Mapping[str, Any] | None = None,
        *,
        limit: int = MAX_LIMIT,
        max_pages: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        return iterate(
            lambda where, query: self.get(where, query), path, key, params, limit=limit, max_pages=max_pages
        )

    def batch(
        self,
        method: str,
        path: str,
        key: str,
        items: Sequence[dict[str, Any]],
        *,
        chunk_size: int = DEFAULT_CHUNK,
        policy: RetryPolicy = UNSAFE_WRITE,
    ) -> BatchResult:
        return run_batch(
            lambda payload: self.request(method, path, json=payload, policy=policy),
            items,
            key,
            chunk_size=chunk_size,
        )

    def create_once(
        self,
        key: str,
        operation: str,
        create: Callable[[], int],
        lookup: Callable[[KeyRecord], int | None] | None = None,
    ) -> int:
        """Run one creating call effectively once under idempotency ``key`` (see :mod:`.idempotency`)."""
        return guarded_create(
            self.idempotency,
            key,
            operation,
            create,
            lookup,
            max_retries=self.settings.amo.max_retries,
            sleep=self.clock.sleep,
        )

    def close(self) -> None:
        self.transport.close()


__all__ = ["AmoApiError", "AmoClient"]
