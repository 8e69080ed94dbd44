"""The distribution port over the API client, and ``amo-bridge webhooks``, against the sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from amo_bridge.api import AmoClient
from amo_bridge.cli.main import cli
from amo_bridge.config import load_settings
from amo_bridge.distribution.amocrm import AmoAssignmentPort
from amo_bridge.distribution.model import Arrival
from amo_bridge.distribution.ports import AssigneeRefused, EntityGone
from amo_bridge.sandbox import seed as sb
from amo_bridge.sandbox.server import SandboxServer
from amo_bridge.store import Store

MANAGER, OTHER = 9_001_011, 9_001_012
SECRET = "a-long-webhook-secret-value-0042"


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(seed=5, deliver_webhooks=False, rate_limit=200, contacts=10, companies=2) as server:
        yield server


@pytest.fixture
def port(sandbox: SandboxServer, tmp_path: Path) -> Iterator[AmoAssignmentPort]:
    settings = load_settings(
        {"AMO_BASE_URL": sandbox.url, "AMO_LONG_LIVED_TOKEN": str(sandbox.token), "AMO_RATE_LIMIT": "50"}
    )
    store = Store(f"sqlite:///{tmp_path / 'p.db'}")
    store.upgrade()
    client = AmoClient.from_settings(settings, store)
    yield AmoAssignmentPort(client, store)
    client.close()


def unsorted(sandbox: SandboxServer, contact_id: int | None = None) -> str:
    entry = sandbox.state.add_unsorted(
        category="forms",
        pipeline_id=sb.PIPELINE_LEAD_EXCHANGE,
        source_uid="f-1",
        source_name="Сайт",
        lead_fields={"name": "Заявка"},
        contact_id=contact_id,
        metadata={},
    )
    return str(entry["uid"])


def test_accepting_twice_returns_the_same_lead_and_someone_elses_is_gone(
    sandbox: SandboxServer, port: AmoAssignmentPort
) -> None:
    uid = unsorted(sandbox)
    lead_id = port.accept_unsorted(uid, MANAGER, None)
    assert sandbox.state.leads[lead_id]["responsible_user_id"] == MANAGER
    assert port.accept_unsorted(uid, MANAGER, None) == lead_id  # a repeat after a lost answer
    with pytest.raises(EntityGone):
        port.accept_unsorted(uid, OTHER, None)
    with pytest.raises(EntityGone):
        port.accept_unsorted("no-such-uid", MANAGER, None)
    with pytest.raises(AssigneeRefused):  # not a user of the account: choose someone else
        port.accept_unsorted(unsorted(sandbox), 123, None)


def test_writes_are_idempotent_and_related_leads_are_found(
    sandbox: SandboxServer, port: AmoAssignmentPort
) -> None:
    contact = next(iter(sandbox.state.contacts))
    lead_id = port.accept_unsorted(unsorted(sandbox, contact), MANAGER, None)
    port.set_responsible(lead_id, OTHER)
    port.move_related(lead_id, OTHER)
    port.move_related(lead_id, OTHER)
    assert sandbox.state.contacts[contact]["responsible_user_id"] == OTHER
    for _ in range(2):
        port.create_task(lead_id, OTHER, "Позвонить", 1_900_000_000, "first-contact:1")
        port.add_note(lead_id, "Передан", "note:1")
    tasks = [
        t for t in sandbox.state.tasks.values() if t["entity_id"] == lead_id and t["text"] == "Позвонить"
    ]
    assert len(tasks) == 1
    notes = [n for n in sandbox.state.notes["leads"].values() if n["entity_id"] == lead_id]
    assert [n["params"]["text"] for n in notes].count("Передан") == 1
    other = sandbox.state.add_lead(
        {
            "name": "Ещё",
            "pipeline_id": sb.PIPELINE_MAIN,
            "status_id": sb.ST_MAIN_NEGOTIATION,
            "responsible_user_id": 9_001_021,
        }
    )
    sandbox.state.link("leads", other["id"], "contacts", contact)
    arrival = Arrival(
        "lead", str(lead_id), sb.PIPELINE_LEAD_EXCHANGE, lead_id=lead_id, contact_ids=(contact,)
    )
    related = port.related_open_leads(arrival)
    assert (other["id"], 9_001_021) in [(r.lead_id, r.responsible_user_id) for r in related]
    assert lead_id not in [r.lead_id for r in related]


def test_webhooks_command_subscribes_lists_masked_and_unsubscribes(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    env = {
        "AMO_BASE_URL": sandbox.url,
        "AMO_LONG_LIVED_TOKEN": str(sandbox.token),
        "PUBLIC_URL": "https://bridge.example.com",
        "WEBHOOK_SECRET": SECRET,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}",
        "LOG_LEVEL": "WARNING",
    }
    runner = CliRunner()
    missing = runner.invoke(cli, ["webhooks", "status"], env=env)
    assert missing.exit_code == 1
    done = runner.invoke(cli, ["webhooks", "subscribe"], env=env)
    assert done.exit_code == 0, done.output
    hooks = list(sandbox.state.webhooks.values())
    assert [h["destination"] for h in hooks] == [f"https://bridge.example.com/webhooks/amocrm/{SECRET}"]
    assert {"add_unsorted", "status_lead", "note_lead", "update_task"} <= set(hooks[0]["settings"])
    shown = runner.invoke(cli, ["webhooks", "status"], env=env)
    assert shown.exit_code == 0, shown.output
    assert "(ours)" in shown.output
    assert SECRET not in shown.output + done.output
    gone = runner.invoke(cli, ["webhooks", "unsubscribe"], env=env)
    assert gone.exit_code == 0, gone.output
    assert sandbox.state.webhooks == {}
    assert SECRET not in gone.output


def test_check_config_checks_the_pools_against_the_live_account(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    env = {
        "AMO_BASE_URL": sandbox.url,
        "AMO_LONG_LIVED_TOKEN": str(sandbox.token),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}",
        "LOG_LEVEL": "WARNING",
    }
    good = f"L1 = unsorted {sb.PIPELINE_LEAD_EXCHANGE} : {MANAGER},{OTHER}"
    ok = CliRunner().invoke(
        cli, ["check-config", "--require", "api"], env={**env, "DISTRIBUTION_POOLS": good}
    )
    assert ok.exit_code == 0, ok.output
    bad = f"{good}; L2 = status {sb.PIPELINE_MAIN}/999 : 9001015,123"
    failed = CliRunner().invoke(
        cli, ["check-config", "--require", "api"], env={**env, "DISTRIBUTION_POOLS": bad}
    )
    assert failed.exit_code == 2, failed.output
    assert "has no status 999" in failed.output
    assert "user 9001015" in failed.output
    assert "inactive" in failed.output
    assert "unknown user 123" in failed.output
