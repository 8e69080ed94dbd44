"""``POST /webhooks/amocrm/<secret>``: check, store, answer. No API call, no business logic.

1. The secret path segment is compared in constant time; a wrong one gets an empty 404.
2. Bodies over ``WEBHOOK_MAX_BODY_BYTES`` get 413.
3. The body is parsed (pure, total). A body that names another account (``account[id]`` /
   ``account[subdomain]`` against ``AMO_ACCOUNT_ID`` / ``AMO_SUBDOMAIN``) gets 403.
4. One transaction stores the raw delivery and its events (or one ``unparseable`` row); 200.
   A body we cannot read is still answered 200, so amoCRM does not disable the webhook.
5. Only a store that cannot be reached answers 503: amoCRM retries, and nothing is lost.

Log lines carry the ``X-Amocrm-Requestid`` as correlation id and never the secret or the path.
"""

from __future__ import annotations

import hmac
import logging
import time
from typing import Any

from flask import Blueprint, Response, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from amo_bridge.config import AmoSettings
from amo_bridge.events import phpform
from amo_bridge.events.parse import ParsedDelivery, ParseError, as_int, as_text, parse_delivery
from amo_bridge.logs import correlation
from webhooks.state import state

log = logging.getLogger(__name__)
blueprint = Blueprint("receiver", __name__)


def account_of(parsed: ParsedDelivery | ParseError, body: bytes) -> tuple[int | None, str | None]:
    if isinstance(parsed, ParsedDelivery):
        return parsed.account_id, parsed.subdomain
    try:
        account = phpform.decode(body.decode("utf-8")).get("account")
    except UnicodeDecodeError:
        return None, None
    if not isinstance(account, dict):
        return None, None
    return as_int(account.get("id")), as_text(account.get("subdomain"))


def account_allowed(amo: AmoSettings, account_id: int | None, subdomain: str | None, *, strict: bool) -> bool:
    """Nothing configured: any account. Otherwise no given identifier may differ from ours, and
    (``strict``, for readable bodies) at least one configured identifier must be given and match."""
    checks: list[bool] = []
    if amo.account_id is not None and account_id is not None:
        checks.append(account_id == amo.account_id)
    if amo.subdomain and subdomain:
        checks.append(subdomain.strip().lower() == amo.subdomain)
    if amo.account_id is None and not amo.subdomain:
        return True
    if not all(checks):
        return False
    return bool(checks) or not strict


def _empty(status: int) -> Response:
    return Response(b"", status=status)


@blueprint.post("/webhooks/amocrm/<secret>")
def receive(secret: str) -> Any:
    app_state = state()
    started = time.perf_counter()
    metrics = app_state.metrics
    request_id = (request.headers.get("X-Amocrm-Requestid") or "-")[:100]
    metrics.received.inc()
    try:
        with correlation(f"amo-{request_id}"):
            return _receive(secret, app_state)
    finally:
        metrics.ack_seconds.observe(time.perf_counter() - started)


def _receive(secret: str, app_state: Any) -> Any:
    settings = app_state.settings
    metrics = app_state.metrics
    expected = settings.webhooks.secret
    if not expected or not hmac.compare_digest(secret.encode(), expected.reveal().encode()):
        metrics.rejected.labels(reason="secret").inc()
        log.warning("webhook refused: wrong secret (404)")
        return _empty(404)

    limit = settings.webhooks.max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        metrics.rejected.labels(reason="size").inc()
        log.warning(
            "webhook refused: body of %s bytes over the %s limit (413)", request.content_length, limit
        )
        return _empty(413)
    try:
        body = request.get_data(cache=False, parse_form_data=False)
    except RequestEntityTooLarge:
        body = b"x" * (limit + 1)
    if len(body) > limit:
        metrics.rejected.labels(reason="size").inc()
        log.warning("webhook refused: body over the %s byte limit (413)", limit)
        return _empty(413)

    headers = {key: value for key, value in request.headers.items()}
    parsed: ParsedDelivery | ParseError
    try:
        parsed = parse_delivery(body, headers)
    except ParseError as error:
        parsed = error
    account_id, subdomain = account_of(parsed, body)
    strict = isinstance(parsed, ParsedDelivery)
    if not account_allowed(settings.amo, account_id, subdomain, strict=strict):
        metrics.rejected.labels(reason="account").inc()
        log.warning("webhook refused: account %s/%s is not ours (403)", account_id, subdomain)
        return _empty(403)

    try:
        recorded = app_state.inbox.record(body, headers, parsed)
    except Exception:  # the store is down: 503 so that amoCRM delivers again later
        metrics.rejected.labels(reason="store").inc()
        log.exception("webhook NOT stored: store unavailable (503, amoCRM will retry)")
        return _empty(503)

    metrics.stored.inc(0 if recorded.unparseable else recorded.stored)
    metrics.duplicates.inc(recorded.duplicates)
    if isinstance(parsed, ParseError):
        metrics.unparseable.labels(reason=parsed.code).inc()
        log.warning("webhook stored as unparseable (%s): %s", parsed.code, parsed.message)
    else:
        log.info(
            "webhook stored: %d new event(s), %d duplicate(s)%s",
            recorded.stored,
            recorded.duplicates,
            " (redelivered body)" if recorded.duplicate_delivery else "",
        )
    return jsonify(
        ok=True,
        stored=0 if recorded.unparseable else recorded.stored,
        duplicates=recorded.duplicates,
        unparseable=recorded.unparseable,
    )
