"""The one schema of amo-bridge's store, as SQLAlchemy Core tables.

Conventions: times are Unix seconds (``Float`` where sub-second precision matters, ``BigInteger``
for amoCRM's own timestamps); JSON documents are stored as ``Text`` so that SQLite and PostgreSQL
behave the same; amoCRM ids are ``BigInteger``. Every change here needs a migration in
``migrations/versions`` (a test compares the migrated database with this module).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Float, Index, Integer, MetaData, String, Table, Text

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


# --- Scheduled jobs (issue #9): run history, retention hand-offs, trigger episodes -------------------

job_runs = Table(
    "job_runs",
    metadata,
    Column("run_id", String(40), primary_key=True),
    Column("job", String(100), nullable=False),
    Column("origin", String(20), nullable=False),  # scheduler | run (amo-bridge run) | manual
    Column("dry_run", Boolean, nullable=False),
    Column("host", String(200), nullable=False),
    Column("started_at", Float, nullable=False),
    Column("finished_at", Float, nullable=True),
    # running | succeeded | partial | failed | skipped | abandoned
    Column("status", String(20), nullable=False),
    Column("seen", Integer, nullable=False),
    Column("changed", Integer, nullable=False),
    Column("failed", Integer, nullable=False),
    Column("error", Text, nullable=True),
    Index("ix_job_runs_job_started_at", "job", "started_at"),
    comment="One row per run of a scheduled job; the run id is the correlation id of its log lines.",
)

retention_handoffs = Table(
    "retention_handoffs",
    metadata,
    Column("won_lead_id", BigInteger, primary_key=True),
    # claimed -> lead_ready -> done; the row is written BEFORE the lead is created in amoCRM
    Column("state", String(20), nullable=False),
    Column("mode", String(10), nullable=False),
    Column("claimed_by", String(40), nullable=False),  # run id
    Column("claimed_at", Float, nullable=False),
    Column("retention_lead_id", BigInteger, nullable=True),
    Column("account_manager_id", BigInteger, nullable=True),
    Column("task_id", BigInteger, nullable=True),
    Column("task_text", Text, nullable=True),
    Column("won_closed_at", BigInteger, nullable=True),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    comment="Intent and outcome of moving one won deal into retention: at most one retention lead each.",
)

trigger_episodes = Table(
    "trigger_episodes",
    metadata,
    Column("rule", String(100), primary_key=True),
    Column("lead_id", BigInteger, primary_key=True),
    # pending (task being created) | active (condition true, task made) | cleared (condition false)
    Column("state", String(20), nullable=False),
    Column("episodes", Integer, nullable=False),
    Column("task_id", BigInteger, nullable=True),
    Column("task_text", Text, nullable=True),
    Column("fired_at", Float, nullable=True),
    Column("cleared_at", Float, nullable=True),
    Column("claimed_by", String(40), nullable=True),
    Column("updated_at", Float, nullable=False),
    comment="Edge-triggered rules: one task per episode of a condition being true for a lead.",
)
