"""From a raw webhook delivery (body bytes + headers) to typed events: one pure, total function.

:func:`parse_delivery` either returns a :class:`ParsedDelivery` or raises :class:`ParseError`;
no other exception escapes, whatever the bytes (a property test checks this). amoCRM's old v2
field names are translated once, here: ``last_modified`` -> ``modified_at``, ``date_create`` ->
``created_at``, ``old_status_id``, ``custom_fields[..][values][..][value|enum]`` (a value may also
sit directly at ``values[0]``), ``element_type`` 1/2/3/12 -> contact/lead/company/customer.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from amo_bridge.errors import AmoBridgeError
from amo_bridge.events import phpform
from amo_bridge.events.kinds import entity_for, kind_for
from amo_bridge.events.model import (
    CatalogEvent,
    CompanyEvent,
    ContactEvent,
    CustomField,
    CustomFieldValue,
    Event,
    LeadEvent,
    MessageEvent,
    TalkEvent,
    TaskEvent,
    UnknownEvent,
    UnsortedEvent,
)

REQUEST_ID_HEADER = "X-Amocrm-Requestid"
MAX_EVENTS = 10_000  # a body with more items than this is refused as unparseable, not half-read

ELEMENT_TYPES = {"1": "contact", "2": "lead", "3": "company", "12": "customer"}


class ParseError(AmoBridgeError):
    """The body is not an amoCRM webhook we can read. ``code`` says why, for operators and metrics."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, retryable=False)
        self.code = code


@dataclass(frozen=True)
class ParsedDelivery:
    """One HTTP delivery: whose account it claims to be from, and its events in body order."""

    account_id: int | None
    subdomain: str | None
    request_id: str | None
    events: tuple[Event, ...]
    ignored_keys: tuple[str, ...] = ()  # top-level keys that were neither a section nor the account


# --------------------------------------------------------------------------- small converters


def as_int(value: Any) -> int | None:
    """``"123"`` -> 123; anything that is not a plain decimal integer -> ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip()
        digits = text[1:] if text[:1] == "-" else text
        if digits.isascii() and digits.isdigit() and len(digits) <= 20:
            return int(text)
    return None


def as_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def as_id(value: Any) -> int | str | None:
    """An id: an int when it looks like one, else the text (unsorted uids, chat ids), else ``None``."""
    number = as_int(value)
    if number is not None:
        return number
    text = as_text(value)
    return text if text else None


def as_bool(value: Any) -> bool | None:
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in {"1", "true", "y", "yes"}:
            return True
        if lowered in {"0", "false", "n", "no", ""}:
            return False
    return None


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _children(value: Any) -> list[Any]:
    """The elements of a list, or the values of a mapping keyed by ids; a scalar is one element."""
    if isinstance(value, list):
        return value
    if isinstance(value, Mapping):
        return list(value.values())
    return [] if value is None else [value]


def custom_fields(raw: Any) -> tuple[CustomField, ...]:
    fields: list[CustomField] = []
    for entry in _children(raw):
        if not isinstance(entry, Mapping):
            continue
        values: list[CustomFieldValue] = []
        for value in _children(entry.get("values")):
            if isinstance(value, Mapping):
                enum = value.get("enum")
                values.append(CustomFieldValue(as_text(value.get("value")), as_id(enum)))
            else:
                values.append(CustomFieldValue(as_text(value)))  # a scalar directly at values[i]
        fields.append(
            CustomField(
                id=as_id(entry.get("id")),
                name=as_text(entry.get("name")),
                code=as_text(entry.get("code")),
                values=tuple(values),
            )
        )
    return tuple(fields)


# --------------------------------------------------------------------------- building events


def _common(section: str, action: str, item: Mapping[str, Any], account_id: int | None) -> dict[str, Any]:
    return {
        "kind": kind_for(section, action, item),
        "section": section,
        "action": action,
        "entity_id": as_id(item.get("id")),
        "account_id": as_int(item.get("account_id")) or account_id,
        "modified_at": as_int(item.get("last_modified", item.get("updated_at"))),
        "created_at": as_int(item.get("date_create", item.get("created_at"))),
        "responsible_user_id": as_int(item.get("responsible_user_id")),
        "modified_user_id": as_int(item.get("modified_user_id", item.get("updated_by"))),
        "custom_fields": custom_fields(item.get("custom_fields")),
        "item": item,
    }


def _note_fields(section: str, item: Mapping[str, Any], common: dict[str, Any]) -> dict[str, Any]:
    """Notes: ``leads[note][i][note][...]`` or ``note_lead[add][i][...]``: the event is about the
    entity the note is attached to (``element_id``), and carries the note's own id."""
    note = _mapping(item.get("note")) or item
    common["entity_id"] = as_id(note.get("element_id")) if note.get("element_id") else common["entity_id"]
    common["modified_at"] = common["modified_at"] or as_int(
        note.get("last_modified", note.get("date_create"))
    )
    text = note.get("text")
    if isinstance(text, Mapping):  # service notes: params encoded as a mapping
        text = as_text(text)
    return {
        "note_id": as_int(note.get("id")),
        "note_type": as_int(note.get("note_type")),
        "note_text": as_text(text),
    }


