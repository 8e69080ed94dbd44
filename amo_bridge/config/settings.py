"""The settings sections and the one frozen :class:`Settings` object built from them.

Each section groups one concern. Variable names are a contract with deployments and tests:
rename none of them. ``config.example.env`` documents every variable declared here (a test checks).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from amo_bridge.config import job_parsers as jp
from amo_bridge.config import parsers as p
from amo_bridge.config.spec import env, env_fields
from amo_bridge.distribution import config as dc
from amo_bridge.distribution.calendar import ALWAYS, WeeklyHours, WorkCalendar
from amo_bridge.distribution.model import AfterHours, Pool
from amo_bridge.errors import ConfigProblem
from amo_bridge.handoff.rules import HandoffRules, load_rules_file
from amo_bridge.kpi import activities as kpi
from amo_bridge.kpi.activities import ActivityMap, FrozenMap, LevelMembers
from amo_bridge.schedules import Schedule
from amo_bridge.secrets import Secret
from amo_bridge.workhours import WorkingHours


@dataclass(frozen=True)
class AmoSettings:
    """The amoCRM account and how to talk to it."""

    subdomain: str | None = env(
        "AMO_SUBDOMAIN",
        parse=p.subdomain,
        default=None,
        help="Account subdomain: mycompany for https://mycompany.amocrm.ru",
    )
    base_url: str | None = env(
        "AMO_BASE_URL",
        parse=p.http_url,
        default=None,
        help="Overrides https://{AMO_SUBDOMAIN}.amocrm.ru (e.g. the sandbox, .kommo.com accounts)",
    )
    account_id: int | None = env(
        "AMO_ACCOUNT_ID",
        parse=p.positive_int,
        default=None,
        help="Numeric account id; webhooks and widget tokens from other accounts are refused",
    )
    client_id: str | None = env(
        "AMO_CLIENT_ID",
        parse=p.text,
        default=None,
        help="Integration id (OAuth client_id), also the widget's client_uuid",
    )
    client_secret: Secret | None = env(
        "AMO_CLIENT_SECRET",
        parse=p.secret,
        default=None,
        secret=True,
        help="Integration secret key (OAuth client_secret; signs widget tokens)",
    )
    redirect_uri: str | None = env(
        "AMO_REDIRECT_URI",
        parse=p.http_url,
        default=None,
        help="Redirect URI registered with the integration (our GET /oauth/callback)",
    )
    long_lived_token: Secret | None = env(
        "AMO_LONG_LIVED_TOKEN",
        parse=p.secret,
        default=None,
        secret=True,
        help="Long-lived token of a private integration (instead of OAuth)",
    )
    auth_mode: str = env(
        "AMO_AUTH_MODE",
        parse=p.choice("auto", "oauth", "long_lived"),
        default="auto",
        help="auto: long_lived when AMO_LONG_LIVED_TOKEN is set, else oauth",
    )
    rate_limit: float = env(
        "AMO_RATE_LIMIT",
        parse=p.bounded_float(0, 50, "requests per second"),
        default=7.0,
        help="Requests per second shared by all processes of this integration (amoCRM allows 7)",
    )
    rate_burst: int | None = env(
        "AMO_RATE_BURST",
        parse=p.positive_int,
        default=None,
        help="Most requests sent at once when the budget is free (default: the whole per-second rate)",
    )
    timezone: ZoneInfo = env(
        "AMO_TIMEZONE",
        parse=p.timezone,
        default=ZoneInfo("Europe/Moscow"),
        help="Account time zone: working hours, day boundaries of KPIs, task deadlines",
    )
    connect_timeout: float = env(
        "AMO_CONNECT_TIMEOUT",
        parse=p.positive_float,
        default=5.0,
        help="Seconds to wait for a TCP/TLS connection to amoCRM",
    )
    read_timeout: float = env(
        "AMO_READ_TIMEOUT",
        parse=p.positive_float,
        default=30.0,
        help="Seconds to wait for amoCRM's response",
    )
    max_retries: int = env(
        "AMO_MAX_RETRIES",
        parse=p.non_negative_int,
        default=5,
        help="Retries of a retryable call (429, 5xx, connection error) before giving up",
    )
    token_refresh_margin: int = env(
        "AMO_TOKEN_REFRESH_MARGIN",
        parse=p.non_negative_int,
        default=3600,
        help="Refresh the OAuth access token this many seconds before it expires",
    )
    block_cooldown: int = env(
        "AMO_BLOCK_COOLDOWN",
        parse=p.positive_int,
        default=3600,
        help="After a 403 IP block, every process stops calling amoCRM for this many seconds",
    )

    @property
    def api_base_url(self) -> str | None:
        if self.base_url:
            return self.base_url
        if self.subdomain:
            return f"https://{self.subdomain}.amocrm.ru"
        return None

    @property
    def effective_auth_mode(self) -> str:
        if self.auth_mode != "auto":
            return self.auth_mode
        return "long_lived" if self.long_lived_token else "oauth"

    def problems(self) -> list[ConfigProblem]:
        if self.rate_burst is not None and self.rate_limit > 0 and self.rate_burst > self.rate_limit:
            expected = f"at most AMO_RATE_LIMIT ({self.rate_limit:g}): a burst is part of the budget"
            return [ConfigProblem("AMO_RATE_BURST", str(self.rate_burst), expected)]
        return []

    def api_problems(self) -> list[ConfigProblem]:
        """What is missing before amo-bridge can call this account's API."""
        problems: list[ConfigProblem] = []
        if self.api_base_url is None:
            problems.append(ConfigProblem("AMO_SUBDOMAIN", None, "the account subdomain or AMO_BASE_URL"))
        if self.effective_auth_mode == "long_lived":
            if not self.long_lived_token:
                problems.append(ConfigProblem("AMO_LONG_LIVED_TOKEN", None, "a long-lived token"))
        else:
            for name, value in (
                ("AMO_CLIENT_ID", self.client_id),
                ("AMO_CLIENT_SECRET", self.client_secret),
                ("AMO_REDIRECT_URI", self.redirect_uri),
            ):
                if not value:
                    problems.append(
                        ConfigProblem(name, None, "a value for OAuth (or set AMO_LONG_LIVED_TOKEN)")
                    )
        return problems


