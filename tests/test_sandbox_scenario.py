"""The scenario: a working day played deterministically, leaving distribution to amo-bridge."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from amo_bridge.clock import SYSTEM_CLOCK
from amo_bridge.sandbox import Sandbox, SandboxConfig
from amo_bridge.sandbox import seed as S
from amo_bridge.sandbox.clock import SandboxClock
from amo_bridge.sandbox.records import WON
from amo_bridge.sandbox.scenario import Scenario, ScenarioConfig, ScenarioDriver, play
from tests.sandbox_support import make

MSK = ZoneInfo("Europe/Moscow")


def outcome(sandbox: Any) -> list[tuple[Any, ...]]:
    return sorted(
        (x["id"], x["status_id"], x["pipeline_id"], x["responsible_user_id"], x["price"], x["is_deleted"])
        for x in sandbox.state.leads.values()
    )


def test_same_seed_same_day_and_ground_truth() -> None:
    runs = []
    for _ in range(2):
        _, sandbox, _ = make(seed=9)
        play(sandbox.state, ScenarioConfig(seed=9, leads_per_day=25, assigned_only=False))
        runs.append((sandbox.state.ground_truth, outcome(sandbox), len(sandbox.state.events)))
    assert runs[0] == runs[1]
    _, other, _ = make(seed=9)
    play(other.state, ScenarioConfig(seed=10, leads_per_day=25, assigned_only=False))
    assert other.state.ground_truth["leads"] != runs[0][0]["leads"]


def test_ground_truth_describes_each_lead_and_client() -> None:
    _, sandbox, _ = make(seed=2)
    play(sandbox.state, ScenarioConfig(seed=2, leads_per_day=40, assigned_only=False))
    truth = sandbox.state.ground_truth
    assert truth["scenario"]["assigned_only"] is False
    assert len(truth["leads"]) == 40
    qualifications = {e["intended"]["qualification"] for e in truth["leads"].values()}
    assert qualifications == {"qualified", "non_target", "warm_up", "duplicate"}
    for entry in truth["leads"].values():
        assert set(entry) >= {
            "lead_id",
            "uid",
            "contact_id",
            "arrived_at",
            "category",
            "source",
            "intended",
            "happened",
        }
        hour = datetime.fromtimestamp(entry["arrived_at"], MSK).hour
        assert 9 <= hour < 19
        intended = entry["intended"]
        lead = sandbox.state.leads[entry["lead_id"]]
        if intended["qualification"] == "duplicate" and intended["duplicate_of"]:
            assert lead["is_deleted"]  # merged into the earlier lead through unsorted/link
            assert any(h["what"] == "merged_into" for h in entry["happened"])
        if intended["won"] and any(h["what"] == "won" for h in entry["happened"]):
            assert lead["status_id"] == WON
            assert lead["price"] == intended["price"]
    clients = truth["clients"]
    assert clients
    assert any(c["missed_sessions"] for c in clients.values() if c["profile"] == "silent")
    categories = {e["category"] for e in truth["leads"].values()}
    assert categories == {"forms", "sip", "chats"}
    calls = [e for e in sandbox.state.events if e["type"] in ("incoming_call", "outgoing_call")]
    assert calls


def test_a_repeat_purchase_is_a_won_deal_of_its_own_in_retention() -> None:
    _, sandbox, _ = make(seed=2)
    state = sandbox.state
    prices = {lead_id: lead["price"] for lead_id, lead in state.leads.items()}
    play(state, ScenarioConfig(seed=2, days=3, leads_per_day=5, assigned_only=False))
    managers = S.users_of(state, S.GROUP_ACCOUNT_MANAGERS)
    clients = state.ground_truth["clients"]
    bought = [(int(key), p) for key, c in clients.items() for p in c["repeat_purchases"]]
    assert len(bought) > 5
    for client_id, purchase in bought:
        client = state.leads[client_id]
        deal = state.leads[purchase["lead_id"]]
        assert (deal["pipeline_id"], deal["status_id"]) == (S.PIPELINE_RETENTION, WON)
        assert deal["price"] == purchase["price"] > 0
        assert deal["responsible_user_id"] == deal["created_by"] == purchase["by"] in managers
        assert deal["closed_at"] == purchase["at"]
        assert deal["contacts"] == client["contacts"] != []
        assert deal["company_id"] == client["company_id"]
        assert purchase["contact_id"] == next(c["id"] for c in client["contacts"] if c["is_main"])
        # The retention lead stays open with the last purchase's date; its price is not a sale.
        assert client["status_id"] not in (WON, 143)
        assert client["price"] == prices.get(client_id, 0)
    for key, client in clients.items():
        if client["repeat_purchases"]:
            lead = state.leads[int(key)]
            last = next(v for v in lead["custom_fields_values"] if v["field_id"] == S.CF_LAST_PURCHASE)
            assert int(last["values"][0]["value"]) == client["repeat_purchases"][-1]["at"]


def test_assigned_only_managers_wait_for_amo_bridge() -> None:
    _, sandbox, _ = make(seed=3)
    play(sandbox.state, ScenarioConfig(seed=3, leads_per_day=20, assigned_only=True))
    truth = sandbox.state.ground_truth["leads"]
    assert len(truth) == 20
    for entry in truth.values():
        lead = sandbox.state.leads[entry["lead_id"]]
        assert lead["status_id"] == S.ST_LX_UNSORTED
        assert lead["responsible_user_id"] == S.ADMIN_USER_ID  # the scenario never distributes
        assert entry["happened"] == []


def test_assigned_only_managers_act_once_leads_are_assigned() -> None:
    _, sandbox, _ = make(seed=4)
    state = sandbox.state
    scenario = Scenario(state, ScenarioConfig(seed=4, leads_per_day=30, assigned_only=True))
    lead_managers = S.users_of(state, S.GROUP_LEAD_MANAGERS)
    closers = S.users_of(state, S.GROUP_CLOSERS)
    turn = 0
    steps = 0
    while not scenario.finished and steps < 10_000:
        steps += 1
        due = scenario.next_time()
        assert due is not None
        if due > state.clock.now():
            state.clock.advance(due - state.clock.now())
        scenario.run_due(state.clock.now())
        # Stand-in for amo-bridge: assign new unsorted leads, hand qualified ones to closers.
        for lead in list(state.leads.values()):
            if lead["is_deleted"]:
                continue
            if lead["status_id"] == S.ST_LX_UNSORTED and lead["responsible_user_id"] not in lead_managers:
                state.update_lead(
                    lead["id"], {"responsible_user_id": lead_managers[turn % len(lead_managers)]}
                )
                turn += 1
            elif lead["status_id"] == S.ST_LX_QUALIFIED:
                state.update_lead(
                    lead["id"],
                    {
                        "pipeline_id": S.PIPELINE_MAIN,
                        "status_id": S.ST_MAIN_FIRST_CONTACT,
                        "responsible_user_id": closers[turn % len(closers)],
                    },
                )
                turn += 1
    truth = state.ground_truth["leads"]
    qualified_as = {
        e["lead_id"]: h["outcome"]
        for e in truth.values()
        for h in e["happened"]
        if h["what"] == "qualified_as"
    }
    assert qualified_as
    for lead_id, outcome_ in qualified_as.items():
        assert outcome_ == truth[str(lead_id)]["intended"]["qualification"]
    closed = [h for e in truth.values() for h in e["happened"] if h["what"] in ("won", "lost")]
    assert closed
    assert all(h["by"] in closers for h in closed)


def test_driver_plays_in_real_time_at_high_speed() -> None:
    start = datetime.now(MSK).replace(hour=8, minute=59, second=0, microsecond=0).timestamp()
    clock = SandboxClock(SYSTEM_CLOCK)
    clock.set_speed(400_000, start=start)
    sandbox = Sandbox(SandboxConfig(seed=5, contacts=30, companies=5, deliver_webhooks=False), clock=clock)
    scenario = Scenario(sandbox.state, ScenarioConfig(seed=5, leads_per_day=15, assigned_only=False))
    driver = ScenarioDriver(scenario, poll=0.005).start()
    try:
        assert driver.done.wait(20)
    finally:
        driver.stop()
        sandbox.close()
    assert scenario.finished
    assert len(sandbox.state.ground_truth["leads"]) == 15


def test_scenario_changes_reach_webhook_subscribers() -> None:
    sent: list[str] = []

    def transport(url: str, body: str, headers: dict[str, str], timeout: float) -> int:
        sent.append(body)
        return 200

    _, sandbox, _ = make(seed=6, transport=transport)
    sandbox.state.webhooks[1] = {
        "id": 1,
        "destination": "https://r.example/h",
        "settings": ["add_unsorted", "status_lead"],
        "disabled": False,
        "created_at": 0,
        "updated_at": 0,
        "account_id": 1,
        "created_by": 0,
        "sort": 1,
    }
    play(sandbox.state, ScenarioConfig(seed=6, leads_per_day=10, assigned_only=False))
    sandbox.dispatcher.run_due()
    assert sum("unsorted%5Badd%5D" in body for body in sent) == 10
    assert any("leads%5Bstatus%5D" in body for body in sent)