def _lead(section: str, action: str, item: Mapping[str, Any], common: dict[str, Any]) -> Event:
    extra: dict[str, Any] = {}
    if common["kind"].endswith("note_added"):
        extra = _note_fields(section, item, common)
    return LeadEvent(
        **common,
        **extra,
        name=as_text(item.get("name")),
        status_id=as_int(item.get("status_id")),
        old_status_id=as_int(item.get("old_status_id")),
        pipeline_id=as_int(item.get("pipeline_id")),
        old_pipeline_id=as_int(item.get("old_pipeline_id")),
        old_responsible_user_id=as_int(item.get("old_responsible_user_id")),
        price=as_int(item.get("price")),
    )


def _contact(section: str, action: str, item: Mapping[str, Any], common: dict[str, Any]) -> Event:
    extra: dict[str, Any] = {}
    if common["kind"].endswith("note_added"):
        extra = _note_fields(section, item, common)
    cls = CompanyEvent if common["kind"].startswith("company.") else ContactEvent
    return cls(
        **common,
        **extra,
        name=as_text(item.get("name")),
        old_responsible_user_id=as_int(item.get("old_responsible_user_id")),
        company_id=as_int(item.get("linked_company_id", item.get("company_id"))),
    )


def _unsorted(section: str, action: str, item: Mapping[str, Any], common: dict[str, Any]) -> Event:
    common["entity_id"] = as_id(item.get("uid")) or common["entity_id"]
    data = _mapping(item.get("data"))
    leads = _children(_mapping(data).get("leads"))
    first_lead = _mapping(leads[0]) if leads else {}
    accept_result = _mapping(item.get("accept_result"))
    result_leads = _children(accept_result.get("leads"))
    result_lead_id = None
    if result_leads:
        first = result_leads[0]
        result_lead_id = as_int(first.get("id")) if isinstance(first, Mapping) else as_int(first)
    source_data = _mapping(item.get("source_data"))
    resolution = as_text(item.get("action"))
    return UnsortedEvent(
        **common,
        source_uid=as_text(item.get("source_uid")),
        source_name=as_text(
            item.get("source_name", source_data.get("source_name", source_data.get("source")))
        ),
        category=as_text(item.get("category")),
        pipeline_id=as_int(item.get("pipeline_id")),
        lead_id=as_int(item.get("lead_id")) or as_int(first_lead.get("id")),
        resolution=resolution.strip().lower() if resolution else None,
        result_lead_id=result_lead_id,
    )


def _task(section: str, action: str, item: Mapping[str, Any], common: dict[str, Any]) -> Event:
    element_type = as_text(item.get("element_type"))
    return TaskEvent(
        **common,
        element_id=as_int(item.get("element_id")),
        element_type=ELEMENT_TYPES.get(element_type or "", element_type),
        task_type_id=as_int(item.get("task_type", item.get("task_type_id"))),
        text=as_text(item.get("text")),
        is_completed=as_text(item.get("status")) == "1" or as_bool(item.get("is_completed")) is True,
        complete_till=as_int(item.get("complete_till")),
    )


def _message(section: str, action: str, item: Mapping[str, Any], common: dict[str, Any]) -> Event:
    author = _mapping(item.get("author"))
    return MessageEvent(
        **common,
        chat_id=as_text(item.get("chat_id")),
        talk_id=as_int(item.get("talk_id")),
        contact_id=as_int(item.get("contact_id")),
        element_id=as_int(item.get("element_id", item.get("entity_id"))),
        element_type=ELEMENT_TYPES.get(
            as_text(item.get("element_type")) or "", as_text(item.get("entity_type"))
        ),
        text=as_text(item.get("text")),
        origin=as_text(item.get("origin")),
        author_type=as_text(author.get("type", item.get("type"))),
    )


