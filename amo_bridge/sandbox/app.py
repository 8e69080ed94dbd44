"""The sandbox as a Flask app: amoCRM's request pipeline (IP block, faults, OAuth, 7 rps) in front of
the API routes, the admin API under ``/_sandbox/`` outside of it, and the request log."""

from __future__ import annotations

import contextlib
import socket
import time
from typing import Any

from flask import Flask, Response, g, request

from amo_bridge.clock import Clock
from amo_bridge.sandbox import http
from amo_bridge.sandbox.auth import OAuthProblem
from amo_bridge.sandbox.core import Sandbox, SandboxConfig
from amo_bridge.sandbox.hooks.delivery import Transport, requests_transport
from amo_bridge.sandbox.routes import account, admin, entities, leads, oauth, unsorted, webhooks

ADMIN_PREFIX = "/_sandbox"


def create_app(
    seed: int = 1,
    clock: Clock | None = None,
    *,
    transport: Transport = requests_transport,
    **options: Any,
) -> Flask:
    """A sandbox Flask app; ``options`` are :class:`SandboxConfig` fields. ``sandbox_of(app)`` gives the
    :class:`Sandbox` behind it."""
    config = SandboxConfig(seed=seed, **options)
    sandbox = (
        Sandbox(config, clock=clock, transport=transport) if clock else Sandbox(config, transport=transport)
    )
    return build_app(sandbox)


def sandbox_of(app: Flask) -> Sandbox:
    sandbox = app.extensions["amo_sandbox"]
    assert isinstance(sandbox, Sandbox)
    return sandbox


def build_app(sandbox: Sandbox) -> Flask:
    app = Flask("amo_bridge.sandbox")
    app.extensions["amo_sandbox"] = sandbox
    app.json.ensure_ascii = False  # type: ignore[attr-defined]

    @app.before_request
    def pipeline() -> Response | None:
        g.started = time.monotonic()
        if request.path.startswith(ADMIN_PREFIX):
            return None
        if sandbox.limiter.is_blocked(sandbox.clock.wall()):
            return http.blocked()
        if sandbox.roll(sandbox.faults.drop_rate):
            drop_connection()
            g.dropped = True
            return Response(status=500)
        if sandbox.faults.latency > 0:
            sandbox.clock.sleep(sandbox.faults.latency)
        if sandbox.roll(sandbox.faults.error_rate):
            return http.server_error(sandbox.fault_rng.choice([500, 502, 503, 504]))
        if request.path.startswith("/oauth"):
            return None
        try:
            identity = sandbox.auth.identify(request.headers.get("Authorization"))
        except OAuthProblem as refused:
            return http.unauthorized(refused.detail)
        g.identity = identity
        wait = (
            1.0
            if sandbox.take_forced_429()
            else sandbox.limiter.admit(identity.client_id, sandbox.clock.monotonic())
        )
        if wait is not None:
            if sandbox.limiter.is_blocked(sandbox.clock.wall()):
                return http.blocked()
            if sandbox.roll(sandbox.faults.html_429_rate):
                return http.too_many_html()
            return http.too_many(wait)
        return None

    @app.after_request
    def record(response: Response) -> Response:
        if not request.path.startswith(ADMIN_PREFIX):
            sandbox.request_log.append(
                {
                    "method": request.method,
                    "path": request.path,
                    "query": request.query_string.decode("latin-1"),
                    "status": None if g.get("dropped") else response.status_code,
                    "timestamp": sandbox.clock.wall(),
                    "business_time": sandbox.clock.now(),
                    "client_id": g.identity.client_id if "identity" in g else None,
                }
            )
        return response

    @app.errorhandler(http.BadRequest)
    def bad_request(exc: http.BadRequest) -> Response:
        return exc.response

    @app.errorhandler(404)
    def not_found(_: Exception) -> Response:
        return http.problem(404, "Not Found", "Not Found")

    @app.errorhandler(405)
    def not_allowed(_: Exception) -> Response:
        return http.problem(405, "Method Not Allowed", "Method Not Allowed")

    for module in (oauth, account, leads, unsorted, entities, webhooks, admin):
        module.register(app, sandbox)
    return app


def drop_connection() -> None:
    """Close the client's socket without an answer (a "dropped connection" fault)."""
    sock = request.environ.get("werkzeug.socket")
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
