from __future__ import annotations

from pathlib import Path

import pytest

from amo_bridge.clock import FakeClock
from amo_bridge.handoff.duplicates import client_keys
from amo_bridge.handoff.model import Activity, NewEntry, StageChange
from amo_bridge.handoff.rules import load_rules_file
from amo_bridge.handoff.service import HandoffService
from amo_bridge.store import Store
from tests.handoff.fake_port import FakeLead, FakePort

RULES = load_rules_file(Path(__file__).parent / "rules.toml")
L1_MANAGER, CLOSER_A, CLOSER_B = 11, 21, 22


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def port() -> FakePort:
    fake = FakePort(pool_choice={"l2": [CLOSER_A, CLOSER_B]})
    fake.leads[1] = FakeLead(1, 1001, 2001, L1_MANAGER, client_keys(["+79161234567"]))
    return fake


@pytest.fixture
def service(store: Store, port: FakePort, clock: FakeClock) -> HandoffService:
    return HandoffService(store, port, RULES, clock=clock)


def entered(lead_id: int, pipeline: int, status: int, at: float, old: int = 2000) -> StageChange:
    return StageChange(lead_id, pipeline, status, 1001, old, L1_MANAGER, at)


def test_qualified_moves_to_main_pipeline_assigns_closer_with_task_and_note(
    service: HandoffService, port: FakePort, clock: FakeClock
) -> None:
    result = service.on_stage_change(entered(1, 1001, 2001, clock.now()))
    assert result is not None
    assert result.outcome == "done"
    assert result.to_user_id == CLOSER_A
    lead = port.leads[1]
    assert (lead.pipeline_id, lead.status_id, lead.responsible_user_id) == (2000, 4000, CLOSER_A)
    assert lead.notes == [f"Qualified by L1 manager {L1_MANAGER}"]
    [(task_lead, text, due_at, _)] = port.tasks.values()
    assert (task_lead, text, due_at) == (1, "Qualified lead: call the client", clock.now() + 30 * 60)
    [record] = service.history(1)
    assert (record["kind"], record["rule"], record["from_user_id"], record["to_user_id"]) == (
        "outcome",
        "qualified",
        L1_MANAGER,
        CLOSER_A,
    )


def test_warm_up_and_non_target(service: HandoffService, port: FakePort, clock: FakeClock) -> None:
    port.leads[2] = FakeLead(2, 1001, 2002, L1_MANAGER)
    port.leads[3] = FakeLead(3, 1001, 2003, L1_MANAGER)
    service.on_stage_change(entered(2, 1001, 2002, clock.now()))
    service.on_stage_change(entered(3, 1001, 2003, clock.now()))
    assert (port.leads[2].pipeline_id, port.leads[2].status_id, port.leads[2].responsible_user_id) == (
        3000,
        5000,
        L1_MANAGER,
    )
    assert (port.leads[3].status_id, port.leads[3].loss_reason_id) == (143, 55)


def test_stage_without_rule_does_nothing(service: HandoffService, port: FakePort, clock: FakeClock) -> None:
    assert service.on_stage_change(entered(1, 1001, 2999, clock.now())) is None
    assert port.calls == []


def test_duplicate_webhook_has_one_effect(service: HandoffService, port: FakePort, clock: FakeClock) -> None:
    change = entered(1, 1001, 2001, clock.now())
    first = service.on_stage_change(change)
    second = service.on_stage_change(change)
    assert first is not None
    assert second is not None
    assert (first.outcome, second.outcome) == ("done", "duplicate")
    assert port.calls.count("assign_from_pool") == 1
    assert port.task_calls == 1
    assert len(service.history(1)) == 1


