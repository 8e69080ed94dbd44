"""Unsorted ("Неразобранное"): list, one, create (forms/sip), accept, decline, link, summary."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response

from amo_bridge.sandbox import http, query, render
from amo_bridge.sandbox.core import Sandbox
from amo_bridge.sandbox.problems import EntityNotFound, InvalidInput, error
from amo_bridge.sandbox.records import BATCH_LIMIT, Record
from amo_bridge.sandbox.routes.common import actor, args, filters, int_filter, order


def register(app: Flask, sandbox: Sandbox) -> None:
    state = sandbox.state

    def rendered(record: Record) -> Record:
        contacts = [state.contacts[c] for c in record["contact_ids"] if c in state.contacts]
        return render.unsorted(record, state.leads.get(record["lead_id"]), contacts)

    @app.get("/api/v4/leads/unsorted")
    def list_unsorted() -> Response:
        params = args()
        page, limit = http.paging(params)
        flt = filters(params)
        with state.lock:
            items = list(state.unsorted.values())
            if "uid" in flt:
                uids = set(query.as_list(flt["uid"]))
                items = [u for u in items if u["uid"] in uids]
            if "category" in flt:
                categories = set(query.as_list(flt["category"]))
                items = [u for u in items if u["category"] in categories]
            if "pipeline_id" in flt:
                pipelines = set(int_filter(flt["pipeline_id"], "filter[pipeline_id]"))
                items = [u for u in items if u["pipeline_id"] in pipelines]
            items = order(items, params.get("order"), default="created_at")
            out = [rendered(u) for u in items]
        return http.hal_list("unsorted", out, page, limit)

    @app.get("/api/v4/leads/unsorted/summary")
    def summary() -> Response:
        with state.lock:
            done = list(state.unsorted_done.values())
            categories = {
                c: {"total": sum(1 for u in state.unsorted.values() if u["category"] == c)}
                for c in ("sip", "mail", "forms", "chats")
            }
            body = {
                "total": len(state.unsorted),
                "accepted": sum(1 for u in done if u["action"] == "accept"),
                "declined": sum(1 for u in done if u["action"] == "decline"),
                "average_sort_time": 0,
                "categories": categories,
            }
        return http.json_response(body)

    @app.get("/api/v4/leads/unsorted/<uid>")
    def get_unsorted(uid: str) -> Response:
        with state.lock:
            record = state.unsorted.get(uid)
            return http.json_response(rendered(record)) if record else http.not_found()

    @app.post("/api/v4/leads/unsorted/<any(forms,sip,chats):category>")
    def add_unsorted(category: str) -> Response:
        body = http.json_list(BATCH_LIMIT)
        out = []
        with state.lock:
            for index, item in enumerate(body):
                if not isinstance(item, dict) or not item.get("source_uid") or not item.get("source_name"):
                    raise http.BadRequest(
                        http.validation_error(
                            [(index, [error("NotBlank", "source_uid", "This value should not be blank.")])]
                        )
                    )
                embedded = item.get("_embedded") or {}
                lead_in = (embedded.get("leads") or [{}])[0]
                try:
                    lead_fields = state.validate_lead(
                        {k: v for k, v in lead_in.items() if k in ("name", "price", "custom_fields_values")},
                        None,
                    )
                    contact_id = None
                    for contact in embedded.get("contacts") or []:
                        cf = state.validate_contact("contacts", contact, None)
                        contact_id = state.add_contact({"responsible_user_id": state.default_user_id, **cf})[
                            "id"
                        ]
                except InvalidInput as bad:
                    raise http.BadRequest(http.validation_error([(index, bad.errors)])) from None
                pipeline_id = item.get("pipeline_id") or next(
                    p["id"]
                    for p in sorted(state.pipelines.values(), key=lambda p: p["sort"])
                    if p["is_unsorted_on"]
                )
                try:
                    record = state.add_unsorted(
                        category=category,
                        pipeline_id=pipeline_id,
                        source_uid=str(item["source_uid"]),
                        source_name=str(item["source_name"]),
                        lead_fields=lead_fields,
                        contact_id=contact_id,
                        metadata=item.get("metadata") or {},
                        at=item.get("created_at"),
                    )
                except EntityNotFound:
                    raise http.BadRequest(
                        http.validation_error(
                            [
                                (
                                    index,
                                    [
                                        error(
                                            "NotSupportedChoice",
                                            "pipeline_id",
                                            "The value you selected is not a valid choice.",
                                        )
                                    ],
                                )
                            ]
                        )
                    ) from None
                out.append(
                    {
                        "uid": record["uid"],
                        "account_id": record["account_id"],
                        "request_id": str(index),
                        "_links": http.self_link(f"/api/v4/leads/unsorted/{record['uid']}"),
                        "_embedded": {
                            "leads": [{"id": record["lead_id"]}],
                            "contacts": [{"id": c} for c in record["contact_ids"]],
                            "companies": [],
                        },
                    }
                )
        return http.json_response({"_total_items": len(out), "_embedded": {"unsorted": out}})

    def result(record: Record, lead_ids: list[int]) -> Response:
        body = {
            "uid": record["uid"],
            "category": record["category"],
            "pipeline_id": record["pipeline_id"],
            "created_at": record["created_at"],
            "_embedded": {
                "leads": [{"id": i, "_links": http.self_link(f"/api/v4/leads/{i}")} for i in lead_ids],
                "contacts": [
                    {"id": c, "_links": http.self_link(f"/api/v4/contacts/{c}")}
                    for c in record["contact_ids"]
                ],
                "companies": [],
            },
            "_links": http.self_link(f"/api/v4/leads/unsorted/{record['uid']}"),
        }
        return http.json_response(body)

    def optional_body() -> dict[str, Any]:
        from flask import request

        if not request.get_data(cache=True):
            return {}
        body = http.json_body()
        if not isinstance(body, dict):
            raise http.BadRequest(http.problem(400, "Bad Request", "Request body must be an object"))
        return body

    @app.post("/api/v4/leads/unsorted/<uid>/accept")
    def accept(uid: str) -> Response:
        body = optional_body()
        with state.lock:
            if uid not in state.unsorted:
                return http.not_found()
            user_id = body.get("user_id", actor())
            status_id = body.get("status_id")
            try:
                record = state.accept_unsorted(uid, user_id=user_id, status_id=status_id, by=actor())
            except InvalidInput as bad:
                return http.validation_error([(0, bad.errors)])
            return result(record, [record["lead_id"]])

    @app.post("/api/v4/leads/unsorted/<uid>/decline")
    def decline(uid: str) -> Response:
        body = optional_body()
        with state.lock:
            if uid not in state.unsorted:
                return http.not_found()
            record = state.decline_unsorted(uid, by=body.get("user_id", actor()))
            return result(record, [record["lead_id"]])

    @app.post("/api/v4/leads/unsorted/<uid>/link")
    def link(uid: str) -> Response:
        body = optional_body()
        link_part = body.get("link")
        target: dict[str, Any] = link_part if isinstance(link_part, dict) else body
        with state.lock:
            if uid not in state.unsorted:
                return http.not_found()
            lead_id = target.get("entity_id")
            if target.get("entity_type", "leads") != "leads" or not isinstance(lead_id, int):
                return http.validation_error(
                    [
                        (
                            0,
                            [
                                error(
                                    "NotSupportedChoice",
                                    "link.entity_id",
                                    "The value you selected is not a valid choice.",
                                )
                            ],
                        )
                    ]
                )
            try:
                record = state.link_unsorted(uid, lead_id=lead_id, by=body.get("user_id", actor()))
            except EntityNotFound:
                return http.validation_error(
                    [(0, [error("NotFound", "link.entity_id", "Entity not found.")])]
                )
            return result(record, [lead_id])