def _talk(section: str, action: str, item: Mapping[str, Any], common: dict[str, Any]) -> Event:
    common["entity_id"] = as_id(item.get("talk_id")) or common["entity_id"]
    entity_type = as_text(item.get("entity_type"))
    return TalkEvent(
        **common,
        chat_id=as_text(item.get("chat_id")),
        contact_id=as_int(item.get("contact_id")),
        lead_id=as_int(item.get("entity_id")) if entity_type in (None, "lead", "leads") else None,
        is_in_work=as_bool(item.get("is_in_work")),
        is_read=as_bool(item.get("is_read")),
        origin=as_text(item.get("origin")),
    )


def _catalog(section: str, action: str, item: Mapping[str, Any], common: dict[str, Any]) -> Event:
    return CatalogEvent(
        **common,
        catalog_id=as_int(item.get("catalog_id")),
        name=as_text(item.get("name")),
    )


def _unknown(section: str, action: str, item: Mapping[str, Any], common: dict[str, Any]) -> Event:
    return UnknownEvent(**common)


_BUILDERS: Mapping[str, Callable[[str, str, Mapping[str, Any], dict[str, Any]], Event]] = {
    "lead": _lead,
    "contact": _contact,
    "company": _contact,
    "unsorted": _unsorted,
    "task": _task,
    "message": _message,
    "talk": _talk,
    "catalog": _catalog,
}


def build_event(section: str, action: str, item: Any, account_id: int | None = None) -> Event:
    """The typed event for one item at ``section[action][i]``; total (any item gives an event).

    The workers rebuild events from the stored item with this function, so a stored row and a
    freshly parsed body always mean the same thing.
    """
    mapping: Mapping[str, Any] = item if isinstance(item, Mapping) else {"_value": as_text(item)}
    common = _common(section, action, mapping, account_id)
    if common["kind"].startswith("unknown."):
        return _unknown(section, action, mapping, common)
    entity = entity_for(section, mapping)
    builder = _BUILDERS.get(entity or "", _unknown)
    return builder(section, action, mapping, common)


# --------------------------------------------------------------------------- the delivery


def _header(headers: Mapping[str, str], name: str) -> str | None:
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return None


def _items(value: Any) -> list[Any]:
    """Items of ``section[action]``: a list, a mapping of items keyed by id, or one item."""
    if isinstance(value, list):
        return value
    if isinstance(value, Mapping):
        if value and all(isinstance(v, Mapping) for v in value.values()):
            return list(value.values())
        return [value]
    return [value]


def parse_delivery(body: bytes, headers: Mapping[str, str] | None = None) -> ParsedDelivery:
    """Parse one webhook delivery. Raises only :class:`ParseError`."""
    headers = headers or {}
    try:
        return _parse(body, headers)
    except ParseError:
        raise
    except Exception as exc:  # a bug must not cost the delivery: it is stored as unparseable
        raise ParseError("internal", f"parser failed: {exc.__class__.__name__}") from exc


def _parse(body: bytes, headers: Mapping[str, str]) -> ParsedDelivery:
    if not body or not body.strip():
        raise ParseError("empty", "empty body")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ParseError("encoding", "body is not UTF-8") from None
    data = phpform.decode(text)
    if not data:
        raise ParseError("not_form", "body holds no form fields")

    account = _mapping(data.get("account"))
    account_id = as_int(account.get("id"))
    subdomain = as_text(account.get("subdomain"))
    request_id = _header(headers, REQUEST_ID_HEADER)

    events: list[Event] = []
    ignored: list[str] = []
    for section, actions in data.items():
        if section == "account":
            continue
        if not isinstance(actions, Mapping):
            ignored.append(section)
            continue
        for action, raw_items in actions.items():
            for item in _items(raw_items):
                events.append(build_event(section, str(action), item, account_id))
                if len(events) > MAX_EVENTS:
                    raise ParseError("too_many", f"more than {MAX_EVENTS} events in one body")
    if not events:
        raise ParseError("no_events", "no webhook section in body")
    return ParsedDelivery(
        account_id=account_id,
        subdomain=subdomain,
        request_id=request_id,
        events=tuple(events),
        ignored_keys=tuple(ignored),
    )
