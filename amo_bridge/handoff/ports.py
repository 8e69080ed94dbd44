"""The hand-off service's view of amoCRM: a small protocol that an adapter over the API client implements."""

from __future__ import annotations

from typing import Protocol

from amo_bridge.handoff.model import ClientKeys, OpenLead, StatusRef


class HandoffPort(Protocol):
    def move_lead(
        self, lead_id: int, pipeline_id: int, status: StatusRef, loss_reason_id: int | None
    ) -> None:
        """Set the lead's pipeline and stage ("first": the first working stage of that pipeline)."""

    def assign_user(self, lead_id: int, user_id: int) -> None: ...

    def assign_from_pool(self, lead_id: int, pool: str) -> int | None:
        """Hand the lead to the distributor's pool; return the chosen user (None if held)."""

    def add_tags(self, lead_id: int, tags: tuple[str, ...]) -> None: ...

    def add_note(self, lead_id: int, text: str) -> None: ...

    def create_task(self, lead_id: int, text: str, due_at: float, task_type_id: int, *, key: str) -> None:
        """Create a task for the lead's responsible; ``key`` makes a retried call create it once."""

    def link_unsorted(self, uid: str, lead_id: int) -> None: ...

    def accept_unsorted(self, uid: str, user_id: int) -> None: ...

    def open_leads_of(self, keys: ClientKeys, *, exclude_lead_id: int | None = None) -> list[OpenLead]:
        """Live and closed leads of contacts/companies matching any of ``keys``, except
        ``exclude_lead_id`` (the new entry's own lead)."""
