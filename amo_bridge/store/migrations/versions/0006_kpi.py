"""KPI event history and the natural keys that dedupe it.

Revision ID: 0006
Revises: 0004
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None

_Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "kpi_events",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("occurred_at", sa.BigInteger, nullable=False),
        sa.Column("lead_id", sa.BigInteger, nullable=True),
        sa.Column("entity_id", sa.BigInteger, nullable=True),
        sa.Column("user_id", sa.BigInteger, nullable=True),
        sa.Column("actor_id", sa.BigInteger, nullable=True),
        sa.Column("old_user_id", sa.BigInteger, nullable=True),
        sa.Column("pipeline_id", sa.BigInteger, nullable=True),
        sa.Column("status_id", sa.BigInteger, nullable=True),
        sa.Column("old_pipeline_id", sa.BigInteger, nullable=True),
        sa.Column("old_status_id", sa.BigInteger, nullable=True),
        sa.Column("price", sa.Float, nullable=True),
        sa.Column("duration", sa.Integer, nullable=True),
        sa.Column("call_result", sa.String(200), nullable=True),
        sa.Column("task_type_id", sa.BigInteger, nullable=True),
        sa.Column("due_at", sa.BigInteger, nullable=True),
        sa.Column("note_type", sa.String(64), nullable=True),
        sa.Column("field_id", sa.BigInteger, nullable=True),
        sa.Column("value", sa.Float, nullable=True),
        sa.Column("client_id", sa.BigInteger, nullable=True),
        sa.Column("match_key", sa.String(160), nullable=False),
        sa.Column("sources", sa.Integer, nullable=False),
        sa.Column("recorded_at", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_kpi_events"),
        comment="KPI event history: each relevant amoCRM change once, whatever reported it.",
    )
    op.create_index("ix_kpi_events_kind_occurred_at", "kpi_events", ["kind", "occurred_at"])
    op.create_index("ix_kpi_events_occurred_at", "kpi_events", ["occurred_at"])
    op.create_index(
        "ix_kpi_events_lead_id_occurred_at_kind", "kpi_events", ["lead_id", "occurred_at", "kind"]
    )
    op.create_index("ix_kpi_events_match_key", "kpi_events", ["match_key"])
    op.create_index("ix_kpi_events_client_id_occurred_at", "kpi_events", ["client_id", "occurred_at"])
    op.create_index("ix_kpi_events_entity_id_kind", "kpi_events", ["entity_id", "kind"])
    op.create_table(
        "kpi_event_keys",
        sa.Column("key", sa.String(160), primary_key=True),
        sa.Column("event_id", sa.BigInteger, nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_kpi_event_keys"),
        comment="Natural keys (amoCRM event ids, webhook and lead keys) of each kpi_events row.",
    )
    op.create_index("ix_kpi_event_keys_event_id", "kpi_event_keys", ["event_id"])


def downgrade() -> None:
    op.drop_index("ix_kpi_event_keys_event_id", table_name="kpi_event_keys")
    op.drop_table("kpi_event_keys")
    for name in (
        "ix_kpi_events_entity_id_kind",
        "ix_kpi_events_client_id_occurred_at",
        "ix_kpi_events_match_key",
        "ix_kpi_events_lead_id_occurred_at_kind",
        "ix_kpi_events_occurred_at",
        "ix_kpi_events_kind_occurred_at",
    ):
        op.drop_index(name, table_name="kpi_events")
    op.drop_table("kpi_events")
