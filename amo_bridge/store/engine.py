"""Engines for the two supported databases, configured the same way everywhere.

SQLite (embedded default) runs in WAL mode with a busy timeout, and every write transaction starts
with ``BEGIN IMMEDIATE`` so that two processes never deadlock upgrading a read lock to a write lock.
PostgreSQL (production) uses psycopg 3 with pre-ping, so a restarted server costs one retry.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, Table, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.pool import NullPool

SQLITE_BUSY_TIMEOUT_S = 30.0

# Execution option: start a SQLite transaction as DEFERRED (reads) instead of IMMEDIATE (writes).
READ_ONLY = "amo_bridge_read_only"


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        return _sqlite_engine(url, **kwargs)
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10, **kwargs)


def _sqlite_engine(url: str, **kwargs: Any) -> Engine:
    # NullPool: a connection per checkout is cheap for SQLite and keeps forked processes and
    # threads from sharing a handle.
    engine = create_engine(
        url,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False},
        poolclass=NullPool,
        **kwargs,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below emit BEGIN itself (pysqlite's own is deferred).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        read_only = connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine


def upsert(dialect_name: str, table: Table) -> postgresql.Insert | sqlite.Insert:
    """``INSERT`` with ``.on_conflict_do_update/nothing`` for the engine's dialect."""
    if dialect_name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
