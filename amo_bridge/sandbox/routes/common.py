"""Helpers shared by the API routes: parsed query, ``with``, the acting user, batch validation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import g, request

from amo_bridge.sandbox import http, query
from amo_bridge.sandbox.problems import FieldError, InvalidInput
from amo_bridge.sandbox.records import Record


def args() -> Record:
    return query.parse_pairs(request.args.items(multi=True))


def with_set() -> set[str]:
    return {part.strip() for part in request.args.get("with", "").split(",") if part.strip()}


def actor() -> int:
    identity = g.get("identity")
    return int(identity.user_id) if identity is not None else 0


def validate_all(items: list[Any], check: Callable[[int, Any], Record]) -> list[Record]:
    """Validate every item of a batch; one 400 with every item's errors if any is bad."""
    results: list[Record] = []
    problems: list[tuple[int, list[FieldError]]] = []
    for index, item in enumerate(items):
        try:
            results.append(check(index, item))
        except InvalidInput as bad:
            problems.append((index, bad.errors))
    if problems:
        raise http.BadRequest(http.validation_error(problems))
    return results


def int_filter(value: Any, name: str) -> list[int]:
    try:
        return query.as_ints(value)
    except ValueError:
        raise http.BadRequest(
            http.validation_error(
                [(0, [{"code": "InvalidType", "path": name, "detail": "This value should be of type int."}])]
            )
        ) from None


def in_range(value: int | None, bounds: tuple[int | None, int | None]) -> bool:
    low, high = bounds
    if value is None:
        return low is None and high is None
    return (low is None or value >= low) and (high is None or value <= high)


def time_filter(value: Any, name: str) -> tuple[int | None, int | None]:
    try:
        return query.time_range(value)
    except ValueError:
        raise http.BadRequest(
            http.validation_error(
                [(0, [{"code": "InvalidType", "path": name, "detail": "This value should be of type int."}])]
            )
        ) from None


def order(items: list[Record], spec: Any, default: str = "id") -> list[Record]:
    if isinstance(spec, dict) and spec:
        key, direction = next(iter(spec.items()))
        if key in ("id", "created_at", "updated_at"):
            return sorted(
                items, key=lambda r: (r.get(key) or 0, r["id"]), reverse=str(direction).lower() == "desc"
            )
    return sorted(items, key=lambda r: r.get(default) or 0)


def filters(params: Record) -> dict[str, Any]:
    """The ``filter[...]`` part of the query as a dict (empty when absent or malformed)."""
    value = params.get("filter")
    return value if isinstance(value, dict) else {}
