"""Webhook inbox: raw deliveries, events to process, the journal of processed events.

Revision ID: 0003
Revises: 0005
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0005"
branch_labels = None
depends_on = None

_Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "inbox_deliveries",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("received_at", sa.Float, nullable=False),
        sa.Column("request_id", sa.String(100), nullable=True),
        sa.Column("account_id", sa.BigInteger, nullable=True),
        sa.Column("subdomain", sa.String(100), nullable=True),
        sa.Column("headers", sa.Text, nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("body_sha256", sa.String(64), nullable=False),
        sa.Column("event_count", sa.Integer, nullable=False),
        sa.Column("parse_error", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_inbox_deliveries"),
        sa.UniqueConstraint("body_sha256", name="uq_inbox_deliveries_body_sha256"),
        comment="Raw webhook deliveries as received (one per distinct body).",
    )
    op.create_table(
        "inbox",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("delivery_id", _Id, nullable=False),
        sa.Column("dedupe_key", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(100), nullable=False),
        sa.Column("section", sa.String(100), nullable=False),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("entity_id", sa.String(100), nullable=True),
        sa.Column("account_id", sa.BigInteger, nullable=True),
        sa.Column("modified_at", sa.BigInteger, nullable=True),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.Float, nullable=False),
        sa.Column("lease_owner", sa.String(200), nullable=True),
        sa.Column("lease_expires_at", sa.Float, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.Column("done_at", sa.Float, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_inbox"),
        sa.UniqueConstraint("dedupe_key", name="uq_inbox_dedupe_key"),
        sa.ForeignKeyConstraint(
            ["delivery_id"], ["inbox_deliveries.id"], name="fk_inbox_delivery_id_inbox_deliveries"
        ),
        comment="Webhook events to process: state, lease, attempts, last error.",
    )
    op.create_index("ix_inbox_state_next_attempt_at", "inbox", ["state", "next_attempt_at"])
    op.create_index("ix_inbox_delivery_id", "inbox", ["delivery_id"])
    op.create_table(
        "event_journal",
        sa.Column("dedupe_key", sa.String(255), primary_key=True),
        sa.Column("inbox_id", sa.BigInteger, nullable=False),
        sa.Column("kind", sa.String(100), nullable=False),
        sa.Column("entity_id", sa.String(100), nullable=True),
        sa.Column("account_id", sa.BigInteger, nullable=True),
        sa.Column("modified_at", sa.BigInteger, nullable=True),
        sa.Column("processed_at", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("dedupe_key", name="pk_event_journal"),
        comment="One row per webhook event processed (idempotent): the receiver's own effect log.",
    )


def downgrade() -> None:
    op.drop_table("event_journal")
    op.drop_index("ix_inbox_delivery_id", table_name="inbox")
    op.drop_index("ix_inbox_state_next_attempt_at", table_name="inbox")
    op.drop_table("inbox")
    op.drop_table("inbox_deliveries")
