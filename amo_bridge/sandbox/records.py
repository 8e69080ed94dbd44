"""Plain-data records of the sandbox account and the constants amoCRM gives them (no I/O).

Entities are dicts shaped like amoCRM API v4 entities (``Record``). Ids follow amoCRM's habits:
statuses 142 (won) and 143 (lost) exist in every pipeline; status ``type`` 1 is the unsorted stage.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Record = dict[str, Any]

WON = 142
LOST = 143
UNSORTED_TYPE = 1

# Task element types in v2 webhooks.
ELEMENT_TYPES = {"contacts": 1, "leads": 2, "companies": 3}
EVENT_ENTITY = {"leads": "lead", "contacts": "contact", "companies": "company", "tasks": "task"}

# amoCRM limits.
BATCH_LIMIT = 250
COMPLEX_LIMIT = 50
DEFAULT_PAGE_LIMIT = 50
EVENTS_PAGE_LIMIT = 100


@dataclass(frozen=True)
class Change:
    """One state change, the raw material of webhooks: ``section``/``action`` as in amoCRM's
    ``leads[status]``, the entity after the change and extra v2 fields (``old_status_id`` ...)."""

    section: str
    action: str
    record: Record
    extra: Record = field(default_factory=dict)
    at: float = 0.0


def copy_record(record: Record) -> Record:
    """A deep enough copy for snapshots (records hold dicts and lists of dicts/scalars only)."""
    out: Record = {}
    for key, value in record.items():
        if isinstance(value, dict):
            out[key] = copy_record(value)
        elif isinstance(value, list):
            out[key] = [copy_record(v) if isinstance(v, dict) else v for v in value]
        else:
            out[key] = value
    return out
