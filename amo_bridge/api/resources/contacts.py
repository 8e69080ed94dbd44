"""``/api/v4/contacts`` and ``/api/v4/companies``: get, list, update the responsible user."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from amo_bridge.api.batching import DEFAULT_CHUNK, BatchResult
from amo_bridge.api.models import Company, Contact
from amo_bridge.api.resources.base import Resource, id_filter, range_filter, with_param
from amo_bridge.api.retry import READ


class ContactsResource(Resource):
    path = "/api/v4/contacts"
    key = "contacts"

    def get(self, contact_id: int, *, with_: Sequence[str] = ("leads",)) -> Contact:
        return Contact.from_api(self._client.get(f"{self.path}/{int(contact_id)}", with_param(with_)) or {})

    def list(
        self,
        *,
        ids: Iterable[int] | None = None,
        query: str | None = None,
        responsible_user_ids: Iterable[int] | None = None,
        updated_from: int | None = None,
        updated_to: int | None = None,
        with_: Sequence[str] = (),
    ) -> Iterator[Contact]:
        params: dict[str, Any] = {
            **id_filter("id", ids),
            **id_filter("responsible_user_id", responsible_user_ids),
            **range_filter("updated_at", updated_from, updated_to),
            **with_param(with_),
        }
        if query:
            params["query"] = query
        return (Contact.from_api(row) for row in self._client.paginate(self.path, self.key, params))

    def set_responsible(self, contact_id: int, user_id: int) -> None:
        self._client.request(
            "PATCH", f"{self.path}/{int(contact_id)}", json={"responsible_user_id": int(user_id)}, policy=READ
        )

    def update_many(
        self, changes: Sequence[Mapping[str, Any]], *, chunk_size: int = DEFAULT_CHUNK
    ) -> BatchResult:
        items = [dict(x) for x in changes]
        return self._client.batch("PATCH", self.path, self.key, items, chunk_size=chunk_size, policy=READ)


class CompaniesResource(Resource):
    path = "/api/v4/companies"
    key = "companies"

    def get(self, company_id: int, *, with_: Sequence[str] = ("leads", "contacts")) -> Company:
        return Company.from_api(self._client.get(f"{self.path}/{int(company_id)}", with_param(with_)) or {})

    def list(
        self,
        *,
        ids: Iterable[int] | None = None,
        query: str | None = None,
        with_: Sequence[str] = (),
    ) -> Iterator[Company]:
        params: dict[str, Any] = {**id_filter("id", ids), **with_param(with_)}
        if query:
            params["query"] = query
        return (Company.from_api(row) for row in self._client.paginate(self.path, self.key, params))

    def set_responsible(self, company_id: int, user_id: int) -> None:
        self._client.request(
            "PATCH", f"{self.path}/{int(company_id)}", json={"responsible_user_id": int(user_id)}, policy=READ
        )

    def update_many(
        self, changes: Sequence[Mapping[str, Any]], *, chunk_size: int = DEFAULT_CHUNK
    ) -> BatchResult:
        items = [dict(x) for x in changes]
        return self._client.batch("PATCH", self.path, self.key, items, chunk_size=chunk_size, policy=READ)
