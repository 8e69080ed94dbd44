"""``POST /api/v4/calls``: log calls made by telephony against contacts/leads."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from amo_bridge.api.batching import DEFAULT_CHUNK, BatchResult
from amo_bridge.api.models import Call
from amo_bridge.api.resources.base import Resource, first_embedded
from amo_bridge.api.retry import SINGLE, UNSAFE_WRITE

CALLS = "/api/v4/calls"


def new_call(
    *,
    direction: str,
    phone: str,
    duration: int,
    source: str,
    uniq: str | None = None,
    link: str | None = None,
    call_result: str | None = None,
    call_status: int | None = None,
    responsible_user_id: int | None = None,
    created_by: int | None = None,
) -> dict[str, Any]:
    if direction not in ("inbound", "outbound"):
        raise ValueError("direction must be inbound or outbound")
    call: dict[str, Any] = {
        "direction": direction,
        "phone": phone,
        "duration": int(duration),
        "source": source,
    }
    optional = {
        "uniq": uniq,
        "link": link,
        "call_result": call_result,
        "call_status": call_status,
        "responsible_user_id": responsible_user_id,
        "created_by": created_by,
    }
    call.update({k: v for k, v in optional.items() if v is not None})
    return call


class CallsResource(Resource):
    def create(self, call: dict[str, Any], *, idempotency_key: str | None = None) -> Call:
        """Log one call. With ``idempotency_key`` a repeat is refused when the first outcome is unknown
        (amoCRM offers no lookup of calls), so a call is logged at most once."""
        if idempotency_key is None:
            body = self._client.request("POST", CALLS, json=[call], policy=UNSAFE_WRITE)
            return Call.from_api(first_embedded(body, "calls"))
        holder: dict[str, Any] = {}

        def create() -> int:
            body = self._client.request("POST", CALLS, json=[call], policy=SINGLE)
            holder["call"] = first_embedded(body, "calls")
            return int(holder["call"]["id"])

        call_id = self._client.create_once(idempotency_key, "calls.create", create, None)
        return Call.from_api(holder.get("call") or {"id": call_id})

    def create_many(self, calls: Sequence[dict[str, Any]], *, chunk_size: int = DEFAULT_CHUNK) -> BatchResult:
        return self._client.batch("POST", CALLS, "calls", list(calls), chunk_size=chunk_size)
