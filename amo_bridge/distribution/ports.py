"""The amoCRM side of distribution, as a port: what the service needs done, not how.

The real adapter over ``amo_bridge.api`` implements :class:`AssignmentPort`; tests use
:class:`~amo_bridge.distribution.fake.FakeAmo`. Every write must be idempotent: the service retries
an assignment's actions after a failure or a crash, so doing one twice must change nothing.
Adapters translate the API client's failures into the errors below.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from amo_bridge.distribution.model import Arrival, RelatedLead
from amo_bridge.errors import AmoBridgeError


class PortError(AmoBridgeError):
    """amoCRM did not do what was asked. Retryable unless a subclass says otherwise."""

    retryable = True


class EntityGone(PortError):
    """The lead or unsorted entry no longer exists, or a person already accepted/declined it."""

    retryable = False


class AssigneeRefused(PortError):
    """amoCRM refused the user as responsible (deactivated, no rights): choose someone else."""

    retryable = False


class AssignmentPort(Protocol):
    """What the distribution service asks of amoCRM."""

    def accept_unsorted(self, uid: str, user_id: int, status_id: int | None) -> int:
        """Accept an unsorted entry to ``user_id`` (``POST /api/v4/leads/unsorted/{uid}/accept``).

        Returns the id of the resulting lead. Accepting an entry already accepted to the same user
        returns the same lead (idempotent); accepted to someone else or declined: :class:`EntityGone`.
        """
        ...

    def set_responsible(self, lead_id: int, user_id: int) -> None:
        """``PATCH /api/v4/leads`` with ``responsible_user_id``."""
        ...

    def move_related(
        self,
        lead_id: int,
        user_id: int,
        *,
        contact_ids: Sequence[int] | None = None,
        company_ids: Sequence[int] | None = None,
    ) -> None:
        """Give the lead's contacts, its company and its open tasks to ``user_id``.

        ``contact_ids``/``company_ids``: the lead's links when the caller has just read them (an
        unsorted entry being accepted), so the adapter need not read the lead again."""
        ...

    def create_task(self, lead_id: int, user_id: int, text: str, complete_till: int, key: str) -> None:
        """Create a task on the lead (once per ``key``: a repeat with the same key creates nothing)."""
        ...

    def add_note(self, lead_id: int, text: str, key: str) -> None:
        """Add a common note to the lead (once per ``key``)."""
        ...

    def related_open_leads(self, arrival: Arrival) -> Sequence[RelatedLead]:
        """Open leads (not won, not lost) of the arrival's contacts and company, other than itself."""
        ...
