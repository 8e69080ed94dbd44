"""The KPI ports (:mod:`amo_bridge.kpi.ports`) over the amoCRM API client.

* :class:`AmoEventSource`: ``GET /api/v4/events`` filtered by ``filter[type]`` and
  ``filter[created_at]``. amoCRM answers newest first, so the source walks ``created_at`` windows
  forward (one day by default) and yields each window's events oldest first, in pages of
  ``page_size``: the sync's watermark only ever moves forward.
* :class:`AmoLeadSource`: ``GET /api/v4/leads?with=contacts&filter[updated_at][from]=``.
* :class:`AmoDirectory`: ``GET /api/v4/users?with=role,group`` and ``GET /api/v4/leads/pipelines``.
* :class:`AmoCatalogPort`: ``/api/v4/catalogs``, its ``custom_fields`` and ``elements``.
* :class:`AmoRetentionPort`: open leads of the retention pipeline and ``PATCH /api/v4/leads``.

:func:`event_types` lists the event types the history uses (``filter[type]``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from amo_bridge.api import AmoClient
from amo_bridge.api.models import LOST_STATUS_ID, WON_STATUS_ID, CustomFieldValue, Lead
from amo_bridge.api.resources.base import first_embedded
from amo_bridge.api.retry import UNSAFE_WRITE
from amo_bridge.kpi.ports import (
    CatalogElement,
    FieldValue,
    LeadSnapshot,
    PipelineInfo,
    RetentionLead,
    StageInfo,
    UserInfo,
)

DAY = 86_400
BASE_EVENT_TYPES: tuple[str, ...] = (
    "lead_added",
    "lead_status_changed",
    "entity_responsible_changed",
    "incoming_call",
    "outgoing_call",
    "task_added",
    "task_completed",
)
# Note events the history keeps (``<type>_note_added``; calls come as incoming/outgoing_call).
NOTE_EVENT_TYPES: tuple[str, ...] = (
    "common_note_added",
    "service_note_added",
    "invoice_paid_note_added",
    "geo_note_added",
    "sms_in_note_added",
    "sms_out_note_added",
    "message_cashier_note_added",
    "attachment_note_added",
)


def event_types(reported_fields: Iterable[int] = (), extra: Iterable[str] = ()) -> list[str]:
    """The ``filter[type]`` values: base kinds, note kinds, reported fields' value changes, ``extra``."""
    types = [*BASE_EVENT_TYPES, *NOTE_EVENT_TYPES]
    types += [f"custom_field_{int(f)}_value_changed" for f in sorted(reported_fields)]
    types += [t for t in extra if t not in types]
    return types


def _first_value(cf: CustomFieldValue) -> FieldValue:
    if not cf.values:
        return None
    value = cf.values[0]
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    return None if value is None else str(value)


def _values(fields: Sequence[CustomFieldValue]) -> dict[int, FieldValue]:
    return {cf.field_id: _first_value(cf) for cf in fields}


def _field_payload(values: Mapping[int, FieldValue]) -> list[dict[str, Any]]:
    """``custom_fields_values`` for the known values (``None`` = leave the field as it is)."""
    return [
        {"field_id": int(field_id), "values": [{"value": value}]}
        for field_id, value in values.items()
        if value is not None
    ]


def _main_contact(lead: Lead) -> int | None:
    contacts = (lead.raw.get("_embedded") or {}).get("contacts") or []
    for contact in contacts:
        if isinstance(contact, dict) and contact.get("is_main") and contact.get("id") is not None:
            return int(contact["id"])
    return lead.contact_ids[0] if lead.contact_ids else None


def snapshot(lead: Lead) -> LeadSnapshot:
    return LeadSnapshot(
        id=lead.id,
        created_at=lead.created_at,
        updated_at=lead.updated_at,
        status_id=lead.status_id,
        pipeline_id=lead.pipeline_id,
        responsible_user_id=lead.responsible_user_id,
        price=float(lead.price) if lead.price is not None else None,
        closed_at=lead.closed_at,
        main_contact_id=_main_contact(lead),
    )


class AmoEventSource:
    """:class:`~amo_bridge.kpi.ports.EventSource`: windows of ``window`` seconds up to now."""

    def __init__(
        self,
        client: AmoClient,
        *,
        types: Sequence[str] | None = None,
        window: int = DAY,
        page_size: int = 250,
        now: Callable[[], float] | None = None,
    ) -> None:
        self._client = client
        self._types = list(types) if types is not None else event_types()
        self._window = max(1, int(window))
        self._page_size = max(1, int(page_size))
        self._now = now or client.clock.now

    def pages(self, since: int) -> Iterator[Sequence[Mapping[str, Any]]]:
        end = int(self._now())
        start = int(since)
        while start <= end:
            stop = min(start + self._window - 1, end)
            events = [
                e.raw
                for e in self._client.events.list(types=self._types, created_from=start, created_to=stop)
            ]
            events.sort(key=lambda e: (int(e.get("created_at") or 0), str(e.get("id"))))
            for i in range(0, len(events), self._page_size):
                yield events[i : i + self._page_size]
            start = stop + 1


