"""What the trigger job needs from amoCRM, and the pool chooser it is given."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from amo_bridge.triggers.evaluate import LeadFacts
from amo_bridge.triggers.rules import Catalog


@dataclass(frozen=True)
class TriggerTask:
    lead_id: int
    text: str
    task_type_id: int
    complete_till: int
    responsible_user_id: int


class TriggerPort(Protocol):
    def catalog(self) -> Catalog:
        """Pipelines with their stages, custom field ids, pools, task types: for reference checks."""
        ...

    def leads(self, pipeline_id: int, stage_ids: Sequence[int]) -> Iterable[LeadFacts]:
        """Open leads of the pipeline (in these stages; all open stages when empty), with their facts."""
        ...

    def task_is_open(self, task_id: int) -> bool: ...

    def find_task(self, lead_id: int, text: str, created_from: int) -> int | None:
        """A task on the lead with exactly this text, created at or after ``created_from``."""
        ...

    def create_task(self, task: TriggerTask) -> int: ...

    def add_tag(self, lead_id: int, tag: str) -> None:
        """Idempotent: adding a tag the lead has changes nothing."""
        ...

    def add_note(self, lead_id: int, text: str) -> None: ...

    def move_lead(self, lead_id: int, pipeline_id: int, status_id: int) -> None:
        """Idempotent."""
        ...


class PoolChooser(Protocol):
    """A named pool (the distributor's): who gets a task. ``None`` when nobody is available."""

    def choose_from_pool(self, pool: str, lead: LeadFacts, key: str) -> int | None:
        """``key`` names the rule's episode on the lead: asked again with the same key (a re-run of a
        stopped episode), the pool answers the same member without charging twice."""
        ...
