"""Pure planning: from what happened and the rules, the actions of one hand-off (or none)."""

from __future__ import annotations

from collections.abc import Sequence

from amo_bridge.handoff.model import (
    AcceptUnsorted,
    Action,
    Activity,
    AddNote,
    AddTags,
    AssignFromPool,
    AssignUser,
    LinkUnsorted,
    MoveLead,
    NewEntry,
    OpenLead,
    Plan,
    StageChange,
)
from amo_bridge.handoff.rules import HandoffRules


def plan_stage_change(rules: HandoffRules, change: StageChange) -> Plan | None:
    """The outcome rule for the stage the lead entered, as a plan; ``None`` if no rule applies."""
    rule = rules.outcome_for(change.pipeline_id, change.status_id)
    if rule is None:
        return None
    actions: list[Action] = []
    if rule.move_to is not None:
        actions.append(rule.move_to)
    if rule.assign_pool:
        actions.append(AssignFromPool(rule.assign_pool))
    elif rule.assign_user:
        actions.append(AssignUser(rule.assign_user))
    if rule.tags:
        actions.append(AddTags(rule.tags))
    if rule.note:
        actions.append(AddNote(_fill(rule.note, change)))
    if rule.task:
        actions.append(rule.task)
    return Plan(
        kind="outcome",
        rule=rule.name,
        lead_id=change.lead_id,
        dedupe_key=f"outcome:{rule.name}:{change.lead_id}:{int(change.at)}",
        actions=tuple(actions),
        reason=f"lead entered stage {change.status_id} of pipeline {change.pipeline_id}",
        from_pipeline_id=change.old_pipeline_id,
        from_status_id=change.old_status_id,
        to_pipeline_id=rule.move_to.pipeline_id if rule.move_to else change.pipeline_id,
        from_user_id=change.responsible_user_id,
    )


def plan_duplicate(rules: HandoffRules, entry: NewEntry, live: OpenLead) -> Plan | None:
    """Route a new entry of a client who already has a live deal to that deal, never to the pool."""
    policy = rules.duplicates
    if policy.mode == "off":
        return None
    actions: list[Action] = []
    if entry.uid is not None:
        if policy.mode == "link":
            actions.append(LinkUnsorted(entry.uid, live.lead_id))
        elif live.responsible_user_id is not None:
            actions.append(AcceptUnsorted(entry.uid, live.responsible_user_id))
        else:
            actions.append(LinkUnsorted(entry.uid, live.lead_id))
    elif live.responsible_user_id is not None:
        # A new lead (not an unsorted entry): it goes to the owner of the live deal.
        actions.append(AssignUser(live.responsible_user_id))
    if policy.tag:
        actions.append(AddTags((policy.tag,)))
    if policy.task:
        actions.append(policy.task)
    return Plan(
        kind="duplicate",
        rule=f"duplicates.{policy.mode}",
        lead_id=live.lead_id,
        dedupe_key=f"duplicate:{entry.identity}",
        actions=tuple(actions),
        reason=f"same client as live lead {live.lead_id}",
        to_pipeline_id=live.pipeline_id,
        details={"entry": entry.identity, "live_lead_id": live.lead_id},
    )


def plan_warmup_return(rules: HandoffRules, activity: Activity, last_closer_id: int | None) -> Plan | None:
    """Bring a warm-up lead that shows life back to the lead exchange or to its last closer."""
    policy = rules.warmup_return
    if policy is None or activity.pipeline_id != policy.pipeline_id or activity.kind not in policy.on:
        return None
    if activity.kind == "stage" and policy.stage_id is not None and activity.status_id != policy.stage_id:
        return None
    actions: list[Action] = [policy.move_to]
    if policy.target == "last_closer" and last_closer_id is not None:
        actions.append(AssignUser(last_closer_id))
    if policy.task:
        actions.append(policy.task)
    return Plan(
        kind="warmup_return",
        rule=f"warmup_return.{policy.target}",
        lead_id=activity.lead_id,
        # One return per lead per hour of activity: a burst of messages is one return.
        dedupe_key=f"warmup_return:{activity.lead_id}:{int(activity.at) // 3600}",
        actions=tuple(actions),
        reason=f"{activity.kind.replace('_', ' ')} from a warm-up client",
        from_pipeline_id=activity.pipeline_id,
        from_status_id=activity.status_id,
        to_pipeline_id=policy.move_to.pipeline_id,
        from_user_id=activity.responsible_user_id,
    )


def loop_exceeded(moves_today: Sequence[object], max_moves_per_day: int) -> bool:
    """True when a lead has already been moved ``max_moves_per_day`` times today."""
    return len(moves_today) >= max_moves_per_day


def moves_lead(plan: Plan) -> bool:
    return any(isinstance(a, MoveLead | AssignFromPool | AssignUser) for a in plan.actions)


def _fill(template: str, change: StageChange) -> str:
    values = {
        "lead_id": change.lead_id,
        "responsible_user_id": change.responsible_user_id or "",
        "pipeline_id": change.pipeline_id,
        "status_id": change.status_id,
    }
    try:
        return template.format(**values)
    except (KeyError, IndexError, ValueError):
        return template
