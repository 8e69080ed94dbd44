"""Sandbox records rendered as amoCRM API v4 entities (HAL ``_links`` and ``_embedded``)."""

from __future__ import annotations

from amo_bridge.sandbox.http import self_link
from amo_bridge.sandbox.records import Record

LEAD_FIELDS = (
    "id",
    "name",
    "price",
    "responsible_user_id",
    "group_id",
    "status_id",
    "pipeline_id",
    "loss_reason_id",
    "created_by",
    "updated_by",
    "created_at",
    "updated_at",
    "closed_at",
    "closest_task_at",
    "is_deleted",
    "custom_fields_values",
    "score",
    "account_id",
    "labor_cost",
)
CONTACT_FIELDS = (
    "id",
    "name",
    "first_name",
    "last_name",
    "responsible_user_id",
    "group_id",
    "created_by",
    "updated_by",
    "created_at",
    "updated_at",
    "closest_task_at",
    "is_deleted",
    "custom_fields_values",
    "account_id",
)


def lead(record: Record, with_: set[str]) -> Record:
    out = {key: record.get(key) for key in LEAD_FIELDS}
    out["_links"] = self_link(f"/api/v4/leads/{record['id']}")
    embedded: Record = {"tags": list(record.get("tags") or []), "companies": []}
    if record.get("company_id"):
        embedded["companies"] = [
            {"id": record["company_id"], "_links": self_link(f"/api/v4/companies/{record['company_id']}")}
        ]
    if "contacts" in with_:
        embedded["contacts"] = [
            {"id": c["id"], "is_main": c["is_main"], "_links": self_link(f"/api/v4/contacts/{c['id']}")}
            for c in record.get("contacts") or []
        ]
    out["_embedded"] = embedded
    return out


def contact(record: Record, with_: set[str], *, company: bool = False) -> Record:
    kind = "companies" if company else "contacts"
    out = {
        key: record.get(key) for key in CONTACT_FIELDS if not (company and key in ("first_name", "last_name"))
    }
    out["_links"] = self_link(f"/api/v4/{kind}/{record['id']}")
    embedded: Record = {"tags": list(record.get("tags") or [])}
    if "leads" in with_:
        embedded["leads"] = [
            {"id": i, "_links": self_link(f"/api/v4/leads/{i}")} for i in record.get("lead_ids") or []
        ]
    if company:
        if "contacts" in with_:
            embedded["contacts"] = [
                {"id": i, "_links": self_link(f"/api/v4/contacts/{i}")}
                for i in record.get("contact_ids") or []
            ]
    else:
        embedded["companies"] = (
            [{"id": record["company_id"], "_links": self_link(f"/api/v4/companies/{record['company_id']}")}]
            if record.get("company_id")
            else []
        )
    out["_embedded"] = embedded
    return out


def task(record: Record) -> Record:
    return {**record, "_links": self_link(f"/api/v4/tasks/{record['id']}")}


def note(entity_type: str, record: Record) -> Record:
    return {
        **record,
        "_links": self_link(f"/api/v4/{entity_type}/{record['entity_id']}/notes/{record['id']}"),
    }


def event(record: Record) -> Record:
    entity_type = record["entity_type"]
    plural = {"lead": "leads", "contact": "contacts", "company": "companies", "task": "tasks"}.get(
        entity_type, entity_type
    )
    return {
        **record,
        "_links": self_link(f"/api/v4/events/{record['id']}"),
        "_embedded": {
            "entity": {
                "id": record["entity_id"],
                "_links": self_link(f"/api/v4/{plural}/{record['entity_id']}"),
            }
        },
    }


def pipeline(record: Record) -> Record:
    statuses = [
        {**s, "_links": self_link(f"/api/v4/leads/pipelines/{record['id']}/statuses/{s['id']}")}
        for s in record["statuses"]
    ]
    out = {k: v for k, v in record.items() if k != "statuses"}
    out["_links"] = self_link(f"/api/v4/leads/pipelines/{record['id']}")
    out["_embedded"] = {"statuses": statuses}
    return out


def user(record: Record, with_: set[str], groups: list[Record]) -> Record:
    out = {k: v for k, v in record.items()}
    out["_links"] = self_link(f"/api/v4/users/{record['id']}")
    embedded: Record = {}
    if "group" in with_:
        gid = record["rights"]["group_id"] or 0
        embedded["groups"] = [{"id": g["id"], "name": g["name"]} for g in groups if g["id"] == gid]
    if "role" in with_:
        embedded["roles"] = []
    if embedded:
        out["_embedded"] = embedded
    return out


def unsorted(record: Record, lead_record: Record | None, contacts: list[Record]) -> Record:
    out = {
        k: record[k]
        for k in (
            "uid",
            "source_uid",
            "source_name",
            "category",
            "pipeline_id",
            "created_at",
            "metadata",
            "account_id",
        )
    }
    out["_links"] = self_link(f"/api/v4/leads/unsorted/{record['uid']}")
    out["_embedded"] = {
        "leads": [lead(lead_record, set())] if lead_record else [],
        "contacts": [contact(c, set()) for c in contacts],
        "companies": [],
    }
    return out


def webhook(record: Record) -> Record:
    return dict(record)
