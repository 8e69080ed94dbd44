"""The one schema of amo-bridge's store, as SQLAlchemy Core tables.

Conventions: times are Unix seconds (``Float`` where sub-second precision matters, ``BigInteger``
for amoCRM's own timestamps); JSON documents are stored as ``Text`` so that SQLite and PostgreSQL
behave the same; amoCRM ids are ``BigInteger``. Every change here needs a migration in
``migrations/versions`` (a test compares the migrated database with this module).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

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


# ---------------------------------------------------------------------------------------------
# Lead distribution (amo_bridge/distribution): rotation state, assignments, outbox, pauses, users
# ---------------------------------------------------------------------------------------------

distribution_lanes = Table(
    "distribution_lanes",
    metadata,
    Column("pool", String(40), primary_key=True),
    Column("lane", String(40), primary_key=True),
    Column("vtime", Float, nullable=False),
    Column("present", Text, nullable=False),  # JSON list of user ids available at the last decision
    Column("decisions", BigInteger, nullable=False),
    Column("updated_at", Float, nullable=False),
    comment="One row per rotation (pool and sub-pool): its virtual time and who was available.",
)

distribution_members = Table(
    "distribution_members",
    metadata,
    Column("pool", String(40), primary_key=True),
    Column("lane", String(40), primary_key=True),
    Column("user_id", BigInteger, primary_key=True),
    Column("vstart", Float, nullable=False),  # the member's virtual start ("pass")
    Column("assigned", BigInteger, nullable=False),
    Column("last_assigned_at", Float, nullable=True),
    comment="Per member of a rotation: virtual start and how many leads it gave them.",
)

distribution_assignments = Table(
    "distribution_assignments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("pool", String(40), nullable=False),
    Column("lane", String(40), nullable=False),
    Column("entity_type", String(16), nullable=False),  # lead | unsorted
    Column("entity_id", String(64), nullable=False),  # lead id or unsorted uid
    Column("episode", Integer, nullable=False),
    Column("seq", Integer, nullable=False),  # 0: the decision; 1..: reassignments in the episode
    Column("lead_id", BigInteger, nullable=True),
    Column("user_id", BigInteger, nullable=False),
    Column("reason", String(20), nullable=False),
    Column("rule", Text, nullable=True),
    Column("candidates", Text, nullable=False),  # JSON
    Column("state", String(16), nullable=False),  # pending | active | missed | rejected | closed
    Column("created_at", Float, nullable=False),  # assigned at
    Column("applied_at", Float, nullable=True),  # amoCRM confirmed the write
    Column("sla_due_at", Float, nullable=True),
    Column("first_action_at", Float, nullable=True),
    Column("reassign_count", Integer, nullable=False),
    Column("closed_at", Float, nullable=True),
    Column("note", Text, nullable=True),
    UniqueConstraint(
        "pool", "entity_type", "entity_id", "episode", "seq", name="uq_distribution_assignments_episode"
    ),
    Index(None, "pool", "user_id", "created_at"),
    Index(None, "lead_id"),
    Index(None, "state", "sla_due_at"),
    comment="Every distribution decision with its reason and the candidates considered (the audit).",
)

distribution_outbox = Table(
    "distribution_outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("dedupe_key", String(200), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),  # apply | decide
    Column("pool", String(40), nullable=False),
    Column("entity_type", String(16), nullable=False),
    Column("entity_id", String(64), nullable=False),
    Column("assignment_id", Integer, nullable=True),
    Column("payload", Text, nullable=False),  # JSON
    Column("state", String(16), nullable=False),  # pending | done | dead
    Column("attempts", Integer, nullable=False),
    Column("due_at", Float, nullable=False),
    Column("last_error", Text, nullable=True),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Index(None, "state", "due_at"),
    comment="amoCRM writes of assignments and held decisions, retried until done or rolled back.",
)

distribution_pauses = Table(
    "distribution_pauses",
    metadata,
    Column("user_id", BigInteger, primary_key=True),
    Column("pool", String(40), primary_key=True),  # "*": every pool
    Column("paused_at", Float, nullable=False),
    Column("reason", Text, nullable=True),
    comment="Members who take no new leads until resumed.",
)

crm_users = Table(
    "crm_users",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("email", String(200), nullable=True),
    Column("is_active", Boolean, nullable=False),
    Column("group_id", BigInteger, nullable=True),
    Column("synced_at", Float, nullable=False),
    comment="Mirror of the account's users (the users sync job fills it): inactive users get no leads.",
)
