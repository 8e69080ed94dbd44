"""Plain data the hand-off planner works on: what happened, and what to do about it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

# A status reference in rules: a numeric status id, or "first" for the pipeline's first working
# stage (the first stage after the unsorted one that is neither won 142 nor lost 143).
StatusRef = int | Literal["first"]

WON = 142
LOST = 143


@dataclass(frozen=True)
class StageChange:
    """A lead entered a stage (from a ``lead.status_changed`` webhook or a poll)."""

    lead_id: int
    pipeline_id: int
    status_id: int
    old_pipeline_id: int | None
    old_status_id: int | None
    responsible_user_id: int | None
    at: float  # when amoCRM changed it (Unix seconds): part of the hand-off's identity


ActivityKind = Literal["incoming_call", "message", "form", "stage"]


@dataclass(frozen=True)
class Activity:
    """A sign of life from a client: an incoming call, a message, a form, or a stage set by marketing."""

    kind: ActivityKind
    lead_id: int
    pipeline_id: int
    status_id: int
    responsible_user_id: int | None
    at: float


@dataclass(frozen=True)
class ClientKeys:
    """What identifies a client across leads: normalised phones and e-mails, and a company."""

    phones: frozenset[str] = frozenset()
    emails: frozenset[str] = frozenset()
    company_id: int | None = None

    def __bool__(self) -> bool:
        return bool(self.phones or self.emails or self.company_id)


@dataclass(frozen=True)
class OpenLead:
    """A live deal that a new entry may duplicate."""

    lead_id: int
    pipeline_id: int
    status_id: int
    responsible_user_id: int | None
    updated_at: float
    keys: ClientKeys


@dataclass(frozen=True)
class NewEntry:
    """A new unsorted entry (``uid``) or a new lead (``lead_id``) with its client's keys."""

    keys: ClientKeys
    at: float
    uid: str | None = None
    lead_id: int | None = None

    @property
    def identity(self) -> str:
        return f"unsorted:{self.uid}" if self.uid else f"lead:{self.lead_id}"


# --- actions ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MoveLead:
    pipeline_id: int
    status: StatusRef
    loss_reason_id: int | None = None


@dataclass(frozen=True)
class AssignFromPool:
    pool: str


@dataclass(frozen=True)
class AssignUser:
    user_id: int


@dataclass(frozen=True)
class AddTags:
    tags: tuple[str, ...]


@dataclass(frozen=True)
class AddNote:
    text: str


@dataclass(frozen=True)
class CreateTask:
    text: str
    due_minutes: int
    task_type_id: int = 1


@dataclass(frozen=True)
class LinkUnsorted:
    """Attach an unsorted entry to an existing lead (amoCRM's merge of an unsorted entry)."""

    uid: str
    lead_id: int


@dataclass(frozen=True)
class AcceptUnsorted:
    """Accept an unsorted entry to a user (the duplicate goes to the live deal's owner)."""

    uid: str
    user_id: int


Action = (
    MoveLead | AssignFromPool | AssignUser | AddTags | AddNote | CreateTask | LinkUnsorted | AcceptUnsorted
)

HandoffKind = Literal["outcome", "duplicate", "warmup_return", "loop_stopped"]


@dataclass(frozen=True)
class Plan:
    """What to do for one trigger, and the hand-off record that makes it happen at most once."""

    kind: HandoffKind
    rule: str
    lead_id: int | None
    dedupe_key: str
    actions: tuple[Action, ...]
    reason: str
    from_pipeline_id: int | None = None
    from_status_id: int | None = None
    to_pipeline_id: int | None = None
    from_user_id: int | None = None
    details: dict[str, object] = field(default_factory=dict)
