"""The pure decision of a hand-off: what to create, for whom, and when the first call is due."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from amo_bridge.errors import AmoBridgeError
from amo_bridge.retention.model import (
    HandoffPlan,
    ManagerChoice,
    RetentionLeadDraft,
    RetentionRule,
    WonDeal,
)
from amo_bridge.workhours import WorkingHours


class NoAccountManager(AmoBridgeError):
    """The client has no account manager, the pool offered nobody and no default is configured."""


def choose_manager(existing: int | None, pooled: int | None, default: int | None) -> ManagerChoice:
    """Sticky first (the client's existing account manager), then the pool, then the default."""
    if existing is not None:
        return ManagerChoice(existing, "sticky")
    if pooled is not None:
        return ManagerChoice(pooled, "pool")
    if default is not None:
        return ManagerChoice(default, "default")
    raise NoAccountManager(
        "no account manager: the client has none, the L3 pool offered nobody and "
        "RETENTION_DEFAULT_MANAGER_ID is not set"
    )


def due_within_hours(now: float, delay: float, tz: ZoneInfo, hours: WorkingHours | None) -> int:
    """``now + delay``, moved to the next working instant if it falls outside working hours."""
    moment = datetime.fromtimestamp(now + delay, tz)
    if hours is not None:
        moment = hours.shift_into(moment)
    return int(moment.timestamp())


def render_name(template: str, deal: WonDeal) -> str:
    try:
        return template.format(name=deal.name, id=deal.lead_id)
    except (KeyError, IndexError, ValueError):
        return deal.name


def plan_handoff(
    deal: WonDeal,
    rule: RetentionRule,
    *,
    manager: ManagerChoice,
    stage_id: int,
    now: float,
    tz: ZoneInfo,
) -> HandoffPlan:
    lead: RetentionLeadDraft | None = None
    if rule.mode == "copy":
        fields = {fid: deal.custom_fields[fid] for fid in rule.copy_field_ids if fid in deal.custom_fields}
        if rule.reference_field_id is not None:
            fields[rule.reference_field_id] = deal.lead_id
        lead = RetentionLeadDraft(
            name=render_name(rule.name_template, deal),
            pipeline_id=rule.pipeline_id,
            status_id=stage_id,
            responsible_user_id=manager.user_id,
            price=deal.price,
            contact_ids=deal.contact_ids,
            company_id=deal.company_id,
            custom_fields=fields,
            tags=(rule.tag,) if rule.tag else (),
            won_lead_id=deal.lead_id,
            reference_field_id=rule.reference_field_id,
        )
    return HandoffPlan(
        deal=deal,
        mode=rule.mode,
        manager=manager,
        stage_id=stage_id,
        lead=lead,
        first_call_text=rule.first_call_text,
        first_call_type=rule.first_call_task_type,
        first_call_due=due_within_hours(now, rule.first_call_delay, tz, rule.working_hours),
    )


def next_watermark(until: int, unfinished_closed_at: list[int], current: int | None) -> int:
    """The new watermark: ``until`` unless a deal is unfinished, then just before the earliest one."""
    candidate = min(unfinished_closed_at) - 1 if unfinished_closed_at else until
    return max(candidate, current or 0)
