"""The words of distribution as plain, frozen data: pools, members, rules, arrivals, decisions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from amo_bridge.distribution.fairness import LaneState

# ``won_deal`` and ``trigger``: decisions made for a caller that writes the responsible itself
# (:meth:`~amo_bridge.distribution.service.DistributionService.choose`).
EntityType = Literal["lead", "unsorted", "won_deal", "trigger"]
CHOICE_ENTITIES = ("won_deal", "trigger")  # keys owned by the caller, not amoCRM entities
TriggerKind = Literal["unsorted", "status", "pipeline"]
ConditionKind = Literal["source", "category", "tag", "field"]
AfterHoursPolicy = Literal["hold", "on_duty", "assign"]

# Why a member got a lead (or why nobody did). Stored with every decision.
REASONS = (
    "rotation",  # the pool's weighted rotation (no rule matched)
    "rule",  # a routing rule picked a sub-pool, rotation inside it
    "fallback",  # a rule matched but nobody in its sub-pool was available: the whole pool's rotation
    "sticky",  # the contact/company already has an open lead with this member
    "on_duty",  # after hours, the on-duty rotation
    "after_hours",  # after hours, assigned anyway (policy "assign")
    "sla",  # reassigned because the previous assignee did not act in time
    "hold",  # after hours, held until the next shift starts
    "none_available",  # nobody can take it now (all paused, capped, inactive): retried later
)

DEFAULT_LANE = "default"
ON_DUTY_LANE = "on_duty"


@dataclass(frozen=True, order=True)
class Member:
    """An amoCRM user in a pool, with a positive integer weight (2 = twice the leads of weight 1)."""

    user_id: int
    weight: int = 1


@dataclass(frozen=True)
class Trigger:
    """Which arrivals a pool takes: unsorted entries of a pipeline, leads in a stage, or in a pipeline."""

    kind: TriggerKind
    pipeline_id: int
    status_id: int | None = None

    def matches(self, arrival: Arrival) -> bool:
        if arrival.pipeline_id != self.pipeline_id:
            return False
        if self.kind == "unsorted":
            return arrival.entity_type == "unsorted"
        if arrival.entity_type != "lead":
            return False
        if self.kind == "status":
            return arrival.status_id == self.status_id
        return arrival.status_id not in (142, 143)  # "pipeline": any open stage

    def __str__(self) -> str:
        if self.kind == "status":
            return f"status {self.pipeline_id}/{self.status_id}"
        return f"{self.kind} {self.pipeline_id}"


@dataclass(frozen=True)
class Condition:
    """One test on an arrival: its unsorted source name or category, a tag, or a custom field value."""

    kind: ConditionKind
    value: str
    field_id: int | None = None

    def holds(self, arrival: Arrival) -> bool:
        wanted = self.value.casefold()
        if self.kind == "source":
            return (arrival.source_name or "").casefold() == wanted
        if self.kind == "category":
            return (arrival.category or "").casefold() == wanted
        if self.kind == "tag":
            return any(tag.casefold() == wanted for tag in arrival.tags)
        values = arrival.fields.get(self.field_id or 0, ())
        return any(value.casefold() == wanted for value in values)

    def __str__(self) -> str:
        value = (
            f'"{self.value}"'
            if not self.value or any(c.isspace() or c in ";," for c in self.value)
            else self.value
        )
        if self.kind == "field":
            return f"field {self.field_id}={value}"
        return f"{self.kind}={value}"


@dataclass(frozen=True)
class Rule:
    """If every condition holds, the lead goes to this sub-pool (its own rotation, named ``lane``)."""

    lane: str
    conditions: tuple[Condition, ...]
    members: tuple[Member, ...]

    def matches(self, arrival: Arrival) -> bool:
        return all(condition.holds(arrival) for condition in self.conditions)

    def __str__(self) -> str:
        return f"{self.lane}: {' and '.join(map(str, self.conditions))} -> {format_members(self.members)}"


def format_members(members: tuple[Member, ...]) -> str:
    """Members in the configuration syntax: ``101,102*2``."""
    return ",".join(f"{m.user_id}*{m.weight}" if m.weight != 1 else str(m.user_id) for m in members)


@dataclass(frozen=True)
class AfterHours:
    """What happens to a lead when nobody in its sub-pool is on shift."""

    policy: AfterHoursPolicy = "hold"
    on_duty: tuple[int, ...] = ()

    def __str__(self) -> str:
        if self.policy == "on_duty":
            return "on_duty:" + ",".join(map(str, self.on_duty))
        return self.policy


@dataclass(frozen=True)
class Pool:
    """One level of the department (L1, L2, L3, ...): who takes which arrivals, and how."""

    name: str
    trigger: Trigger
    members: tuple[Member, ...]
    rules: tuple[Rule, ...] = ()
    cap: int = 0  # open leads per member; 0 = no cap
    daily_quota: int = 0  # leads per member per day; 0 = no quota
    after_hours: AfterHours = AfterHours()
    sticky: bool = True
    sla_minutes: int = 0  # 0 = no SLA reassignment
    sla_max_reassign: int = 2
    first_task_minutes: int = 15  # 0 = no first-contact task
    move_related: bool = True

    def member(self, user_id: int) -> Member | None:
        for member in self.members:
            if member.user_id == user_id:
                return member
        return None

    @property
    def user_ids(self) -> frozenset[int]:
        ids = {m.user_id for m in self.members} | set(self.after_hours.on_duty)
        for rule in self.rules:
            ids |= {m.user_id for m in rule.members}
        return frozenset(ids)


@dataclass(frozen=True)
class Arrival:
    """A lead or an unsorted entry that appeared where some pool takes it, as plain data."""

    entity_type: EntityType
    entity_id: str  # lead id, or the unsorted entry's uid
    pipeline_id: int
    status_id: int | None = None
    lead_id: int | None = None  # for an unsorted entry: the lead inside it, if known
    source_name: str | None = None
    category: str | None = None
    tags: frozenset[str] = frozenset()
    fields: Mapping[int, tuple[str, ...]] = field(default_factory=dict)
    contact_ids: tuple[int, ...] = ()
    company_id: int | None = None
    episode: int | None = None  # None: the entity's current episode in the pool

    @property
    def target_lead_id(self) -> int | None:
        if self.entity_type == "lead":
            return int(self.entity_id)
        return self.lead_id


@dataclass(frozen=True)
class MemberStatus:
    """What the store knows about a member right now (all plain facts, no policy)."""

    active: bool = True  # False: deactivated in amoCRM (synced users)
    known: bool = True  # False: not (yet) in the synced users mirror
    paused: bool = False
    open_leads: int = 0
    assigned_today: int = 0


@dataclass(frozen=True)
class RelatedLead:
    """An open lead of the same contact or company, for stickiness."""

    lead_id: int
    responsible_user_id: int


@dataclass(frozen=True)
class Candidate:
    """One member considered for a decision, and why they could or could not take the lead."""

    user_id: int
    eligible: bool
    why: str
    lag: float | None = None  # leads owed (+) or ahead (-) in the rotation, when in it

    def as_dict(self) -> dict[str, object]:
        data: dict[str, object] = {"user_id": self.user_id, "eligible": self.eligible, "why": self.why}
        if self.lag is not None:
            data["lag"] = round(self.lag, 4)
        return data


@dataclass(frozen=True)
class Decision:
    """The engine's answer: who gets the lead (or nobody yet), why, and who else was considered."""

    pool: str
    lane: str
    member: int | None
    reason: str
    candidates: tuple[Candidate, ...]
    rule: str | None = None
    hold_until: float | None = None
    rotation: LaneState | None = None  # the new state of ``lane`` when the rotation was advanced

    def candidates_json(self) -> list[dict[str, object]]:
        return [c.as_dict() for c in self.candidates]