@dataclass(frozen=True)
class StoreSettings:
    """Where amo-bridge keeps its state."""

    database_url: str = env(
        "DATABASE_URL",
        parse=p.database_url,
        default="sqlite:///amo_bridge.db",
        help="SQLite file (embedded default) or postgresql+psycopg://user@host:5432/db (production)",
    )
    redis_url: str | None = env(
        "REDIS_URL",
        parse=p.redis_url,
        default=None,
        help="Optional Redis for the shared rate limiter; the database is used when unset",
    )

    @property
    def safe_database_url(self) -> str:
        """The database URL with any password masked, for messages and ``check-config``."""
        from sqlalchemy.engine import make_url

        return make_url(self.database_url).render_as_string(hide_password=True)

    def __repr__(self) -> str:
        return f"StoreSettings(database_url={self.safe_database_url!r}, redis_url={self.redis_url!r})"


@dataclass(frozen=True)
class WebhookSettings:
    """The receiver: where amoCRM posts events and how we answer."""

    secret: Secret | None = env(
        "WEBHOOK_SECRET",
        parse=p.secret,
        default=None,
        secret=True,
        help="Secret path segment of POST /webhooks/amocrm/<secret>; 16+ random characters",
    )
    public_url: str | None = env(
        "PUBLIC_URL",
        parse=p.http_url,
        default=None,
        help="Public base URL of this receiver, used to subscribe webhooks and sign dashboard links",
    )
    max_body_bytes: int = env(
        "WEBHOOK_MAX_BODY_BYTES",
        parse=p.positive_int,
        default=1_048_576,
        help="Larger webhook bodies are refused with 413",
    )
    host: str = env(
        "SERVE_HOST",
        parse=p.text,
        default="127.0.0.1",
        help="Address `amo-bridge serve` listens on",
    )
    port: int = env(
        "SERVE_PORT",
        parse=p.positive_int,
        default=8000,
        help="Port `amo-bridge serve` listens on",
    )

    def problems(self) -> list[ConfigProblem]:
        if self.secret is not None and 0 < len(self.secret) < 16:
            return [ConfigProblem("WEBHOOK_SECRET", str(self.secret), "at least 16 characters")]
        return []

    def serve_problems(self) -> list[ConfigProblem]:
        if not self.secret:
            return [ConfigProblem("WEBHOOK_SECRET", None, "a secret of 16+ characters to receive webhooks")]
        return []


