"""The retention and trigger adapters against the sandbox, one operation at a time, with request counts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from amo_bridge.retention.model import RetentionLeadDraft, TaskDraft
from amo_bridge.sandbox import seed as S
from amo_bridge.triggers.amocrm import AmoTriggerPort, FactNeeds, needs_of
from amo_bridge.triggers.parse import check_rules
from jobs.ports import Ports, PortUnavailable, process_ports, production_ports
from tests.jobs_sandbox import Harness, sandbox_jobs

WON = 142


@pytest.fixture
def h(tmp_path: Any) -> Iterator[Harness]:
    with sandbox_jobs(f"sqlite:///{tmp_path / 'a.db'}") as harness:
        yield harness


def ports(h: Harness) -> Ports:
    return production_ports(h.settings, h.store, client=h.client)


def count(h: Harness) -> int:
    return h.request_count()


def won_deal_for(h: Harness, contact_id: int, *, company_id: int | None = None) -> int:
    state = h.server.state
    closer = S.users_of(state, S.GROUP_CLOSERS)[0]
    lead = state.add_lead(
        {"name": "Абонемент", "pipeline_id": S.PIPELINE_MAIN, "responsible_user_id": closer}, by=closer
    )
    state.link("leads", lead["id"], "contacts", contact_id, is_main=True)
    if company_id is not None:
        state.link("leads", lead["id"], "companies", company_id)
    h.clock.advance(60)
    state.update_lead(
        lead["id"], {"status_id": WON, "pipeline_id": S.PIPELINE_MAIN, "price": 9900}, by=closer
    )
    return int(lead["id"])


def live_retention_client(h: Harness) -> tuple[int, int, int]:
    """(retention lead id, its contact id, its responsible) of a seeded client."""
    for lead in h.server.state.leads.values():
        if (
            lead["pipeline_id"] == S.PIPELINE_RETENTION
            and lead["status_id"] not in (142, 143)
            and lead["contacts"]
            and not lead["is_deleted"]
        ):
            return lead["id"], lead["contacts"][0]["id"], lead["responsible_user_id"]
    raise AssertionError("the seed has no retention client")


def fresh_contact(h: Harness) -> int:
    contact = h.server.state.add_contact({"name": "Новый клиент", "responsible_user_id": S.ADMIN_USER_ID})
    return int(contact["id"])


def test_without_api_settings_the_jobs_say_what_is_missing(h: Harness) -> None:
    from amo_bridge.config import load_settings

    empty = production_ports(load_settings({}), h.store)
    with pytest.raises(PortUnavailable, match="AMO_SUBDOMAIN"):
        empty.need(empty.retention, "the retention adapter", "won_to_retention")


def test_won_deals_sticky_manager_and_a_lead_linked_to_the_client(h: Harness) -> None:
    port = ports(h).retention
    assert port is not None
    retention_id, contact_id, manager = live_retention_client(h)
    company_id = min(h.server.state.companies)
    won_id = won_deal_for(h, contact_id, company_id=company_id)
    now = int(h.clock.now())

    before = count(h)
    deals = {d.lead_id: d for d in port.won_deals([S.PIPELINE_MAIN], now - 3600, now)}
    assert count(h) - before == 1  # one page, contacts embedded
    deal = deals[won_id]
    assert deal.contact_ids == (contact_id,)
    assert deal.company_id == company_id

    before = count(h)
    assert port.client_account_manager(deal.contact_ids, deal.company_id) == manager  # sticky
    assert port.find_retention_lead(won_id, S.PIPELINE_RETENTION) is None
    assert port.first_stage(S.PIPELINE_RETENTION) == S.ST_RT_NEW_CLIENT
    reads = count(h) - before
    assert reads <= 5  # contacts+leads, company, pipelines; the lookup reuses the client's leads

    draft = RetentionLeadDraft(
        name="Абонемент",
        pipeline_id=S.PIPELINE_RETENTION,
        status_id=S.ST_RT_NEW_CLIENT,
        responsible_user_id=manager,
        price=9900,
        contact_ids=deal.contact_ids,
        company_id=deal.company_id,
        custom_fields={},
        tags=("retention",),
        won_lead_id=won_id,
        reference_field_id=None,
    )
    before = count(h)
    lead_id = port.create_lead(draft)
    assert port.find_task(lead_id, "Первый звонок") is None  # a lead made a moment ago: no request
    task_id = port.create_task(TaskDraft(lead_id, "Первый звонок", 1, now + 7200, manager))
    assert count(h) - before == 2  # one POST for the lead (contacts, company, tags), one for the task
    assert port.find_task(lead_id, "Первый звонок") == task_id
    lead = h.server.state.leads[lead_id]
    assert {c["id"] for c in lead["contacts"]} == {contact_id}
    assert lead["company_id"] == company_id
    assert {t["name"] for t in lead["tags"]} == {"retention", f"won-{won_id}"}
    assert h.server.state.tasks[task_id]["entity_id"] == lead_id
    assert retention_id != lead_id

    # The reference lookup finds it again from a fresh adapter (a re-run after a crash).
    again = ports(h).retention
    assert again is not None
    assert again.find_retention_lead(won_id, S.PIPELINE_RETENTION) == lead_id
    assert again.find_task(lead_id, "Первый звонок") == task_id
    # Now the client has two live retention leads, both of the same manager: still sticky.
    assert again.client_account_manager((contact_id,), None) == manager


def test_a_contact_owner_counts_only_inside_the_account_manager_group(h: Harness) -> None:
    port = ports(h).retention
    assert port is not None
    contact = fresh_contact(h)  # owned by the admin, no retention lead
    assert port.client_account_manager((contact,), None) is None
    manager = S.users_of(h.server.state, S.GROUP_ACCOUNT_MANAGERS)[1]
    h.server.state.contacts[contact]["responsible_user_id"] = manager
    fresh = ports(h).retention
    assert fresh is not None
    assert fresh.client_account_manager((contact,), None) == manager


def test_move_mode_moves_the_won_deal(h: Harness) -> None:
    port = ports(h).retention
    assert port is not None
    won_id = won_deal_for(h, fresh_contact(h))
    manager = S.users_of(h.server.state, S.GROUP_ACCOUNT_MANAGERS)[2]
    port.move_lead(won_id, S.PIPELINE_RETENTION, S.ST_RT_NEW_CLIENT, manager)
    port.move_lead(won_id, S.PIPELINE_RETENTION, S.ST_RT_NEW_CLIENT, manager)  # idempotent
    lead = h.server.state.leads[won_id]
    assert (lead["pipeline_id"], lead["status_id"], lead["responsible_user_id"]) == (
        S.PIPELINE_RETENTION,
        S.ST_RT_NEW_CLIENT,
        manager,
    )


def test_trigger_facts_match_the_sandbox(h: Harness) -> None:
    port = AmoTriggerPort(h.client)  # every fact
    catalog = port.catalog()
    assert S.PIPELINE_RETENTION in catalog.pipelines
    assert {S.CF_MISSED_SESSIONS, S.CF_BIRTHDAY} <= catalog.field_ids
    assert S.TASK_MISSED_SESSIONS in catalog.task_type_ids

    state = h.server.state
    retention_id, contact_id, _ = live_retention_client(h)
    won_id = won_deal_for(h, contact_id)
    h.clock.advance(3600)
    state.update_lead(retention_id, {"status_id": S.ST_RT_AT_RISK, "pipeline_id": S.PIPELINE_RETENTION})
    moved_at = int(h.clock.now())
    h.clock.advance(3600)

    before = count(h)
    facts = {f.lead_id: f for f in port.leads(S.PIPELINE_RETENTION, [])}
    cost = count(h) - before
    in_scope = [
        x
        for x in state.leads.values()
        if x["pipeline_id"] == S.PIPELINE_RETENTION
        and x["status_id"] not in (142, 143)
        and not x["is_deleted"]
    ]
    assert set(facts) == {x["id"] for x in in_scope}
    # leads, contacts, their leads, events per 50 leads (a few pages at most)
    assert cost <= 3 + 4 * ((len(in_scope) + 49) // 50)

    fact = facts[retention_id]
    assert fact.status_id == S.ST_RT_AT_RISK
    assert fact.stage_entered_at == moved_at
    assert fact.last_activity_at is not None
    assert fact.last_activity_at >= moved_at
    assert fact.last_purchase_at == state.leads[won_id]["closed_at"]
    assert fact.contact_name == state.contacts[contact_id]["name"]
    for x in in_scope:
        if not x["contacts"]:
            continue
        lead_fields = {cf["field_id"] for cf in x.get("custom_fields_values") or []}
        assert lead_fields <= set(facts[x["id"]].fields)


def test_trigger_facts_read_only_what_the_rules_need(h: Harness) -> None:
    parsed = check_rules(
        f'[[rule]]\nname = "m"\npipeline = {S.PIPELINE_RETENTION}\n'
        f'when = "field:{S.CF_MISSED_SESSIONS} >= 3"\ntask = "{{lead.name}}"\n',
        None,
        "test",
    )
    needs = needs_of(parsed.rules)
    assert needs == FactNeeds(frozenset({S.CF_MISSED_SESSIONS}))
    port = AmoTriggerPort(h.client, needs=lambda: needs)
    port.catalog()
    before = count(h)
    facts = list(port.leads(S.PIPELINE_RETENTION, []))
    assert facts
    assert count(h) - before == 1  # the scope's leads only: the field is the lead's own
    assert all(f.stage_entered_at is None and f.last_purchase_at is None for f in facts)


def test_trigger_actions(h: Harness) -> None:
    from amo_bridge.triggers.port import TriggerTask

    port = AmoTriggerPort(h.client, needs=lambda: FactNeeds())
    port.catalog()
    facts = list(port.leads(S.PIPELINE_RETENTION, []))
    lead_id = facts[0].lead_id
    now = int(h.clock.now())
    task_id = port.create_task(
        TriggerTask(lead_id, "Позвонить", S.TASK_MISSED_SESSIONS, now + 3600, facts[0].responsible_user_id)
    )
    assert port.task_is_open(task_id)
    assert port.find_task(lead_id, "Позвонить", now - 1) == task_id
    assert port.find_task(lead_id, "Позвонить", now + 10) is None
    h.server.state.tasks[task_id]["is_completed"] = True
    assert not AmoTriggerPort(h.client).task_is_open(task_id)
    before = count(h)
    port.add_tag(lead_id, "пропуски")
    port.add_tag(lead_id, "пропуски")  # known now: no request
    assert count(h) - before == 1
    assert "пропуски" in {t["name"] for t in h.server.state.leads[lead_id]["tags"]}
    port.add_note(lead_id, "Правило сработало")
    port.move_lead(lead_id, S.PIPELINE_RETENTION, S.ST_RT_SLEEPING)
    assert h.server.state.leads[lead_id]["status_id"] == S.ST_RT_SLEEPING


def test_process_ports_plug_in_the_distributor_s_pools(h: Harness) -> None:
    from amo_bridge.app_services import Services
    from amo_bridge.config import load_settings
    from amo_bridge.distribution.choosers import PoolAccountManagers, PoolTaskChooser

    wired = process_ports(h.settings, h.store, h.services)
    assert isinstance(wired.account_managers, PoolAccountManagers)
    assert wired.account_managers.pool == "L3"  # the one pool in RETENTION_PIPELINE_ID
    assert wired.account_managers.service is h.services.distribution  # the process's distributor
    assert isinstance(wired.pools, PoolTaskChooser)
    assert wired.triggers is not None
    assert wired.triggers.catalog().pools == frozenset({"L3"})  # rules may name it

    api = {"AMO_BASE_URL": h.server.url, "AMO_LONG_LIVED_TOKEN": str(h.server.token)}
    off = load_settings({**api, "DISTRIBUTION_POOLS": "L3 = pipeline 7003 : 1"})  # DISTRIBUTION_ENABLED off
    services = Services.from_settings(off, h.store, client=h.client)
    plain = process_ports(off, h.store, services)
    assert (plain.account_managers, plain.pools) == (None, None)
    assert plain.retention is not None
