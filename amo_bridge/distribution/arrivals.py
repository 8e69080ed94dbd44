"""Building :class:`~amo_bridge.distribution.model.Arrival` from amoCRM API v4 objects.

Pure functions over the JSON of ``GET /api/v4/leads/{id}?with=contacts`` and of an entry of
``GET /api/v4/leads/unsorted``: the webhook handlers fetch the entity named by an event and pass it
here. They tolerate the shapes amoCRM is known to vary (scalar values where a dict is expected,
missing ``_embedded`` parts).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from amo_bridge.distribution.model import Arrival


def _embedded(obj: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    embedded = obj.get("_embedded") or {}
    items = embedded.get(key) if isinstance(embedded, Mapping) else None
    return [item for item in items or () if isinstance(item, Mapping)]


def _ids(items: Sequence[Mapping[str, Any]]) -> tuple[int, ...]:
    return tuple(int(item["id"]) for item in items if str(item.get("id", "")).isdigit())


def custom_field_values(obj: Mapping[str, Any]) -> dict[int, tuple[str, ...]]:
    """``custom_fields_values`` as field id -> values as text (enum values by their text)."""
    result: dict[int, tuple[str, ...]] = {}
    for entry in obj.get("custom_fields_values") or ():
        if not isinstance(entry, Mapping) or not str(entry.get("field_id", "")).isdigit():
            continue
        values = []
        for value in entry.get("values") or ():
            raw = value.get("value") if isinstance(value, Mapping) else value
            if raw is not None:
                values.append(str(raw))
        result[int(entry["field_id"])] = tuple(values)
    return result


def _tags(obj: Mapping[str, Any]) -> frozenset[str]:
    return frozenset(str(tag["name"]) for tag in _embedded(obj, "tags") if tag.get("name"))


def arrival_from_lead(lead: Mapping[str, Any], *, episode: int | None = None) -> Arrival:
    """A lead that appeared in a stage or pipeline (``lead.added``, ``lead.status_changed``)."""
    companies = _ids(_embedded(lead, "companies"))
    return Arrival(
        entity_type="lead",
        entity_id=str(int(lead["id"])),
        pipeline_id=int(lead["pipeline_id"]),
        status_id=int(lead["status_id"]) if lead.get("status_id") is not None else None,
        tags=_tags(lead),
        fields=custom_field_values(lead),
        contact_ids=_ids(_embedded(lead, "contacts")),
        company_id=companies[0] if companies else None,
        episode=episode,
    )


def arrival_from_unsorted(entry: Mapping[str, Any]) -> Arrival:
    """An unsorted entry (``unsorted.added``): its source, channel, and the lead inside it."""
    leads = _embedded(entry, "leads")
    lead = leads[0] if leads else {}
    companies = _ids(_embedded(entry, "companies"))
    return Arrival(
        entity_type="unsorted",
        entity_id=str(entry["uid"]),
        pipeline_id=int(entry["pipeline_id"]),
        status_id=int(lead["status_id"]) if lead.get("status_id") is not None else None,
        lead_id=int(lead["id"]) if str(lead.get("id", "")).isdigit() else None,
        source_name=str(entry["source_name"]) if entry.get("source_name") else None,
        category=str(entry["category"]) if entry.get("category") else None,
        tags=_tags(lead),
        fields=custom_field_values(lead),
        contact_ids=_ids(_embedded(entry, "contacts")),
        company_id=companies[0] if companies else None,
    )
