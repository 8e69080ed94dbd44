from __future__ import annotations

from amo_bridge.kpi.mapping import WebhookEvent, from_amo_event, from_lead, from_webhook
from amo_bridge.kpi.ports import LeadSnapshot
from amo_bridge.kpi.rows import (
    CALL_OUT,
    LEAD_CREATED,
    NOTE_ADDED,
    REPORTED,
    RESPONSIBLE_CHANGED,
    STATUS_CHANGED,
    TASK_COMPLETED,
    TASK_CREATED,
)


def amo(type_: str, **kw: object) -> dict[str, object]:
    event: dict[str, object] = {
        "id": "01h" + type_,
        "type": type_,
        "entity_id": 10,
        "entity_type": "lead",
        "created_by": 7,
        "created_at": 1_700_000_000,
        "value_before": [],
        "value_after": [],
        "account_id": 1,
    }
    event.update(kw)
    return event


def test_status_change_event_maps_from_and_to() -> None:
    [r] = from_amo_event(
        amo(
            "lead_status_changed",
            value_before=[{"lead_status": {"id": 100, "pipeline_id": 5}}],
            value_after=[{"lead_status": {"id": 101, "pipeline_id": 5}}],
        ),
        {},
    )
    assert (r.kind, r.lead_id, r.old_status_id, r.status_id, r.pipeline_id) == (
        STATUS_CHANGED,
        10,
        100,
        101,
        5,
    )
    assert r.key == "amo:01hlead_status_changed"
    assert r.match_key == "status:10:100:101"
    assert r.actor_id == 7
    assert r.user_id is None


def test_won_match_key_ignores_old_stage() -> None:
    [r] = from_amo_event(
        amo(
            "lead_status_changed",
            value_before=[{"lead_status": {"id": 100, "pipeline_id": 5}}],
            value_after=[{"lead_status": {"id": 142, "pipeline_id": 5}}],
        ),
        {},
    )
    assert r.match_key == "closed:10:142"


def test_other_event_types() -> None:
    assert from_amo_event(amo("lead_added"), {})[0].kind == LEAD_CREATED
    [resp] = from_amo_event(
        amo(
            "entity_responsible_changed",
            value_before=[{"responsible_user": {"id": 3}}],
            value_after=[{"responsible_user": {"id": 4}}],
        ),
        {},
    )
    assert (resp.kind, resp.old_user_id, resp.user_id) == (RESPONSIBLE_CHANGED, 3, 4)
    [call] = from_amo_event(amo("outgoing_call", value_after=[{"note": {"id": 55}}]), {})
    assert (call.kind, call.entity_id, call.match_key, call.user_id) == (CALL_OUT, 55, "call:55", 7)
    [task] = from_amo_event(amo("task_completed", entity_type="task", entity_id=99), {})
    assert (task.kind, task.entity_id, task.lead_id) == (TASK_COMPLETED, 99, None)
    [note] = from_amo_event(amo("common_note_added", value_after=[{"note": {"id": 77}}]), {})
    assert (note.kind, note.note_type) == (NOTE_ADDED, "common")
    [rep] = from_amo_event(
        amo(
            "custom_field_512_value_changed",
            value_after=[{"custom_field_value": {"field_id": 512, "text": "41"}}],
        ),
        {512: "calls"},
    )
    assert (rep.kind, rep.field_id, rep.value, rep.user_id) == (REPORTED, 512, 41.0, 7)
    assert from_amo_event(amo("custom_field_513_value_changed"), {512: "calls"}) == []
    assert from_amo_event(amo("lead_deleted"), {}) == []
    assert from_amo_event(amo("lead_added", id=None), {}) == []


def test_webhook_status_change_and_redelivery_key() -> None:
    event = WebhookEvent(
        "lead.status_changed",
        10,
        {
            "status_id": "142",
            "old_status_id": "100",
            "pipeline_id": "5",
            "responsible_user_id": "7",
            "price": "1500",
            "last_modified": "1700000003",
        },
        received_at=1_700_000_010,
    )
    [r] = from_webhook(event, {})
    assert (r.status_id, r.old_status_id, r.user_id, r.price, r.occurred_at) == (
        142,
        100,
        7,
        1500.0,
        1_700_000_003,
    )
    assert r.match_key == "closed:10:142"
    assert from_webhook(event, {})[0].key == r.key  # a redelivery has the same key


def test_webhook_calls_tasks_and_reported_fields() -> None:
    [call] = from_webhook(
        WebhookEvent(
            "lead.note_added",
            55,
            {"note_type": "11", "element_id": "10", "created_by": "7", "params": {"DURATION": "65"}},
            received_at=1_700_000_000,
        ),
        {},
    )
    assert (call.kind, call.lead_id, call.duration, call.match_key) == (CALL_OUT, 10, 65, "call:55")
    rows = from_webhook(
        WebhookEvent(
            "task.added",
            99,
            {
                "element_type": "2",
                "element_id": "10",
                "task_type": "3",
                "complete_till": "1700086400",
                "status": "0",
            },
            received_at=1_700_000_000,
        ),
        {},
    )
    assert [(r.kind, r.task_type_id, r.due_at, r.lead_id) for r in rows] == [
        (TASK_CREATED, 3, 1_700_086_400, 10)
    ]
    done = from_webhook(
        WebhookEvent("task.updated", 99, {"status": "1", "last_modified": "1700000500"}, received_at=0), {}
    )
    assert [(r.kind, r.occurred_at) for r in done] == [(TASK_COMPLETED, 1_700_000_500)]
    reported = from_webhook(
        WebhookEvent(
            "lead.updated",
            10,
            {
                "modified_user_id": "7",
                "custom_fields": {"0": {"id": "512", "values": {"0": {"value": "41"}}}},
            },
            received_at=1_700_000_000,
        ),
        {512: "calls"},
    )
    assert [(r.kind, r.value, r.user_id) for r in reported] == [(REPORTED, 41.0, 7)]
    assert from_webhook(WebhookEvent("contact.added", 1, {}, received_at=0), {}) == []


def test_lead_snapshot_rows() -> None:
    lead = LeadSnapshot(
        id=10, created_at=100, updated_at=300, status_id=142, pipeline_id=5, price=900.0, closed_at=200,
        main_contact_id=77,
    )  # fmt: skip
    created, won = from_lead(lead)
    assert created.kind == LEAD_CREATED
    assert created.match_key == "created:10"
    assert (won.status_id, won.price, won.client_id, won.match_key) == (142, 900.0, 77, "closed:10:142")
    assert "price" in won.authoritative
    open_lead = LeadSnapshot(id=11, created_at=100, updated_at=100, status_id=101, pipeline_id=5)
    assert len(from_lead(open_lead)) == 1