@dataclass(frozen=True)
class WorkerSettings:
    """Workers that process the durable inbox."""

    concurrency: int = env(
        "WORKER_CONCURRENCY",
        parse=p.positive_int,
        default=2,
        help="Threads per `amo-bridge worker` process",
    )
    lease_seconds: int = env(
        "INBOX_LEASE_SECONDS",
        parse=p.positive_int,
        default=60,
        help="A claimed inbox row returns to the queue if its worker is silent this long",
    )
    max_attempts: int = env(
        "INBOX_MAX_ATTEMPTS",
        parse=p.positive_int,
        default=8,
        help="Failed attempts before an inbox row is moved to dead",
    )
    retry_base: float = env(
        "INBOX_RETRY_BASE_SECONDS",
        parse=p.positive_float,
        default=30.0,
        help="Delay before the first retry of a failed inbox row; doubles with each attempt",
    )
    retry_cap: float = env(
        "INBOX_RETRY_MAX_SECONDS",
        parse=p.positive_float,
        default=3600.0,
        help="Longest delay between two attempts of a failed inbox row",
    )
    poll_seconds: float = env(
        "WORKER_POLL_SECONDS",
        parse=p.positive_float,
        default=1.0,
        help="How long an idle worker thread waits before looking for new inbox rows",
    )


@dataclass(frozen=True)
class SandboxSettings:
    """The local amoCRM emulator (`amo-bridge sandbox`)."""

    host: str = env(
        "SANDBOX_HOST",
        parse=p.text,
        default="127.0.0.1",
        help="Address `amo-bridge sandbox` listens on",
    )
    port: int = env(
        "SANDBOX_PORT",
        parse=p.positive_int,
        default=8900,
        help="Port `amo-bridge sandbox` listens on",
    )
    seed: int = env(
        "SANDBOX_SEED",
        parse=p.non_negative_int,
        default=1,
        help="Seed of the sandbox account and scenario: the same seed gives the same account",
    )
    long_lived_token: Secret | None = env(
        "SANDBOX_LONG_LIVED_TOKEN",
        parse=p.secret,
        default=None,
        secret=True,
        help="Long-lived token the sandbox accepts (defaults to AMO_LONG_LIVED_TOKEN)",
    )
    faults: str = env(
        "SANDBOX_FAULTS",
        parse=p.text,
        default="",
        help="Faults at start, e.g. error_rate=0.05,latency=0.2,drop_rate=0.01,block_after=50",
    )
    webhook_time_scale: float = env(
        "SANDBOX_WEBHOOK_TIME_SCALE",
        parse=p.positive_float,
        default=1.0,
        help="Multiplies amoCRM's webhook retry delays (5 min, 15 min, 15 min, 1 h)",
    )
    leads_per_day: int = env(
        "SANDBOX_LEADS_PER_DAY",
        parse=p.positive_int,
        default=60,
        help="Leads arriving per simulated working day",
    )
    assigned_only: bool = env(
        "SANDBOX_ASSIGNED_ONLY",
        parse=p.boolean,
        default=True,
        help="Simulated managers act only on leads assigned to their department (amo-bridge distributes)",
    )


