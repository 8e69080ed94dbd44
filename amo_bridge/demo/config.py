"""The demo's configuration: an env file and two TOML rule files matching the sandbox's seeded account.

Pure: every value comes from the arguments or from the seed constants, nothing is read or written here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from amo_bridge.sandbox import seed as S

LEAD_MANAGERS = [uid for uid, _, group, _ in S.STAFF if group == S.GROUP_LEAD_MANAGERS]
CLOSERS = [uid for uid, _, group, _ in S.STAFF if group == S.GROUP_CLOSERS]
ACCOUNT_MANAGERS = [uid for uid, _, group, _ in S.STAFF if group == S.GROUP_ACCOUNT_MANAGERS]
USER_NAMES = {uid: name for uid, name, _, _ in S.STAFF}

# The three levels of the seeded department (inactive users are listed: the distributor skips them).
POOLS = (
    f"L1 = unsorted {S.PIPELINE_LEAD_EXCHANGE} : {','.join(map(str, LEAD_MANAGERS))} : sla=30 ; "
    f"L2 = status {S.PIPELINE_MAIN}/{S.ST_MAIN_FIRST_CONTACT} : {','.join(map(str, CLOSERS))} ; "
    f"L3 = pipeline {S.PIPELINE_RETENTION} : {','.join(map(str, ACCOUNT_MANAGERS))} : after_hours=assign"
)

HANDOFF_RULES = f"""\
# Hand-offs of the sandbox's three-level department (docs/handoff.md), written by `amo-bridge demo`.
[[outcome]]
name = "qualified"
when = {{ pipeline = {S.PIPELINE_LEAD_EXCHANGE}, status = {S.ST_LX_QUALIFIED} }}
move_to = {{ pipeline = {S.PIPELINE_MAIN}, status = "first" }}
assign_pool = "L2"
task = {{ text = "Квалифицированный лид: связаться с клиентом", due_minutes = 30 }}

[[outcome]]
name = "warm-up"
when = {{ pipeline = {S.PIPELINE_LEAD_EXCHANGE}, status = {S.ST_LX_WARM_UP} }}
move_to = {{ pipeline = {S.PIPELINE_WARM_UP}, status = "first" }}

[[outcome]]
name = "non-target"
when = {{ pipeline = {S.PIPELINE_LEAD_EXCHANGE}, status = {S.ST_LX_NON_TARGET} }}
move_to = {{ pipeline = {S.PIPELINE_LEAD_EXCHANGE}, status = 143 }}
loss_reason_id = {S.LOSS_REASON_IDS[0]}

[duplicates]
mode = "link"
tag = "duplicate"
match = ["phone", "email"]
task = {{ text = "Клиент обратился повторно", due_minutes = 15 }}
"""

TRIGGER_RULES = f"""\
# Trigger rules for the retention pipeline "Сопровождение" (docs/jobs.md), written by `amo-bridge demo`.
[[rule]]
name = "missed_sessions"
pipeline = {S.PIPELINE_RETENTION}
stages = [{S.ST_RT_NEW_CLIENT}, {S.ST_RT_ACTIVE}, {S.ST_RT_AT_RISK}]
when = "field:{S.CF_MISSED_SESSIONS} >= 3"
task = "{{lead.name}}: пропущено занятий {{field:{S.CF_MISSED_SESSIONS}}}, предложить консультацию тренера"
task_type = {S.TASK_MISSED_SESSIONS}
deadline = "+1d 10:00"
cooldown = "14d"

[[rule]]
name = "no_repeat_purchase"
pipeline = {S.PIPELINE_RETENTION}
when = "days_since_purchase > 30"
task = "Позвонить {{contact.name}}: нет покупок {{days_since_purchase}} дней"
task_type = {S.TASK_REPEAT_PURCHASE}
deadline = "+4h"
cooldown = "30d"

