"""An in-memory amoCRM behind :class:`~amo_bridge.distribution.ports.AssignmentPort`, for tests.

It keeps leads, unsorted entries, contacts, companies, tasks and notes, enforces the same
idempotency contract as a real adapter, and can be told to fail the next calls of a method.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from amo_bridge.distribution.model import Arrival, RelatedLead
from amo_bridge.distribution.ports import AssigneeRefused, EntityGone, PortError

CLOSED = (142, 143)


@dataclass
class FakeLead:
    id: int
    responsible_user_id: int = 0
    pipeline_id: int = 0
    status_id: int = 0
    contact_ids: tuple[int, ...] = ()
    company_id: int | None = None


@dataclass
class FakeTask:
    key: str
    entity_id: int
    responsible_user_id: int
    text: str
    complete_till: int
    is_completed: bool = False


@dataclass
class FakeAmo:
    leads: dict[int, FakeLead] = field(default_factory=dict)
    unsorted: dict[str, int] = field(default_factory=dict)  # uid -> lead id inside it
    accepted: dict[str, int] = field(default_factory=dict)  # uid -> user it was accepted to
    contacts: dict[int, int] = field(default_factory=dict)  # contact id -> responsible
    companies: dict[int, int] = field(default_factory=dict)
    tasks: list[FakeTask] = field(default_factory=list)
    notes: dict[str, tuple[int, str]] = field(default_factory=dict)  # key -> (lead id, text)
    inactive_users: set[int] = field(default_factory=set)
    calls: list[tuple[str, tuple[object, ...]]] = field(default_factory=list)
    failures: dict[str, list[Exception]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    # -- set-up helpers -------------------------------------------------------------------------

    def add_lead(self, lead: FakeLead) -> FakeLead:
        self.leads[lead.id] = lead
        for contact in lead.contact_ids:
            self.contacts.setdefault(contact, lead.responsible_user_id)
        if lead.company_id is not None:
            self.companies.setdefault(lead.company_id, lead.responsible_user_id)
        return lead

    def add_unsorted(self, uid: str, lead: FakeLead) -> None:
        self.add_lead(lead)
        self.unsorted[uid] = lead.id

    def fail(self, method: str, *errors: Exception) -> None:
        """Make the next ``len(errors)`` calls of ``method`` raise these errors, in order."""
        self.failures.setdefault(method, []).extend(errors)

    def _enter(self, method: str, *args: object) -> None:
        self.calls.append((method, args))
        queue = self.failures.get(method)
        if queue:
            raise queue.pop(0)

    def _user(self, user_id: int) -> None:
        if user_id in self.inactive_users:
            raise AssigneeRefused(f"user {user_id} is not active")

    # -- the port -------------------------------------------------------------------------------

    def accept_unsorted(self, uid: str, user_id: int, status_id: int | None) -> int:
        with self._lock:
            self._enter("accept_unsorted", uid, user_id, status_id)
            if uid not in self.unsorted:
                raise EntityGone(f"unsorted entry {uid} not found")
            if uid in self.accepted and self.accepted[uid] != user_id:
                raise EntityGone(f"unsorted entry {uid} already accepted")
            self._user(user_id)
            self.accepted[uid] = user_id
            lead = self.leads[self.unsorted[uid]]
            lead.responsible_user_id = user_id
            if status_id is not None:
                lead.status_id = status_id
            return lead.id

    def set_responsible(self, lead_id: int, user_id: int) -> None:
        with self._lock:
            self._enter("set_responsible", lead_id, user_id)
            lead = self.leads.get(lead_id)
            if lead is None:
                raise EntityGone(f"lead {lead_id} not found")
            self._user(user_id)
            lead.responsible_user_id = user_id

    def move_related(
        self,
        lead_id: int,
        user_id: int,
        *,
        contact_ids: Sequence[int] | None = None,
        company_ids: Sequence[int] | None = None,
    ) -> None:
        with self._lock:
            self._enter("move_related", lead_id, user_id)
            lead = self.leads.get(lead_id)
            if lead is None:
                raise EntityGone(f"lead {lead_id} not found")
            for contact in lead.contact_ids if contact_ids is None else contact_ids:
                self.contacts[contact] = user_id
            companies = () if lead.company_id is None else (lead.company_id,)
            for company in companies if company_ids is None else company_ids:
                self.companies[company] = user_id
            for task in self.tasks:
                if task.entity_id == lead_id and not task.is_completed:
                    task.responsible_user_id = user_id

    def create_task(self, lead_id: int, user_id: int, text: str, complete_till: int, key: str) -> None:
        with self._lock:
            self._enter("create_task", lead_id, user_id, text, complete_till, key)
            if lead_id not in self.leads:
                raise EntityGone(f"lead {lead_id} not found")
            if any(task.key == key for task in self.tasks):
                return
            self.tasks.append(FakeTask(key, lead_id, user_id, text, complete_till))

    def add_note(self, lead_id: int, text: str, key: str) -> None:
        with self._lock:
            self._enter("add_note", lead_id, text, key)
            if lead_id not in self.leads:
                raise EntityGone(f"lead {lead_id} not found")
            self.notes.setdefault(key, (lead_id, text))

    def related_open_leads(self, arrival: Arrival) -> Sequence[RelatedLead]:
        with self._lock:
            self._enter("related_open_leads", arrival.entity_id)
            own = arrival.target_lead_id
            contacts = set(arrival.contact_ids)
            found = [
                RelatedLead(lead.id, lead.responsible_user_id)
                for lead in self.leads.values()
                if lead.id != own
                and lead.status_id not in CLOSED
                and lead.responsible_user_id
                and (
                    contacts & set(lead.contact_ids)
                    or (arrival.company_id is not None and lead.company_id == arrival.company_id)
                )
            ]
            return sorted(found, key=lambda r: r.lead_id)


__all__ = ["FakeAmo", "FakeLead", "FakeTask", "PortError"]
