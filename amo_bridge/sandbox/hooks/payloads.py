"""amoCRM's outgoing webhook payloads in the old v2 field names, built from sandbox records (pure).

``build(change, account)`` returns the nested structure that :mod:`phpform` turns into
``leads[status][0][old_status_id]=...`` and the subscription setting (``status_lead`` ...) it needs.
"""

from __future__ import annotations

from typing import Any

from amo_bridge.sandbox.records import ELEMENT_TYPES, Change, Record

NOTE_TYPES_V2 = {
    "common": 4,
    "call_in": 10,
    "call_out": 11,
    "service_message": 25,
    "sms_in": 102,
    "sms_out": 103,
}
DATE_FIELD_TYPES = {"date", "birthday", "date_time"}


def setting_for(change: Change) -> str | None:
    """The subscription setting (``add_lead``, ``status_lead`` ...) that receives ``change``."""
    section, action = change.section, change.action
    if section == "leads":
        return f"{action}_lead" if action != "note" else "note_lead"
    if section == "contacts":
        kind = "company" if change.extra.get("type") == "company" else "contact"
        return f"{action}_{kind}"
    if section == "task":
        return f"{action}_task"
    if section == "unsorted":
        return f"{action}_unsorted"
    if section.startswith("note_"):
        return section
    return None


def custom_fields_v2(values: list[Record] | None) -> list[Record]:
    out: list[Record] = []
    for value in values or []:
        item: Record = {"id": value["field_id"], "name": value["field_name"]}
        if value.get("field_code"):
            item["code"] = value["field_code"]
        if value["field_type"] in DATE_FIELD_TYPES:
            # A date field's value sits directly at values[0], a scalar (seen in real deliveries).
            item["values"] = [v["value"] for v in value["values"]]
        else:
            rendered: list[Record] = []
            for v in value["values"]:
                entry: Record = {"value": v["value"]}
                if v.get("enum_id"):
                    entry["enum"] = v["enum_id"]
                elif v.get("enum_code"):
                    entry["enum"] = v["enum_code"]
                rendered.append(entry)
            item["values"] = rendered
        out.append(item)
    return out


def lead_v2(lead: Record, extra: Record) -> Record:
    payload: Record = {
        "id": lead["id"],
        "name": lead["name"],
        "status_id": lead["status_id"],
        "price": lead["price"],
        "responsible_user_id": lead["responsible_user_id"],
        "last_modified": lead["updated_at"],
        "modified_user_id": lead["updated_by"],
        "created_user_id": lead["created_by"],
        "date_create": lead["created_at"],
        "pipeline_id": lead["pipeline_id"],
        "account_id": lead["account_id"],
        "created_at": lead["created_at"],
        "updated_at": lead["updated_at"],
    }
    for key in ("old_status_id", "old_pipeline_id", "old_responsible_user_id"):
        if key in extra:
            payload[key] = extra[key]
    if lead.get("loss_reason_id"):
        payload["loss_reason_id"] = lead["loss_reason_id"]
    if lead.get("closed_at"):
        payload["date_close"] = lead["closed_at"]
    fields = custom_fields_v2(lead.get("custom_fields_values"))
    if fields:
        payload["custom_fields"] = fields
    if lead.get("tags"):
        payload["tags"] = [{"id": t["id"], "name": t["name"]} for t in lead["tags"]]
    return payload


def contact_v2(record: Record, extra: Record) -> Record:
    kind = extra.get("type", "contact")
    payload: Record = {
        "id": record["id"],
        "name": record["name"],
        "responsible_user_id": record["responsible_user_id"],
        "date_create": record["created_at"],
        "last_modified": record["updated_at"],
        "created_user_id": record["created_by"],
        "modified_user_id": record["updated_by"],
        "account_id": record["account_id"],
        "created_at": record["created_at"],
        "updated_at": record["updated_at"],
        "type": kind,
    }
    fields = custom_fields_v2(record.get("custom_fields_values"))
    if fields:
        payload["custom_fields"] = fields
    if record.get("lead_ids"):
        # Keyed by the lead id itself: numeric-looking keys that are not list indices.
        payload["linked_leads_id"] = {str(i): str(i) for i in record["lead_ids"]}
    if kind == "contact" and record.get("company_id"):
        payload["linked_company_id"] = record["company_id"]
    return payload


