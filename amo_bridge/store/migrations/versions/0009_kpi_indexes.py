"""KPI history indexes that answer the report queries from the index alone.

The (kind, occurred_at) index becomes covering for the columns the KPI queries read per row; the
task probe's index gains occurred_at; overdue tasks are found by deadline (a partial index over the
task rows).

Revision ID: 0009
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0006"
branch_labels = None
depends_on = None

COVERING = [
    "kind",
    "occurred_at",
    "lead_id",
    "user_id",
    "actor_id",
    "pipeline_id",
    "status_id",
    "old_pipeline_id",
]
TASKS = ["due_at", "kind", "entity_id", "user_id", "actor_id"]
HAS_DEADLINE = sa.text("due_at IS NOT NULL")


def upgrade() -> None:
    op.drop_index("ix_kpi_events_kind_occurred_at", table_name="kpi_events")
    op.create_index("ix_kpi_events_kind_occurred_at_covering", "kpi_events", COVERING)
    op.drop_index("ix_kpi_events_entity_id_kind", table_name="kpi_events")
    op.create_index(
        "ix_kpi_events_entity_id_kind_occurred_at", "kpi_events", ["entity_id", "kind", "occurred_at"]
    )
    op.create_index(
        "ix_kpi_events_due_at", "kpi_events", TASKS, sqlite_where=HAS_DEADLINE, postgresql_where=HAS_DEADLINE
    )


def downgrade() -> None:
    op.drop_index("ix_kpi_events_due_at", table_name="kpi_events")
    op.drop_index("ix_kpi_events_entity_id_kind_occurred_at", table_name="kpi_events")
    op.create_index("ix_kpi_events_entity_id_kind", "kpi_events", ["entity_id", "kind"])
    op.drop_index("ix_kpi_events_kind_occurred_at_covering", table_name="kpi_events")
    op.create_index("ix_kpi_events_kind_occurred_at", "kpi_events", ["kind", "occurred_at"])
