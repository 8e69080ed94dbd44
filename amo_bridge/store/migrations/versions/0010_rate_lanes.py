"""The limiter keeps one row per lane: the table comment says so.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

OLD = "Shared request slots of the amoCRM API limiter, one row per integration."
NEW = "Shared request slots of the amoCRM API limiter, one row per lane of the sliding window."


def upgrade() -> None:
    with op.batch_alter_table("amo_rate_limits") as batch:
        batch.create_table_comment(NEW, existing_comment=OLD)


def downgrade() -> None:
    with op.batch_alter_table("amo_rate_limits") as batch:
        batch.create_table_comment(OLD, existing_comment=NEW)