@dataclass(frozen=True)
class DistributionSettings:
    """Fair lead distribution: pools, members, availability, SLA."""

    enabled: bool = env(
        "DISTRIBUTION_ENABLED",
        parse=p.boolean,
        default=False,
        help="Distribute leads: workers assign arrivals of the pools below",
    )
    pool_specs: tuple[dc.PoolSpec, ...] = env(
        "DISTRIBUTION_POOLS",
        parse=dc.parse_pools,
        default=dc.PoolList(),
        help="Pools: NAME = TRIGGER : MEMBERS [: OPTIONS]; ... (see docs/distribution.md)",
    )
    rules: tuple[dc.RuleSpec, ...] = env(
        "DISTRIBUTION_RULES",
        parse=dc.parse_rules,
        default=dc.RuleList(),
        help="Routing rules: POOL[.NAME]: CONDITION [and CONDITION] -> MEMBERS; ...",
    )
    rules_file: tuple[dc.RuleSpec, ...] = env(
        "DISTRIBUTION_RULES_FILE",
        parse=dc.parse_rules_file,
        default=dc.RuleList(),
        help="A file with more routing rules, one per line (checked after DISTRIBUTION_RULES)",
    )
    hours: WeeklyHours = env(
        "DISTRIBUTION_HOURS",
        parse=dc.parse_hours,
        default=dc.Hours(ALWAYS),
        help="Working hours in AMO_TIMEZONE, e.g. mon-fri 09:00-18:00, sat 10:00-14:00 (default: always)",
    )
    member_hours: tuple[tuple[int, WeeklyHours], ...] = env(
        "DISTRIBUTION_MEMBER_HOURS",
        parse=dc.parse_member_hours,
        default=dc.MemberHours(),
        help="Members' own hours: USER: HOURS; USER: HOURS",
    )
    days_off: frozenset[dt.date] = env(
        "DISTRIBUTION_DAYS_OFF",
        parse=dc.parse_days_off,
        default=dc.DaysOff(),
        help="Company days off: YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD, comma-separated",
    )
    vacations: tuple[tuple[int, tuple[tuple[dt.date, dt.date], ...]], ...] = env(
        "DISTRIBUTION_VACATIONS",
        parse=dc.parse_vacations,
        default=dc.Vacations(),
        help="Members' vacations: USER: DATES; USER: DATES",
    )
    after_hours: AfterHours = env(
        "DISTRIBUTION_AFTER_HOURS",
        parse=dc.parse_after_hours,
        default=AfterHours(),
        help="When nobody is on shift: hold (until the next shift), assign (anyway) or on_duty:USER,USER",
    )
    max_open_leads: int = env(
        "DISTRIBUTION_MAX_OPEN_LEADS",
        parse=p.non_negative_int,
        default=0,
        help="A member with this many open distributed leads gets no more (0: no cap)",
    )
    daily_quota: int = env(
        "DISTRIBUTION_DAILY_QUOTA",
        parse=p.non_negative_int,
        default=0,
        help="Leads per member per day at most (0: no quota)",
    )
    sticky: bool = env(
        "DISTRIBUTION_STICKY",
        parse=p.boolean,
        default=True,
        help="A lead whose contact or company has an open lead with a pool member goes to that member",
    )
    sla_minutes: int = env(
        "DISTRIBUTION_SLA_MINUTES",
        parse=p.non_negative_int,
        default=0,
        help="Reassign a lead whose assignee has not acted within this many minutes (0: never)",
    )
    sla_max_reassign: int = env(
        "DISTRIBUTION_SLA_MAX_REASSIGN",
        parse=p.non_negative_int,
        default=2,
        help="SLA reassignments of one lead at most",
    )
    first_task_minutes: int = env(
        "DISTRIBUTION_FIRST_TASK_MINUTES",
        parse=p.non_negative_int,
        default=15,
        help="First-contact task due this many working minutes after assignment (0: no task)",
    )
    first_task_text: str = env(
        "DISTRIBUTION_FIRST_TASK_TEXT",
        parse=p.text,
        default="Contact the client",
        help="Text of the first-contact task",
    )
    move_related: bool = env(
        "DISTRIBUTION_MOVE_RELATED",
        parse=p.boolean,
        default=True,
        help="Also give the lead's contacts, company and open tasks to the assignee",
    )
    max_attempts: int = env(
        "DISTRIBUTION_MAX_ATTEMPTS",
        parse=p.positive_int,
        default=8,
        help="Failed amoCRM writes of one assignment before it is rolled back and decided again",
    )
    retry_seconds: int = env(
        "DISTRIBUTION_RETRY_SECONDS",
        parse=p.positive_int,
        default=300,
        help="When nobody can take a lead (all paused, capped), decide again after this many seconds",
    )

    def problems(self) -> list[ConfigProblem]:
        return [
            ConfigProblem(variable, None, expected)
            for variable, expected in dc.cross_problems(self.pool_specs, self.rules + self.rules_file)
        ]

    def defaults(self) -> dc.PoolDefaults:
        return dc.PoolDefaults(
            cap=self.max_open_leads,
            daily_quota=self.daily_quota,
            after_hours=self.after_hours,
            sticky=self.sticky,
            sla_minutes=self.sla_minutes,
            sla_max_reassign=self.sla_max_reassign,
            first_task_minutes=self.first_task_minutes,
            move_related=self.move_related,
        )

    def pools(self) -> tuple[Pool, ...]:
        """The pools with their rules and options resolved."""
        return dc.build_pools(self.pool_specs, self.rules + self.rules_file, self.defaults())

    def calendar(self, timezone: ZoneInfo) -> WorkCalendar:
        return WorkCalendar(
            timezone, self.hours, dict(self.member_hours), self.days_off, dict(self.vacations)
        )


