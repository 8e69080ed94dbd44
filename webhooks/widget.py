"""The widget's endpoints under ``/widget/``: a thin Flask edge over :mod:`amo_bridge.widget`.

Every request is authenticated by the ``X-Auth-Token`` amoCRM widgets send (a one-time JWT), or, for
the read-only pages and JSON, by a signed expiring link (``exp`` + ``sig``). Every refusal is a 401
without data; the admin switches need ``is_admin`` in the token (403 otherwise).

Routes:
    GET  /widget/dashboard                      the dashboard (HTML)
    GET  /widget/kpis|employees|funnel|distribution|trend   one section as JSON
    POST /widget/session                        token only: a short-lived signed link for an iframe
    POST /widget/members/<id>/pause|resume      token only, admins only
"""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from flask import Blueprint, Flask, Response, jsonify, request

from amo_bridge.clock import SYSTEM_CLOCK, Clock
from amo_bridge.config import Settings
from amo_bridge.store import Store
from amo_bridge.widget.access import WidgetAccess
from amo_bridge.widget.auth import StoreReplayGuard, WidgetAuthError, WidgetUser
from amo_bridge.widget.i18n import pick_lang
from amo_bridge.widget.links import DASHBOARD_PATH
from amo_bridge.widget.model import DashboardData, MemberActions, Period, UnknownMember
from amo_bridge.widget.render import render_dashboard, render_refused
from amo_bridge.widget.view import SECTIONS, build_dashboard, section_json

log = logging.getLogger(__name__)

TOKEN_HEADER = "X-Auth-Token"  # noqa: S105 - a header name
LINK_PARAMS = ("exp", "sig")


def create_widget_blueprint(
    access: WidgetAccess,
    data: DashboardData,
    actions: MemberActions,
    *,
    settings: Settings,
    clock: Clock = SYSTEM_CLOCK,
    notice: str | None = None,
) -> Blueprint:
    """The ``/widget/`` blueprint over a data source and an action port. ``notice``: a banner shown
    on the page (the preview marks its fixture data with it)."""
    bp = Blueprint("widget", __name__, url_prefix="/widget")
    origins = settings.widget.origins(settings.amo)
    tz = settings.amo.timezone

    def authenticate(*, token_only: bool = False) -> WidgetUser:
        token = request.headers.get(TOKEN_HEADER)
        if token:
            return access.from_token(token)
        if token_only:
            raise WidgetAuthError(f"{TOKEN_HEADER} header required")
        if any(name in request.args for name in LINK_PARAMS):
            return access.from_link(request.args)
        raise WidgetAuthError("no token and no signed link")

    def period() -> Period:
        raw = request.args.get("period")
        return Period.parse(raw) if raw else Period.containing(clock.now(), tz)

    def lang() -> str:
        return pick_lang(request.args.get("lang"), request.accept_languages.best)

    def unauthorized(error: WidgetAuthError, *, html: bool = False) -> Response:
        log.info("widget request refused: %s (%s %s)", error.reason, request.method, request.path)
        if html:
            response = Response(render_refused(lang()), status=401, mimetype="text/html")
        else:
            response = jsonify(error="unauthorized")
            response.status_code = 401
        return response

    def bad_request(message: str) -> Response:
        response = jsonify(error="bad_request", detail=message)
        response.status_code = 400
        return response

    @bp.after_request
    def headers(response: Response) -> Response:
        response.headers["Cache-Control"] = "no-store"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Content-Type-Options"] = "nosniff"
        origin = request.headers.get("Origin")
        if origin and origin in origins:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Allow-Headers"] = f"{TOKEN_HEADER}, Content-Type"
            response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
            response.headers["Access-Control-Max-Age"] = "600"
        response.vary.add("Origin")
        return response

    @bp.get("/dashboard")
    def dashboard() -> Response:
        try:
            authenticate()
        except WidgetAuthError as error:
            return unauthorized(error, html=True)
        try:
            chosen = period()
        except ValueError as error:
            return bad_request(f"period: expected {error}")
        keep = {name: request.args[name] for name in LINK_PARAMS if name in request.args}
        view = build_dashboard(data, chosen, lang(), keep=keep, notice=notice)
        response = Response(render_dashboard(view), mimetype="text/html")
        ancestors = " ".join(["'self'", *origins])
        response.headers["Content-Security-Policy"] = (
            f"default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors {ancestors}"
        )
        return response

    def section(name: str) -> Response:
        try:
            authenticate()
        except WidgetAuthError as error:
            return unauthorized(error)
        try:
            chosen = period()
        except ValueError as error:
            return bad_request(f"period: expected {error}")
        return jsonify(section_json(data, name, chosen))

    for name in SECTIONS:
        bp.add_url_rule(f"/{name}", f"section_{name}", lambda name=name: section(name), methods=["GET"])

    @bp.post("/session")
    def session() -> Response:
        try:
            user = authenticate(token_only=True)
            params = access.session_link(lang())
        except WidgetAuthError as error:
            return unauthorized(error)
        return jsonify(
            path=f"{DASHBOARD_PATH}?{urlencode(params)}",
            expires_at=int(params["exp"]),
            user_id=user.user_id,
            is_admin=user.is_admin,
        )

    def switch(member_id: int, action: str) -> Response:
        try:
            user = authenticate(token_only=True)
        except WidgetAuthError as error:
            return unauthorized(error)
        if not user.is_admin:
            log.info(
                "widget %s of member %s refused: user %s is not an admin", action, member_id, user.user_id
            )
            response = jsonify(error="forbidden")
            response.status_code = 403
            return response
        by = user.user_id or 0
        try:
            if action == "pause":
                actions.pause(member_id, by_user_id=by)
            else:
                actions.resume(member_id, by_user_id=by)
        except UnknownMember:
            response = jsonify(error="not_found")
            response.status_code = 404
            return response
        log.info("widget: user %s did %s on member %s", by, action, member_id)
        return jsonify(member_id=member_id, paused=action == "pause")

    @bp.post("/members/<int:member_id>/pause")
    def pause(member_id: int) -> Response:
        return switch(member_id, "pause")

    @bp.post("/members/<int:member_id>/resume")
    def resume(member_id: int) -> Response:
        return switch(member_id, "resume")

    return bp


def register_widget(
    app: Flask,
    settings: Settings,
    store: Store,
    data_source: DashboardData,
    actions: MemberActions,
    *,
    clock: Clock = SYSTEM_CLOCK,
    notice: str | None = None,
) -> WidgetAccess:
    """Mount ``/widget/`` on ``app``; token replays are remembered in ``store`` (shared by processes)."""
    guard = StoreReplayGuard(store, clock=clock, leeway=float(settings.widget.token_leeway))
    access = WidgetAccess(settings.amo, settings.widget, guard, clock=clock)
    app.register_blueprint(
        create_widget_blueprint(access, data_source, actions, settings=settings, clock=clock, notice=notice)
    )
    return access
