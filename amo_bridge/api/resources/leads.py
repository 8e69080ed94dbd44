"""``/api/v4/leads``: get, list with filters, create, update (single and batch)."""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from amo_bridge.api.batching import DEFAULT_CHUNK, BatchResult
from amo_bridge.api.idempotency import KeyRecord
from amo_bridge.api.models import LOST_STATUS_ID, WON_STATUS_ID, Lead
from amo_bridge.api.paging import embedded
from amo_bridge.api.resources.base import Resource, first_embedded, id_filter, range_filter, with_param
from amo_bridge.api.retry import READ, SINGLE, UNSAFE_WRITE

LEADS = "/api/v4/leads"


def status_filter(statuses: Iterable[tuple[int, int]]) -> dict[str, Any]:
    """``filter[statuses][i][pipeline_id]`` / ``[status_id]`` for (pipeline_id, status_id) pairs."""
    params: dict[str, Any] = {}
    for i, (pipeline_id, status_id) in enumerate(statuses):
        params[f"filter[statuses][{i}][pipeline_id]"] = int(pipeline_id)
        params[f"filter[statuses][{i}][status_id]"] = int(status_id)
    return params


def status_change(lead_id: int, *, pipeline_id: int, status_id: int, **fields: Any) -> dict[str, Any]:
    """A PATCH item moving a lead; ``pipeline_id`` is always sent (required with 142/143)."""
    return {"id": int(lead_id), "pipeline_id": int(pipeline_id), "status_id": int(status_id), **fields}


class LeadsResource(Resource):
    def get(self, lead_id: int, *, with_: Sequence[str] = ("contacts",)) -> Lead:
        return Lead.from_api(self._client.get(f"{LEADS}/{int(lead_id)}", with_param(with_)) or {})

    def list(
        self,
        *,
        ids: Iterable[int] | None = None,
        statuses: Iterable[tuple[int, int]] | None = None,
        pipeline_ids: Iterable[int] | None = None,
        responsible_user_ids: Iterable[int] | None = None,
        updated_from: int | None = None,
        updated_to: int | None = None,
        created_from: int | None = None,
        created_to: int | None = None,
        query: str | None = None,
        with_: Sequence[str] = (),
        order: Mapping[str, str] | None = None,
        limit: int = 250,
    ) -> Iterator[Lead]:
        params: dict[str, Any] = {
            **id_filter("id", ids),
            **status_filter(statuses or ()),
            **id_filter("pipeline_id", pipeline_ids),
            **id_filter("responsible_user_id", responsible_user_ids),
            **range_filter("updated_at", updated_from, updated_to),
            **range_filter("created_at", created_from, created_to),
            **with_param(with_),
        }
        if query:
            params["query"] = query
        for field, direction in (order or {}).items():
            params[f"order[{field}]"] = direction
        return (Lead.from_api(row) for row in self._client.paginate(LEADS, "leads", params, limit=limit))

    def create(self, lead: Mapping[str, Any], *, idempotency_key: str | None = None) -> int:
        """Create one lead; returns its id. With ``idempotency_key`` it is safe to call again."""
        payload = dict(lead)

        def create() -> int:
            policy = SINGLE if idempotency_key else UNSAFE_WRITE
            body = self._client.request("POST", LEADS, json=[payload], policy=policy)
            return int(first_embedded(body, "leads")["id"])

        if idempotency_key is None:
            return create()

        def lookup(record: KeyRecord) -> int | None:
            name = str(payload.get("name") or "")
            if not name:
                return None
            since = int(record.created_at) - 120
            for found in self.list(query=name, created_from=since, limit=50):
                if found.name == name and found.pipeline_id == int(
                    payload.get("pipeline_id") or found.pipeline_id
                ):
                    return found.id
            return None

        return self._client.create_once(idempotency_key, "leads.create", create, lookup)

    def create_many(
        self, leads: Sequence[Mapping[str, Any]], *, chunk_size: int = DEFAULT_CHUNK
    ) -> BatchResult:
        return self._client.batch("POST", LEADS, "leads", [dict(x) for x in leads], chunk_size=chunk_size)

    def update(self, lead_id: int, **fields: Any) -> None:
        self._client.request("PATCH", f"{LEADS}/{int(lead_id)}", json=fields, policy=READ)

    def update_many(
        self, changes: Sequence[Mapping[str, Any]], *, chunk_size: int = DEFAULT_CHUNK
    ) -> BatchResult:
        """PATCH ``[{id, ...}, ...]`` in chunks; a PATCH of fields is idempotent: retried like a read."""
        items = [dict(x) for x in changes]
        return self._client.batch("PATCH", LEADS, "leads", items, chunk_size=chunk_size, policy=READ)

    def move(self, lead_id: int, *, pipeline_id: int, status_id: int) -> None:
        self.update(lead_id, pipeline_id=int(pipeline_id), status_id=int(status_id))

    def mark_won(self, lead_id: int, *, pipeline_id: int) -> None:
        self.move(lead_id, pipeline_id=pipeline_id, status_id=WON_STATUS_ID)

    def mark_lost(self, lead_id: int, *, pipeline_id: int, loss_reason_id: int | None = None) -> None:
        fields: dict[str, Any] = {"pipeline_id": int(pipeline_id), "status_id": LOST_STATUS_ID}
        if loss_reason_id is not None:
            fields["loss_reason_id"] = int(loss_reason_id)
        self.update(lead_id, **fields)

    def set_responsible(self, lead_id: int, user_id: int) -> None:
        self.update(lead_id, responsible_user_id=int(user_id))

    def contacts_of(self, lead_id: int) -> builtins.list[int]:
        body = self._client.get(f"{LEADS}/{int(lead_id)}", {"with": "contacts"})
        return [int(c["id"]) for c in embedded(body, "contacts") if "id" in c]