@dataclass(frozen=True)
class HandoffSettings:
    """Hand-offs between the levels: outcome stages, duplicates, warm-up return."""

    rules: HandoffRules | None = env(
        "HANDOFF_RULES_FILE",
        parse=load_rules_file,
        default=None,
        help="TOML file of hand-off rules: outcome stages, duplicates, warm-up return (docs/handoff.md)",
    )
    phone_region: str = env(
        "HANDOFF_PHONE_REGION",
        parse=p.phone_region,
        default="RU",
        help="Region assumed for phone numbers written without a country code (ISO 3166 code)",
    )


@dataclass(frozen=True)
class JobsSettings:
    """Scheduled jobs: schedules, retention, triggers."""

    schedule_won_to_retention: Schedule = env(
        "SCHEDULE_WON_TO_RETENTION",
        parse=jp.schedule,
        default=Schedule("interval", seconds=600),
        help="When won_to_retention runs: cron ('*/10 * * * *'), interval ('every 10m') or off",
    )
    schedule_triggers: Schedule = env(
        "SCHEDULE_TRIGGERS",
        parse=jp.schedule,
        default=Schedule("cron", cron="0 8 * * *"),
        help="When the trigger rules are evaluated (cron in AMO_TIMEZONE, interval or off)",
    )
    schedule_users_sync: Schedule = env(
        "SCHEDULE_USERS_SYNC",
        parse=jp.schedule,
        default=Schedule("interval", seconds=3600),
        help="When users_sync runs (active users and groups)",
    )
    schedule_sla_reassign: Schedule = env(
        "SCHEDULE_SLA_REASSIGN",
        parse=jp.schedule,
        default=Schedule("interval", seconds=60),
        help="When sla_reassign runs (the distributor's SLA)",
    )
    schedule_events_sync: Schedule = env(
        "SCHEDULE_EVENTS_SYNC",
        parse=jp.schedule,
        default=Schedule("interval", seconds=300),
        help="When events_sync runs (amoCRM events into our history)",
    )
    schedule_kpi_sync: Schedule = env(
        "SCHEDULE_KPI_SYNC",
        parse=jp.schedule,
        default=Schedule("cron", cron="30 0 * * *"),
        help="When kpi_sync runs (KPI rows into amoCRM)",
    )
    lease_seconds: float = env(
        "SCHEDULE_LEASE_SECONDS",
        parse=p.positive_float,
        default=30.0,
        help="Scheduler leadership lease; a standby scheduler takes over this long after the leader dies",
    )
    misfire_grace_seconds: int = env(
        "SCHEDULE_MISFIRE_GRACE_SECONDS",
        parse=p.positive_int,
        default=300,
        help="A run that missed its time by less than this still runs (once: missed runs coalesce)",
    )
    working_hours: str = env(
        "SCHEDULE_WORKING_HOURS",
        parse=jp.working_hours,
        default="09:00-18:00",
        help="Working hours in AMO_TIMEZONE: task deadlines are moved inside them",
    )
    working_days: str = env(
        "SCHEDULE_WORKING_DAYS",
        parse=jp.working_days,
        default="mon-fri",
        help="Working days: mon-fri, or a list such as mon,tue,wed,thu,fri,sat",
    )
    retention_pipeline_id: int | None = env(
        "RETENTION_PIPELINE_ID",
        parse=p.positive_int,
        default=None,
        help="The retention pipeline ('Сопровождение'); won_to_retention needs it",
    )
    retention_stage_id: int | None = env(
        "RETENTION_STAGE_ID",
        parse=p.positive_int,
        default=None,
        help="Stage for new retention leads (default: the pipeline's first stage after unsorted)",
    )
    retention_source_pipelines: tuple[int, ...] = env(
        "RETENTION_SOURCE_PIPELINES",
        parse=jp.id_list,
        default=(),
        help="Pipelines whose won deals go to retention, comma-separated (empty: none)",
    )
    retention_mode: str = env(
        "RETENTION_MODE",
        parse=p.choice("copy", "move"),
        default="copy",
        help="copy: a new lead in retention, the won deal untouched; move: move the won deal itself",
    )
    retention_copy_fields: tuple[int, ...] = env(
        "RETENTION_COPY_FIELDS",
        parse=jp.id_list,
        default=(),
        help="Custom field ids copied from the won deal to the retention lead (copy mode)",
    )
    retention_reference_field_id: int | None = env(
        "RETENTION_REFERENCE_FIELD_ID",
        parse=p.positive_int,
        default=None,
        help="Lead custom field that holds the won deal's id on the retention lead (copy mode)",
    )
    retention_tag: str = env(
        "RETENTION_TAG",
        parse=p.text,
        default="retention",
        help="Tag put on every retention lead",
    )
    retention_name_template: str = env(
        "RETENTION_NAME_TEMPLATE",
        parse=p.text,
        default="{name}",
        help="Name of the retention lead; {name} and {id} are the won deal's",
    )
    retention_default_manager_id: int | None = env(
        "RETENTION_DEFAULT_MANAGER_ID",
        parse=p.positive_int,
        default=None,
        help="Account manager when the client has none and the L3 pool offers nobody",
    )
    retention_pool: str | None = env(
        "RETENTION_POOL",
        parse=dc.parse_pool_name,
        default=None,
        help="The distributor's pool of account managers (L3) for new clients "
        "(default: the one pool whose trigger is RETENTION_PIPELINE_ID)",
    )
    retention_give_client: bool = env(
        "RETENTION_GIVE_CLIENT",
        parse=p.boolean,
        default=True,
        help="Make the account manager responsible for the client's contacts and company too",
    )
    retention_manager_group_id: int | None = env(
        "RETENTION_MANAGER_GROUP_ID",
        parse=p.positive_int,
        default=None,
        help="amoCRM user group of account managers: a contact's responsible is sticky only if in it",
    )
    retention_first_call_delay: float = env(
        "RETENTION_FIRST_CALL_DELAY",
        parse=jp.duration,
        default=7200.0,
        help="The first-call task is due this long after the hand-off, moved into working hours",
    )
    retention_first_call_text: str = env(
        "RETENTION_FIRST_CALL_TEXT",
        parse=p.text,
        default="Первый звонок клиенту: знакомство с аккаунт-менеджером",
        help="Text of the first-call task",
    )
    retention_first_call_task_type: int = env(
        "RETENTION_FIRST_CALL_TASK_TYPE",
        parse=p.positive_int,
        default=1,
        help="amoCRM task type of the first-call task (1 = call)",
    )
    retention_lookback_days: int = env(
        "RETENTION_LOOKBACK_DAYS",
        parse=p.positive_int,
        default=7,
        help="On the first run (no watermark yet), look this many days back for won deals",
    )
    retention_claim_seconds: float = env(
        "RETENTION_CLAIM_SECONDS",
        parse=p.positive_float,
        default=300.0,
        help="A hand-off claimed by a run that stopped answering is taken over after this long",
    )
    trigger_rules: str = env(
        "TRIGGER_RULES",
        parse=jp.rules_text,
        default="",
        help="Trigger rules inline (the TOML syntax of docs/jobs.md, in a quoted multi-line value)",
    )
    trigger_rules_file: str | None = env(
        "TRIGGER_RULES_FILE",
        parse=p.text,
        default=None,
        help="File with trigger rules (TOML, see docs/jobs.md); added to TRIGGER_RULES",
    )

    def schedule_of(self, variable: str) -> Schedule:
        """The schedule held by the variable named ``variable`` (e.g. ``SCHEDULE_TRIGGERS``)."""
        for field_name, var in env_fields(type(self)):
            if var.name == variable:
                value = getattr(self, field_name)
                assert isinstance(value, Schedule)
                return value
        raise KeyError(variable)

    @property
    def working_time(self) -> WorkingHours:
        return WorkingHours.parse(self.working_hours, self.working_days)


