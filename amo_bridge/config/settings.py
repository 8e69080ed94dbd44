"""The settings sections and the one frozen :class:`Settings` object built from them.

Each section groups one concern. Variable names are a contract with deployments and tests:
rename none of them. ``config.example.env`` documents every variable declared here (a test checks).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from amo_bridge.config import parsers as p
from amo_bridge.config.spec import env
from amo_bridge.errors import ConfigProblem
from amo_bridge.kpi import activities as kpi
from amo_bridge.kpi.activities import ActivityMap, FrozenMap, LevelMembers
from amo_bridge.secrets import Secret


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


@dataclass(frozen=True)
class SandboxSettings:
    """The local amoCRM emulator (`amo-bridge sandbox`)."""

    # Variables of the sandbox go here (issue #5).


@dataclass(frozen=True)
class DistributionSettings:
    """Fair lead distribution: pools, members, availability, SLA."""

    # Variables of the distributor go here (issue #7).


@dataclass(frozen=True)
class HandoffSettings:
    """Hand-offs between the levels: outcome stages, duplicates, warm-up return."""

    # Variables of hand-offs go here (issue #8).


@dataclass(frozen=True)
class JobsSettings:
    """Scheduled jobs: schedules, retention, triggers."""

    # Variables of the jobs go here (issue #9).


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

    # Variables of the widget go here (issue #11).


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
