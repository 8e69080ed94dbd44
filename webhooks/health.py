"""``GET /healthz`` (200 when the store answers, 503 when not) and ``GET /metrics`` (Prometheus)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy.exc import SQLAlchemyError

from amo_bridge.errors import StoreError
from webhooks.metrics import exposition
from webhooks.state import state

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
def healthz() -> Any:
    app_state = state()
    store = app_state.store
    now = app_state.clock.now()
    try:
        store.ping()
    except StoreError as error:
        return jsonify(ok=False, store="unreachable", error=str(error)), 503
    try:
        integration = store.kv.get("amo.integration") or {"state": "unknown"}
        blocked_until = store.kv.get("amo.blocked_until")
        stats = app_state.inbox.stats()
    except SQLAlchemyError as error:  # the store answered ping but not the queries
        return jsonify(ok=False, store="error", error=error.__class__.__name__), 503
    blocked = isinstance(blocked_until, (int, float)) and blocked_until > now
    return jsonify(
        ok=True,
        store="ok",
        integration=integration,
        blocked_until=blocked_until if blocked else None,
        queue={
            "depth": stats.depth,
            "by_state": dict(stats.by_state),
            "oldest_unprocessed_age_seconds": stats.oldest_unprocessed_age,
        },
    )


@blueprint.get("/metrics")
def metrics() -> Any:
    registry = state().metrics.registry
    return Response(exposition(registry), mimetype=CONTENT_TYPE_LATEST)
