"""Lead distribution: rotation state, assignments, outbox, pauses and the users mirror.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "distribution_lanes",
        sa.Column("pool", sa.String(40), nullable=False),
        sa.Column("lane", sa.String(40), nullable=False),
        sa.Column("vtime", sa.Float, nullable=False),
        sa.Column("present", sa.Text, nullable=False),
        sa.Column("decisions", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("pool", "lane", name="pk_distribution_lanes"),
        comment="One row per rotation (pool and sub-pool): its virtual time and who was available.",
    )
    op.create_table(
        "distribution_members",
        sa.Column("pool", sa.String(40), nullable=False),
        sa.Column("lane", sa.String(40), nullable=False),
        sa.Column("user_id", sa.BigInteger, nullable=False),
        sa.Column("vstart", sa.Float, nullable=False),
        sa.Column("assigned", sa.BigInteger, nullable=False),
        sa.Column("last_assigned_at", sa.Float, nullable=True),
        sa.PrimaryKeyConstraint("pool", "lane", "user_id", name="pk_distribution_members"),
        comment="Per member of a rotation: virtual start and how many leads it gave them.",
    )
    op.create_table(
        "distribution_assignments",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("pool", sa.String(40), nullable=False),
        sa.Column("lane", sa.String(40), nullable=False),
        sa.Column("entity_type", sa.String(16), nullable=False),
        sa.Column("entity_id", sa.String(64), nullable=False),
        sa.Column("episode", sa.Integer, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("lead_id", sa.BigInteger, nullable=True),
        sa.Column("user_id", sa.BigInteger, nullable=False),
        sa.Column("reason", sa.String(20), nullable=False),
        sa.Column("rule", sa.Text, nullable=True),
        sa.Column("candidates", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("applied_at", sa.Float, nullable=True),
        sa.Column("sla_due_at", sa.Float, nullable=True),
        sa.Column("first_action_at", sa.Float, nullable=True),
        sa.Column("reassign_count", sa.Integer, nullable=False),
        sa.Column("closed_at", sa.Float, nullable=True),
        sa.Column("note", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_distribution_assignments"),
        sa.UniqueConstraint(
            "pool",
            "entity_type",
            "entity_id",
            "episode",
            "seq",
            name="uq_distribution_assignments_episode",
        ),
        comment="Every distribution decision with its reason and the candidates considered (the audit).",
    )
    op.create_index(
        "ix_distribution_assignments_pool_user_id_created_at",
        "distribution_assignments",
        ["pool", "user_id", "created_at"],
    )
    op.create_index("ix_distribution_assignments_lead_id", "distribution_assignments", ["lead_id"])
    op.create_index(
        "ix_distribution_assignments_state_sla_due_at", "distribution_assignments", ["state", "sla_due_at"]
    )
    op.create_table(
        "distribution_outbox",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("dedupe_key", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("pool", sa.String(40), nullable=False),
        sa.Column("entity_type", sa.String(16), nullable=False),
        sa.Column("entity_id", sa.String(64), nullable=False),
        sa.Column("assignment_id", sa.Integer, nullable=True),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("due_at", sa.Float, nullable=False),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_distribution_outbox"),
        sa.UniqueConstraint("dedupe_key", name="uq_distribution_outbox_dedupe_key"),
        comment="amoCRM writes of assignments and held decisions, retried until done or rolled back.",
    )
    op.create_index("ix_distribution_outbox_state_due_at", "distribution_outbox", ["state", "due_at"])
    op.create_table(
        "distribution_pauses",
        sa.Column("user_id", sa.BigInteger, nullable=False),
        sa.Column("pool", sa.String(40), nullable=False),
        sa.Column("paused_at", sa.Float, nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("user_id", "pool", name="pk_distribution_pauses"),
        comment="Members who take no new leads until resumed.",
    )
    op.create_table(
        "crm_users",
        sa.Column("id", sa.BigInteger, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(200), nullable=True),
        sa.Column("is_active", sa.Boolean, nullable=False),
        sa.Column("group_id", sa.BigInteger, nullable=True),
        sa.Column("synced_at", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_crm_users"),
        comment="Mirror of the account's users (the users sync job fills it): inactive users get no leads.",
    )


def downgrade() -> None:
    op.drop_table("crm_users")
    op.drop_table("distribution_pauses")
    op.drop_index("ix_distribution_outbox_state_due_at", table_name="distribution_outbox")
    op.drop_table("distribution_outbox")
    op.drop_index("ix_distribution_assignments_state_sla_due_at", table_name="distribution_assignments")
    op.drop_index("ix_distribution_assignments_lead_id", table_name="distribution_assignments")
    op.drop_index(
        "ix_distribution_assignments_pool_user_id_created_at", table_name="distribution_assignments"
    )
    op.drop_table("distribution_assignments")
    op.drop_table("distribution_members")
    op.drop_table("distribution_lanes")
