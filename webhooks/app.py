"""The Flask application factory: a thin edge over ``amo_bridge`` (inbox, events, store)."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response
from prometheus_client import CollectorRegistry

from amo_bridge.clock import SYSTEM_CLOCK, Clock
from amo_bridge.config import Settings
from amo_bridge.inbox import Backoff, Inbox
from amo_bridge.store import Store
from webhooks import health, oauth, receiver
from webhooks.metrics import QueueCollector, ReceiverMetrics
from webhooks.state import EXTENSION, ReceiverState


def create_app(
    settings: Settings,
    store: Store | None = None,
    *,
    clock: Clock = SYSTEM_CLOCK,
    registry: CollectorRegistry | None = None,
) -> Flask:
    """Build the receiver. ``store`` defaults to ``DATABASE_URL`` (not migrated here: the
    ``serve`` command and ``webhooks.wsgi`` migrate before serving)."""
    store = store or Store(settings.store.database_url, clock=clock)
    inbox = Inbox(
        store,
        clock=clock,
        lease_seconds=settings.worker.lease_seconds,
        max_attempts=settings.worker.max_attempts,
        backoff=Backoff(base=settings.worker.retry_base, cap=settings.worker.retry_cap),
    )
    registry = registry or CollectorRegistry()
    metrics = ReceiverMetrics(registry)
    registry.register(QueueCollector(inbox))

    app = Flask("amo_bridge_webhooks")
    # Werkzeug refuses bigger bodies while reading; the receiver answers 413 itself before that.
    app.config["MAX_CONTENT_LENGTH"] = settings.webhooks.max_body_bytes + 1
    app.extensions[EXTENSION] = ReceiverState(settings, store, inbox, clock, metrics)
    app.register_blueprint(receiver.blueprint)
    app.register_blueprint(oauth.blueprint)
    app.register_blueprint(health.blueprint)
    _register_dashboard(app, settings, store, clock)

    @app.errorhandler(404)
    @app.errorhandler(405)
    def _no_detail(error: Any) -> Response:
        return Response(b"", status=getattr(error, "code", 404))

    @app.errorhandler(413)
    def _too_large(_error: Any) -> Response:
        return Response(b"", status=413)

    return app


def _register_dashboard(app: Flask, settings: Settings, store: Store, clock: Clock) -> None:
    """``/widget/``: the KPI dashboard over the KPI history and the distributor (docs/widget.md)."""
    from amo_bridge.widget.live import LiveDashboard
    from webhooks.widget import register_widget

    live = LiveDashboard(settings, store, clock=clock)
    register_widget(app, settings, store, live, live, clock=clock)
