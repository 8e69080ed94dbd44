"""The :class:`Store`: one engine, transactions, and the primitives built on it."""

from __future__ import annotations

import contextlib
import logging
import random
from collections.abc import Callable, Iterator
from typing import TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.engine import make_url

from amo_bridge.clock import SYSTEM_CLOCK, Clock
from amo_bridge.errors import StoreError
from amo_bridge.store.engine import READ_ONLY, make_engine
from amo_bridge.store.errors import is_transient

T = TypeVar("T")
log = logging.getLogger(__name__)


class Store:
    """amo-bridge's database. Create one per process (engines do not survive ``fork``)."""

    def __init__(self, url: str, *, clock: Clock = SYSTEM_CLOCK) -> None:
        self.url = url
        self.clock = clock
        self.engine: Engine = make_engine(url)
        from amo_bridge.store.kv import KeyValue
        from amo_bridge.store.locks import Locks

        self.kv = KeyValue(self)
        self.locks = Locks(self, clock=clock)

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self.engine.dialect.name

    def __repr__(self) -> str:
        safe = make_url(self.url).render_as_string(hide_password=True)
        return f"Store({safe!r})"

    @contextlib.contextmanager
    def begin(self) -> Iterator[Connection]:
        """A write transaction: commits on success, rolls back on any exception."""
        with self.engine.begin() as conn:
            yield conn

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        """A read transaction (on SQLite it does not take the write lock)."""
        with self.engine.connect() as conn:
            conn = conn.execution_options(**{READ_ONLY: True})
            with conn.begin():
                yield conn

    def run_in_transaction(
        self, work: Callable[[Connection], T], *, attempts: int = 5, base_delay: float = 0.05
    ) -> T:
        """Run ``work(conn)`` in a write transaction, retrying the whole of it on transient errors.

        ``work`` must be safe to run again: it sees a rolled-back database on each new attempt.
        """
        for attempt in range(1, attempts + 1):
            try:
                with self.begin() as conn:
                    return work(conn)
            except Exception as exc:
                if not is_transient(exc) or attempt == attempts:
                    raise
                delay = base_delay * 2 ** (attempt - 1) * (0.5 + random.random())
                log.warning("transient database error, retrying in %.2fs: %s", delay, exc.__class__.__name__)
                self.clock.sleep(delay)
        raise StoreError("unreachable")  # pragma: no cover

    def ping(self) -> None:
        """Raise :class:`StoreError` unless the database answers."""
        try:
            with self.read() as conn:
                conn.exec_driver_sql("SELECT 1")
        except Exception as exc:
            raise StoreError(f"database unreachable: {exc.__class__.__name__}", retryable=True) from exc

    def upgrade(self) -> None:
        """Bring the schema to the newest migration (safe to call from several processes at once)."""
        from amo_bridge.store.migrate import upgrade

        upgrade(self)

    def dispose(self) -> None:
        self.engine.dispose()
