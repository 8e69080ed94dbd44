"""``/api/v4/webhooks``: which of our URLs amoCRM posts events to."""

from __future__ import annotations

from collections.abc import Iterable

from amo_bridge.api.models import WebhookSubscription
from amo_bridge.api.paging import embedded
from amo_bridge.api.resources.base import Resource
from amo_bridge.api.retry import READ

WEBHOOKS = "/api/v4/webhooks"


class WebhooksResource(Resource):
    def list(self, *, destination: str | None = None) -> list[WebhookSubscription]:
        params = {"filter[destination]": destination} if destination else None
        body = self._client.get(WEBHOOKS, params)
        return [WebhookSubscription.from_api(row) for row in embedded(body, "webhooks")]

    # Subscribing the same destination again replaces its settings: idempotent, retried like a read.
    def subscribe(self, destination: str, settings: Iterable[str]) -> WebhookSubscription:
        body = {"destination": destination, "settings": list(settings)}
        answer = self._client.request("POST", WEBHOOKS, json=body, policy=READ)
        return WebhookSubscription.from_api(answer or body)

    def unsubscribe(self, destination: str) -> None:
        self._client.request("DELETE", WEBHOOKS, json={"destination": destination}, policy=READ)
