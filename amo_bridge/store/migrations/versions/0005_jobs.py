"""Scheduled jobs: run history, retention hand-offs, trigger episodes.

Revision ID: 0005
Revises: 0008
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_runs",
        sa.Column("run_id", sa.String(40), nullable=False),
        sa.Column("job", sa.String(100), nullable=False),
        sa.Column("origin", sa.String(20), nullable=False),
        sa.Column("dry_run", sa.Boolean, nullable=False),
        sa.Column("host", sa.String(200), nullable=False),
        sa.Column("started_at", sa.Float, nullable=False),
        sa.Column("finished_at", sa.Float, nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("seen", sa.Integer, nullable=False),
        sa.Column("changed", sa.Integer, nullable=False),
        sa.Column("failed", sa.Integer, nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("run_id", name="pk_job_runs"),
        comment="One row per run of a scheduled job; the run id is the correlation id of its log lines.",
    )
    op.create_index("ix_job_runs_job_started_at", "job_runs", ["job", "started_at"])
    op.create_table(
        "retention_handoffs",
        sa.Column("won_lead_id", sa.BigInteger, nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("mode", sa.String(10), nullable=False),
        sa.Column("claimed_by", sa.String(40), nullable=False),
        sa.Column("claimed_at", sa.Float, nullable=False),
        sa.Column("retention_lead_id", sa.BigInteger, nullable=True),
        sa.Column("account_manager_id", sa.BigInteger, nullable=True),
        sa.Column("task_id", sa.BigInteger, nullable=True),
        sa.Column("task_text", sa.Text, nullable=True),
        sa.Column("won_closed_at", sa.BigInteger, nullable=True),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("won_lead_id", name="pk_retention_handoffs"),
        comment="Intent and outcome of moving one won deal into retention: at most one retention lead each.",
    )
    op.create_table(
        "trigger_episodes",
        sa.Column("rule", sa.String(100), nullable=False),
        sa.Column("lead_id", sa.BigInteger, nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("episodes", sa.Integer, nullable=False),
        sa.Column("task_id", sa.BigInteger, nullable=True),
        sa.Column("task_text", sa.Text, nullable=True),
        sa.Column("fired_at", sa.Float, nullable=True),
        sa.Column("cleared_at", sa.Float, nullable=True),
        sa.Column("claimed_by", sa.String(40), nullable=True),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("rule", "lead_id", name="pk_trigger_episodes"),
        comment="Edge-triggered rules: one task per episode of a condition being true for a lead.",
    )


def downgrade() -> None:
    op.drop_table("trigger_episodes")
    op.drop_table("retention_handoffs")
    op.drop_index("ix_job_runs_job_started_at", table_name="job_runs")
    op.drop_table("job_runs")
