"""``/api/v4/users``: needs a token of an administrator."""

from __future__ import annotations

import builtins
from collections.abc import Iterator

from amo_bridge.api.models import User
from amo_bridge.api.resources.base import Resource


class UsersResource(Resource):
    def list(self, *, with_role_and_group: bool = True) -> Iterator[User]:
        params = {"with": "role,group"} if with_role_and_group else None
        return (User.from_api(row) for row in self._client.paginate("/api/v4/users", "users", params))

    def get(self, user_id: int) -> User:
        return User.from_api(self._client.get(f"/api/v4/users/{int(user_id)}", {"with": "role,group"}) or {})

    def active(self) -> builtins.list[User]:
        return [user for user in self.list() if user.is_active]
