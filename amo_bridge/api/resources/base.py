"""What every resource shares: the client, and filter helpers in amoCRM's query syntax."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from amo_bridge.api.client import AmoClient


class Resource:
    def __init__(self, client: AmoClient) -> None:
        self._client = client


def id_filter(name: str, ids: Iterable[int] | None) -> dict[str, Any]:
    """``filter[name][]=1&filter[name][]=2`` as params (requests repeats list values)."""
    return {f"filter[{name}][]": [int(i) for i in ids]} if ids else {}


def range_filter(name: str, since: int | None, until: int | None) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if since is not None:
        params[f"filter[{name}][from]"] = int(since)
    if until is not None:
        params[f"filter[{name}][to]"] = int(until)
    return params


def with_param(values: Iterable[str]) -> dict[str, Any]:
    joined = ",".join(values)
    return {"with": joined} if joined else {}


def first_embedded(body: Any, key: str) -> dict[str, Any]:
    from amo_bridge.api.errors import AmoApiError
    from amo_bridge.api.paging import embedded

    items = embedded(body, key)
    if not items:
        raise AmoApiError(f"amoCRM returned no {key} in its answer")
    return items[0]
