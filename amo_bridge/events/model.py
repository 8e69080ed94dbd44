"""Typed events: what one item of an amoCRM webhook means, in amoCRM's own words.

Every event carries the fields all kinds share (``kind``, ``entity_id``, ``modified_at``, ...) plus
the decoded item it came from (``item``), so a handler that needs a field the model does not name
can still read it. Subclasses add the fields of their entity. Values are as amoCRM sent them,
converted to ``int`` where amoCRM means a number; a missing or malformed value is ``None``.

Events can be stale or out of order (amoCRM delivers at least once, unordered): a handler whose
decision depends on the current state of a lead re-reads it from the API.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class CustomFieldValue:
    """One value of a custom field: ``value`` (text) and/or ``enum`` (the id of a list option)."""

    value: str | None
    enum: int | str | None = None


@dataclass(frozen=True)
class CustomField:
    id: int | str | None
    name: str | None
    code: str | None  # PHONE, EMAIL, POSITION, IM on contacts
    values: tuple[CustomFieldValue, ...]

    @property
    def first_value(self) -> str | None:
        return self.values[0].value if self.values else None


@dataclass(frozen=True, kw_only=True)
class Event:
    """One thing that happened in amoCRM, as one webhook item told it."""

    kind: str  # e.g. "lead.status_changed"; see amo_bridge.events.kinds
    section: str  # the webhook section: leads, contacts, unsorted, task, ...
    action: str  # amoCRM's action word: add, update, status, ...
    entity_id: int | str | None  # the lead/contact/company/task id, the unsorted uid, ...
    account_id: int | None = None
    modified_at: int | None = None  # last_modified / updated_at (Unix seconds)
    created_at: int | None = None  # date_create / created_at
    responsible_user_id: int | None = None
    modified_user_id: int | None = None
    custom_fields: tuple[CustomField, ...] = ()
    item: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False, repr=False)

    @property
    def identity_id(self) -> str:
        """The id used in the event's dedupe identity (see :mod:`amo_bridge.events.dedupe`)."""
        return "" if self.entity_id is None else str(self.entity_id)

    def custom_field(self, field_id: int | str) -> CustomField | None:
        for custom in self.custom_fields:
            if custom.id is not None and str(custom.id) == str(field_id):
                return custom
        return None

    def attribute(self, name: str) -> Any:
        """A model field, else the raw item's value of that name (``None`` if neither exists)."""
        if name in type(self).__dataclass_fields__:
            return getattr(self, name)
        return self.item.get(name)


@dataclass(frozen=True, kw_only=True)
class LeadEvent(Event):
    name: str | None = None
    status_id: int | None = None
    old_status_id: int | None = None
    pipeline_id: int | None = None
    old_pipeline_id: int | None = None
    old_responsible_user_id: int | None = None
    price: int | None = None
    note_id: int | None = None  # lead.note_added
    note_type: int | None = None
    note_text: str | None = None

    @property
    def identity_id(self) -> str:
        base = super().identity_id
        if self.note_id is not None:
            return f"{base}/note:{self.note_id}"
        if self.kind == "lead.status_changed" and self.status_id is not None:
            # Two moves within one second (a person, then a hand-off) are two events.
            return f"{base}/status:{self.pipeline_id}:{self.status_id}"
        return base


@dataclass(frozen=True, kw_only=True)
class ContactEvent(Event):
    name: str | None = None
    old_responsible_user_id: int | None = None
    company_id: int | None = None  # the contact's company, when amoCRM sends it
    note_id: int | None = None
    note_type: int | None = None
    note_text: str | None = None

    @property
    def identity_id(self) -> str:
        base = super().identity_id
        return f"{base}/note:{self.note_id}" if self.note_id is not None else base


@dataclass(frozen=True, kw_only=True)
class CompanyEvent(ContactEvent):
    """A company: amoCRM sends companies under ``contacts`` with ``type=company``."""


@dataclass(frozen=True, kw_only=True)
class UnsortedEvent(Event):
    """An unsorted ("Неразобранное") entry; ``entity_id`` is its ``uid``."""

    source_uid: str | None = None
    source_name: str | None = None
    category: str | None = None  # forms, sip, chats, mail
    pipeline_id: int | None = None
    lead_id: int | None = None
    resolution: str | None = None  # unsorted.deleted: "accept" or "decline"
    result_lead_id: int | None = None  # unsorted.deleted with accept: the lead it became


@dataclass(frozen=True, kw_only=True)
class TaskEvent(Event):
    element_id: int | None = None
    element_type: str | None = None  # "contact", "lead", "company", "customer" (from 1, 2, 3, 12)
    task_type_id: int | None = None
    text: str | None = None
    is_completed: bool = False
    complete_till: int | None = None


@dataclass(frozen=True, kw_only=True)
class MessageEvent(Event):
    chat_id: str | None = None
    talk_id: int | None = None
    contact_id: int | None = None
    element_id: int | None = None
    element_type: str | None = None
    text: str | None = None
    origin: str | None = None
    author_type: str | None = None


@dataclass(frozen=True, kw_only=True)
class TalkEvent(Event):
    chat_id: str | None = None
    contact_id: int | None = None
    lead_id: int | None = None
    is_in_work: bool | None = None
    is_read: bool | None = None
    origin: str | None = None


@dataclass(frozen=True, kw_only=True)
class CatalogEvent(Event):
    catalog_id: int | None = None
    name: str | None = None


@dataclass(frozen=True, kw_only=True)
class UnknownEvent(Event):
    """A section or action amoCRM sent that we do not model: kept whole in ``item``."""
