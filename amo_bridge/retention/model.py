"""Plain data of a hand-off into retention (amoCRM words at the edge: lead, pipeline_id, status_id)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from amo_bridge.workhours import WorkingHours

WON_STATUS_ID = 142


@dataclass(frozen=True)
class WonDeal:
    """A lead that reached status 142 in one of the source pipelines."""

    lead_id: int
    name: str
    pipeline_id: int
    responsible_user_id: int | None
    closed_at: int
    price: int = 0
    contact_ids: tuple[int, ...] = ()
    company_id: int | None = None
    custom_fields: Mapping[int, object] = field(default_factory=dict)


@dataclass(frozen=True)
class RetentionRule:
    """How won deals enter retention (built from :class:`~amo_bridge.config.settings.JobsSettings`)."""

    pipeline_id: int
    source_pipeline_ids: tuple[int, ...]
    mode: str = "copy"  # copy | move
    stage_id: int | None = None
    copy_field_ids: tuple[int, ...] = ()
    reference_field_id: int | None = None
    tag: str = "retention"
    name_template: str = "{name}"
    default_manager_id: int | None = None
    give_client: bool = True  # the account manager also becomes responsible for contacts and company
    first_call_delay: float = 7200.0
    first_call_text: str = "First call"
    first_call_task_type: int = 1
    working_hours: WorkingHours | None = None


@dataclass(frozen=True)
class RetentionLeadDraft:
    """The lead to create in retention (copy mode)."""

    name: str
    pipeline_id: int
    status_id: int
    responsible_user_id: int
    price: int
    contact_ids: tuple[int, ...]
    company_id: int | None
    custom_fields: Mapping[int, object]
    tags: tuple[str, ...]
    won_lead_id: int  # the reference to the won deal (field and/or tag, as the adapter writes it)
    reference_field_id: int | None


@dataclass(frozen=True)
class TaskDraft:
    lead_id: int
    text: str
    task_type_id: int
    complete_till: int  # unix seconds
    responsible_user_id: int


@dataclass(frozen=True)
class ManagerChoice:
    user_id: int
    source: str  # sticky | pool | default


@dataclass(frozen=True)
class HandoffPlan:
    deal: WonDeal
    mode: str
    manager: ManagerChoice
    stage_id: int
    lead: RetentionLeadDraft | None  # copy mode
    first_call_text: str
    first_call_type: int
    first_call_due: int

    def describe(self) -> str:
        target = f"create retention lead {self.lead.name!r}" if self.lead is not None else "move the won deal"
        return (
            f"won deal #{self.deal.lead_id}: {target}"
            f" stage {self.stage_id}, account manager {self.manager.user_id} ({self.manager.source}),"
            f" first call due {self.first_call_due}"
        )
