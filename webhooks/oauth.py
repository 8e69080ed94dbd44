"""The integration's OAuth edges: ``GET /oauth/callback`` and the uninstall hook ``GET /oauth/disconnect``.

Uninstall hook: when an account removes the integration, amoCRM calls this URL with
``account_id``, ``client_uuid`` and ``signature`` = hex HMAC-SHA256 of ``"{client_uuid}|{account_id}"``
keyed with the integration's secret (``AMO_CLIENT_SECRET``), as in amoCRM's developer docs
(PHP: ``hash_hmac('sha256', $clientId . '|' . $accountId, $clientSecret)``). The format is
checked defensively: a bad or missing signature, another integration or another account -> 403.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from typing import Any

from flask import Blueprint, Response, jsonify, request

from amo_bridge.api import oauth
from amo_bridge.errors import AmoBridgeError
from amo_bridge.events.parse import as_int
from webhooks.state import state

log = logging.getLogger(__name__)
blueprint = Blueprint("oauth", __name__)


def disconnect_signature(client_uuid: str, account_id: str, client_secret: str) -> str:
    message = f"{client_uuid}|{account_id}".encode()
    return hmac.new(client_secret.encode(), message, hashlib.sha256).hexdigest()


def signature_valid(client_uuid: str, account_id: str, signature: str, client_secret: str) -> bool:
    expected = disconnect_signature(client_uuid, account_id, client_secret)
    return hmac.compare_digest(expected.encode(), signature.strip().lower().encode())


@blueprint.get("/oauth/disconnect")
def disconnect() -> Any:
    app_state = state()
    amo = app_state.settings.amo
    account_id = request.args.get("account_id", "")
    client_uuid = request.args.get("client_uuid", "")
    signature = request.args.get("signature", "")
    if not amo.client_secret:
        log.error("uninstall hook called but AMO_CLIENT_SECRET is not set: cannot verify (503)")
        return Response(b"", status=503)
    if (
        not account_id
        or not client_uuid
        or not signature_valid(client_uuid, account_id, signature, amo.client_secret.reveal())
        or (amo.client_id and client_uuid != amo.client_id)
        or (amo.account_id is not None and as_int(account_id) != amo.account_id)
    ):
        log.warning("uninstall hook refused: bad signature, integration or account (403)")
        return Response(b"", status=403)

    reason = f"integration removed by account {as_int(account_id)}"
    oauth.disconnect(app_state.store, reason)
    log.warning("integration disconnected: %s", reason)
    return jsonify(ok=True, state="disconnected")


@blueprint.get("/oauth/callback")
def callback() -> Any:
    app_state = state()
    code = request.args.get("code", "")
    referer = request.args.get("referer") or None
    if not code:
        return Response(b"missing ?code=\n", status=400)
    try:
        oauth.exchange_code(app_state.settings, app_state.store, code, referer=referer, clock=app_state.clock)
    except AmoBridgeError as error:
        log.error("OAuth code exchange failed: %s", error)
        return Response(f"OAuth code exchange failed: {error}\n".encode(), status=502)
    log.info("OAuth: integration connected (referer %s)", referer)
    return Response(b"amo-bridge is connected to amoCRM. You may close this page.\n", status=200)