def test_failure_midway_resumes_without_redoing_steps(
    service: HandoffService, port: FakePort, clock: FakeClock
) -> None:
    port.fail_on.add("add_note")
    change = entered(1, 1001, 2001, clock.now())
    with pytest.raises(ConnectionError):
        service.on_stage_change(change)
    assert port.leads[1].responsible_user_id == CLOSER_A
    [record] = service.history(1)
    assert record["state"] == "planned"
    assert "ConnectionError" in record["error"]
    result = service.on_stage_change(change)  # the inbox retries the event
    assert result is not None
    assert result.outcome == "done"
    assert port.calls.count("move_lead") == 1
    assert port.calls.count("assign_from_pool") == 1  # not handed to a second closer
    assert port.leads[1].responsible_user_id == CLOSER_A
    assert len(port.tasks) == 1
    assert service.history(1)[0]["state"] == "done"


def test_duplicate_unsorted_entry_is_linked_not_distributed(
    service: HandoffService, port: FakePort, clock: FakeClock
) -> None:
    port.leads[1].pipeline_id, port.leads[1].status_id = 2000, 4000
    entry = NewEntry(client_keys(["8 (916) 123-45-67"]), clock.now(), uid="unsorted-abc")
    result = service.on_new_entry(entry)
    assert result is not None
    assert port.linked == [("unsorted-abc", 1)]
    assert "duplicate" in port.leads[1].tags
    assert len(port.tasks) == 1
    again = service.on_new_entry(entry)
    assert again is not None
    assert again.outcome == "duplicate"
    assert port.linked == [("unsorted-abc", 1)]


def test_new_client_is_not_a_duplicate(service: HandoffService, clock: FakeClock) -> None:
    assert service.on_new_entry(NewEntry(client_keys(["+79990001122"]), clock.now(), uid="u2")) is None
    assert service.on_new_entry(NewEntry(client_keys([]), clock.now(), uid="u3")) is None


def test_warm_up_lead_returns_to_last_closer(
    service: HandoffService, port: FakePort, clock: FakeClock
) -> None:
    service.on_stage_change(entered(1, 1001, 2001, clock.now()))  # qualified -> CLOSER_A
    port.leads[1].pipeline_id, port.leads[1].status_id = 3000, 5000  # later parked in warm-up
    clock.advance(7 * 86400)
    call = Activity("incoming_call", 1, 3000, 5000, CLOSER_A, clock.now())
    result = service.on_activity(call)
    assert result is not None
    assert result.to_user_id == CLOSER_A
    assert (port.leads[1].pipeline_id, port.leads[1].status_id) == (2000, 4000)
    assert any(text == "A warm-up client is back" for _, text, _, _ in port.tasks.values())
    # Activity outside the warm-up pipeline, or the wrong stage for "stage" activity, is ignored.
    assert service.on_activity(Activity("message", 1, 2000, 4000, CLOSER_A, clock.now())) is None
    assert service.on_activity(Activity("stage", 1, 3000, 5001, CLOSER_A, clock.now())) is None


def test_loop_protection_stops_a_bouncing_lead(
    service: HandoffService, port: FakePort, clock: FakeClock
) -> None:
    outcomes = []
    for _ in range(3):
        for status in (2002, 2001):  # warm-up, qualified, warm-up, ...
            port.leads[1].pipeline_id, port.leads[1].status_id = 1001, status
            clock.advance(60)
            result = service.on_stage_change(entered(1, 1001, status, clock.now()))
            assert result is not None
            outcomes.append(result.outcome)
    assert outcomes[:3] == ["done", "done", "done"]
    assert set(outcomes[3:]) == {"loop_stopped"}
    notes = [n for n in port.leads[1].notes if "stopped moving" in n]
    assert len(notes) == 1  # one note for a human, not one per bounce
    clock.advance(25 * 3600)  # a day later the lead may move again
    result = service.on_stage_change(entered(1, 1001, 2002, clock.now()))
    assert result is not None
    assert result.outcome == "done"


def test_counts_feed_l1_conversion(service: HandoffService, port: FakePort, clock: FakeClock) -> None:
    port.leads[2] = FakeLead(2, 1001, 2003, L1_MANAGER)
    start = clock.now()
    service.on_stage_change(entered(1, 1001, 2001, clock.now()))
    service.on_stage_change(entered(2, 1001, 2003, clock.now()))
    assert service.counts(start, start + 60) == {("outcome", "qualified"): 1, ("outcome", "non-target"): 1}
