"""The :class:`~amo_bridge.distribution.ports.AssignmentPort` over the amoCRM API client.

Every write is idempotent, because the distribution service repeats an assignment's writes after a
failure or a crash:

- accepting an unsorted entry first reads the entry and remembers the lead inside it (``kv``), so a
  repeat after amoCRM already accepted it (the entry is gone) is answered from that lead: accepted to
  the same user -> the same lead id; to someone else -> :class:`EntityGone`;
- setting the responsible user and moving contacts, the company and open tasks only send what
  differs (in batches of at most 250);
- the first-contact task is created with an idempotency key (the API client's ``create_once``);
- a note is written once per key (a ``kv`` marker, and a look at the lead's notes for the same text).

amoCRM's failures are translated: 404 -> :class:`EntityGone`; a 400 about the user ->
:class:`AssigneeRefused`; anything else -> :class:`PortError` (retryable unless amoCRM said it is
not worth repeating).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar

from amo_bridge.api import AmoClient
from amo_bridge.api.errors import AmoApiError, NotFound, ValidationError
from amo_bridge.api.models import Lead
from amo_bridge.api.resources.notes import common_note
from amo_bridge.api.resources.tasks import new_task
from amo_bridge.distribution.model import Arrival, RelatedLead
from amo_bridge.distribution.ports import AssigneeRefused, EntityGone, PortError
from amo_bridge.store import Store

log = logging.getLogger(__name__)

T = TypeVar("T")
WON, LOST = 142, 143
BATCH = 250
UNSORTED_KEY = "distribution.unsorted_lead.{uid}"
NOTE_KEY = "distribution.note.{key}"


def _about_user(error: ValidationError) -> bool:
    text = " ".join(f"{e.path} {e.code} {e.detail}" for e in error.errors).lower() or str(error).lower()
    return "user" in text or "responsible" in text


@contextmanager
def translated(what: str) -> Iterator[None]:
    """Turn the API client's errors into the port's."""
    try:
        yield
    except NotFound as exc:
        raise EntityGone(f"{what}: not found in amoCRM") from exc
    except ValidationError as exc:
        if _about_user(exc):
            raise AssigneeRefused(f"{what}: amoCRM refused the user: {exc}") from exc
        raise PortError(f"{what}: {exc}", retryable=False) from exc
    except AmoApiError as exc:
        raise PortError(f"{what}: {exc}", retryable=exc.retryable) from exc


def _chunks(items: Sequence[T], size: int = BATCH) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class AmoAssignmentPort:
    """What the distributor asks of amoCRM, done through :class:`~amo_bridge.api.AmoClient`."""

    def __init__(self, client: AmoClient, store: Store) -> None:
        self._client = client
        self._kv = store.kv

    # -- unsorted ---------------------------------------------------------------------------

    def accept_unsorted(self, uid: str, user_id: int, status_id: int | None) -> int:
        key = UNSORTED_KEY.format(uid=uid)
        known = self._kv.get(key)
        if known is None:
            try:
                entry = self._client.unsorted.get(uid)
            except NotFound:
                entry = None
            except AmoApiError as exc:
                raise PortError(f"unsorted {uid}: {exc}", retryable=exc.retryable) from exc
            if entry is not None and entry.lead_ids:
                known = int(entry.lead_ids[0])
                self._kv.set(key, known)
        try:
            answer = self._client.unsorted.accept(uid, user_id=user_id, status_id=status_id)
        except (NotFound, ValidationError) as exc:
            if isinstance(exc, ValidationError) and _about_user(exc):
                raise AssigneeRefused(f"accept unsorted {uid}: amoCRM refused the user: {exc}") from exc
            # Accepted before (a repeat after a lost answer or a crash), declined, or linked.
            if known is None:
                raise EntityGone(f"unsorted {uid} is no longer there") from exc
            lead = self._lead(int(known), "lead of unsorted entry")
            if lead.responsible_user_id == user_id and not lead.is_deleted:
                return lead.id
            raise EntityGone(f"unsorted {uid} was handled by someone else") from exc
        except AmoApiError as exc:
            raise PortError(f"accept unsorted {uid}: {exc}", retryable=exc.retryable) from exc
        leads = (answer.get("_embedded") or {}).get("leads") or []
        if leads and str(leads[0].get("id", "")).isdigit():
            return int(leads[0]["id"])
        if known is not None:
            return int(known)
        raise PortError(f"accept unsorted {uid}: amoCRM did not name the lead", retryable=False)

    # -- leads --------------------------------------------------------------------------------

    def _lead(self, lead_id: int, what: str = "lead", with_: Sequence[str] = ("contacts",)) -> Lead:
        with translated(f"{what} {lead_id}"):
            lead = self._client.leads.get(lead_id, with_=with_)
        if lead.is_deleted or lead.id == 0:
            raise EntityGone(f"{what} {lead_id} is deleted")
        return lead

    def set_responsible(self, lead_id: int, user_id: int) -> None:
        lead = self._lead(lead_id, with_=())
        if lead.responsible_user_id == user_id:
            return
        with translated(f"lead {lead_id}"):
            self._client.leads.set_responsible(lead_id, user_id)

    def move_related(
        self,
        lead_id: int,
        user_id: int,
        *,
        contact_ids: Sequence[int] | None = None,
        company_ids: Sequence[int] | None = None,
    ) -> None:
        if contact_ids is None or company_ids is None:
            lead = self._lead(lead_id, with_=("contacts",))
            contact_ids, company_ids = lead.contact_ids, lead.company_ids
        with translated(f"contacts of lead {lead_id}"):
            contacts = list(self._client.contacts.list(ids=contact_ids)) if contact_ids else []
            changes = [
                {"id": c.id, "responsible_user_id": user_id}
                for c in contacts
                if c.responsible_user_id != user_id
            ]
            for chunk in _chunks(changes):
                self._client.contacts.update_many(chunk)
        if company_ids:
            with translated(f"company of lead {lead_id}"):
                companies = list(self._client.companies.list(ids=company_ids))
                changes = [
                    {"id": c.id, "responsible_user_id": user_id}
                    for c in companies
                    if c.responsible_user_id != user_id
                ]
                for chunk in _chunks(changes):
                    self._client.companies.update_many(chunk)
        with translated(f"tasks of lead {lead_id}"):
            tasks = self._client.tasks.list(entity_type="leads", entity_ids=[lead_id], is_completed=False)
            changes = [
                {"id": t.id, "responsible_user_id": user_id}
                for t in tasks
                if t.responsible_user_id != user_id and not t.is_completed
            ]
            for chunk in _chunks(changes):
                self._client.tasks.update_many(list(chunk))

    def create_task(self, lead_id: int, user_id: int, text: str, complete_till: int, key: str) -> None:
        task = new_task(
            text=text,
            complete_till=complete_till,
            entity_id=lead_id,
            entity_type="leads",
            responsible_user_id=user_id,
        )
        with translated(f"task on lead {lead_id}"):
            self._client.tasks.create(task, idempotency_key=key)

    def add_note(self, lead_id: int, text: str, key: str) -> None:
        marker = NOTE_KEY.format(key=key)
        if self._kv.get(marker) is not None:
            return
        with translated(f"note on lead {lead_id}"):
            existing = self._client.notes.list("leads", entity_ids=[lead_id], note_types=["common"])
            if not any(note.text == text for note in existing):
                self._client.notes.add("leads", [common_note(lead_id, text)])
        self._kv.set(marker, lead_id)

    # -- stickiness ---------------------------------------------------------------------------

    def related_open_leads(self, arrival: Arrival) -> Sequence[RelatedLead]:
        lead_ids: set[int] = set()
        with translated(f"related leads of {arrival.entity_type} {arrival.entity_id}"):
            if arrival.contact_ids:
                for contact in self._client.contacts.list(ids=arrival.contact_ids, with_=("leads",)):
                    lead_ids.update(contact.lead_ids)
            if arrival.company_id is not None:
                company = self._client.companies.get(arrival.company_id, with_=("leads",))
                lead_ids.update(company.lead_ids)
            lead_ids.discard(arrival.target_lead_id or -1)
            if not lead_ids:
                return ()
            leads = list(self._client.leads.list(ids=sorted(lead_ids)))
        return tuple(
            RelatedLead(lead.id, int(lead.responsible_user_id))
            for lead in sorted(leads, key=lambda lead: -lead.updated_at)
            if lead.status_id not in (WON, LOST)
            and not lead.is_deleted
            and lead.responsible_user_id is not None
        )


def call(what: str, action: Callable[[], T]) -> T:
    """Run one API call with the port's error translation (for callers outside this class)."""
    with translated(what):
        return action()