def task_v2(task: Record, extra: Record) -> Record:
    payload: Record = {
        "id": task["id"],
        "element_id": task["entity_id"] or 0,
        "element_type": ELEMENT_TYPES.get(task.get("entity_type") or "", 0),
        "task_type": task["task_type_id"],
        "date_create": task["created_at"],
        "text": task["text"],
        "status": 1 if task["is_completed"] else 0,
        "account_id": task["account_id"],
        "created_user_id": task["created_by"],
        "modified_user_id": task["updated_by"],
        "last_modified": task["updated_at"],
        "responsible_user_id": task["responsible_user_id"],
        "complete_till": task["complete_till"],
        "created_at": task["created_at"],
        "updated_at": task["updated_at"],
    }
    if task["is_completed"] and task.get("result", {}).get("text"):
        payload["result"] = {"text": task["result"]["text"]}
        payload["action_close"] = 1
    return payload


def note_v2(note: Record, extra: Record) -> Record:
    params = note.get("params") or {}
    text = params.get("text")
    if text is None and note["note_type"] in ("call_in", "call_out"):
        text = params.get("phone", "")
    return {
        "id": note["id"],
        "element_id": note["entity_id"],
        "element_type": extra.get("element_type", 2),
        "note_type": NOTE_TYPES_V2.get(note["note_type"], 4),
        "text": text or "",
        "date_create": note["created_at"],
        "last_modified": note["updated_at"],
        "created_user_id": note["created_by"],
        "responsible_user_id": note["responsible_user_id"],
        "account_id": note["account_id"],
        "params": {k: v for k, v in params.items() if v is not None and k != "text"},
    }


def unsorted_v2(record: Record, extra: Record) -> Record:
    payload: Record = {
        "uid": record["uid"],
        "source_uid": record["source_uid"],
        "category": record["category"],
        "pipeline_id": record["pipeline_id"],
        "account_id": record["account_id"],
        "date_create": record["created_at"],
        "created_at": record["created_at"],
    }
    if extra.get("action"):
        payload["action"] = extra["action"]
        payload["modified_user_id"] = extra.get("modified_user_id", 0)
        for key in ("accept_result", "decline_result"):
            if key in extra:
                payload[key] = extra[key]
        return payload
    payload["lead_id"] = record["lead_id"]
    payload["source"] = record["source_name"]
    payload["source_data"] = record["metadata"]
    lead = extra.get("lead") or {}
    data: Record = {
        "leads": [
            {
                "id": record["lead_id"],
                "name": lead.get("name", ""),
                "pipeline_id": record["pipeline_id"],
                "custom_fields": custom_fields_v2(lead.get("custom_fields_values")),
            }
        ]
    }
    contacts = extra.get("contacts") or []
    if contacts:
        data["contacts"] = [
            {
                "id": c["id"],
                "name": c["name"],
                "custom_fields": custom_fields_v2(c.get("custom_fields_values")),
            }
            for c in contacts
        ]
    payload["data"] = data
    return payload


BUILDERS = {"leads": lead_v2, "contacts": contact_v2, "task": task_v2, "unsorted": unsorted_v2}


def build(change: Change, account: Record, base_url: str) -> dict[str, Any]:
    """The whole webhook body as nested data: ``{section: {action: [entity]}, "account": {...}}``."""
    builder = note_v2 if change.section.startswith("note_") else BUILDERS[change.section]
    return {
        change.section: {change.action: [builder(change.record, change.extra)]},
        "account": {
            "subdomain": account["subdomain"],
            "id": str(account["id"]),
            "_links": {"self": base_url},
        },
    }
