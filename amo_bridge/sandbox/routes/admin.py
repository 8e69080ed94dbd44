"""``/_sandbox/...``: the admin API over HTTP (no auth, no limits, not in the request log)."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, request

from amo_bridge.sandbox import http
from amo_bridge.sandbox.admin import STATE_KINDS, SandboxAdmin
from amo_bridge.sandbox.auth import OAuthProblem
from amo_bridge.sandbox.core import Sandbox


def _body() -> dict[str, Any]:
    if not request.get_data(cache=True):
        return {}
    body = http.json_body()
    if not isinstance(body, dict):
        raise http.BadRequest(http.problem(400, "Bad Request", "Request body must be an object"))
    return body


def ok(data: Any, status: int = 200) -> Response:
    return http.json_response(data, status, "application/json")


def register(app: Flask, sandbox: Sandbox) -> None:
    admin = SandboxAdmin(sandbox)
    app.extensions["amo_sandbox_admin"] = admin

    @app.get("/_sandbox/info")
    def info() -> Response:
        return ok(admin.info())

    @app.post("/_sandbox/reset")
    def reset() -> Response:
        seed = _body().get("seed")
        admin.reset(int(seed) if seed is not None else None)
        return ok(admin.info())

    @app.get("/_sandbox/state/<kind>")
    def state(kind: str) -> Response:
        if kind not in STATE_KINDS:
            return http.problem(404, "Not Found", f"kinds: {', '.join(STATE_KINDS)}")
        return ok(admin.state(kind))

    @app.get("/_sandbox/clock")
    def clock() -> Response:
        return ok({"now": sandbox.clock.now(), "wall": sandbox.clock.wall(), "speed": sandbox.clock.speed})

    @app.post("/_sandbox/clock/advance")
    def advance() -> Response:
        try:
            seconds = float(_body().get("seconds", 0))
            now = admin.advance(seconds)
        except (TypeError, ValueError) as exc:
            return http.problem(400, "Bad Request", str(exc))
        return ok({"now": now, "wall": sandbox.clock.wall()})

    @app.get("/_sandbox/requests")
    def requests_log() -> Response:
        return ok(admin.requests())

    @app.delete("/_sandbox/requests")
    def clear_requests() -> Response:
        admin.clear_requests()
        return Response(status=204)

    @app.get("/_sandbox/faults")
    def faults() -> Response:
        return ok(admin.faults())

    @app.post("/_sandbox/faults")
    def set_faults() -> Response:
        try:
            return ok(admin.set_faults(**_body()))
        except (TypeError, ValueError) as exc:
            return http.problem(400, "Bad Request", str(exc))

    @app.post("/_sandbox/faults/expire-token")
    def expire_token() -> Response:
        token = _body().get("token")
        return ok({"expired": admin.expire_token(str(token) if token else None)})

    @app.post("/_sandbox/block")
    def block() -> Response:
        admin.block(float(_body().get("seconds", 0)))
        return ok(admin.faults())

    @app.delete("/_sandbox/block")
    def lift() -> Response:
        admin.lift_block()
        return ok(admin.faults())

    @app.post("/_sandbox/oauth/code")
    def code() -> Response:
        body = _body()
        try:
            value = admin.issue_code(body.get("client_id"))
        except OAuthProblem as refused:
            return http.problem(400, "Bad Request", refused.detail)
        redirect = sandbox.config.redirect_uri
        referer = f"{sandbox.config.subdomain}.amocrm.ru"
        state_value = str(body.get("state", ""))
        location = f"{redirect}?code={value}&state={state_value}&referer={referer}" if redirect else None
        return ok(
            {
                "code": value,
                "state": state_value,
                "referer": referer,
                "redirect": location,
                "expires_in": 1200,
            }
        )

    @app.get("/_sandbox/webhooks/deliveries")
    def deliveries() -> Response:
        return ok(admin.deliveries(request.args.get("state")))

    @app.post("/_sandbox/webhooks/run")
    def run_webhooks() -> Response:
        return ok({"attempts": admin.run_webhooks()})

    @app.get("/_sandbox/ground-truth")
    def ground_truth() -> Response:
        return ok(admin.ground_truth())