@dataclass(frozen=True)
class KpiSettings:
    """KPIs: activity mapping, targets, sync into amoCRM."""

    levels: FrozenMap[str, LevelMembers] = env(
        "KPI_LEVELS",
        parse=kpi.parse_levels,
        default=FrozenMap(),
        help="Level membership: l1=group:101;l2=group:102;l3=users:7,8 (amoCRM group or user ids)",
    )
    targets: FrozenMap[tuple[str, str], float] = env(
        "KPI_TARGETS",
        parse=kpi.parse_targets,
        default=FrozenMap(),
        help="Targets per level and metric: l1.calls_per_day=40;l2.sales=20;l3.churned=2",
    )
    activities: ActivityMap = env(
        "KPI_ACTIVITIES",
        parse=kpi.parse_activities,
        default=ActivityMap(),
        help="What counts as an activity: proposal=task:3,note:proposal;repeat_call=call:repeat",
    )
    qualified_statuses: frozenset[int] = env(
        "KPI_QUALIFIED_STATUSES",
        parse=kpi.parse_id_set,
        default=frozenset(),
        help="Status ids meaning a lead was qualified (L1 conversion), comma-separated",
    )
    retention_pipeline_id: int | None = env(
        "KPI_RETENTION_PIPELINE_ID",
        parse=p.positive_int,
        default=None,
        help="Pipeline of repeat sales (L3 upsells are wins in it)",
    )
    churn_window_days: int = env(
        "KPI_CHURN_WINDOW_DAYS",
        parse=p.positive_int,
        default=90,
        help="A client with no purchase within this many days after the last one has churned",
    )
    reported_fields: FrozenMap[int, str] = env(
        "KPI_REPORTED_FIELDS",
        parse=kpi.parse_reported_fields,
        default=FrozenMap(),
        help="Custom fields where employees report their own numbers: calls=512301;proposal=512302",
    )
    first_response_sla: int = env(
        "KPI_FIRST_RESPONSE_SLA",
        parse=p.positive_int,
        default=900,
        help="Seconds from a new lead to its first call or stage move before it counts as an SLA miss",
    )
    catalog_name: str = env(
        "KPI_CATALOG_NAME",
        parse=p.text,
        default="KPI",
        help="Name of the amoCRM catalog (list) that receives one KPI element per employee and period",
    )
    days_since_purchase_field_id: int | None = env(
        "KPI_DAYS_SINCE_PURCHASE_FIELD_ID",
        parse=p.positive_int,
        default=None,
        help="Lead custom field (retention pipeline) that receives days since the client's last purchase",
    )
    churn_risk_field_id: int | None = env(
        "KPI_CHURN_RISK_FIELD_ID",
        parse=p.positive_int,
        default=None,
        help="Lead custom field (retention pipeline) that receives the churn risk: low, medium or high",
    )
    funnel_pipeline_id: int | None = env(
        "KPI_FUNNEL_PIPELINE_ID",
        parse=p.positive_int,
        default=None,
        help="Pipeline whose stage funnel the dashboard shows (default: the department funnel by level)",
    )

    def problems(self) -> list[ConfigProblem]:
        unknown = sorted({level for level, _ in self.targets if level not in self.levels})
        if unknown:
            return [
                ConfigProblem(
                    "KPI_TARGETS",
                    ";".join(f"{lv}.{m}={v:g}" for (lv, m), v in self.targets.items()),
                    "targets only for levels named in KPI_LEVELS (unknown: " + ", ".join(unknown) + ")",
                )
            ]
        return []


