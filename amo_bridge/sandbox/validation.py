"""Validation of API input against the account: custom-field values, leads, contacts, tasks.

Each function returns the fields to apply or raises :class:`InvalidInput` with amoCRM's
``{"code", "path", "detail"}`` errors; nothing here changes state.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from amo_bridge.sandbox.problems import EntityNotFound, FieldError, InvalidInput, error
from amo_bridge.sandbox.records import UNSORTED_TYPE, Record

if TYPE_CHECKING:
    from amo_bridge.sandbox.state import SandboxState


def normalise_custom_fields(
    state: SandboxState,
    entity_type: str,
    given: Any,
    current: list[Record] | None,
    path: str = "custom_fields_values",
) -> list[Record] | None:
    """Merge ``given`` (API input) into ``current``; raise :class:`InvalidInput` on a bad field."""
    if given is None:
        return current
    if not isinstance(given, list):
        raise InvalidInput([error("InvalidType", path, "This value should be of type array.")])
    fields = {f["id"]: f for f in state.custom_fields.get(entity_type, [])}
    by_code = {f["code"]: f for f in fields.values() if f.get("code")}
    merged: dict[int, Record] = {v["field_id"]: v for v in (current or [])}
    errors: list[FieldError] = []
    for index, item in enumerate(given):
        item_path = f"{path}.{index}"
        if not isinstance(item, dict):
            errors.append(error("InvalidType", item_path, "This value should be of type object."))
            continue
        definition = (
            fields.get(item.get("field_id")) if "field_id" in item else by_code.get(item.get("field_code"))
        )
        if definition is None:
            errors.append(
                error(
                    "NotSupportedChoice",
                    f"{item_path}.field_id",
                    "The value you selected is not a valid choice.",
                )
            )
            continue
        values = item.get("values")
        if values is None or values == []:
            merged.pop(definition["id"], None)
            continue
        if not isinstance(values, list):
            errors.append(error("InvalidType", f"{item_path}.values", "This value should be of type array."))
            continue
        clean: list[Record] = []
        for vi, raw in enumerate(values):
            value_path = f"{item_path}.values.{vi}"
            cleaned = _clean_value(definition, raw, value_path, errors)
            if cleaned is not None:
                clean.append(cleaned)
        merged[definition["id"]] = {
            "field_id": definition["id"],
            "field_name": definition["name"],
            "field_code": definition.get("code"),
            "field_type": definition["type"],
            "values": clean,
        }
    if errors:
        raise InvalidInput(errors)
    return list(merged.values()) or None


def _clean_value(definition: Record, raw: Any, path: str, errors: list[FieldError]) -> Record | None:
    if not isinstance(raw, dict):
        errors.append(error("InvalidType", path, "This value should be of type object."))
        return None
    kind = definition["type"]
    if kind in ("select", "multiselect", "radiobutton"):
        enums = definition.get("enums") or []
        match = next(
            (
                e
                for e in enums
                if ("enum_id" in raw and e["id"] == raw["enum_id"]) or e["value"] == raw.get("value")
            ),
            None,
        )
        if match is None:
            errors.append(error("NotSupportedChoice", path, "The value you selected is not a valid choice."))
            return None
        return {"value": match["value"], "enum_id": match["id"], "enum_code": None}
    value: Any = raw.get("value")
    if kind == "numeric":
        try:
            return {"value": str(int(value)) if float(value) == int(float(value)) else str(float(value))}
        except (TypeError, ValueError):
            errors.append(error("InvalidType", f"{path}.value", "This value should be of type numeric."))
            return None
    if kind in ("date", "birthday", "date_time"):
        if not isinstance(value, int) or isinstance(value, bool):
            errors.append(error("InvalidType", f"{path}.value", "This value should be of type int."))
            return None
        return {"value": value}
    if kind in ("multitext",):
        enum_code = raw.get("enum_code") or "WORK"
        return {"value": str(value), "enum_id": None, "enum_code": enum_code}
    if value is None:
        errors.append(error("NotBlank", f"{path}.value", "This value should not be blank."))
        return None
    return {"value": value}


def validate_lead(state: SandboxState, data: Any, current: Record | None, path_prefix: str = "") -> Record:
    """The lead fields to apply, or :class:`InvalidInput`."""
    if not isinstance(data, dict):
        raise InvalidInput([error("InvalidType", path_prefix or "0", "This value should be of type object.")])
    errors: list[FieldError] = []
    out: Record = {}
    if "name" in data:
        if not isinstance(data["name"], str):
            errors.append(error("InvalidType", "name", "This value should be of type string."))
        else:
            out["name"] = data["name"]
    for key in (
        "price",
        "loss_reason_id",
        "created_by",
        "updated_by",
        "created_at",
        "updated_at",
        "closed_at",
    ):
        if key in data and data[key] is not None:
            if not isinstance(data[key], int) or isinstance(data[key], bool):
                errors.append(error("InvalidType", key, "This value should be of type int."))
            else:
                out[key] = data[key]
    if "responsible_user_id" in data:
        rid = data["responsible_user_id"]
        if not isinstance(rid, int) or rid not in state.users:
            errors.append(
                error(
                    "NotSupportedChoice",
                    "responsible_user_id",
                    "The value you selected is not a valid choice.",
                )
            )
        else:
            out["responsible_user_id"] = rid
    pipeline_id = data.get("pipeline_id")
    status_id = data.get("status_id")
    if pipeline_id is not None and (not isinstance(pipeline_id, int) or pipeline_id not in state.pipelines):
        errors.append(
            error("NotSupportedChoice", "pipeline_id", "The value you selected is not a valid choice.")
        )
        pipeline_id = None
    if status_id is not None and not isinstance(status_id, int):
        errors.append(error("InvalidType", "status_id", "This value should be of type int."))
        status_id = None
    target_pipeline = (
        pipeline_id
        if pipeline_id is not None
        else (current["pipeline_id"] if current else state.main_pipeline_id())
    )
    if status_id is not None:
        status = state.status(target_pipeline, status_id)
        if status is None:
            errors.append(
                error("NotSupportedChoice", "status_id", "The value you selected is not a valid choice.")
            )
        elif current is not None and status["type"] == UNSORTED_TYPE and current["status_id"] != status_id:
            errors.append(
                error("NotSupportedChoice", "status_id", "A lead cannot be moved into the unsorted stage.")
            )
        else:
            out["status_id"] = status_id
            out["pipeline_id"] = target_pipeline
    elif pipeline_id is not None:
        out["pipeline_id"] = pipeline_id
        out["status_id"] = state.first_status(pipeline_id)["id"]
    if current is not None and "status_id" in out and current["status_id"] != out["status_id"]:
        cur_status = state.status(current["pipeline_id"], current["status_id"])
        if cur_status is not None and cur_status["type"] == UNSORTED_TYPE:
            # amoCRM: a lead leaves the unsorted stage only by accept/decline/link (sandbox choice).
            errors.append(
                error(
                    "NotSupportedChoice",
                    "status_id",
                    "The lead is in the unsorted stage: accept it first.",
                )
            )
    try:
        cfv = normalise_custom_fields(
            state,
            "leads",
            data.get("custom_fields_values"),
            current.get("custom_fields_values") if current else None,
        )
        if "custom_fields_values" in data:
            out["custom_fields_values"] = cfv
    except InvalidInput as bad:
        errors += bad.errors
    embedded = data.get("_embedded")
    if isinstance(embedded, dict) and isinstance(embedded.get("tags"), list):
        out["tags"] = [
            {"id": t.get("id") or state.next_id("tag", 500), "name": t.get("name") or str(t.get("id"))}
            for t in embedded["tags"]
            if isinstance(t, dict)
        ]
    if errors:
        raise InvalidInput(errors)
    return out


def validate_contact(state: SandboxState, entity_type: str, data: Any, current: Record | None) -> Record:
    if not isinstance(data, dict):
        raise InvalidInput([error("InvalidType", "0", "This value should be of type object.")])
    errors: list[FieldError] = []
    out: Record = {}
    for key in ("name", "first_name", "last_name"):
        if key in data:
            if not isinstance(data[key], str):
                errors.append(error("InvalidType", key, "This value should be of type string."))
            else:
                out[key] = data[key]
    if "responsible_user_id" in data:
        if data["responsible_user_id"] not in state.users:
            errors.append(
                error(
                    "NotSupportedChoice",
                    "responsible_user_id",
                    "The value you selected is not a valid choice.",
                )
            )
        else:
            out["responsible_user_id"] = data["responsible_user_id"]
    try:
        cfv = normalise_custom_fields(
            state,
            entity_type,
            data.get("custom_fields_values"),
            current.get("custom_fields_values") if current else None,
        )
        if "custom_fields_values" in data:
            out["custom_fields_values"] = cfv
    except InvalidInput as bad:
        errors += bad.errors
    if "name" not in out and current is None and ("first_name" in out or "last_name" in out):
        out["name"] = f"{out.get('first_name', '')} {out.get('last_name', '')}".strip()
    if errors:
        raise InvalidInput(errors)
    return out


def validate_task(state: SandboxState, data: Any, current: Record | None) -> Record:
    if not isinstance(data, dict):
        raise InvalidInput([error("InvalidType", "0", "This value should be of type object.")])
    errors: list[FieldError] = []
    out: Record = {}
    if current is None:
        for key in ("text", "complete_till"):
            if key not in data:
                errors.append(error("NotBlank", key, "This value should not be blank."))
    if "text" in data:
        if not isinstance(data["text"], str) or not data["text"]:
            errors.append(error("NotBlank", "text", "This value should not be blank."))
        else:
            out["text"] = data["text"]
    for key in ("complete_till", "duration", "entity_id", "task_type_id", "created_at", "updated_at"):
        if key in data and data[key] is not None:
            if not isinstance(data[key], int) or isinstance(data[key], bool):
                errors.append(error("InvalidType", key, "This value should be of type int."))
            else:
                out[key] = data[key]
    if "task_type_id" in out and all(t["id"] != out["task_type_id"] for t in state.task_types):
        errors.append(
            error("NotSupportedChoice", "task_type_id", "The value you selected is not a valid choice.")
        )
    if "entity_type" in data:
        if data["entity_type"] not in ("leads", "contacts", "companies"):
            errors.append(
                error("NotSupportedChoice", "entity_type", "The value you selected is not a valid choice.")
            )
        else:
            out["entity_type"] = data["entity_type"]
    if "entity_id" in out:
        try:
            state.get(
                out.get("entity_type") or (current or {}).get("entity_type") or "leads", out["entity_id"]
            )
        except EntityNotFound:
            errors.append(error("NotFound", "entity_id", "Entity not found."))
    if "responsible_user_id" in data:
        if data["responsible_user_id"] not in state.users:
            errors.append(
                error(
                    "NotSupportedChoice",
                    "responsible_user_id",
                    "The value you selected is not a valid choice.",
                )
            )
        else:
            out["responsible_user_id"] = data["responsible_user_id"]
    if "is_completed" in data:
        if not isinstance(data["is_completed"], bool):
            errors.append(error("InvalidType", "is_completed", "This value should be of type bool."))
        else:
            out["is_completed"] = data["is_completed"]
    if "result" in data:
        if not isinstance(data["result"], dict):
            errors.append(error("InvalidType", "result", "This value should be of type object."))
        else:
            out["result"] = {"text": str(data["result"].get("text", ""))}
    if errors:
        raise InvalidInput(errors)
    return out
