"""amoCRM API client: token pair, shared rate-limiter slots, idempotency keys of creating calls.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "amo_tokens",
        sa.Column("name", sa.String(50), nullable=False),
        sa.Column("access_token", sa.Text, nullable=False),
        sa.Column("refresh_token", sa.Text, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
        sa.Column("api_domain", sa.String(255), nullable=True),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_amo_tokens"),
        comment="The OAuth token pair of the amoCRM integration (never in files or logs).",
    )
    op.create_table(
        "amo_rate_limits",
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("tat", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_amo_rate_limits"),
        comment="Shared request slots of the amoCRM API limiter, one row per integration.",
    )
    op.create_table(
        "amo_idempotency",
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("operation", sa.String(100), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("entity_id", sa.BigInteger, nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_amo_idempotency"),
        comment="Idempotency keys of creating API calls, written before the call.",
    )


def downgrade() -> None:
    op.drop_table("amo_idempotency")
    op.drop_table("amo_rate_limits")
    op.drop_table("amo_tokens")
