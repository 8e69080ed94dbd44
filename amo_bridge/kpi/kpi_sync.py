"""The ``kpi_sync`` job's logic: KPI rows written where users see them inside amoCRM.

amoCRM has no API for its native dashboard, so each employee's KPIs for a period become one element
of a catalog (a list, "KPI" by default) with one numeric custom field per metric. The catalog and its
fields are created on the first run. Elements are found by a deterministic key at the start of their
name, ``KPI <period> <level> #<user id>``, before anything is created, and updated only when a value
changed: running the sync twice creates nothing new and writes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from amo_bridge.kpi import arithmetic
from amo_bridge.kpi.ports import CatalogPort, FieldValue, RetentionPort
from amo_bridge.kpi.report import KpiSnapshot, metrics_for

log = logging.getLogger(__name__)

TEXT_FIELDS = ("period", "level", "employee")


@dataclass
class CatalogSyncResult:
    catalog_id: int
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    fields_created: int = 0


def element_key(snapshot: KpiSnapshot) -> str:
    return f"KPI {snapshot.period} {snapshot.level} #{snapshot.user_id}"


def element_name(snapshot: KpiSnapshot) -> str:
    return f"{element_key(snapshot)} {snapshot.name}"


def field_names(snapshots: Sequence[KpiSnapshot]) -> list[str]:
    names: list[str] = list(TEXT_FIELDS)
    for s in snapshots:
        for metric in metrics_for(s.level):
            if metric not in names:
                names.append(metric)
        for metric in sorted(s.plan):
            if f"{metric}_plan_pct" not in names:
                names.append(f"{metric}_plan_pct")
    return names


def _values(snapshot: KpiSnapshot, field_ids: Mapping[str, int]) -> dict[int, FieldValue]:
    values: dict[int, FieldValue] = {
        field_ids["period"]: snapshot.period,
        field_ids["level"]: snapshot.level,
        field_ids["employee"]: snapshot.name,
    }
    for metric in metrics_for(snapshot.level):
        value = snapshot.metrics.get(metric)
        values[field_ids[metric]] = None if value is None else round(float(value), 2)
    for metric, pct in snapshot.plan.items():
        values[field_ids[f"{metric}_plan_pct"]] = None if pct is None else round(pct, 1)
    return values


def _same(a: Mapping[int, FieldValue], b: Mapping[int, FieldValue]) -> bool:
    """Whether every value of ``a`` equals ``b``'s (numbers to within rounding)."""
    for key, value in a.items():
        other = b.get(key)
        if value is None or other is None:
            if value is not other:
                return False
        elif isinstance(value, float) or isinstance(other, float):
            try:
                if abs(float(value) - float(other)) > 0.005:
                    return False
            except (TypeError, ValueError):
                return False
        elif value != other:
            return False
    return True


def sync_catalog(port: CatalogPort, catalog_name: str, snapshots: Sequence[KpiSnapshot]) -> CatalogSyncResult:
    """Upsert one catalog element per snapshot (see the module docstring)."""
    catalog_id = port.find_catalog(catalog_name)
    if catalog_id is None:
        catalog_id = port.create_catalog(catalog_name)
    result = CatalogSyncResult(catalog_id)
    field_ids = dict(port.fields(catalog_id))
    for name in field_names(snapshots):
        if name not in field_ids:
            field_ids[name] = port.create_field(
                catalog_id, name, "text" if name in TEXT_FIELDS else "numeric"
            )
            result.fields_created += 1
    for snapshot in snapshots:
        key = element_key(snapshot)
        values = _values(snapshot, field_ids)
        name = element_name(snapshot)
        found = [
            el
            for el in port.find_elements(catalog_id, key)
            if el.name == key or el.name.startswith(key + " ")
        ]
        if not found:
            port.create_element(catalog_id, name, values)
            result.created += 1
            continue
        element = min(found, key=lambda el: el.id)
        if element.name == name and _same(values, element.values):
            result.unchanged += 1
            continue
        port.update_element(catalog_id, element.id, name, values)
        result.updated += 1
    log.info(
        "kpi catalog %r: %d created, %d updated, %d unchanged",
        catalog_name,
        result.created,
        result.updated,
        result.unchanged,
    )
    return result


@dataclass
class RetentionSyncResult:
    updated: int = 0
    unchanged: int = 0
    unknown_client: int = 0


def sync_retention_fields(
    port: RetentionPort,
    pipeline_id: int,
    last_purchase: Mapping[int, int] | None,
    *,
    now: float,
    window_days: int,
    days_field_id: int | None,
    risk_field_id: int | None,
    batch: int = 50,
) -> RetentionSyncResult:
    """Write days since the client's last purchase and a churn risk onto open retention leads.

    ``last_purchase`` maps client id -> time of the last win (from :func:`queries.last_purchases`);
    leads whose values already match are not written.
    """
    result = RetentionSyncResult()
    updates: list[tuple[int, Mapping[int, FieldValue]]] = []
    for lead in port.open_leads(pipeline_id):
        t = (last_purchase or {}).get(lead.client_id) if lead.client_id is not None else None
        if t is None:
            result.unknown_client += 1
            continue
        days = int((now - t) // 86_400)
        wanted: dict[int, FieldValue] = {}
        if days_field_id is not None:
            wanted[days_field_id] = float(days)
        if risk_field_id is not None:
            wanted[risk_field_id] = arithmetic.churn_risk(days, window_days)
        if _same(wanted, lead.values):
            result.unchanged += 1
            continue
        updates.append((lead.id, wanted))
    for i in range(0, len(updates), batch):
        port.update_leads(updates[i : i + batch])
    result.updated = len(updates)
    return result