@dataclass(frozen=True)
class WidgetSettings:
    """The amoCRM widget and the dashboard."""

    dashboard_secret: Secret | None = env(
        "DASHBOARD_SECRET",
        parse=p.secret,
        default=None,
        secret=True,
        help="Signs dashboard links (16+ characters); when unset, a key derived from AMO_CLIENT_SECRET",
    )
    link_ttl: int = env(
        "DASHBOARD_LINK_TTL",
        parse=p.positive_int,
        default=7 * 86400,
        help="Seconds a link from `amo-bridge dashboard link` stays valid (default 7 days)",
    )
    session_ttl: int = env(
        "WIDGET_SESSION_TTL",
        parse=p.positive_int,
        default=900,
        help="Seconds the dashboard link handed to the widget's iframe stays valid",
    )
    token_leeway: int = env(
        "WIDGET_TOKEN_LEEWAY",
        parse=p.non_negative_int,
        default=30,
        help="Clock skew in seconds tolerated on the exp/nbf/iat of widget tokens",
    )
    allowed_origins: tuple[str, ...] = env(
        "WIDGET_ALLOWED_ORIGINS",
        parse=p.origins,
        default=(),
        help="Origins allowed to call /widget/ (CORS); default: the account's amocrm.ru/.com and kommo.com",
    )

    def problems(self) -> list[ConfigProblem]:
        if self.dashboard_secret is not None and 0 < len(self.dashboard_secret) < 16:
            return [ConfigProblem("DASHBOARD_SECRET", str(self.dashboard_secret), "at least 16 characters")]
        return []

    def link_secret(self, amo: AmoSettings) -> Secret | None:
        """The secret dashboard links are signed with: DASHBOARD_SECRET, else AMO_CLIENT_SECRET."""
        if self.dashboard_secret:
            return self.dashboard_secret
        return amo.client_secret or None

    def origins(self, amo: AmoSettings) -> tuple[str, ...]:
        """Origins allowed to call the widget endpoints from the browser."""
        if self.allowed_origins:
            return self.allowed_origins
        found: list[str] = []
        if amo.subdomain:
            found += [f"https://{amo.subdomain}.{host}" for host in ("amocrm.ru", "amocrm.com", "kommo.com")]
        if amo.base_url:
            found.append(amo.base_url)
        return tuple(found)


