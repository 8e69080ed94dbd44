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


# --- KPI event history (issue #10) ------------------------------------------------------------------
# One row per real change in amoCRM, however many sources reported it (the /api/v4/events backfill,
# webhooks, lead reconciliation). Every natural key a source gives for a change is kept in
# ``kpi_event_keys``, pointing at the one row it stands for; ``match_key`` groups rows that describe
# the same change so that a second source merges into the row of the first (see docs/kpi.md).

_KpiId = BigInteger().with_variant(Integer(), "sqlite")

kpi_events = Table(
    "kpi_events",
    metadata,
    Column("id", _KpiId, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),
    Column("occurred_at", BigInteger, nullable=False),
    Column("lead_id", BigInteger, nullable=True),
    Column("entity_id", BigInteger, nullable=True),
    Column("user_id", BigInteger, nullable=True),
    Column("actor_id", BigInteger, nullable=True),
    Column("old_user_id", BigInteger, nullable=True),
    Column("pipeline_id", BigInteger, nullable=True),
    Column("status_id", BigInteger, nullable=True),
    Column("old_pipeline_id", BigInteger, nullable=True),
    Column("old_status_id", BigInteger, nullable=True),
    Column("price", Float, nullable=True),
    Column("duration", Integer, nullable=True),
    Column("call_result", String(200), nullable=True),
    Column("task_type_id", BigInteger, nullable=True),
    Column("due_at", BigInteger, nullable=True),
    Column("note_type", String(64), nullable=True),
    Column("field_id", BigInteger, nullable=True),
    Column("value", Float, nullable=True),
    Column("client_id", BigInteger, nullable=True),
    Column("match_key", String(160), nullable=False),
    Column("sources", Integer, nullable=False),
    Column("recorded_at", Float, nullable=False),
    Index("ix_kpi_events_kind_occurred_at", "kind", "occurred_at"),
    Index("ix_kpi_events_occurred_at", "occurred_at"),
    Index("ix_kpi_events_lead_id_occurred_at_kind", "lead_id", "occurred_at", "kind"),
    Index("ix_kpi_events_match_key", "match_key"),
    Index("ix_kpi_events_client_id_occurred_at", "client_id", "occurred_at"),
    Index("ix_kpi_events_entity_id_kind", "entity_id", "kind"),
    comment="KPI event history: each relevant amoCRM change once, whatever reported it.",
)

kpi_event_keys = Table(
    "kpi_event_keys",
    metadata,
    Column("key", String(160), primary_key=True),
    Column("event_id", BigInteger, nullable=False),
    Column("source", String(16), nullable=False),
    Index("ix_kpi_event_keys_event_id", "event_id"),
    comment="Natural keys (amoCRM event ids, webhook and lead keys) of each kpi_events row.",
)
