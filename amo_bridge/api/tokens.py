"""The OAuth token pair and its storage: one row of ``amo_tokens``, never a file, never a log line.

Tokens read from storage or received from amoCRM are registered with the log redactor at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, select

from amo_bridge.secrets import Secret
from amo_bridge.store import Store
from amo_bridge.store.engine import upsert
from amo_bridge.store.schema import amo_tokens

TOKEN_ROW = "default"  # noqa: S105 (a row name, not a secret)


@dataclass(frozen=True)
class TokenPair:
    access_token: Secret
    refresh_token: Secret
    expires_at: float
    api_domain: str | None = None

    def expires_within(self, now: float, margin: float) -> bool:
        return self.expires_at - margin <= now

    @classmethod
    def from_response(cls, payload: Any, *, now: float) -> TokenPair:
        """Parse amoCRM's token response; raises ``ValueError`` on a body without the tokens."""
        if not isinstance(payload, dict):
            raise ValueError("token response is not a JSON object")
        access, refresh = payload.get("access_token"), payload.get("refresh_token")
        if not isinstance(access, str) or not isinstance(refresh, str) or not access or not refresh:
            raise ValueError("token response lacks access_token/refresh_token")
        expires_in = float(payload.get("expires_in") or 86400)
        domain = payload.get("api_domain") or _claim(access, "api_domain")
        return cls(Secret(access), Secret(refresh), now + expires_in, str(domain) if domain else None)


def _claim(jwt_token: str, name: str) -> Any:
    """A claim of the access token (a JWT), read without verification: only a routing hint."""
    import jwt

    try:
        return jwt.decode(jwt_token, options={"verify_signature": False}).get(name)
    except jwt.PyJWTError:
        return None


class TokenStore:
    """Load, save and delete the stored pair. ``conn`` joins the caller's transaction."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def load(self, *, conn: Connection | None = None) -> TokenPair | None:
        statement = select(amo_tokens).where(amo_tokens.c.name == TOKEN_ROW)
        if conn is not None:
            row = conn.execute(statement).first()
        else:
            with self._store.read() as own:
                row = own.execute(statement).first()
        if row is None:
            return None
        return TokenPair(Secret(row.access_token), Secret(row.refresh_token), row.expires_at, row.api_domain)

    def save(self, pair: TokenPair, *, conn: Connection | None = None) -> None:
        values = {
            "name": TOKEN_ROW,
            "access_token": pair.access_token.reveal(),
            "refresh_token": pair.refresh_token.reveal(),
            "expires_at": pair.expires_at,
            "api_domain": pair.api_domain,
            "updated_at": self._store.clock.now(),
        }
        statement = upsert(self._store.dialect, amo_tokens).values(**values)
        statement = statement.on_conflict_do_update(
            index_elements=[amo_tokens.c.name],
            set_={k: statement.excluded[k] for k in values if k != "name"},
        )
        if conn is not None:
            conn.execute(statement)
        else:
            with self._store.begin() as own:
                own.execute(statement)

    def delete(self, *, conn: Connection | None = None) -> None:
        statement = delete(amo_tokens).where(amo_tokens.c.name == TOKEN_ROW)
        if conn is not None:
            conn.execute(statement)
        else:
            with self._store.begin() as own:
                own.execute(statement)