[[rule]]
name = "birthday"
pipeline = {S.PIPELINE_RETENTION}
when = "days_to_anniversary:{S.CF_BIRTHDAY} <= 3"
task = "День рождения у {{contact.name}}: поздравить"
task_type = {S.TASK_BIRTHDAY}
"""


@dataclass(frozen=True)
class DemoPorts:
    sandbox: int
    receiver: int


def demo_env(
    *,
    sandbox_url: str,
    receiver_url: str,
    receiver_port: int,
    account_id: int,
    subdomain: str,
    database_url: str,
    token: str,
    webhook_secret: str,
    dashboard_secret: str,
    handoff_rules_file: str,
    trigger_rules_file: str,
    seed: int,
    leads: int,
) -> dict[str, str]:
    """Every variable of the demo's env file (names as in config.example.env)."""
    return {
        "AMO_SUBDOMAIN": subdomain,
        "AMO_BASE_URL": sandbox_url,
        "AMO_ACCOUNT_ID": str(account_id),
        "AMO_TIMEZONE": "Europe/Moscow",
        "AMO_AUTH_MODE": "long_lived",
        "AMO_LONG_LIVED_TOKEN": token,
        "SANDBOX_LONG_LIVED_TOKEN": token,
        "SANDBOX_SEED": str(seed),
        "SANDBOX_LEADS_PER_DAY": str(leads),
        "DATABASE_URL": database_url,
        "WEBHOOK_SECRET": webhook_secret,
        "PUBLIC_URL": receiver_url,
        "SERVE_HOST": "127.0.0.1",
        "SERVE_PORT": str(receiver_port),
        "WORKER_CONCURRENCY": "2",
        "WORKER_POLL_SECONDS": "0.2",
        "INBOX_RETRY_BASE_SECONDS": "2",
        "INBOX_RETRY_MAX_SECONDS": "10",
        "DISTRIBUTION_ENABLED": "true",
        "DISTRIBUTION_POOLS": POOLS,
        "DISTRIBUTION_RULES": "",
        "DISTRIBUTION_HOURS": "",
        "DISTRIBUTION_MEMBER_HOURS": "",
        "DISTRIBUTION_DAYS_OFF": "",
        "DISTRIBUTION_RETRY_SECONDS": "5",
        "HANDOFF_RULES_FILE": handoff_rules_file,
        "RETENTION_PIPELINE_ID": str(S.PIPELINE_RETENTION),
        "RETENTION_STAGE_ID": str(S.ST_RT_NEW_CLIENT),
        "RETENTION_SOURCE_PIPELINES": str(S.PIPELINE_MAIN),
        "RETENTION_COPY_FIELDS": f"{S.CF_PRODUCT},{S.CF_LAST_PURCHASE}",
        "RETENTION_DEFAULT_MANAGER_ID": str(ACCOUNT_MANAGERS[0]),
        "RETENTION_MANAGER_GROUP_ID": str(S.GROUP_ACCOUNT_MANAGERS),
        "RETENTION_LOOKBACK_DAYS": "7",
        "TRIGGER_RULES_FILE": trigger_rules_file,
        # A working day plays in about a minute: the jobs run every few seconds instead of hours.
        "SCHEDULE_WON_TO_RETENTION": "every 5s",
        "SCHEDULE_TRIGGERS": "every 10s",
        "SCHEDULE_USERS_SYNC": "every 30s",
        "SCHEDULE_SLA_REASSIGN": "every 10s",
        "SCHEDULE_EVENTS_SYNC": "every 10s",
        "SCHEDULE_KPI_SYNC": "off",
        "SCHEDULE_LEASE_SECONDS": "10",
        "KPI_LEVELS": (
            f"l1=group:{S.GROUP_LEAD_MANAGERS};l2=group:{S.GROUP_CLOSERS};l3=group:{S.GROUP_ACCOUNT_MANAGERS}"
        ),
        "KPI_TARGETS": "l1.calls_per_day=40;l2.sales=20;l3.upsells=10",
        "KPI_QUALIFIED_STATUSES": str(S.ST_LX_QUALIFIED),
        "KPI_RETENTION_PIPELINE_ID": str(S.PIPELINE_RETENTION),
        "DASHBOARD_SECRET": dashboard_secret,
        "LOG_LEVEL": "INFO",
        "LOG_FORMAT": "text",
    }


def render_env(values: Mapping[str, str]) -> str:
    """An env file: one ``NAME="value"`` a line (values here never hold quotes or backslashes)."""
    lines = ["# Written by `amo-bridge demo` for the local sandbox; holds throw-away secrets."]
    for name, value in values.items():
        if '"' in value or "\\" in value or "\n" in value:
            raise ValueError(f"{name}: the demo's values are single-line and unquoted")
        lines.append(f'{name}="{value}"')
    return "\n".join(lines) + "\n"
