"""``/api/v4/leads/unsorted``: list, accept, decline, link (attach to an existing lead)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import quote

from amo_bridge.api.models import UnsortedEntry
from amo_bridge.api.resources.base import Resource, id_filter
from amo_bridge.api.retry import READ

UNSORTED = "/api/v4/leads/unsorted"


def _uid(uid: str) -> str:
    return quote(str(uid), safe="")


class UnsortedResource(Resource):
    def list(
        self,
        *,
        categories: Iterable[str] | None = None,
        pipeline_id: int | None = None,
        limit: int = 250,
    ) -> Iterator[UnsortedEntry]:
        params: dict[str, Any] = {}
        if categories:
            params["filter[category][]"] = list(categories)
        if pipeline_id is not None:
            params["filter[pipeline_id]"] = int(pipeline_id)
        rows = self._client.paginate(UNSORTED, "unsorted", params, limit=limit)
        return (UnsortedEntry.from_api(row) for row in rows)

    def get(self, uid: str) -> UnsortedEntry:
        return UnsortedEntry.from_api(self._client.get(f"{UNSORTED}/{_uid(uid)}") or {})

    # Accept/decline/link act on one entry by uid; repeating one that succeeded fails with a 4xx and
    # never creates anything twice, so they are retried like reads.

    def accept(self, uid: str, *, user_id: int | None = None, status_id: int | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if user_id is not None:
            body["user_id"] = int(user_id)
        if status_id is not None:
            body["status_id"] = int(status_id)
        return dict(
            self._client.request("POST", f"{UNSORTED}/{_uid(uid)}/accept", json=body, policy=READ) or {}
        )

    def decline(self, uid: str, *, user_id: int | None = None) -> dict[str, Any]:
        body = {"user_id": int(user_id)} if user_id is not None else {}
        return dict(
            self._client.request("DELETE", f"{UNSORTED}/{_uid(uid)}/decline", json=body, policy=READ) or {}
        )

    def link(self, uid: str, *, lead_id: int, user_id: int | None = None) -> dict[str, Any]:
        """Attach the entry to an existing lead (the "merge duplicate" outcome)."""
        body: dict[str, Any] = {"link": {"entity_id": int(lead_id), "entity_type": "leads"}}
        if user_id is not None:
            body["user_id"] = int(user_id)
        return dict(
            self._client.request("POST", f"{UNSORTED}/{_uid(uid)}/link", json=body, policy=READ) or {}
        )

    def summary(self, *, pipeline_ids: Iterable[int] | None = None) -> dict[str, Any]:
        return dict(self._client.get(f"{UNSORTED}/summary", id_filter("pipeline_id", pipeline_ids)) or {})
