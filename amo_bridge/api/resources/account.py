"""``/api/v4/account`` (with task types) and the custom fields of each entity type."""

from __future__ import annotations

from amo_bridge.api.models import Account, CustomField
from amo_bridge.api.resources.base import Resource

CUSTOM_FIELD_ENTITIES = ("leads", "contacts", "companies")


class AccountResource(Resource):
    def get(self, *, task_types: bool = True, user_groups: bool = True) -> Account:
        """The account; ``with=task_types,users_groups`` by default (custom task types, departments)."""
        extra = [
            name for name, wanted in (("task_types", task_types), ("users_groups", user_groups)) if wanted
        ]
        params = {"with": ",".join(extra)} if extra else None
        return Account.from_api(self._client.get("/api/v4/account", params) or {})

    def custom_fields(self, entity_type: str = "leads") -> list[CustomField]:
        if entity_type not in CUSTOM_FIELD_ENTITIES:
            raise ValueError(f"entity_type must be one of {CUSTOM_FIELD_ENTITIES}")
        rows = self._client.paginate(f"/api/v4/{entity_type}/custom_fields", "custom_fields")
        return [CustomField.from_api(row) for row in rows]
