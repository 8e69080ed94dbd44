"""``/api/v4/catalogs`` (lists) and their elements: where KPI rows live inside amoCRM."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from amo_bridge.api.batching import DEFAULT_CHUNK, BatchResult
from amo_bridge.api.idempotency import KeyRecord
from amo_bridge.api.models import Catalog, CatalogElement
from amo_bridge.api.resources.base import Resource, first_embedded
from amo_bridge.api.retry import READ, SINGLE, UNSAFE_WRITE

CATALOGS = "/api/v4/catalogs"


class CatalogsResource(Resource):
    def list(self) -> list[Catalog]:
        return [Catalog.from_api(row) for row in self._client.paginate(CATALOGS, "catalogs")]

    def get(self, catalog_id: int) -> Catalog:
        return Catalog.from_api(self._client.get(f"{CATALOGS}/{int(catalog_id)}") or {})

    def find(self, name: str) -> Catalog | None:
        wanted = name.strip().casefold()
        return next((c for c in self.list() if c.name.strip().casefold() == wanted), None)

    def create(self, name: str, *, idempotency_key: str | None = None) -> int:
        def create() -> int:
            policy = SINGLE if idempotency_key else UNSAFE_WRITE
            body = self._client.request("POST", CATALOGS, json=[{"name": name}], policy=policy)
            return int(first_embedded(body, "catalogs")["id"])

        if idempotency_key is None:
            return create()

        def lookup(_record: KeyRecord) -> int | None:
            found = self.find(name)
            return found.id if found else None

        return self._client.create_once(idempotency_key, "catalogs.create", create, lookup)

    def elements(self, catalog_id: int, *, query: str | None = None) -> Iterator[CatalogElement]:
        params = {"query": query} if query else None
        rows = self._client.paginate(f"{CATALOGS}/{int(catalog_id)}/elements", "elements", params)
        return (CatalogElement.from_api(row) for row in rows)

    def create_elements(
        self, catalog_id: int, elements: Sequence[dict[str, Any]], *, chunk_size: int = DEFAULT_CHUNK
    ) -> BatchResult:
        path = f"{CATALOGS}/{int(catalog_id)}/elements"
        return self._client.batch("POST", path, "elements", list(elements), chunk_size=chunk_size)

    def create_element(self, catalog_id: int, element: dict[str, Any], *, idempotency_key: str) -> int:
        """One element, effectively once: looked up by its (unique) name before any repeat."""
        path = f"{CATALOGS}/{int(catalog_id)}/elements"

        def create() -> int:
            body = self._client.request("POST", path, json=[element], policy=SINGLE)
            return int(first_embedded(body, "elements")["id"])

        def lookup(_record: KeyRecord) -> int | None:
            name = str(element.get("name") or "")
            return next((e.id for e in self.elements(catalog_id, query=name) if e.name == name), None)

        return self._client.create_once(idempotency_key, "catalogs.create_element", create, lookup)

    def update_elements(
        self, catalog_id: int, changes: Sequence[dict[str, Any]], *, chunk_size: int = DEFAULT_CHUNK
    ) -> BatchResult:
        path = f"{CATALOGS}/{int(catalog_id)}/elements"
        return self._client.batch(
            "PATCH", path, "elements", list(changes), chunk_size=chunk_size, policy=READ
        )
