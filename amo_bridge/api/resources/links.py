"""Links between entities: ``POST /api/v4/{leads|contacts|companies}/{id}/link`` and ``unlink``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from amo_bridge.api.paging import embedded
from amo_bridge.api.resources.base import Resource
from amo_bridge.api.retry import READ

ENTITY_TYPES = ("leads", "contacts", "companies", "customers", "catalog_elements")


def _check(entity_type: str) -> str:
    if entity_type not in ENTITY_TYPES:
        raise ValueError(f"entity type must be one of {ENTITY_TYPES}, not {entity_type!r}")
    return entity_type


class LinksResource(Resource):
    def list(self, entity_type: str, entity_id: int) -> list[dict[str, Any]]:
        body = self._client.get(f"/api/v4/{_check(entity_type)}/{int(entity_id)}/links")
        return embedded(body, "links")

    # Linking twice leaves one link: idempotent, retried like a read.
    def link(self, entity_type: str, entity_id: int, to_entity_type: str, to_ids: Iterable[int]) -> None:
        body = [{"to_entity_id": int(i), "to_entity_type": _check(to_entity_type)} for i in to_ids]
        self._client.request(
            "POST", f"/api/v4/{_check(entity_type)}/{int(entity_id)}/link", json=body, policy=READ
        )

    def unlink(self, entity_type: str, entity_id: int, to_entity_type: str, to_ids: Iterable[int]) -> None:
        body = [{"to_entity_id": int(i), "to_entity_type": _check(to_entity_type)} for i in to_ids]
        path = f"/api/v4/{_check(entity_type)}/{int(entity_id)}/unlink"
        self._client.request("POST", path, json=body, policy=READ)
