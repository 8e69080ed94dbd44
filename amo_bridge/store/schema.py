"""The one schema of amo-bridge's store, as SQLAlchemy Core tables.

Conventions: times are Unix seconds (``Float`` where sub-second precision matters, ``BigInteger``
for amoCRM's own timestamps); JSON documents are stored as ``Text`` so that SQLite and PostgreSQL
behave the same; amoCRM ids are ``BigInteger``. Every change here needs a migration in
``migrations/versions`` (a test compares the migrated database with this module).
"""

from __future__ import annotations

from sqlalchemy import Column, Float, MetaData, String, Table, Text

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


# --- Webhook inbox (issue #6) ----------------------------------------------------------------
# One row per HTTP delivery (the raw body and headers, kept whole so nothing is lost and an
# unparseable body stays visible) and one inbox row per event found in it (dedupe, lease, retries
# and dead-lettering are per event). See docs/webhooks.md.
from sqlalchemy import BigInteger, ForeignKey, Index, Integer, LargeBinary  # noqa: E402

_Id = BigInteger().with_variant(Integer(), "sqlite")  # SQLite autoincrements INTEGER PRIMARY KEY only

inbox_deliveries = Table(
    "inbox_deliveries",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("received_at", Float, nullable=False),
    Column("request_id", String(100), nullable=True),
    Column("account_id", BigInteger, nullable=True),
    Column("subdomain", String(100), nullable=True),
    Column("headers", Text, nullable=False),  # JSON object
    Column("body", LargeBinary, nullable=False),
    Column("body_sha256", String(64), nullable=False, unique=True),
    Column("event_count", Integer, nullable=False),
    Column("parse_error", Text, nullable=True),
    comment="Raw webhook deliveries as received (one per distinct body).",
)

inbox = Table(
    "inbox",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("delivery_id", _Id, ForeignKey("inbox_deliveries.id"), nullable=False),
    Column("dedupe_key", String(255), nullable=False, unique=True),
    Column("kind", String(100), nullable=False),
    Column("section", String(100), nullable=False),
    Column("action", String(100), nullable=False),
    Column("entity_id", String(100), nullable=True),
    Column("account_id", BigInteger, nullable=True),
    Column("modified_at", BigInteger, nullable=True),
    Column("payload", Text, nullable=False),  # JSON: the decoded item the event is built from
    Column("state", String(20), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", Float, nullable=False),
    Column("lease_owner", String(200), nullable=True),
    Column("lease_expires_at", Float, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("done_at", Float, nullable=True),
    Index("ix_inbox_state_next_attempt_at", "state", "next_attempt_at"),
    Index("ix_inbox_delivery_id", "delivery_id"),
    comment="Webhook events to process: state, lease, attempts, last error.",
)

event_journal = Table(
    "event_journal",
    metadata,
    Column("dedupe_key", String(255), primary_key=True),
    Column("inbox_id", BigInteger, nullable=False),
    Column("kind", String(100), nullable=False),
    Column("entity_id", String(100), nullable=True),
    Column("account_id", BigInteger, nullable=True),
    Column("modified_at", BigInteger, nullable=True),
    Column("processed_at", Float, nullable=False),
    comment="One row per webhook event processed (idempotent): the receiver's own effect log.",
)
