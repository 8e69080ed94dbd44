"""``POST /oauth2/access_token``: authorization codes and rotating refresh tokens."""

from __future__ import annotations

from flask import Flask, Response, request

from amo_bridge.sandbox import http
from amo_bridge.sandbox.auth import OAuthProblem
from amo_bridge.sandbox.core import Sandbox


def register(app: Flask, sandbox: Sandbox) -> None:
    @app.post("/oauth2/access_token")
    def access_token() -> Response:
        if request.mimetype == "application/json":
            body = http.json_body()
            if not isinstance(body, dict):
                return http.problem(400, "Bad Request", "Request body must be an object")
        else:
            body = request.form.to_dict()
        try:
            tokens = sandbox.auth.exchange(body)
        except OAuthProblem as refused:
            title = "Unauthorized" if refused.status == 401 else "Bad Request"
            extra = {"hint": refused.hint} if refused.hint else {}
            return http.problem(refused.status, title, refused.detail, **extra)
        return http.json_response(tokens, 200, "application/json")
