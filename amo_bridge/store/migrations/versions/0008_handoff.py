"""Hand-offs between the levels.

Revision ID: 0008
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "handoffs",
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column("dedupe_key", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("rule", sa.String(200), nullable=False),
        sa.Column("lead_id", sa.BigInteger, nullable=True),
        sa.Column("from_pipeline_id", sa.BigInteger, nullable=True),
        sa.Column("from_status_id", sa.BigInteger, nullable=True),
        sa.Column("to_pipeline_id", sa.BigInteger, nullable=True),
        sa.Column("from_user_id", sa.BigInteger, nullable=True),
        sa.Column("to_user_id", sa.BigInteger, nullable=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("actions", sa.Text, nullable=False),
        sa.Column("done_actions", sa.Integer, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("finished_at", sa.Float, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_handoffs"),
        sa.UniqueConstraint("dedupe_key", name="uq_handoffs_dedupe_key"),
        comment="Every hand-off between levels: who, from, to, why; also the once-only guard.",
    )
    op.create_index("ix_handoffs_lead_id_created_at", "handoffs", ["lead_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_handoffs_lead_id_created_at", table_name="handoffs")
    op.drop_table("handoffs")