@dataclass(frozen=True)
class LogSettings:
    """Logging."""

    level: str = env(
        "LOG_LEVEL",
        parse=p.log_level,
        default="INFO",
        help="DEBUG, INFO, WARNING, ERROR or CRITICAL",
    )
    format: str = env(
        "LOG_FORMAT",
        parse=p.choice("text", "json"),
        default="text",
        help="text for people, json (one object per line) for log collectors",
    )


@dataclass(frozen=True)
class Settings:
    """Everything amo-bridge reads from its environment, validated once at start-up."""

    amo: AmoSettings = field(default_factory=AmoSettings)
    store: StoreSettings = field(default_factory=StoreSettings)
    webhooks: WebhookSettings = field(default_factory=WebhookSettings)
    worker: WorkerSettings = field(default_factory=WorkerSettings)
    sandbox: SandboxSettings = field(default_factory=SandboxSettings)
    distribution: DistributionSettings = field(default_factory=DistributionSettings)
    handoff: HandoffSettings = field(default_factory=HandoffSettings)
    jobs: JobsSettings = field(default_factory=JobsSettings)
    kpi: KpiSettings = field(default_factory=KpiSettings)
    widget: WidgetSettings = field(default_factory=WidgetSettings)
    log: LogSettings = field(default_factory=LogSettings)
    warnings: tuple[str, ...] = ()

    def problems(self) -> list[ConfigProblem]:
        """Problems between sections (each section checks its own variables when it is read)."""
        pool = self.jobs.retention_pool
        names = [spec.name for spec in self.distribution.pool_specs]
        if pool is not None and pool not in names:
            configured = ", ".join(names) if names else "none configured"
            expected = f"a pool named in DISTRIBUTION_POOLS ({configured})"
            return [ConfigProblem("RETENTION_POOL", pool, expected)]
        return []

    def retention_pool(self) -> str | None:
        """The pool that gives new clients their account manager: ``RETENTION_POOL``, else the one pool
        whose trigger is in ``RETENTION_PIPELINE_ID`` (none, or several: no pool)."""
        if self.jobs.retention_pool is not None:
            return self.jobs.retention_pool
        pipeline = self.jobs.retention_pipeline_id
        matching = [
            spec.name for spec in self.distribution.pool_specs if spec.trigger.pipeline_id == pipeline
        ]
        return matching[0] if pipeline is not None and len(matching) == 1 else None
