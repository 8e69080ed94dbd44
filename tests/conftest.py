"""Shared fixtures: stores on SQLite and, when a server is given, on PostgreSQL.

PostgreSQL tests need ``AMO_TEST_DATABASE_URL`` (``.ci/run`` sets it when a server answers on
127.0.0.1:5432). Each test gets its own schema, so tests and their child processes never see each
other's rows.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import sqlalchemy as sa

from amo_bridge.store import Store

PG_URL = os.environ.get("AMO_TEST_DATABASE_URL", "")
PG_SKIP_REASON = (
    "PostgreSQL tests need AMO_TEST_DATABASE_URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test); "
    ".ci/run sets it when a server answers on 127.0.0.1:5432"
)
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def _normalise(url: str) -> str:
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped after the test."""
    if not PG_URL:
        pytest.skip(PG_SKIP_REASON)
    base = _normalise(PG_URL)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    separator = "&" if "?" in base else "?"
    try:
        yield f"{base}{separator}options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'amo_bridge.db'}"


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest) -> str:
    """A database URL on each backend in turn."""
    fixture = "sqlite_url" if request.param == "sqlite" else "pg_url"
    url: str = request.getfixturevalue(fixture)
    return url


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    """A migrated store on each backend in turn."""
    instance = Store(db_url)
    instance.upgrade()
    yield instance
    instance.dispose()
