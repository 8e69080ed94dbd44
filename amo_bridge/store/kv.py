"""A small key-value table for named state (watermarks, switches, integration status)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, delete, select, update

from amo_bridge.store.engine import upsert
from amo_bridge.store.schema import kv

if TYPE_CHECKING:
    from amo_bridge.store.store import Store

_MISSING = object()


class KeyValue:
    """JSON values by key. Each method takes an optional ``conn`` to join the caller's transaction."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def get(self, key: str, default: Any = None, *, conn: Connection | None = None) -> Any:
        statement = select(kv.c.value).where(kv.c.key == key)
        if conn is not None:
            raw = conn.execute(statement).scalar_one_or_none()
        else:
            with self._store.read() as own:
                raw = own.execute(statement).scalar_one_or_none()
        return default if raw is None else json.loads(raw)

    def set(self, key: str, value: Any, *, conn: Connection | None = None) -> None:
        now = self._store.clock.now()
        statement = upsert(self._store.dialect, kv).values(key=key, value=json.dumps(value), updated_at=now)
        statement = statement.on_conflict_do_update(
            index_elements=[kv.c.key],
            set_={"value": statement.excluded.value, "updated_at": statement.excluded.updated_at},
        )
        self._execute(statement, conn)

    def compare_and_set(self, key: str, expected: Any, new: Any, *, conn: Connection | None = None) -> bool:
        """Set ``key`` to ``new`` only if it now holds ``expected`` (``None``: only if absent)."""
        now = self._store.clock.now()
        if expected is None:
            statement = upsert(self._store.dialect, kv).values(key=key, value=json.dumps(new), updated_at=now)
            # RETURNING rather than rowcount: drivers disagree on rowcount for ON CONFLICT DO NOTHING.
            inserted = statement.on_conflict_do_nothing(index_elements=[kv.c.key]).returning(kv.c.key)
            if conn is not None:
                return conn.execute(inserted).first() is not None
            with self._store.begin() as own:
                return own.execute(inserted).first() is not None
        guarded = (
            update(kv)
            .where(kv.c.key == key, kv.c.value == json.dumps(expected))
            .values(value=json.dumps(new), updated_at=now)
        )
        return self._execute(guarded, conn) == 1

    def delete(self, key: str, *, conn: Connection | None = None) -> bool:
        return self._execute(delete(kv).where(kv.c.key == key), conn) == 1

    def _execute(self, statement: Any, conn: Connection | None) -> int:
        if conn is not None:
            return int(conn.execute(statement).rowcount)
        with self._store.begin() as own:
            return int(own.execute(statement).rowcount)
