"""Hand-offs end to end: the service and the amoCRM port against the sandbox over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from amo_bridge.api import AmoClient
from amo_bridge.clock import FakeClock
from amo_bridge.config import load_settings
from amo_bridge.handoff.amocrm import AmoHandoffPort
from amo_bridge.handoff.duplicates import client_keys
from amo_bridge.handoff.model import NewEntry, StageChange
from amo_bridge.handoff.rules import parse_rules
from amo_bridge.handoff.service import HandoffService
from amo_bridge.sandbox import seed as sb
from amo_bridge.sandbox.server import SandboxServer
from amo_bridge.store import Store

L1_MANAGER = next(uid for uid, _, group, active in sb.STAFF if group == sb.GROUP_LEAD_MANAGERS and active)
CLOSER = next(uid for uid, _, group, active in sb.STAFF if group == sb.GROUP_CLOSERS and active)

RULES = parse_rules(
    {
        "outcome": [
            {
                "name": "qualified",
                "when": {"pipeline": sb.PIPELINE_LEAD_EXCHANGE, "status": sb.ST_LX_QUALIFIED},
                "move_to": {"pipeline": sb.PIPELINE_MAIN, "status": "first"},
                "assign_pool": "l2",
                "task": {"text": "Квалифицированный лид: позвонить клиенту", "due_minutes": 30},
                "note": "Квалифицировал менеджер {responsible_user_id}",
                "tags": ["qualified"],
            },
            {
                "name": "non-target",
                "when": {"pipeline": sb.PIPELINE_LEAD_EXCHANGE, "status": sb.ST_LX_NON_TARGET},
                "move_to": {"pipeline": sb.PIPELINE_LEAD_EXCHANGE, "status": 143},
                "loss_reason_id": sb.LOSS_REASON_IDS[0],
            },
        ],
        "duplicates": {"mode": "link", "tag": "duplicate"},
    }
)


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(
        seed=5, clock=FakeClock(), deliver_webhooks=False, rate_limit=50, contacts=30, companies=5
    ) as server:
        yield server


@pytest.fixture
def service(sandbox: SandboxServer, tmp_path: Path) -> Iterator[HandoffService]:
    settings = load_settings(
        {"AMO_BASE_URL": sandbox.url, "AMO_LONG_LIVED_TOKEN": str(sandbox.token), "AMO_RATE_LIMIT": "40"}
    )
    store = Store(f"sqlite:///{tmp_path / 'h.db'}")
    store.upgrade()
    client = AmoClient.from_settings(settings, store)
    port = AmoHandoffPort(client, assign_from_pool=lambda lead_id, pool: _assign(client, lead_id))
    yield HandoffService(store, port, RULES)
    client.close()


def _assign(client: AmoClient, lead_id: int) -> int:
    client.leads.set_responsible(lead_id, CLOSER)
    return CLOSER


def lead_in(sandbox: SandboxServer, status: int, contact_id: int | None = None) -> int:
    lead = sandbox.state.add_lead(
        {
            "name": "Заявка с сайта",
            "pipeline_id": sb.PIPELINE_LEAD_EXCHANGE,
            "status_id": status,
            "responsible_user_id": L1_MANAGER,
        }
    )
    if contact_id is not None:
        sandbox.state.link("leads", lead["id"], "contacts", contact_id, is_main=True)
    return int(lead["id"])


def test_qualified_lead_moves_to_main_pipeline_with_closer_task_note_and_tag(
    sandbox: SandboxServer, service: HandoffService
) -> None:
    lead_id = lead_in(sandbox, sb.ST_LX_QUALIFIED)
    change = StageChange(
        lead_id,
        sb.PIPELINE_LEAD_EXCHANGE,
        sb.ST_LX_QUALIFIED,
        sb.PIPELINE_LEAD_EXCHANGE,
        sb.ST_LX_IN_WORK,
        L1_MANAGER,
        1_767_225_600.0,
    )
    result = service.on_stage_change(change)
    assert result is not None
    assert result.outcome == "done"
    lead = sandbox.state.leads[lead_id]
    assert lead["pipeline_id"] == sb.PIPELINE_MAIN
    assert lead["status_id"] == sb.ST_MAIN_FIRST_CONTACT
    assert lead["responsible_user_id"] == CLOSER
    assert [t["name"] for t in lead["tags"]] == ["qualified"]
    tasks = [t for t in sandbox.state.tasks.values() if t["entity_id"] == lead_id]
    assert [(t["text"], t["responsible_user_id"]) for t in tasks] == [
        ("Квалифицированный лид: позвонить клиенту", CLOSER)
    ]
    notes = [n for n in sandbox.state.notes["leads"].values() if n["entity_id"] == lead_id]
    assert any(f"менеджер {L1_MANAGER}" in n["params"]["text"] for n in notes)
    # The same webhook again: nothing more happens in amoCRM.
    requests_before = len(sandbox.admin.requests())
    again = service.on_stage_change(change)
    assert again is not None
    assert again.outcome == "duplicate"
    assert len(sandbox.admin.requests()) == requests_before
    assert len([t for t in sandbox.state.tasks.values() if t["entity_id"] == lead_id]) == 1


def test_non_target_lead_is_lost_with_reason(sandbox: SandboxServer, service: HandoffService) -> None:
    lead_id = lead_in(sandbox, sb.ST_LX_NON_TARGET)
    service.on_stage_change(
        StageChange(
            lead_id, sb.PIPELINE_LEAD_EXCHANGE, sb.ST_LX_NON_TARGET, None, None, L1_MANAGER, 1_767_225_600.0
        )
    )
    lead = sandbox.state.leads[lead_id]
    assert (lead["status_id"], lead["loss_reason_id"]) == (143, sb.LOSS_REASON_IDS[0])


def test_unsorted_entry_of_a_live_client_is_linked_into_the_live_deal(
    sandbox: SandboxServer, service: HandoffService
) -> None:
    contact = sandbox.state.add_contact(
        {
            "name": "Ирина Соколова",
            "custom_fields_values": [
                {
                    "field_id": sb.CF_PHONE,
                    "field_code": "PHONE",
                    "values": [{"value": "+7 (916) 555-12-34", "enum_code": "WORK"}],
                }
            ],
        }
    )
    live = lead_in(sandbox, sb.ST_LX_IN_WORK, contact_id=int(contact["id"]))
    entry = sandbox.state.add_unsorted(
        category="forms",
        pipeline_id=sb.PIPELINE_LEAD_EXCHANGE,
        source_uid="form-1",
        source_name="Сайт",
        lead_fields={"name": "Повторная заявка"},
        contact_id=None,
        metadata={"form_name": "Заказать звонок"},
    )
    keys = client_keys(["8 916 555 12 34"])  # the same phone, written differently
    result = service.on_new_entry(NewEntry(keys, 1_767_225_600.0, uid=str(entry["uid"])))
    assert result is not None
    assert result.plan.details["live_lead_id"] == live
    assert entry["uid"] not in sandbox.state.unsorted
    assert sandbox.state.unsorted_done[entry["uid"]]["action"] == "link"
    assert sandbox.state.unsorted_done[entry["uid"]]["linked_lead_id"] == live
    assert "duplicate" in [t["name"] for t in sandbox.state.leads[live]["tags"]]
    # A different client is no duplicate and is left for the distributor.
    other = client_keys(["+7 999 000-11-22"])
    assert service.on_new_entry(NewEntry(other, 1_767_225_600.0, uid="another")) is None
