"""amoCRM's response shapes: HAL lists with paging links, 204 for empty lists, problem+json errors,
validation-error bodies. Flask-facing but free of sandbox state."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from flask import Response, request

from amo_bridge.sandbox.records import DEFAULT_PAGE_LIMIT, Record

BLOCK_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>403 Forbidden</title></head>
<body><h1>Доступ запрещён</h1><p>Ваш IP-адрес заблокирован из-за превышения лимитов запросов к API.
Обратитесь в техническую поддержку amoCRM.</p></body></html>
"""


class BadRequest(Exception):
    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


def json_response(data: Any, status: int = 200, content_type: str = "application/hal+json") -> Response:
    return Response(json.dumps(data, ensure_ascii=False), status=status, content_type=content_type)


def problem(status: int, title: str, detail: str, **extra: Any) -> Response:
    body = {
        "title": title,
        "type": f"https://httpstatus.es/{status}",
        "status": status,
        "detail": detail,
        **extra,
    }
    return json_response(body, status, "application/problem+json")


def unauthorized(detail: str) -> Response:
    return problem(401, "Unauthorized", detail)


def not_found() -> Response:
    return problem(404, "Not Found", "Entity not found")


def too_many_html() -> Response:
    page = "<html><head><title>429 Too Many Requests</title></head><body><h1>429</h1></body></html>"
    return Response(page, status=429, content_type="text/html")


def too_many(retry_after: float) -> Response:
    return problem(
        429, "Too Many Requests", "Too many requests per second", retry_after=max(1, round(retry_after))
    )


def validation_error(items: list[tuple[int, list[dict[str, str]]]]) -> Response:
    body = {
        "validation-errors": [{"request_id": str(index), "errors": errors} for index, errors in items],
        "title": "Bad Request",
        "type": "https://httpstatus.es/400",
        "status": 400,
        "detail": "Request validation failed",
    }
    return json_response(body, 400, "application/problem+json")


def limit_exceeded(limit: int) -> Response:
    return problem(422, "Unprocessable Entity", f"Limit of {limit} per page")


def blocked() -> Response:
    return Response(BLOCK_PAGE, status=403, content_type="text/html; charset=utf-8")


def server_error(status: int) -> Response:
    if status == 502:
        return Response(
            "<html><body><h1>502 Bad Gateway</h1></body></html>", status=502, content_type="text/html"
        )
    titles = {500: "Internal Server Error", 503: "Service Unavailable", 504: "Gateway Timeout"}
    return problem(status, titles.get(status, "Server Error"), "Sandbox fault injection")


def json_body() -> Any:
    raw = request.get_data(cache=True)
    if not raw:
        raise BadRequest(problem(400, "Bad Request", "Request body is empty"))
    try:
        return json.loads(raw)
    except ValueError:
        raise BadRequest(problem(400, "Bad Request", "Request body is not valid JSON")) from None


def json_list(limit: int) -> list[Any]:
    """A JSON array body of at most ``limit`` items (422 "Limit of N per page" when longer)."""
    body = json_body()
    if isinstance(body, dict):
        body = [body]
    if not isinstance(body, list):
        raise BadRequest(problem(400, "Bad Request", "Request body must be an array"))
    if len(body) > limit:
        raise BadRequest(limit_exceeded(limit))
    if not body:
        raise BadRequest(problem(400, "Bad Request", "Request body is empty"))
    return body


def paging(args: Record, max_limit: int = 250, default: int = DEFAULT_PAGE_LIMIT) -> tuple[int, int]:
    try:
        page = max(1, int(args.get("page", 1)))
        limit = int(args.get("limit", default))
    except (TypeError, ValueError):
        raise BadRequest(problem(400, "Bad Request", "page and limit must be numbers")) from None
    return page, min(max(limit, 1), max_limit)


def base_url() -> str:
    return request.host_url.rstrip("/")


def _href(page: int, limit: int) -> str:
    pairs = [(k, v) for k, v in request.args.items(multi=True) if k not in ("page", "limit")]
    pairs += [("page", str(page)), ("limit", str(limit))]
    return f"{base_url()}{request.path}?{urlencode(pairs)}"


def hal_list(key: str, items: list[Record], page: int, limit: int, total: int | None = None) -> Response:
    """One page of ``items`` (already filtered, all of them): 204 if that page is empty."""
    start = (page - 1) * limit
    chunk = items[start : start + limit]
    if not chunk:
        return Response(status=204)
    links: Record = {"self": {"href": _href(page, limit)}}
    if start + limit < len(items):
        links["next"] = {"href": _href(page + 1, limit)}
    if page > 1:
        links["prev"] = {"href": _href(page - 1, limit)}
    links["first"] = {"href": _href(1, limit)}
    body: Record = {"_page": page, "_links": links, "_embedded": {key: chunk}}
    if total is not None:
        body["_total_items"] = total
    return json_response(body)


def self_link(path: str) -> Record:
    return {"self": {"href": f"{base_url()}{path}"}}
