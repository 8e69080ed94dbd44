"""What a hand-off into retention needs from amoCRM, and the account-manager chooser it is given.

Implemented by an adapter over ``amo_bridge.api`` (after the API client lands) and by in-memory fakes
in the tests. Every method is one small, idempotent-or-guarded operation.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from amo_bridge.retention.model import RetentionLeadDraft, TaskDraft, WonDeal


class RetentionPort(Protocol):
    def won_deals(self, pipeline_ids: Sequence[int], closed_from: int, closed_to: int) -> Iterable[WonDeal]:
        """Leads with status 142 in these pipelines closed in ``[closed_from, closed_to]``."""
        ...

    def first_stage(self, pipeline_id: int) -> int:
        """The first stage of a pipeline after the unsorted one (status ``type`` 1)."""
        ...

    def client_account_manager(self, contact_ids: Sequence[int], company_id: int | None) -> int | None:
        """The client's existing account manager (sticky), or ``None`` for a new client."""
        ...

    def find_retention_lead(self, won_lead_id: int, pipeline_id: int) -> int | None:
        """A retention lead already made for this won deal (by its reference field or tag)."""
        ...

    def create_lead(self, draft: RetentionLeadDraft) -> int:
        """Create the lead with its contacts, company, fields, tags and reference; return its id."""
        ...

    def move_lead(self, lead_id: int, pipeline_id: int, status_id: int, responsible_user_id: int) -> None:
        """Move a lead (idempotent: moving it again to the same place changes nothing)."""
        ...

    def give_client(self, contact_ids: Sequence[int], company_id: int | None, user_id: int) -> int:
        """Make ``user_id`` responsible for the client's contacts and company; change only those owned
        by someone else (idempotent). Returns how many were changed."""
        ...

    def find_task(self, lead_id: int, text: str) -> int | None:
        """An existing task on the lead with exactly this text."""
        ...

    def create_task(self, task: TaskDraft) -> int: ...


class AccountManagerChooser(Protocol):
    """The L3 pool: who takes a new client. ``None`` when nobody is available."""

    def choose_account_manager(self, deal: WonDeal) -> int | None:
        """Decided once per deal: asked again (a re-run), it answers the same without charging twice."""
        ...

    def lead_created(self, deal: WonDeal, lead_id: int) -> None:
        """The deal's retention lead exists (created, found, or the moved deal itself): the pool ties
        its choice to it, so it does not decide again when the lead arrives in its pipeline."""
        ...
