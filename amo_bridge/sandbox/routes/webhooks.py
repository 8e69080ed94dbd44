"""Webhook subscriptions: ``GET``/``POST``/``DELETE /api/v4/webhooks``."""

from __future__ import annotations

from flask import Flask, Response

from amo_bridge.sandbox import http
from amo_bridge.sandbox.core import Sandbox
from amo_bridge.sandbox.problems import error
from amo_bridge.sandbox.routes.common import actor, args, filters

KNOWN_SETTINGS = {
    f"{action}_{entity}"
    for entity in ("lead", "contact", "company", "customer", "task")
    for action in ("add", "update", "delete", "restore", "status", "responsible", "note")
} | {
    "add_unsorted",
    "update_unsorted",
    "delete_unsorted",
    "add_talk",
    "update_talk",
    "add_message",
    "add_chat_template_review",
    "note_lead",
    "note_contact",
    "note_company",
    "note_customer",
}


def register(app: Flask, sandbox: Sandbox) -> None:
    state = sandbox.state

    @app.get("/api/v4/webhooks")
    def list_webhooks() -> Response:
        params = args()
        flt = filters(params)
        items = sorted(state.webhooks.values(), key=lambda w: w["id"])
        if "destination" in flt:
            items = [w for w in items if w["destination"] == flt["destination"]]
        if not items:
            return Response(status=204)
        return http.json_response(
            {"_total_items": len(items), "_embedded": {"webhooks": [dict(w) for w in items]}}
        )

    @app.post("/api/v4/webhooks")
    def subscribe() -> Response:
        body = http.json_body()
        if not isinstance(body, dict):
            return http.problem(400, "Bad Request", "Request body must be an object")
        destination = body.get("destination")
        settings = body.get("settings")
        problems = []
        if not isinstance(destination, str) or not destination.startswith(("http://", "https://")):
            problems.append(error("InvalidUrl", "destination", "This value is not a valid URL."))
        if not isinstance(settings, list) or not settings or any(s not in KNOWN_SETTINGS for s in settings):
            problems.append(
                error("NotSupportedChoice", "settings", "The value you selected is not a valid choice.")
            )
        if problems:
            return http.validation_error([(0, problems)])
        assert isinstance(destination, str)
        assert isinstance(settings, list)
        sort = body.get("sort", 1)
        record = state.subscribe(
            destination, list(settings), by=actor(), sort=sort if isinstance(sort, int) else 1
        )
        return http.json_response(dict(record), 201)

    @app.delete("/api/v4/webhooks")
    def unsubscribe() -> Response:
        body = http.json_body()
        destination = body.get("destination") if isinstance(body, dict) else None
        with state.lock:
            match = [w for w in state.webhooks.values() if w["destination"] == destination]
            if not match:
                return http.validation_error([(0, [error("NotFound", "destination", "Webhook not found.")])])
            for record in match:
                del state.webhooks[record["id"]]
        return Response(status=204)
