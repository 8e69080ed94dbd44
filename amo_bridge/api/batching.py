"""Bulk create/update in chunks (default 50, never above 250), results mapped back to the inputs.

Each item is sent with a ``request_id`` (its index in the caller's list, unless it has one); amoCRM
echoes it in the results and in ``validation-errors``, so every input gets its own outcome. amoCRM
rejects a whole request when any item is invalid: the other items of that chunk are reported as not
applied. Errors that make every later call futile (block, revoked authorisation, unpaid account) stop
the batch and propagate.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from amo_bridge.api.errors import (
    AccountBlocked,
    AmoApiError,
    AuthorizationRevoked,
    PaymentRequired,
    ValidationError,
)
from amo_bridge.api.paging import embedded

DEFAULT_CHUNK = 50
MAX_CHUNK = 250
_FATAL = (AccountBlocked, AuthorizationRevoked, PaymentRequired)


@dataclass(frozen=True)
class ItemResult:
    index: int
    input: dict[str, Any]
    entity: dict[str, Any] | None = None
    error: AmoApiError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def id(self) -> int | None:
        value = (self.entity or {}).get("id")
        return int(value) if value is not None else None


@dataclass(frozen=True)
class BatchResult:
    items: tuple[ItemResult, ...]

    @property
    def ok(self) -> bool:
        return all(item.ok for item in self.items)

    @property
    def failed(self) -> tuple[ItemResult, ...]:
        return tuple(item for item in self.items if not item.ok)

    @property
    def ids(self) -> list[int | None]:
        return [item.id for item in self.items]


def chunks(items: Sequence[Any], size: int) -> Iterator[tuple[int, Sequence[Any]]]:
    """``(offset, chunk)`` pairs; ``size`` is clamped to 1..250."""
    size = max(1, min(int(size), MAX_CHUNK))
    for offset in range(0, len(items), size):
        yield offset, items[offset : offset + size]


def run_batch(
    send: Callable[[list[dict[str, Any]]], Any],
    items: Sequence[dict[str, Any]],
    key: str,
    *,
    chunk_size: int = DEFAULT_CHUNK,
) -> BatchResult:
    """Send ``items`` chunk by chunk with ``send(payload) -> parsed body``; map results back."""
    results: list[ItemResult] = []
    for offset, chunk in chunks(items, chunk_size):
        payload = []
        ids: list[str] = []
        for i, item in enumerate(chunk):
            request_id = str(item.get("request_id", offset + i))
            ids.append(request_id)
            payload.append({**item, "request_id": request_id})
        try:
            body = send(payload)
        except _FATAL:
            raise
        except ValidationError as error:
            results.extend(_rejected(offset, chunk, ids, error))
            continue
        except AmoApiError as error:
            results.extend(ItemResult(offset + i, item, None, error) for i, item in enumerate(chunk))
            continue
        returned = embedded(body, key)
        by_request = {str(e.get("request_id")): e for e in returned if e.get("request_id") is not None}
        for i, item in enumerate(chunk):
            entity = by_request.get(ids[i]) or (returned[i] if i < len(returned) and not by_request else None)
            if entity is None:
                missing = AmoApiError(f"amoCRM returned no result for item {ids[i]}")
                results.append(ItemResult(offset + i, item, None, missing))
            else:
                results.append(ItemResult(offset + i, item, entity, None))
    return BatchResult(tuple(results))


def _rejected(
    offset: int, chunk: Sequence[dict[str, Any]], ids: list[str], error: ValidationError
) -> Iterator[ItemResult]:
    for i, item in enumerate(chunk):
        own = tuple(e for e in error.errors if e.request_id == ids[i])
        if own:
            item_error: AmoApiError = ValidationError(
                f"item {ids[i]} refused",
                errors=own,
                status=error.status,
                request_id=error.request_id,
            )
        else:
            item_error = AmoApiError(
                f"item {ids[i]} not applied: amoCRM rejected its chunk for other items",
                status=error.status,
                request_id=error.request_id,
                retryable=True,
            )
        yield ItemResult(offset + i, item, None, item_error)
