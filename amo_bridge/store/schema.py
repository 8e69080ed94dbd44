"""The one schema of amo-bridge's store, as SQLAlchemy Core tables.

Conventions: times are Unix seconds (``Float`` where sub-second precision matters, ``BigInteger``
for amoCRM's own timestamps); JSON documents are stored as ``Text`` so that SQLite and PostgreSQL
behave the same; amoCRM ids are ``BigInteger``. Every change here needs a migration in
``migrations/versions`` (a test compares the migrated database with this module).
"""

from __future__ import annotations

from sqlalchemy import Column, Float, MetaData, String, Table, Text

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

kv = Table(
    "kv",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("value", Text, nullable=False),  # JSON
    Column("updated_at", Float, nullable=False),
    comment="Small named state: watermarks, switches, integration status.",
)

locks = Table(
    "locks",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("owner", String(200), nullable=False),
    Column("acquired_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
    comment="Named leases: single-flight sections and the scheduler's leadership.",
)
