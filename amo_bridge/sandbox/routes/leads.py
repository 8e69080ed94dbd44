"""Leads: list with filters, one lead, batch create/update (250 at most), complex add (50), links."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, request

from amo_bridge.sandbox import http, query, render
from amo_bridge.sandbox.core import Sandbox
from amo_bridge.sandbox.problems import EntityNotFound, InvalidInput, error
from amo_bridge.sandbox.records import BATCH_LIMIT, COMPLEX_LIMIT, Record
from amo_bridge.sandbox.routes.common import (
    actor,
    args,
    in_range,
    int_filter,
    order,
    time_filter,
    validate_all,
    with_set,
)


def filter_leads(leads: list[Record], flt: Any) -> list[Record]:
    if not isinstance(flt, dict):
        return leads
    out = leads
    if "id" in flt:
        ids = set(int_filter(flt["id"], "filter[id]"))
        out = [lead for lead in out if lead["id"] in ids]
    if "statuses" in flt:
        pairs = []
        for item in query.as_records(flt["statuses"]):
            try:
                pairs.append(
                    (int(item.get("pipeline_id", 0)), int(item["status_id"]) if "status_id" in item else None)
                )
            except (TypeError, ValueError):
                raise http.BadRequest(
                    http.validation_error(
                        [(0, [error("InvalidType", "filter[statuses]", "This value should be of type int.")])]
                    )
                ) from None
        out = [
            lead
            for lead in out
            if any(lead["pipeline_id"] == p and (s is None or lead["status_id"] == s) for p, s in pairs)
        ]
    if "pipeline_id" in flt:
        pipelines = set(int_filter(flt["pipeline_id"], "filter[pipeline_id]"))
        out = [lead for lead in out if lead["pipeline_id"] in pipelines]
    if "responsible_user_id" in flt:
        users = set(int_filter(flt["responsible_user_id"], "filter[responsible_user_id]"))
        out = [lead for lead in out if lead["responsible_user_id"] in users]
    if "created_by" in flt:
        users = set(int_filter(flt["created_by"], "filter[created_by]"))
        out = [lead for lead in out if lead["created_by"] in users]
    for key in ("updated_at", "created_at", "closed_at", "closest_task_at"):
        if key in flt:
            bounds = time_filter(flt[key], f"filter[{key}]")
            out = [lead for lead in out if in_range(lead.get(key), bounds)]
    if "name" in flt:
        names = set(query.as_list(flt["name"]))
        out = [lead for lead in out if lead["name"] in names]
    return out


def register(app: Flask, sandbox: Sandbox) -> None:
    state = sandbox.state

    @app.get("/api/v4/leads")
    def list_leads() -> Response:
        params = args()
        page, limit = http.paging(params)
        with state.lock:
            items = [lead for lead in state.leads.values() if not lead["is_deleted"]]
            items = filter_leads(items, params.get("filter"))
            text = params.get("query")
            if isinstance(text, str) and text:
                items = [
                    lead for lead in items if text.lower() in lead["name"].lower() or str(lead["id"]) == text
                ]
            items = order(items, params.get("order"))
            rendered = [
                render.lead(lead, with_set()) for lead in items[(page - 1) * limit : page * limit + 1]
            ]
        # hal_list pages over the whole list; give it a list of the right length without rendering all.
        padded: list[Record] = [{}] * ((page - 1) * limit) + rendered
        return http.hal_list("leads", padded, page, limit)

    @app.get("/api/v4/leads/<int:lead_id>")
    def get_lead(lead_id: int) -> Response:
        with state.lock:
            record = state.leads.get(lead_id)
            if record is None or record["is_deleted"]:
                return Response(status=204)
            return http.json_response(render.lead(record, with_set()))

    def created(items: list[Record], key: str = "leads") -> Response:
        rendered = [
            {"id": r["id"], "request_id": str(i), "_links": http.self_link(f"/api/v4/{key}/{r['id']}")}
            for i, r in enumerate(items)
        ]
        return http.json_response({"_links": http.self_link(f"/api/v4/{key}"), "_embedded": {key: rendered}})

    def updated(items: list[Record], key: str = "leads") -> Response:
        rendered = [
            {
                "id": r["id"],
                "updated_at": r["updated_at"],
                "_links": http.self_link(f"/api/v4/{key}/{r['id']}"),
            }
            for r in items
        ]
        return http.json_response({"_links": http.self_link(f"/api/v4/{key}"), "_embedded": {key: rendered}})

    @app.post("/api/v4/leads")
    def add_leads() -> Response:
        body = http.json_list(BATCH_LIMIT)
        with state.lock:
            fields = validate_all(body, lambda i, item: state.validate_lead(item, None))
            leads = [state.add_lead({"responsible_user_id": actor(), **f}, by=actor()) for f in fields]
            for item, lead in zip(body, leads, strict=True):
                _link_embedded(state, lead, item)
        return created(leads)

    @app.patch("/api/v4/leads")
    def patch_leads() -> Response:
        body = http.json_list(BATCH_LIMIT)
        with state.lock:

            def check(index: int, item: Any) -> Record:
                if not isinstance(item, dict) or not isinstance(item.get("id"), int):
                    raise InvalidInput([error("NotBlank", "id", "This value should not be blank.")])
                current = state.leads.get(item["id"])
                if current is None or current["is_deleted"]:
                    raise InvalidInput([error("NotFound", "id", "Entity not found.")])
                return {"id": item["id"], "changes": state.validate_lead(item, current)}

            plan = validate_all(body, check)
            leads = [state.update_lead(p["id"], p["changes"], by=actor()) for p in plan]
        return updated(leads)

    @app.patch("/api/v4/leads/<int:lead_id>")
    def patch_lead(lead_id: int) -> Response:
        body = http.json_body()
        with state.lock:
            current = state.leads.get(lead_id)
            if current is None or current["is_deleted"]:
                return http.not_found()
            changes = validate_all([body], lambda i, item: state.validate_lead(item, current))[0]
            lead = state.update_lead(lead_id, changes, by=actor())
        return http.json_response(
            {
                "id": lead["id"],
                "updated_at": lead["updated_at"],
                "_links": http.self_link(f"/api/v4/leads/{lead_id}"),
            }
        )

    @app.post("/api/v4/leads/complex")
    def add_complex() -> Response:
        body = http.json_list(COMPLEX_LIMIT)
        out: list[Record] = []
        with state.lock:
            fields = validate_all(body, lambda i, item: state.validate_lead(item, None))
            for item, lead_fields in zip(body, fields, strict=True):
                lead = state.add_lead({"responsible_user_id": actor(), **lead_fields}, by=actor())
                embedded = item.get("_embedded") or {}
                contact_id = None
                company_id = None
                for contact in embedded.get("contacts") or []:
                    cf = state.validate_contact("contacts", contact, None)
                    record = state.add_contact(
                        {"responsible_user_id": lead["responsible_user_id"], **cf}, by=actor()
                    )
                    state.link("leads", lead["id"], "contacts", record["id"], is_main=contact_id is None)
                    contact_id = contact_id or record["id"]
                for company in embedded.get("companies") or []:
                    cf = state.validate_contact("companies", company, None)
                    record = state.add_contact(
                        {"responsible_user_id": lead["responsible_user_id"], **cf}, by=actor(), company=True
                    )
                    state.link("leads", lead["id"], "companies", record["id"])
                    company_id = record["id"]
                out.append(
                    {
                        "id": lead["id"],
                        "contact_id": contact_id,
                        "company_id": company_id,
                        "request_id": [str(len(out))],
                        "merged": False,
                    }
                )
        return http.json_response(out)

    @app.post("/api/v4/<any(leads,contacts,companies):entity>/<int:entity_id>/<any(link,unlink):verb>")
    def link_one(entity: str, entity_id: int, verb: str) -> Response:
        body = http.json_list(BATCH_LIMIT)
        return _links(
            entity,
            [{**item, "entity_id": entity_id} if isinstance(item, dict) else item for item in body],
            verb,
        )

    @app.post("/api/v4/<any(leads,contacts,companies):entity>/<any(link,unlink):verb>")
    def link_many(entity: str, verb: str) -> Response:
        return _links(entity, http.json_list(BATCH_LIMIT), verb)

    def _links(entity: str, items: list[Any], verb: str) -> Response:
        with state.lock:

            def check(index: int, item: Any) -> Record:
                if not isinstance(item, dict):
                    raise InvalidInput([error("InvalidType", "0", "This value should be of type object.")])
                problems = []
                for key in ("entity_id", "to_entity_id"):
                    if not isinstance(item.get(key), int):
                        problems.append(error("NotBlank", key, "This value should not be blank."))
                if item.get("to_entity_type") not in ("leads", "contacts", "companies", "catalog_elements"):
                    problems.append(
                        error(
                            "NotSupportedChoice",
                            "to_entity_type",
                            "The value you selected is not a valid choice.",
                        )
                    )
                if problems:
                    raise InvalidInput(problems)
                try:
                    state.get(entity, item["entity_id"])
                    if item["to_entity_type"] != "catalog_elements":
                        state.get(item["to_entity_type"], item["to_entity_id"])
                except EntityNotFound:
                    raise InvalidInput([error("NotFound", "to_entity_id", "Entity not found.")]) from None
                return dict(item)

            plan = validate_all(items, check)
            for item in plan:
                if item["to_entity_type"] == "catalog_elements":
                    continue
                if verb == "link":
                    is_main = bool(
                        (item.get("metadata") or {}).get("is_main")
                        or (item.get("metadata") or {}).get("main_contact")
                    )
                    state.link(
                        entity,
                        item["entity_id"],
                        item["to_entity_type"],
                        item["to_entity_id"],
                        is_main=is_main,
                        by=actor(),
                    )
                else:
                    state.unlink(entity, item["entity_id"], item["to_entity_type"], item["to_entity_id"])
        if verb == "unlink":
            return Response(status=204)
        links = [
            {
                k: item.get(k)
                for k in ("entity_id", "entity_type", "to_entity_id", "to_entity_type", "metadata")
            }
            | {"entity_type": entity}
            for item in plan
        ]
        return http.json_response(
            {
                "_total_items": len(links),
                "_links": http.self_link(request.path),
                "_embedded": {"links": links},
            }
        )

    @app.get("/api/v4/<any(leads,contacts,companies):entity>/<int:entity_id>/links")
    def get_links(entity: str, entity_id: int) -> Response:
        with state.lock:
            try:
                links = state.links_of(entity, entity_id)
            except EntityNotFound:
                return http.not_found()
        if not links:
            return Response(status=204)
        return http.json_response(
            {
                "_total_items": len(links),
                "_links": http.self_link(request.path),
                "_embedded": {"links": links},
            }
        )


def _link_embedded(state: Any, lead: Record, item: Any) -> None:
    embedded = item.get("_embedded") if isinstance(item, dict) else None
    if not isinstance(embedded, dict):
        return
    for index, contact in enumerate(embedded.get("contacts") or []):
        if (
            isinstance(contact, dict)
            and isinstance(contact.get("id"), int)
            and contact["id"] in state.contacts
        ):
            state.link(
                "leads",
                lead["id"],
                "contacts",
                contact["id"],
                is_main=bool(contact.get("is_main")) or index == 0,
            )
    for company in embedded.get("companies") or []:
        if (
            isinstance(company, dict)
            and isinstance(company.get("id"), int)
            and company["id"] in state.companies
        ):
            state.link("leads", lead["id"], "companies", company["id"])
