"""Account, users, pipelines and statuses, custom fields, loss reasons."""

from __future__ import annotations

from flask import Flask, Response

from amo_bridge.sandbox import http, render
from amo_bridge.sandbox.core import Sandbox
from amo_bridge.sandbox.routes.common import args, with_set


def register(app: Flask, sandbox: Sandbox) -> None:
    state = sandbox.state

    @app.get("/api/v4/account")
    def account() -> Response:
        with_ = with_set()
        body = {
            "id": state.account["id"],
            "name": state.account["name"],
            "subdomain": state.account["subdomain"],
            "created_at": 1_600_000_000,
            "created_by": 0,
            "updated_at": state.now(),
            "updated_by": 0,
            "current_user_id": sandbox.auth.user_id,
            "country": "RU",
            "currency": "RUB",
            "currency_symbol": "₽",
            "customers_mode": "disabled",
            "is_unsorted_on": True,
            "is_loss_reason_enabled": True,
            "is_helpbot_enabled": False,
            "is_technical_account": False,
            "contact_name_display_order": 1,
            "_links": http.self_link("/api/v4/account"),
        }
        embedded: dict[str, object] = {}
        if "task_types" in with_:
            embedded["task_types"] = state.task_types
        if "users_groups" in with_:
            embedded["users_groups"] = state.groups
        if "amojo_id" in with_:
            body["amojo_id"] = f"sandbox-{state.account['id']}"
        if "datetime_settings" in with_:
            body["datetime_settings"] = {
                "timezone": "Europe/Moscow",
                "timezone_offset": "+03:00",
                "date_format": "d.m.Y",
            }
        if embedded:
            body["_embedded"] = embedded
        return http.json_response(body)

    @app.get("/api/v4/users")
    def users() -> Response:
        page, limit = http.paging(args())
        items = [
            render.user(u, with_set(), state.groups)
            for u in sorted(state.users.values(), key=lambda u: u["id"])
        ]
        return http.hal_list("users", items, page, limit, total=len(items))

    @app.get("/api/v4/users/<int:user_id>")
    def user(user_id: int) -> Response:
        record = state.users.get(user_id)
        if record is None:
            return http.not_found()
        return http.json_response(render.user(record, with_set(), state.groups))

    @app.get("/api/v4/leads/pipelines")
    def pipelines() -> Response:
        items = [render.pipeline(p) for p in sorted(state.pipelines.values(), key=lambda p: p["sort"])]
        body = {
            "_total_items": len(items),
            "_links": http.self_link("/api/v4/leads/pipelines"),
            "_embedded": {"pipelines": items},
        }
        return http.json_response(body)

    @app.get("/api/v4/leads/pipelines/<int:pipeline_id>")
    def pipeline(pipeline_id: int) -> Response:
        record = state.pipelines.get(pipeline_id)
        return http.json_response(render.pipeline(record)) if record else http.not_found()

    @app.get("/api/v4/leads/pipelines/<int:pipeline_id>/statuses")
    def statuses(pipeline_id: int) -> Response:
        record = state.pipelines.get(pipeline_id)
        if record is None:
            return http.not_found()
        rendered = render.pipeline(record)["_embedded"]["statuses"]
        return http.json_response({"_total_items": len(rendered), "_embedded": {"statuses": rendered}})

    @app.get("/api/v4/leads/pipelines/<int:pipeline_id>/statuses/<int:status_id>")
    def status(pipeline_id: int, status_id: int) -> Response:
        record = state.status(pipeline_id, status_id)
        return http.json_response(record) if record else http.not_found()

    @app.get("/api/v4/<any(leads,contacts,companies):entity>/custom_fields")
    def custom_fields(entity: str) -> Response:
        page, limit = http.paging(args())
        items = [
            {**f, "entity_type": entity, "account_id": state.account["id"]}
            for f in state.custom_fields[entity]
        ]
        return http.hal_list("custom_fields", items, page, limit, total=len(items))

    @app.get("/api/v4/leads/loss_reasons")
    def loss_reasons() -> Response:
        return http.hal_list("loss_reasons", list(state.loss_reasons), 1, 250)