class AmoLeadSource:
    """:class:`~amo_bridge.kpi.ports.LeadSource` (deleted leads are skipped)."""

    def __init__(self, client: AmoClient) -> None:
        self._client = client

    def leads(self, updated_since: int) -> Iterator[LeadSnapshot]:
        for lead in self._client.leads.list(updated_from=int(updated_since), with_=("contacts",)):
            if not lead.is_deleted:
                yield snapshot(lead)


class AmoDirectory:
    """:class:`~amo_bridge.kpi.ports.Directory`."""

    def __init__(self, client: AmoClient) -> None:
        self._client = client

    def users(self) -> Iterable[UserInfo]:
        return [UserInfo(u.id, u.name, u.group_id, u.is_active) for u in self._client.users.list()]

    def pipelines(self) -> Iterable[PipelineInfo]:
        return [
            PipelineInfo(p.id, p.name, tuple(StageInfo(s.id, s.name, s.sort) for s in p.statuses))
            for p in self._client.pipelines.list()
        ]


class AmoCatalogPort:
    """:class:`~amo_bridge.kpi.ports.CatalogPort`. Numeric fields are amoCRM ``numeric``, text ``text``."""

    def __init__(self, client: AmoClient) -> None:
        self._client = client

    def _path(self, catalog_id: int, tail: str = "") -> str:
        return f"/api/v4/catalogs/{int(catalog_id)}{tail}"

    def find_catalog(self, name: str) -> int | None:
        found = self._client.catalogs.find(name)
        return found.id if found else None

    def create_catalog(self, name: str) -> int:
        return self._client.catalogs.create(name, idempotency_key=f"kpi.catalog:{name}")

    def fields(self, catalog_id: int) -> Mapping[str, int]:
        rows = self._client.paginate(self._path(catalog_id, "/custom_fields"), "custom_fields")
        return {str(row.get("name", "")): int(row["id"]) for row in rows if row.get("id") is not None}

    def create_field(self, catalog_id: int, name: str, kind: str) -> int:
        body = self._client.request(
            "POST",
            self._path(catalog_id, "/custom_fields"),
            json=[{"name": name, "type": "numeric" if kind == "numeric" else "text"}],
            policy=UNSAFE_WRITE,
        )
        return int(first_embedded(body, "custom_fields")["id"])

    def find_elements(self, catalog_id: int, query: str) -> Sequence[CatalogElement]:
        return [
            CatalogElement(e.id, e.name, _values(e.custom_fields))
            for e in self._client.catalogs.elements(catalog_id, query=query)
        ]

    def create_element(self, catalog_id: int, name: str, values: Mapping[int, FieldValue]) -> int:
        element = {"name": name, "custom_fields_values": _field_payload(values)}
        body = self._client.request("POST", self._path(catalog_id, "/elements"), json=[element])
        return int(first_embedded(body, "elements")["id"])

    def update_element(
        self, catalog_id: int, element_id: int, name: str, values: Mapping[int, FieldValue]
    ) -> None:
        change = {"id": int(element_id), "name": name, "custom_fields_values": _field_payload(values)}
        self._client.catalogs.update_elements(catalog_id, [change])


class AmoRetentionPort:
    """:class:`~amo_bridge.kpi.ports.RetentionPort` over open leads of one pipeline."""

    def __init__(self, client: AmoClient) -> None:
        self._client = client

    def open_leads(self, pipeline_id: int) -> Iterable[RetentionLead]:
        for lead in self._client.leads.list(pipeline_ids=[int(pipeline_id)], with_=("contacts",)):
            if lead.is_deleted or lead.pipeline_id != pipeline_id:
                continue
            if lead.status_id in (WON_STATUS_ID, LOST_STATUS_ID):
                continue
            yield RetentionLead(lead.id, _main_contact(lead), _values(lead.custom_fields))

    def update_leads(self, updates: Sequence[tuple[int, Mapping[int, FieldValue]]]) -> None:
        changes = [
            {"id": int(lead_id), "custom_fields_values": _field_payload(values)}
            for lead_id, values in updates
        ]
        if changes:
            self._client.leads.update_many(changes)


@dataclass(frozen=True)
class KpiPorts:
    """Every KPI port over one client (what the ``events_sync`` and ``kpi_sync`` jobs use)."""

    events: AmoEventSource
    leads: AmoLeadSource
    directory: AmoDirectory
    catalog: AmoCatalogPort
    retention: AmoRetentionPort


def kpi_ports(client: AmoClient, reported_fields: Iterable[int] = ()) -> KpiPorts:
    return KpiPorts(
        events=AmoEventSource(client, types=event_types(reported_fields)),
        leads=AmoLeadSource(client),
        directory=AmoDirectory(client),
        catalog=AmoCatalogPort(client),
        retention=AmoRetentionPort(client),
    )
