"""Contacts, companies, tasks, notes, events, calls, catalogs and their elements."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response

from amo_bridge.sandbox import http, query, render
from amo_bridge.sandbox.core import Sandbox
from amo_bridge.sandbox.problems import EntityNotFound, InvalidInput, error
from amo_bridge.sandbox.records import BATCH_LIMIT, EVENTS_PAGE_LIMIT, Record
from amo_bridge.sandbox.routes.common import (
    actor,
    args,
    filters,
    in_range,
    int_filter,
    order,
    time_filter,
    validate_all,
    with_set,
)
from amo_bridge.sandbox.state import normalise_phone


def register(app: Flask, sandbox: Sandbox) -> None:
    state = sandbox.state

    # ------------------------------------------------------------ contacts and companies
    def contact_matches(record: Record, text: str) -> bool:
        if text.lower() in record["name"].lower():
            return True
        digits = normalise_phone(text)
        for value in record.get("custom_fields_values") or []:
            for v in value["values"]:
                raw = str(v.get("value", ""))
                if text.lower() in raw.lower() or (len(digits) >= 6 and digits in normalise_phone(raw)):
                    return True
        return False

    @app.get("/api/v4/<any(contacts,companies):entity>")
    def list_contacts(entity: str) -> Response:
        params = args()
        page, limit = http.paging(params)
        flt = filters(params)
        with state.lock:
            items = [c for c in state.entity_store(entity).values() if not c["is_deleted"]]
            if "id" in flt:
                ids = set(int_filter(flt["id"], "filter[id]"))
                items = [c for c in items if c["id"] in ids]
            if "responsible_user_id" in flt:
                users = set(int_filter(flt["responsible_user_id"], "filter[responsible_user_id]"))
                items = [c for c in items if c["responsible_user_id"] in users]
            for key in ("updated_at", "created_at"):
                if key in flt:
                    bounds = time_filter(flt[key], f"filter[{key}]")
                    items = [c for c in items if in_range(c.get(key), bounds)]
            text = params.get("query")
            if isinstance(text, str) and text:
                items = [c for c in items if contact_matches(c, text)]
            items = order(items, params.get("order"))
            out = [render.contact(c, with_set(), company=entity == "companies") for c in items]
        return http.hal_list(entity, out, page, limit)

    @app.get("/api/v4/<any(contacts,companies):entity>/<int:entity_id>")
    def get_contact(entity: str, entity_id: int) -> Response:
        with state.lock:
            record = state.entity_store(entity).get(entity_id)
            if record is None:
                return Response(status=204)
            return http.json_response(render.contact(record, with_set(), company=entity == "companies"))

    @app.post("/api/v4/<any(contacts,companies):entity>")
    def add_contacts(entity: str) -> Response:
        body = http.json_list(BATCH_LIMIT)
        with state.lock:
            fields = validate_all(body, lambda i, item: state.validate_contact(entity, item, None))
            made = [
                state.add_contact(
                    {"responsible_user_id": actor(), **f}, by=actor(), company=entity == "companies"
                )
                for f in fields
            ]
        rendered = [
            {"id": r["id"], "request_id": str(i), "_links": http.self_link(f"/api/v4/{entity}/{r['id']}")}
            for i, r in enumerate(made)
        ]
        return http.json_response(
            {"_links": http.self_link(f"/api/v4/{entity}"), "_embedded": {entity: rendered}}
        )

    @app.patch("/api/v4/<any(contacts,companies):entity>")
    def patch_contacts(entity: str) -> Response:
        body = http.json_list(BATCH_LIMIT)
        with state.lock:

            def check(index: int, item: Any) -> Record:
                if not isinstance(item, dict) or not isinstance(item.get("id"), int):
                    raise InvalidInput([error("NotBlank", "id", "This value should not be blank.")])
                current = state.entity_store(entity).get(item["id"])
                if current is None or current["is_deleted"]:
                    raise InvalidInput([error("NotFound", "id", "Entity not found.")])
                return {"id": item["id"], "changes": state.validate_contact(entity, item, current)}

            plan = validate_all(body, check)
            done = [state.update_contact(entity, p["id"], p["changes"], by=actor()) for p in plan]
        rendered = [
            {
                "id": r["id"],
                "updated_at": r["updated_at"],
                "_links": http.self_link(f"/api/v4/{entity}/{r['id']}"),
            }
            for r in done
        ]
        return http.json_response(
            {"_links": http.self_link(f"/api/v4/{entity}"), "_embedded": {entity: rendered}}
        )

    # ------------------------------------------------------------ tasks
    @app.get("/api/v4/tasks")
    def list_tasks() -> Response:
        params = args()
        page, limit = http.paging(params)
        flt = filters(params)
        with state.lock:
            items = list(state.tasks.values())
            if "id" in flt:
                ids = set(int_filter(flt["id"], "filter[id]"))
                items = [t for t in items if t["id"] in ids]
            if "responsible_user_id" in flt:
                users = set(int_filter(flt["responsible_user_id"], "filter[responsible_user_id]"))
                items = [t for t in items if t["responsible_user_id"] in users]
            if "is_completed" in flt:
                wanted = str(flt["is_completed"]) in ("1", "true")
                items = [t for t in items if t["is_completed"] == wanted]
            if "task_type" in flt:
                types = set(int_filter(flt["task_type"], "filter[task_type]"))
                items = [t for t in items if t["task_type_id"] in types]
            if "entity_type" in flt:
                items = [t for t in items if t["entity_type"] == flt["entity_type"]]
            if "entity_id" in flt:
                ids = set(int_filter(flt["entity_id"], "filter[entity_id]"))
                items = [t for t in items if t["entity_id"] in ids]
            if "updated_at" in flt:
                bounds = time_filter(flt["updated_at"], "filter[updated_at]")
                items = [t for t in items if in_range(t["updated_at"], bounds)]
            items = order(items, params.get("order"))
            out = [render.task(t) for t in items]
        return http.hal_list("tasks", out, page, limit)

    @app.get("/api/v4/tasks/<int:task_id>")
    def get_task(task_id: int) -> Response:
        record = state.tasks.get(task_id)
        return http.json_response(render.task(record)) if record else Response(status=204)

    @app.post("/api/v4/tasks")
    def add_tasks() -> Response:
        body = http.json_list(BATCH_LIMIT)
        with state.lock:
            fields = validate_all(body, lambda i, item: state.validate_task(item, None))
            made = [state.add_task(f, by=actor()) for f in fields]
        rendered = [
            {"id": t["id"], "request_id": str(i), "_links": http.self_link(f"/api/v4/tasks/{t['id']}")}
            for i, t in enumerate(made)
        ]
        return http.json_response(
            {"_links": http.self_link("/api/v4/tasks"), "_embedded": {"tasks": rendered}}
        )

    @app.patch("/api/v4/tasks")
    def patch_tasks() -> Response:
        body = http.json_list(BATCH_LIMIT)
        with state.lock:

            def check(index: int, item: Any) -> Record:
                if not isinstance(item, dict) or item.get("id") not in state.tasks:
                    raise InvalidInput([error("NotFound", "id", "Entity not found.")])
                return {"id": item["id"], "changes": state.validate_task(item, state.tasks[item["id"]])}

            plan = validate_all(body, check)
            done = [state.update_task(p["id"], p["changes"], by=actor()) for p in plan]
        rendered = [
            {
                "id": t["id"],
                "updated_at": t["updated_at"],
                "_links": http.self_link(f"/api/v4/tasks/{t['id']}"),
            }
            for t in done
        ]
        return http.json_response(
            {"_links": http.self_link("/api/v4/tasks"), "_embedded": {"tasks": rendered}}
        )

    # ------------------------------------------------------------ notes
    @app.get("/api/v4/<any(leads,contacts,companies):entity>/notes")
    @app.get("/api/v4/<any(leads,contacts,companies):entity>/<int:entity_id>/notes")
    def list_notes(entity: str, entity_id: int | None = None) -> Response:
        params = args()
        page, limit = http.paging(params)
        flt = filters(params)
        with state.lock:
            items = list(state.notes[entity].values())
            if entity_id is not None:
                items = [n for n in items if n["entity_id"] == entity_id]
            if "note_type" in flt:
                types = set(query.as_list(flt["note_type"]))
                items = [n for n in items if n["note_type"] in types]
            if "updated_at" in flt:
                bounds = time_filter(flt["updated_at"], "filter[updated_at]")
                items = [n for n in items if in_range(n["updated_at"], bounds)]
            out = [render.note(entity, n) for n in order(items, params.get("order"))]
        return http.hal_list("notes", out, page, limit)

    @app.post("/api/v4/<any(leads,contacts,companies):entity>/notes")
    @app.post("/api/v4/<any(leads,contacts,companies):entity>/<int:entity_id>/notes")
    def add_notes(entity: str, entity_id: int | None = None) -> Response:
        body = http.json_list(BATCH_LIMIT)
        with state.lock:

            def check(index: int, item: Any) -> Record:
                if not isinstance(item, dict):
                    raise InvalidInput([error("InvalidType", "0", "This value should be of type object.")])
                target = entity_id if entity_id is not None else item.get("entity_id")
                problems = []
                if not isinstance(target, int) or state.entity_store(entity).get(target) is None:
                    problems.append(error("NotFound", "entity_id", "Entity not found."))
                if not isinstance(item.get("note_type"), str):
                    problems.append(error("NotBlank", "note_type", "This value should not be blank."))
                if problems:
                    raise InvalidInput(problems)
                return {
                    "entity_id": target,
                    "note_type": item["note_type"],
                    "params": item.get("params") or {},
                }

            plan = validate_all(body, check)
            made = [
                state.add_note(entity, p["entity_id"], p["note_type"], p["params"], by=actor()) for p in plan
            ]
        rendered = [
            {
                "id": n["id"],
                "entity_id": n["entity_id"],
                "request_id": str(i),
                "_links": http.self_link(f"/api/v4/{entity}/{n['entity_id']}/notes/{n['id']}"),
            }
            for i, n in enumerate(made)
        ]
        return http.json_response(
            {"_links": http.self_link(f"/api/v4/{entity}/notes"), "_embedded": {"notes": rendered}}
        )

    # ------------------------------------------------------------ events
    @app.get("/api/v4/events")
    def list_events() -> Response:
        params = args()
        page, limit = http.paging(params, max_limit=EVENTS_PAGE_LIMIT)
        flt = filters(params)
        with state.lock:
            items = list(state.events)
            if "type" in flt:
                types = set(query.as_list(flt["type"]))
                items = [e for e in items if e["type"] in types]
            if "created_at" in flt:
                bounds = time_filter(flt["created_at"], "filter[created_at]")
                items = [e for e in items if in_range(e["created_at"], bounds)]
            if "entity" in flt:
                kinds = set(query.as_list(flt["entity"]))
                items = [e for e in items if e["entity_type"] in kinds]
            if "entity_id" in flt:
                ids = set(int_filter(flt["entity_id"], "filter[entity_id]"))
                items = [e for e in items if e["entity_id"] in ids]
            if "created_by" in flt:
                users = set(int_filter(flt["created_by"], "filter[created_by]"))
                items = [e for e in items if e["created_by"] in users]
            spec = params.get("order")
            descending = not (isinstance(spec, dict) and str(spec.get("created_at", "desc")).lower() == "asc")
            items.sort(key=lambda e: (e["created_at"], e["id"]), reverse=descending)
            out = [render.event(e) for e in items[(page - 1) * limit : page * limit + 1]]
        padded: list[Record] = [{}] * ((page - 1) * limit) + out
        return http.hal_list("events", padded, page, limit)

    # ------------------------------------------------------------ calls
    @app.post("/api/v4/calls")
    def add_calls() -> Response:
        body = http.json_list(BATCH_LIMIT)
        made: list[Record] = []
        errors: list[Record] = []
        with state.lock:
            for index, item in enumerate(body):
                missing = [
                    key
                    for key in ("direction", "duration", "source", "phone")
                    if not isinstance(item, dict) or key not in item
                ]
                if missing:
                    raise http.BadRequest(
                        http.validation_error(
                            [
                                (
                                    index,
                                    [
                                        error("NotBlank", key, "This value should not be blank.")
                                        for key in missing
                                    ],
                                )
                            ]
                        )
                    )
                try:
                    call = state.add_call(item, by=actor())
                except EntityNotFound:
                    errors.append({"request_id": str(index), "title": "Entity not found", "status": 204})
                    continue
                made.append(
                    {
                        "id": call["id"],
                        "entity_id": call["entity_id"],
                        "entity_type": "contact",
                        "account_id": call["account_id"],
                        "request_id": str(index),
                        "_links": http.self_link(f"/api/v4/contacts/{call['entity_id']}/notes/{call['id']}"),
                    }
                )
        return http.json_response({"_total_items": len(made), "errors": errors, "_embedded": {"calls": made}})

    # ------------------------------------------------------------ catalogs
    @app.get("/api/v4/catalogs")
    def list_catalogs() -> Response:
        page, limit = http.paging(args())
        items = [
            {**c, "_links": http.self_link(f"/api/v4/catalogs/{c['id']}")}
            for c in sorted(state.catalogs.values(), key=lambda c: c["id"])
        ]
        return http.hal_list("catalogs", items, page, limit)

    @app.get("/api/v4/catalogs/<int:catalog_id>")
    def get_catalog(catalog_id: int) -> Response:
        record = state.catalogs.get(catalog_id)
        return http.json_response(record) if record else http.not_found()

    @app.post("/api/v4/catalogs")
    def add_catalogs() -> Response:
        body = http.json_list(BATCH_LIMIT)
        made = []
        with state.lock:
            for index, item in enumerate(body):
                if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                    raise http.BadRequest(
                        http.validation_error(
                            [(index, [error("NotBlank", "name", "This value should not be blank.")])]
                        )
                    )
                catalog = {
                    "id": state.next_id("catalog", 8_000),
                    "name": item["name"],
                    "created_by": actor(),
                    "updated_by": actor(),
                    "created_at": state.now(),
                    "updated_at": state.now(),
                    "sort": item.get("sort", 10),
                    "type": item.get("type", "regular"),
                    "can_add_elements": True,
                    "can_show_in_cards": False,
                    "can_link_multiple": True,
                    "can_be_deleted": True,
                    "sdk_widget_code": None,
                    "account_id": state.account["id"],
                    "request_id": str(index),
                }
                state.catalogs[catalog["id"]] = catalog
                state.catalog_fields[catalog["id"]] = []
                made.append(catalog)
        return http.json_response(
            {"_links": http.self_link("/api/v4/catalogs"), "_embedded": {"catalogs": made}}
        )

    @app.get("/api/v4/catalogs/<int:catalog_id>/custom_fields")
    def catalog_fields(catalog_id: int) -> Response:
        if catalog_id not in state.catalogs:
            return http.not_found()
        return http.hal_list("custom_fields", list(state.catalog_fields[catalog_id]), *http.paging(args()))

    @app.post("/api/v4/catalogs/<int:catalog_id>/custom_fields")
    def add_catalog_fields(catalog_id: int) -> Response:
        if catalog_id not in state.catalogs:
            return http.not_found()
        body = http.json_list(BATCH_LIMIT)
        made = []
        with state.lock:
            for index, item in enumerate(body):
                if (
                    not isinstance(item, dict)
                    or not isinstance(item.get("name"), str)
                    or not isinstance(item.get("type"), str)
                ):
                    raise http.BadRequest(
                        http.validation_error(
                            [(index, [error("NotBlank", "type", "This value should not be blank.")])]
                        )
                    )
                field = {
                    "id": state.next_id("cf", 890_000),
                    "name": item["name"],
                    "type": item["type"],
                    "code": item.get("code"),
                    "sort": item.get("sort", 500),
                    "catalog_id": catalog_id,
                    "enums": item.get("enums"),
                    "is_api_only": False,
                    "request_id": str(index),
                }
                if field["enums"]:
                    field["enums"] = [
                        {
                            "id": state.next_id("enum", 991_000),
                            "value": e.get("value"),
                            "sort": e.get("sort", 10),
                        }
                        for e in field["enums"]
                    ]
                state.catalog_fields[catalog_id].append(field)
                made.append(field)
        return http.json_response({"_embedded": {"custom_fields": made}})

    def validate_element(catalog_id: int, item: Any, current: Record | None) -> Record:
        if not isinstance(item, dict):
            raise InvalidInput([error("InvalidType", "0", "This value should be of type object.")])
        out: Record = {}
        if current is None and not isinstance(item.get("name"), str):
            raise InvalidInput([error("NotBlank", "name", "This value should not be blank.")])
        if "name" in item:
            out["name"] = item["name"]
        if "custom_fields_values" in item:
            key = f"catalog_{catalog_id}"
            state.custom_fields[key] = state.catalog_fields[catalog_id]
            out["custom_fields_values"] = state.normalise_custom_fields(
                key, item["custom_fields_values"], current.get("custom_fields_values") if current else None
            )
        return out

    @app.get("/api/v4/catalogs/<int:catalog_id>/elements")
    def list_elements(catalog_id: int) -> Response:
        if catalog_id not in state.catalogs:
            return http.not_found()
        params = args()
        page, limit = http.paging(params)
        flt = filters(params)
        items = [
            e
            for e in state.catalog_elements.values()
            if e["catalog_id"] == catalog_id and not e["is_deleted"]
        ]
        if "id" in flt:
            ids = set(int_filter(flt["id"], "filter[id]"))
            items = [e for e in items if e["id"] in ids]
        text = params.get("query")
        if isinstance(text, str) and text:
            items = [e for e in items if text.lower() in e["name"].lower()]
        return http.hal_list(
            "elements",
            [
                {**e, "_links": http.self_link(f"/api/v4/catalogs/{catalog_id}/elements/{e['id']}")}
                for e in items
            ],
            page,
            limit,
        )

    @app.post("/api/v4/catalogs/<int:catalog_id>/elements")
    def add_elements(catalog_id: int) -> Response:
        if catalog_id not in state.catalogs:
            return http.not_found()
        body = http.json_list(BATCH_LIMIT)
        with state.lock:
            fields = validate_all(body, lambda i, item: validate_element(catalog_id, item, None))
            made = []
            for index, f in enumerate(fields):
                element = {
                    "id": state.next_id("element", 1_000_000),
                    "catalog_id": catalog_id,
                    "name": f["name"],
                    "created_by": actor(),
                    "updated_by": actor(),
                    "created_at": state.now(),
                    "updated_at": state.now(),
                    "is_deleted": False,
                    "custom_fields_values": f.get("custom_fields_values"),
                    "account_id": state.account["id"],
                }
                state.catalog_elements[element["id"]] = element
                made.append({**element, "request_id": str(index)})
        return http.json_response(
            {
                "_links": http.self_link(f"/api/v4/catalogs/{catalog_id}/elements"),
                "_embedded": {"elements": made},
            }
        )

    @app.patch("/api/v4/catalogs/<int:catalog_id>/elements")
    def patch_elements(catalog_id: int) -> Response:
        if catalog_id not in state.catalogs:
            return http.not_found()
        body = http.json_list(BATCH_LIMIT)
        with state.lock:

            def check(index: int, item: Any) -> Record:
                wanted = item.get("id") if isinstance(item, dict) else None
                current = state.catalog_elements.get(wanted) if isinstance(wanted, int) else None
                if current is None or current["catalog_id"] != catalog_id:
                    raise InvalidInput([error("NotFound", "id", "Entity not found.")])
                return {"id": current["id"], "changes": validate_element(catalog_id, item, current)}

            plan = validate_all(body, check)
            done = []
            for p in plan:
                element = state.catalog_elements[p["id"]]
                element.update(p["changes"])
                element["updated_at"] = state.now()
                done.append(element)
        return http.json_response(
            {
                "_links": http.self_link(f"/api/v4/catalogs/{catalog_id}/elements"),
                "_embedded": {"elements": done},
            }
        )
