"""Translating amoCRM's data into history rows: pure functions, no I/O.

Three sources describe the same changes: ``/api/v4/events`` (with amoCRM's event id), webhooks
(parsed by the receiver, no event id) and lead snapshots (reconciliation). Each gets its own natural
``key`` and all share a ``match_key`` per change, so the store keeps each change once (docs/kpi.md).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from amo_bridge.kpi.ports import LeadSnapshot
from amo_bridge.kpi.rows import (
    CALL_IN,
    CALL_OUT,
    EVENTS,
    LEAD_CREATED,
    LEADS,
    LOST,
    NOTE_ADDED,
    REPORTED,
    RESPONSIBLE_CHANGED,
    STATUS_CHANGED,
    TASK_COMPLETED,
    TASK_CREATED,
    TWIN_WINDOW_SECONDS,
    WEBHOOK,
    WON,
    HistoryRow,
    status_match_key,
)

_CUSTOM_FIELD_EVENT = re.compile(r"^custom_field_(\d+)_value_changed$")
_NOTE_EVENT = re.compile(r"^([a-z_]+)_note_added$")

# Webhooks carry v2 numeric note types; the v4 names are what KPI_ACTIVITIES uses (note:<type>).
V2_NOTE_TYPES = {
    1: "lead_created",
    4: "common",
    10: "call_in",
    11: "call_out",
    12: "message_cashier",
    13: "geolocation",
    25: "service_message",
    102: "sms_in",
    103: "sms_out",
}


def _int(value: Any) -> int | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


def _float(value: Any) -> float | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _first(values: Any, name: str) -> Mapping[str, Any]:
    """``value_before``/``value_after`` are lists of one-key dicts: ``[{"lead_status": {...}}]``."""
    if isinstance(values, Sequence) and not isinstance(values, str):
        for item in values:
            if isinstance(item, Mapping) and isinstance(item.get(name), Mapping):
                inner: Mapping[str, Any] = item[name]
                return inner
    return {}


# --- /api/v4/events ---------------------------------------------------------------------------------


def from_amo_event(event: Mapping[str, Any], reported_fields: Mapping[int, str]) -> list[HistoryRow]:
    """History rows for one ``/api/v4/events`` item (empty for types KPIs do not use)."""
    kind = str(event.get("type") or "")
    event_id = event.get("id")
    created_at = _int(event.get("created_at"))
    entity_id = _int(event.get("entity_id"))
    if event_id in (None, "") or created_at is None or entity_id is None:
        return []
    entity_type = str(event.get("entity_type") or "")
    actor = _int(event.get("created_by")) or None  # 0 = a robot or the system
    before, after = event.get("value_before"), event.get("value_after")
    base: dict[str, Any] = {
        "occurred_at": created_at,
        "key": f"amo:{event_id}",
        "source": EVENTS,
        "actor_id": actor,
        "authoritative": ("occurred_at",),
    }
    lead_id = entity_id if entity_type == "lead" else None

    if kind == "lead_added" and lead_id is not None:
        status = _first(after, "lead_status")
        return [
            HistoryRow(
                kind=LEAD_CREATED,
                match_key=f"created:{lead_id}",
                lead_id=lead_id,
                status_id=_int(status.get("id")),
                pipeline_id=_int(status.get("pipeline_id")),
                **base,
            )
        ]
    if kind == "lead_status_changed" and lead_id is not None:
        old, new = _first(before, "lead_status"), _first(after, "lead_status")
        status_id = _int(new.get("id"))
        if status_id is None:
            return []
        old_status = _int(old.get("id"))
        return [
            HistoryRow(
                kind=STATUS_CHANGED,
                match_key=status_match_key(lead_id, old_status, status_id),
                window=TWIN_WINDOW_SECONDS,
                lead_id=lead_id,
                status_id=status_id,
                pipeline_id=_int(new.get("pipeline_id")),
                old_status_id=old_status,
                old_pipeline_id=_int(old.get("pipeline_id")),
                **base,
            )
        ]
    if kind == "entity_responsible_changed" and lead_id is not None:
        old_user = _int(_first(before, "responsible_user").get("id"))
        new_user = _int(_first(after, "responsible_user").get("id"))
        if new_user is None:
            return []
        return [
            HistoryRow(
                kind=RESPONSIBLE_CHANGED,
                match_key=f"resp:{lead_id}:{old_user}:{new_user}",
                window=TWIN_WINDOW_SECONDS,
                lead_id=lead_id,
                user_id=new_user,
                old_user_id=old_user,
                **base,
            )
        ]
    if kind in ("incoming_call", "outgoing_call"):
        note_id = _int(_first(after, "note").get("id"))
        if note_id is None:
            return []
        return [
            HistoryRow(
                kind=CALL_IN if kind == "incoming_call" else CALL_OUT,
                match_key=f"call:{note_id}",
                lead_id=lead_id,
                entity_id=note_id,
                user_id=actor,
                **base,
            )
        ]
    if kind in ("task_added", "task_completed"):
        # The task id sits in entity_id when entity_type is "task", else in value_after
        # (unconfirmed which form amoCRM uses for every account; both are accepted).
        task_id = entity_id if entity_type == "task" else _int(_first(after, "task").get("id"))
        if task_id is None:
            return []
        task = _first(after, "task")
        done = kind == "task_completed"
        return [
            HistoryRow(
                kind=TASK_COMPLETED if done else TASK_CREATED,
                match_key=f"task:{task_id}:{'completed' if done else 'created'}",
                lead_id=lead_id,
                entity_id=task_id,
                user_id=actor,
                task_type_id=_int(task.get("task_type_id") or task.get("task_type")),
                **base,
            )
        ]
    note_match = _NOTE_EVENT.match(kind)
    if note_match:
        note_id = _int(_first(after, "note").get("id"))
        if note_id is None:
            return []
        return [
            HistoryRow(
                kind=NOTE_ADDED,
                match_key=f"note:{note_id}",
                lead_id=lead_id,
                entity_id=note_id,
                user_id=actor,
                note_type=note_match.group(1),
                **base,
            )
        ]
    field_match = _CUSTOM_FIELD_EVENT.match(kind)
    if field_match and int(field_match.group(1)) in reported_fields:
        field_id = int(field_match.group(1))
        value = _float(_first(after, "custom_field_value").get("text"))
        if value is None:
            return []
        return [
            HistoryRow(
                kind=REPORTED,
                match_key=f"reported:{entity_type}:{entity_id}:{field_id}:{value:g}",
                window=TWIN_WINDOW_SECONDS,
                lead_id=lead_id,
                entity_id=entity_id,
                user_id=actor,
                field_id=field_id,
                value=value,
                **base,
            )
        ]
    return []


# --- parsed webhooks ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class WebhookEvent:
    """A webhook event as the receiver parsed it (docs/architecture.md, "Event kinds").

    ``data`` holds the entity's fields with amoCRM's v2 webhook names (``status_id``,
    ``old_status_id``, ``pipeline_id``, ``responsible_user_id``, ``price``, ``last_modified``,
    ``custom_fields`` ...). ``received_at`` is when the receiver stored the delivery: the time of the
    change when the payload carries none.
    """

    kind: str
    entity_id: int
    data: Mapping[str, Any]
    received_at: int


def _when(data: Mapping[str, Any], received_at: int, *names: str) -> int:
    for name in names:
        value = _int(data.get(name))
        if value:
            return value
    return received_at


def _custom_values(data: Mapping[str, Any]) -> dict[int, Any]:
    """``custom_fields`` -> {field id: first value}; tolerates dicts keyed by index and scalar values."""
    raw = data.get("custom_fields")
    items: list[Any] = list(raw.values()) if isinstance(raw, Mapping) else list(raw or [])
    found: dict[int, Any] = {}
    for item in items:
        if not isinstance(item, Mapping):
            continue
        field_id = _int(item.get("id"))
        values = item.get("values")
        first: Any = None
        if isinstance(values, Mapping):
            values = list(values.values())
        if isinstance(values, list) and values:
            first = values[0]
            if isinstance(first, Mapping):
                first = first.get("value", first.get("enum"))
        if field_id is not None:
            found[field_id] = first
    return found


def from_webhook(event: WebhookEvent, reported_fields: Mapping[int, str]) -> list[HistoryRow]:
    """History rows for one parsed webhook event (empty for kinds KPIs do not use)."""
    d, lead = event.data, event.entity_id
    base: dict[str, Any] = {"source": WEBHOOK}
    if event.kind == "lead.added":
        when = _when(d, event.received_at, "date_create", "created_at", "last_modified")
        return [
            HistoryRow(
                kind=LEAD_CREATED,
                occurred_at=when,
                key=f"wh:lead:{lead}:added",
                match_key=f"created:{lead}",
                lead_id=lead,
                user_id=_int(d.get("responsible_user_id")),
                actor_id=_int(d.get("created_user_id")),
                status_id=_int(d.get("status_id")),
                pipeline_id=_int(d.get("pipeline_id")),
                price=_float(d.get("price")),
                **base,
            )
        ]
    if event.kind == "lead.status_changed":
        status_id = _int(d.get("status_id"))
        if status_id is None:
            return []
        old_status = _int(d.get("old_status_id"))
        when = _when(d, event.received_at, "last_modified", "updated_at")
        return [
            HistoryRow(
                kind=STATUS_CHANGED,
                occurred_at=when,
                key=f"wh:lead:{lead}:status:{old_status}:{status_id}:{when}",
                match_key=status_match_key(lead, old_status, status_id),
                window=TWIN_WINDOW_SECONDS,
                lead_id=lead,
                user_id=_int(d.get("responsible_user_id")),
                actor_id=_int(d.get("modified_user_id")),
                status_id=status_id,
                pipeline_id=_int(d.get("pipeline_id")),
                old_status_id=old_status,
                old_pipeline_id=_int(d.get("old_pipeline_id")),
                price=_float(d.get("price")) if status_id in (WON, LOST) else None,
                **base,
            )
        ]
    if event.kind == "lead.responsible_changed":
        new_user = _int(d.get("responsible_user_id"))
        if new_user is None:
            return []
        old_user = _int(d.get("old_responsible_user_id"))
        when = _when(d, event.received_at, "last_modified", "updated_at")
        return [
            HistoryRow(
                kind=RESPONSIBLE_CHANGED,
                occurred_at=when,
                key=f"wh:lead:{lead}:resp:{old_user}:{new_user}:{when}",
                match_key=f"resp:{lead}:{old_user}:{new_user}",
                window=TWIN_WINDOW_SECONDS,
                lead_id=lead,
                user_id=new_user,
                old_user_id=old_user,
                actor_id=_int(d.get("modified_user_id")),
                **base,
            )
        ]
    if event.kind in ("lead.note_added", "contact.note_added", "company.note_added"):
        return _note_rows(event)
    if event.kind in ("task.added", "task.updated"):
        return _task_rows(event)
    if event.kind in ("lead.updated", "contact.updated", "company.updated") and reported_fields:
        entity_type = event.kind.split(".")[0]
        when = _when(d, event.received_at, "last_modified", "updated_at")
        user = _int(d.get("modified_user_id")) or _int(d.get("responsible_user_id"))
        rows = []
        for field_id, raw in sorted(_custom_values(d).items()):
            value = _float(raw)
            if field_id not in reported_fields or value is None:
                continue
            rows.append(
                HistoryRow(
                    kind=REPORTED,
                    occurred_at=when,
                    key=f"wh:reported:{entity_type}:{lead}:{field_id}:{value:g}:{when}",
                    match_key=f"reported:{entity_type}:{lead}:{field_id}:{value:g}",
                    window=TWIN_WINDOW_SECONDS,
                    lead_id=lead if entity_type == "lead" else None,
                    entity_id=lead,
                    user_id=user,
                    field_id=field_id,
                    value=value,
                    **base,
                )
            )
        return rows
    return []


def _note_rows(event: WebhookEvent) -> list[HistoryRow]:
    d = event.data
    note_id = event.entity_id
    raw_type = d.get("note_type")
    code = _int(raw_type)
    note_type = V2_NOTE_TYPES.get(code, str(code)) if code is not None else str(raw_type or "")
    element = _int(d.get("element_id"))
    is_lead = event.kind == "lead.note_added" or _int(d.get("element_type")) == 2
    when = _when(d, event.received_at, "created_at", "date_create", "last_modified")
    user = _int(d.get("created_by")) or _int(d.get("responsible_user_id"))
    params = d.get("params") if isinstance(d.get("params"), Mapping) else {}
    assert isinstance(params, Mapping)
    if note_type in ("call_in", "call_out"):
        return [
            HistoryRow(
                kind=CALL_IN if note_type == "call_in" else CALL_OUT,
                occurred_at=when,
                key=f"wh:note:{note_id}",
                source=WEBHOOK,
                match_key=f"call:{note_id}",
                lead_id=element if is_lead else None,
                entity_id=note_id,
                user_id=user,
                duration=_int(params.get("DURATION", params.get("duration"))),
                call_result=(str(params.get("call_result") or params.get("call_status") or "") or None),
            )
        ]
    return [
        HistoryRow(
            kind=NOTE_ADDED,
            occurred_at=when,
            key=f"wh:note:{note_id}",
            source=WEBHOOK,
            match_key=f"note:{note_id}",
            lead_id=element if is_lead else None,
            entity_id=note_id,
            user_id=user,
            note_type=note_type or None,
        )
    ]


def _task_rows(event: WebhookEvent) -> list[HistoryRow]:
    d = event.data
    task_id = event.entity_id
    is_lead = _int(d.get("element_type")) == 2 or d.get("entity_type") == "leads"
    lead = _int(d.get("element_id", d.get("entity_id"))) if is_lead else None
    common: dict[str, Any] = {
        "source": WEBHOOK,
        "lead_id": lead,
        "entity_id": task_id,
        "user_id": _int(d.get("responsible_user_id")),
        "task_type_id": _int(d.get("task_type", d.get("task_type_id"))),
        "due_at": _int(d.get("complete_till")),
    }
    rows = []
    if event.kind == "task.added":
        rows.append(
            HistoryRow(
                kind=TASK_CREATED,
                occurred_at=_when(d, event.received_at, "date_create", "created_at", "last_modified"),
                key=f"wh:task:{task_id}:created",
                match_key=f"task:{task_id}:created",
                **common,
            )
        )
    done = str(d.get("status", "")).strip() == "1" or d.get("is_completed") in (True, "1", 1)
    if done:
        rows.append(
            HistoryRow(
                kind=TASK_COMPLETED,
                occurred_at=_when(d, event.received_at, "last_modified", "updated_at"),
                key=f"wh:task:{task_id}:completed",
                match_key=f"task:{task_id}:completed",
                **common,
            )
        )
    return rows


# --- lead snapshots -------------------------------------------------------------------------------------


def from_lead(lead: LeadSnapshot) -> list[HistoryRow]:
    """Rows a lead snapshot proves: it was created, and (when closed) won or lost at ``closed_at``.

    The snapshot is authoritative for the price and the client of a closed lead (amoCRM's events do
    not carry the price; it may be corrected after the win), so those overwrite on merge.
    """
    rows = [
        HistoryRow(
            kind=LEAD_CREATED,
            occurred_at=lead.created_at,
            key=f"lead:{lead.id}:created",
            source=LEADS,
            match_key=f"created:{lead.id}",
            lead_id=lead.id,
        )
    ]
    if lead.status_id in (WON, LOST) and lead.closed_at:
        rows.append(
            HistoryRow(
                kind=STATUS_CHANGED,
                occurred_at=lead.closed_at,
                key=f"lead:{lead.id}:closed:{lead.status_id}:{lead.closed_at}",
                source=LEADS,
                match_key=status_match_key(lead.id, None, lead.status_id),
                window=TWIN_WINDOW_SECONDS,
                lead_id=lead.id,
                user_id=lead.responsible_user_id,
                status_id=lead.status_id,
                pipeline_id=lead.pipeline_id,
                price=lead.price,
                client_id=lead.main_contact_id,
                authoritative=("price", "client_id"),
            )
        )
    return rows
