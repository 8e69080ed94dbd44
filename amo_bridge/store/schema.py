"""The one schema of amo-bridge's store, as SQLAlchemy Core tables.

Conventions: times are Unix seconds (``Float`` where sub-second precision matters, ``BigInteger``
for amoCRM's own timestamps); JSON documents are stored as ``Text`` so that SQLite and PostgreSQL
behave the same; amoCRM ids are ``BigInteger``. Every change here needs a migration in
``migrations/versions`` (a test compares the migrated database with this module).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Float, Index, Integer, MetaData, String, Table, Text

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


# --- hand-offs between the levels (amo_bridge/handoff) -------------------------------------------

handoffs = Table(
    "handoffs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("dedupe_key", String(200), nullable=False, unique=True),
    Column("kind", String(32), nullable=False),
    Column("rule", String(200), nullable=False),
    Column("lead_id", BigInteger, nullable=True),
    Column("from_pipeline_id", BigInteger, nullable=True),
    Column("from_status_id", BigInteger, nullable=True),
    Column("to_pipeline_id", BigInteger, nullable=True),
    Column("from_user_id", BigInteger, nullable=True),
    Column("to_user_id", BigInteger, nullable=True),
    Column("reason", Text, nullable=False),
    Column("actions", Text, nullable=False),  # JSON list of the planned actions
    Column("done_actions", Integer, nullable=False, default=0),
    Column("state", String(16), nullable=False),  # planned | done | skipped
    Column("error", Text, nullable=True),
    Column("created_at", Float, nullable=False),
    Column("finished_at", Float, nullable=True),
    Index("ix_handoffs_lead_id_created_at", "lead_id", "created_at"),
    comment="Every hand-off between levels: who, from, to, why; also the once-only guard.",
)
