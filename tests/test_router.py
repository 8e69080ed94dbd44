"""Router: registration by kind, wildcards and filters; dispatch order; errors propagate."""

from __future__ import annotations

import pytest

from amo_bridge.events import Router, build_event


def lead_status(status_id: str, pipeline_id: str = "10") -> object:
    item = {"id": "5", "status_id": status_id, "pipeline_id": pipeline_id, "last_modified": "1"}
    return build_event("leads", "status", item, 1)


def test_filters_by_kind_and_fields() -> None:
    router: Router[list[str]] = Router()

    @router.on("lead.status_changed", status_id=142)
    def won(event: object, seen: list[str]) -> None:
        seen.append("won")

    @router.on("lead.*", pipeline_id={10, 11})
    def any_lead(event: object, seen: list[str]) -> None:
        seen.append("lead")

    @router.on("*", name="all")
    def everything(event: object, seen: list[str]) -> None:
        seen.append("all")

    @router.on("lead.status_changed", status_id=lambda s: s is not None and s > 1000)
    def big(event: object, seen: list[str]) -> None:
        seen.append("big")

    seen: list[str] = []
    assert router.dispatch(lead_status("142"), seen)[-1] == "all"
    assert seen == ["won", "lead", "all"]
    seen.clear()
    router.dispatch(lead_status("47810001", pipeline_id="99"), seen)
    assert seen == ["all", "big"]
    seen.clear()
    router.dispatch(build_event("task", "add", {"id": "1"}, 1), seen)
    assert seen == ["all"]
    assert len(router) == 4
    assert "lead.status_changed [status_id=142]" in router.describe()[0]


def test_filter_on_raw_item_field_and_text_number_equality() -> None:
    router: Router[list[str]] = Router()
    router.add("lead.status_changed", lambda e, s: s.append("loss"), loss_reason_id=9012)
    seen: list[str] = []
    event = build_event("leads", "status", {"id": "1", "status_id": "143", "loss_reason_id": "9012"}, 1)
    router.dispatch(event, seen)
    assert seen == ["loss"]


def test_unknown_kind_is_refused_at_registration() -> None:
    router: Router[None] = Router()
    with pytest.raises(ValueError, match="unknown event kind"):
        router.on("leads.status")
    router.on("unknown.customers.add")  # kept sections may be handled too
    router.on("catalog.added")


def test_first_failing_handler_stops_dispatch_and_include() -> None:
    first: Router[list[str]] = Router()
    second: Router[list[str]] = Router()

    @first.on("lead.*")
    def boom(event: object, seen: list[str]) -> None:
        seen.append("boom")
        raise RuntimeError("api down")

    @second.on("lead.*")
    def after(event: object, seen: list[str]) -> None:
        seen.append("after")

    router: Router[list[str]] = Router()
    router.include(first)
    router.include(second)
    seen: list[str] = []
    with pytest.raises(RuntimeError):
        router.dispatch(lead_status("142"), seen)
    assert seen == ["boom"]
