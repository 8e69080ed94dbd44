"""The plain data of a trigger rule."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time

# Metrics a condition can compare. ``field`` and the date metrics take a custom field id.
METRICS = {
    "field": "the value of a custom field of the lead or its main contact",
    "days_since_purchase": "whole days since the contact's last won deal (last purchase)",
    "days_in_stage": "whole days since the lead entered its current stage",
    "days_inactive": "whole days since the last activity on the lead (note, call, task, change)",
    "days_to_anniversary": "days until the next anniversary of a date field (birthday): 0 = today",
    "days_to_date": "days until a date field (renewal date); negative once it has passed",
}
FIELD_METRICS = {"field", "days_to_anniversary", "days_to_date"}
OPERATORS = (">=", "<=", "!=", "==", ">", "<")


@dataclass(frozen=True)
class Comparison:
    metric: str
    op: str
    value: float | str
    field_id: int | None = None

    def __str__(self) -> str:
        metric = f"{self.metric}:{self.field_id}" if self.field_id is not None else self.metric
        value = f'"{self.value}"' if isinstance(self.value, str) else f"{self.value:g}"
        return f"{metric} {self.op} {value}"


@dataclass(frozen=True)
class Deadline:
    """``+N{m,h,d}`` from now, optionally at a time of day, then moved into working hours."""

    offset_seconds: float = 0.0
    at: time | None = None
    working_hours: bool = True


@dataclass(frozen=True)
class Action:
    task_text: str
    task_type_id: int = 1
    deadline: Deadline = field(default_factory=Deadline)
    responsible: str = "lead"  # "lead" or "pool:<name>"
    tag: str | None = None
    note: str | None = None
    move_to_stage_id: int | None = None

    @property
    def pool(self) -> str | None:
        return self.responsible[len("pool:") :] if self.responsible.startswith("pool:") else None


@dataclass(frozen=True)
class Rule:
    name: str
    pipeline_id: int
    stage_ids: tuple[int, ...]  # empty: every stage of the pipeline except won/lost
    condition: tuple[Comparison, ...]  # all must hold
    action: Action
    cooldown_seconds: float = 0.0
    source: str = ""  # where the rule was written, for messages

    @property
    def field_ids(self) -> set[int]:
        return {c.field_id for c in self.condition if c.field_id is not None}


@dataclass(frozen=True)
class Catalog:
    """What exists in the account, for reference checks (from the port)."""

    pipelines: Mapping[int, frozenset[int]]  # pipeline id -> its stage ids
    field_ids: frozenset[int]  # custom fields of leads and contacts
    pools: frozenset[str] = frozenset()
    task_type_ids: frozenset[int] = frozenset({1, 2})
