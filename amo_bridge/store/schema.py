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
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
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
# amoCRM API client (amo_bridge/api): OAuth tokens, the shared rate limiter, idempotent creates.
# ---------------------------------------------------------------------------------------------

amo_tokens = Table(
    "amo_tokens",
    metadata,
    Column("name", String(50), primary_key=True),  # "default": one integration per deployment
    Column("access_token", Text, nullable=False),
    Column("refresh_token", Text, nullable=False),
    Column("expires_at", Float, nullable=False),
    Column("api_domain", String(255), nullable=True),
    Column("updated_at", Float, nullable=False),
    comment="The OAuth token pair of the amoCRM integration (never in files or logs).",
)

amo_rate_limits = Table(
    "amo_rate_limits",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("tat", Float, nullable=False),  # the lane's next free slot (GCRA theoretical arrival time)
    comment="Shared request slots of the amoCRM API limiter, one row per lane of the sliding window.",
)

amo_idempotency = Table(
    "amo_idempotency",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("operation", String(100), nullable=False),
    Column("state", String(20), nullable=False),  # pending | done
    Column("entity_id", BigInteger, nullable=True),
    Column("attempts", Integer, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    comment="Idempotency keys of creating API calls, written before the call.",
)


# --- hand-offs between the levels (amo_bridge/handoff) -------------------------------------------

handoffs = Table(
    "handoffs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("dedupe_key", String(200), nullable=False, unique=True),
    Column("kind", String(32), nullable=False),
    Column("rule", String(200), nullable=False),
    Column("lead_id", BigInteger, nullable=True),
    Column("from_pipeline_id", BigInteger, nullable=True),
    Column("from_status_id", BigInteger, nullable=True),
    Column("to_pipeline_id", BigInteger, nullable=True),
    Column("from_user_id", BigInteger, nullable=True),
    Column("to_user_id", BigInteger, nullable=True),
    Column("reason", Text, nullable=False),
    Column("actions", Text, nullable=False),  # JSON list of the planned actions
    Column("done_actions", Integer, nullable=False, default=0),
    Column("state", String(16), nullable=False),  # planned | done | skipped
    Column("error", Text, nullable=True),
    Column("created_at", Float, nullable=False),
    Column("finished_at", Float, nullable=True),
    Index("ix_handoffs_lead_id_created_at", "lead_id", "created_at"),
    comment="Every hand-off between levels: who, from, to, why; also the once-only guard.",
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


# --- Webhook inbox (issue #6) ----------------------------------------------------------------
# One row per HTTP delivery (the raw body and headers, kept whole so nothing is lost and an
# unparseable body stays visible) and one inbox row per event found in it (dedupe, lease, retries
# and dead-lettering are per event). See docs/webhooks.md.

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
    Column("entity_type", String(16), nullable=False),  # lead | unsorted | won_deal | trigger
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

# --- KPI event history (issue #10) ------------------------------------------------------------------
# One row per real change in amoCRM, however many sources reported it (the /api/v4/events backfill,
# webhooks, lead reconciliation). Every natural key a source gives for a change is kept in
# ``kpi_event_keys``, pointing at the one row it stands for; ``match_key`` groups rows that describe
# the same change so that a second source merges into the row of the first (see docs/kpi.md).

_KpiId = BigInteger().with_variant(Integer(), "sqlite")

kpi_events = Table(
    "kpi_events",
    metadata,
    Column("id", _KpiId, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),
    Column("occurred_at", BigInteger, nullable=False),
    Column("lead_id", BigInteger, nullable=True),
    Column("entity_id", BigInteger, nullable=True),
    Column("user_id", BigInteger, nullable=True),
    Column("actor_id", BigInteger, nullable=True),
    Column("old_user_id", BigInteger, nullable=True),
    Column("pipeline_id", BigInteger, nullable=True),
    Column("status_id", BigInteger, nullable=True),
    Column("old_pipeline_id", BigInteger, nullable=True),
    Column("old_status_id", BigInteger, nullable=True),
    Column("price", Float, nullable=True),
    Column("duration", Integer, nullable=True),
    Column("call_result", String(200), nullable=True),
    Column("task_type_id", BigInteger, nullable=True),
    Column("due_at", BigInteger, nullable=True),
    Column("note_type", String(64), nullable=True),
    Column("field_id", BigInteger, nullable=True),
    Column("value", Float, nullable=True),
    Column("client_id", BigInteger, nullable=True),
    Column("match_key", String(160), nullable=False),
    Column("sources", Integer, nullable=False),
    Column("recorded_at", Float, nullable=False),
    # The KPI queries read a kind's rows of a period: the trailing columns answer them from the index
    # alone (calls, moves, new leads, the funnel), without a random table read per row.
    Index(
        "ix_kpi_events_kind_occurred_at_covering",
        "kind",
        "occurred_at",
        "lead_id",
        "user_id",
        "actor_id",
        "pipeline_id",
        "status_id",
        "old_pipeline_id",
    ),
    Index("ix_kpi_events_occurred_at", "occurred_at"),
    Index("ix_kpi_events_lead_id_occurred_at_kind", "lead_id", "occurred_at", "kind"),
    Index("ix_kpi_events_match_key", "match_key"),
    Index("ix_kpi_events_client_id_occurred_at", "client_id", "occurred_at"),
    Index("ix_kpi_events_entity_id_kind_occurred_at", "entity_id", "kind", "occurred_at"),
    # Tasks by deadline (only task rows have one): overdue tasks of a period without reading every task.
    Index(
        "ix_kpi_events_due_at",
        "due_at",
        "kind",
        "entity_id",
        "user_id",
        "actor_id",
        sqlite_where=text("due_at IS NOT NULL"),
        postgresql_where=text("due_at IS NOT NULL"),
    ),
    comment="KPI event history: each relevant amoCRM change once, whatever reported it.",
)

kpi_event_keys = Table(
    "kpi_event_keys",
    metadata,
    Column("key", String(160), primary_key=True),
    Column("event_id", BigInteger, nullable=False),
    Column("source", String(16), nullable=False),
    Index("ix_kpi_event_keys_event_id", "event_id"),
    comment="Natural keys (amoCRM event ids, webhook and lead keys) of each kpi_events row.",
)
