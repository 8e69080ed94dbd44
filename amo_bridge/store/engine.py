"""Engines for the two supported databases, configured the same way everywhere.

SQLite (embedded default) runs in WAL mode with a busy timeout, and every write transaction starts
with ``BEGIN IMMEDIATE`` so that two processes never deadlock upgrading a read lock to a write lock.
PostgreSQL (production) uses psycopg 3 with pre-ping, so a restarted server costs one retry.
"""

from __future__ import annotations

import os
from typing import Any

from sqlalchemy import Engine, Table, create_engine, event, exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.pool import QueuePool

SQLITE_BUSY_TIMEOUT_S = 30.0

# Execution option: start a SQLite transaction as DEFERRED (reads) instead of IMMEDIATE (writes).
READ_ONLY = "amo_bridge_read_only"


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        return _sqlite_engine(url, **kwargs)
    engine = create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10, **kwargs)
    _guard_fork(engine)
    return engine


def _sqlite_engine(url: str, **kwargs: Any) -> Engine:
    # A small pool: opening a SQLite file and setting its pragmas costs more than most of our
    # transactions. A connection is used by one thread at a time (the pool hands it out), and a
    # connection made before a fork is never reused in the child (see _guard_fork).
    engine = create_engine(
        url,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False},
        poolclass=QueuePool,
        pool_size=5,
        max_overflow=10,
        **kwargs,
    )
    _guard_fork(engine)

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


def _guard_fork(engine: Engine) -> None:
    """Never hand a child process a connection its parent opened (SQLAlchemy's recipe)."""

    @event.listens_for(engine, "connect")
    def _remember_pid(_dbapi_connection: Any, record: Any) -> None:
        record.info["pid"] = os.getpid()

    @event.listens_for(engine, "checkout")
    def _check_pid(_dbapi_connection: Any, record: Any, proxy: Any) -> None:
        if record.info.get("pid") != os.getpid():
            record.dbapi_connection = proxy.dbapi_connection = None
            raise exc.DisconnectionError("connection opened in another process; reconnecting")


def upsert(dialect_name: str, table: Table) -> postgresql.Insert | sqlite.Insert:
    """``INSERT`` with ``.on_conflict_do_update/nothing`` for the engine's dialect."""
    if dialect_name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
