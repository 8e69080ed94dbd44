"""``/api/v4/events``: the history amoCRM keeps (100 per page), filtered by type and date."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from amo_bridge.api.models import Event
from amo_bridge.api.resources.base import Resource, id_filter, range_filter

EVENTS = "/api/v4/events"
EVENTS_PAGE_LIMIT = 100


class EventsResource(Resource):
    def list(
        self,
        *,
        types: Iterable[str] | None = None,
        created_from: int | None = None,
        created_to: int | None = None,
        entity_type: str | None = None,
        entity_ids: Iterable[int] | None = None,
        created_by: Iterable[int] | None = None,
    ) -> Iterator[Event]:
        params: dict[str, Any] = {
            **range_filter("created_at", created_from, created_to),
            **id_filter("entity_id", entity_ids),
            **id_filter("created_by", created_by),
        }
        if types:
            params["filter[type]"] = ",".join(types)
        if entity_type:
            params["filter[entity]"] = entity_type
        rows = self._client.paginate(EVENTS, "events", params, limit=EVENTS_PAGE_LIMIT)
        return (Event.from_api(row) for row in rows)
