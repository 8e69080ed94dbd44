"""``POST /oauth2/access_token``: authorization codes and rotating refresh tokens."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Flask, Response, request

from amo_bridge.sandbox import http
from amo_bridge.sandbox.auth import OAuthProblem
from amo_bridge.sandbox.core import Sandbox


def register(app: Flask, sandbox: Sandbox) -> None:
    @app.get("/oauth")
    def authorize() -> Response:
        """The consent page, approved at once: redirect to the integration's redirect URI with
        ``code``, ``state``, ``referer`` and ``client_id``, as amoCRM does after "Allow"."""
        client_id = request.args.get("client_id", "")
        integration = sandbox.auth.integrations.get(client_id)
        if integration is None or not integration.redirect_uri:
            return http.problem(400, "Bad Request", "Unknown client_id or no redirect URI registered")
        query = {
            "code": sandbox.auth.issue_code(client_id),
            "state": request.args.get("state", ""),
            "referer": f"{sandbox.config.subdomain}.amocrm.ru",
            "platform": "1",
            "client_id": client_id,
        }
        return Response(status=302, headers={"Location": f"{integration.redirect_uri}?{urlencode(query)}"})

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
