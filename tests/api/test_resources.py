"""Every resource against recorded bodies from ``tests/samples/api``: paths, payloads, typed models."""

from __future__ import annotations

import json

import pytest
import responses

from amo_bridge.api import AmoClient, NotFound
from amo_bridge.api.models import LOST_STATUS_ID, WON_STATUS_ID
from amo_bridge.api.resources.notes import common_note
from tests.api.helpers import BASE, sample

V4 = f"{BASE}/api/v4"


def last_json(mocked: responses.RequestsMock) -> object:
    return json.loads(mocked.calls[-1].request.body or b"null")


def test_account_with_task_types(client: AmoClient, mocked: responses.RequestsMock) -> None:
    mocked.get(f"{V4}/account", json=sample("account.json"))
    account = client.account.get()
    assert "with=task_types%2Cusers_groups" in mocked.calls[0].request.url
    assert account.subdomain == "example"
    assert [t.id for t in account.task_types] == [1, 2, 2843166]
    assert account.task_types[2].name == "Повторная продажа"
    assert [g.name for g in account.user_groups][1:] == ["Лидогенерация", "Сопровождение"]


def test_account_custom_fields(client: AmoClient, mocked: responses.RequestsMock) -> None:
    enums = [{"id": 318551, "value": "Яндекс.Директ", "sort": 1}]
    field_body = {"id": 449467, "name": "Источник", "type": "select", "code": None, "entity_type": "leads"}
    body = {"_embedded": {"custom_fields": [{**field_body, "enums": enums}]}}
    mocked.get(f"{V4}/leads/custom_fields", json=body)
    (field,) = client.account.custom_fields("leads")
    assert field.enums == ((318551, "Яндекс.Директ"),)
    with pytest.raises(ValueError, match="entity_type"):
        client.account.custom_fields("tasks")


def test_users_active_flag_and_groups(client: AmoClient, mocked: responses.RequestsMock) -> None:
    mocked.get(f"{V4}/users", json=sample("users.json"))
    users = list(client.users.list())
    assert [u.is_active for u in users] == [True, True, False]
    assert users[0].is_admin
    assert users[1].group_id == 412034
    assert [u.id for u in client.users.active()] == [3944275, 3944276]


def test_pipelines_unsorted_won_lost(client: AmoClient, mocked: responses.RequestsMock) -> None:
    mocked.get(f"{V4}/leads/pipelines", json=sample("pipelines.json"))
    pipelines = client.pipelines.list()
    exchange = pipelines[0]
    assert exchange.name == "Лидообмен"
    assert exchange.unsorted_status is not None
    assert exchange.unsorted_status.id == 59612510
    assert exchange.won_status.id == WON_STATUS_ID
    assert exchange.lost_status.id == LOST_STATUS_ID
    assert exchange.status_named("квалификация") is not None
    assert client.pipelines.find(main=True).id == 7164314
    with pytest.raises(NotFound):
        client.pipelines.find(name="Сопровождение")
    single = next(p for p in sample("pipelines.json")["_embedded"]["pipelines"] if p["id"] == 7164314)
    mocked.get(f"{V4}/leads/pipelines/7164314", json=single)
    assert client.pipelines.unsorted_status(7164314).id == 59612522


def test_lead_get_with_contacts(client: AmoClient, mocked: responses.RequestsMock) -> None:
    mocked.get(f"{V4}/leads/31402801", json=sample("lead.json"))
    lead = client.leads.get(31402801)
    assert "with=contacts" in mocked.calls[0].request.url
    assert lead.contact_ids == (25093331, 25093333)
    assert lead.tag_names == ("сайт",)
    assert lead.custom_fields[0].values == ("Яндекс.Директ",)
    assert lead.responsible_user_id == 3944276


def test_lead_create_update_and_moves(client: AmoClient, mocked: responses.RequestsMock) -> None:
    mocked.post(f"{V4}/leads", json=sample("leads_created.json"))
    assert client.leads.create({"name": "Новая", "pipeline_id": 7164310}) == 31402901
    assert last_json(mocked) == [{"name": "Новая", "pipeline_id": 7164310}]
    mocked.patch(f"{V4}/leads/31402801", json={"id": 31402801, "updated_at": 1700002000})
    client.leads.mark_won(31402801, pipeline_id=7164314)
    assert last_json(mocked) == {"pipeline_id": 7164314, "status_id": 142}
    client.leads.mark_lost(31402801, pipeline_id=7164314, loss_reason_id=7)
    assert last_json(mocked) == {"pipeline_id": 7164314, "status_id": 143, "loss_reason_id": 7}
    client.leads.set_responsible(31402801, 3944277)
    assert last_json(mocked) == {"responsible_user_id": 3944277}
    mocked.patch(f"{V4}/leads", json=sample("leads_updated.json"))
    result = client.leads.update_many([{"id": 31402801, "status_id": 142, "pipeline_id": 7164314}])
    assert result.ok
    assert result.ids == [31402801]


def test_unsorted_list_accept_decline_link(client: AmoClient, mocked: responses.RequestsMock) -> None:
    mocked.get(f"{V4}/leads/unsorted", json=sample("unsorted.json"))
    entries = list(client.unsorted.list(categories=["forms", "sip"], pipeline_id=7164310))
    assert [e.category for e in entries] == ["forms", "sip"]
    assert entries[0].lead_ids == (31403001,)
    assert entries[1].metadata["from"] == "+79990001122"
    uid = entries[0].uid
    mocked.post(f"{V4}/leads/unsorted/{uid}/accept", json=sample("unsorted_accept.json"))
    accepted = client.unsorted.accept(uid, user_id=3944276, status_id=59612514)
    assert last_json(mocked) == {"user_id": 3944276, "status_id": 59612514}
    assert accepted["_embedded"]["leads"][0]["id"] == 31403001
    other = entries[1].uid
    mocked.delete(f"{V4}/leads/unsorted/{other}/decline", json=sample("unsorted_decline.json"))
    client.unsorted.decline(other, user_id=3944276)
    mocked.post(f"{V4}/leads/unsorted/{other}/link", json={"uid": other})
    client.unsorted.link(other, lead_id=31402801)
    assert last_json(mocked) == {"link": {"entity_id": 31402801, "entity_type": "leads"}}


def test_contacts_and_companies(client: AmoClient, mocked: responses.RequestsMock) -> None:
    mocked.get(f"{V4}/contacts", json=sample("contacts.json"))
    (contact,) = client.contacts.list(query="Иванов")
    assert contact.field_values("PHONE") == ("+79161234567",)
    assert contact.lead_ids == (31402801,)
    mocked.patch(f"{V4}/contacts/25093331", json={"id": 25093331})
    client.contacts.set_responsible(25093331, 3944277)
    assert last_json(mocked) == {"responsible_user_id": 3944277}
    mocked.get(f"{V4}/companies", json=sample("companies.json"))
    (company,) = client.companies.list()
    assert company.name == "ООО Ромашка"
    assert company.contact_ids == (25093331,)
    assert company.custom_fields == ()
    mocked.patch(f"{V4}/companies/18512205", json={"id": 18512205})
    client.companies.set_responsible(18512205, 3944276)


def test_links(client: AmoClient, mocked: responses.RequestsMock) -> None:
    mocked.post(f"{V4}/leads/31402801/link", json={"_embedded": {"links": []}})
    client.links.link("leads", 31402801, "contacts", [25093331])
    assert last_json(mocked) == [{"to_entity_id": 25093331, "to_entity_type": "contacts"}]
    with pytest.raises(ValueError, match="entity type"):
        client.links.link("deals", 1, "contacts", [1])


def test_tasks_list_create_complete(client: AmoClient, mocked: responses.RequestsMock) -> None:
    mocked.get(f"{V4}/tasks", json=sample("tasks.json"))
    tasks = list(client.tasks.list(entity_type="leads", is_completed=False))
    assert tasks[0].task_type_id == 2843166
    assert tasks[0].result_text is None
    assert tasks[1].result_text == "Дозвонился, встреча завтра"
    mocked.patch(f"{V4}/tasks/57441101", json={"id": 57441101})
    client.tasks.complete(57441101, result_text="Клиент купил")
    assert last_json(mocked) == {"is_completed": True, "result": {"text": "Клиент купил"}}


def test_events_with_type_and_date_filters(client: AmoClient, mocked: responses.RequestsMock) -> None:
    mocked.get(f"{V4}/events", json=sample("events.json"))
    events = list(client.events.list(types=["lead_status_changed", "outgoing_call"], created_from=1700000000))
    url = mocked.calls[0].request.url
    assert "limit=100" in url
    assert "filter%5Btype%5D=lead_status_changed%2Coutgoing_call" in url
    assert events[0].value_after[0]["lead_status"]["id"] == 59612518
    assert events[1].type == "entity_responsible_changed"


def test_calls_catalogs_notes_webhooks(client: AmoClient, mocked: responses.RequestsMock) -> None:
    mocked.post(f"{V4}/calls", json=sample("calls_created.json"))
    call = client.calls.create({"direction": "outbound", "phone": "+7916", "duration": 1, "source": "x"})
    assert call.entity_id == 25093331
    mocked.get(f"{V4}/catalogs", json=sample("catalogs.json"))
    catalog = client.catalogs.find("kpi отдела продаж")
    assert catalog is not None
    assert catalog.id == 10155
    mocked.get(f"{V4}/catalogs/10155/elements", json=sample("catalog_elements.json"))
    (element,) = client.catalogs.elements(10155)
    assert element.custom_fields[1].values == ("18.5",)
    mocked.post(f"{V4}/catalogs/10155/elements", json=sample("catalog_elements_created.json"))
    result = client.catalogs.create_elements(10155, [{"name": "2026-02 Игорь Лидов"}])
    assert result.ids == [480131]
    mocked.get(f"{V4}/leads/notes", json=sample("notes.json"))
    (note,) = client.notes.list("leads", entity_ids=[31402801])
    assert note.text == "Клиент просит перезвонить после обеда"
    mocked.post(f"{V4}/leads/notes", json={"_embedded": {"notes": [{"id": 1, "request_id": "0"}]}})
    assert client.notes.add("leads", [common_note(31402801, "hi")]).ok
    mocked.get(f"{V4}/webhooks", json=sample("webhooks.json"))
    (hook,) = client.webhooks.list()
    assert "status_lead" in hook.settings
    mocked.post(f"{V4}/webhooks", json=sample("webhook_subscribed.json"))
    assert client.webhooks.subscribe(hook.destination, ["add_lead", "status_lead"]).id == 3472119
    mocked.delete(f"{V4}/webhooks", status=204, body="")
    client.webhooks.unsubscribe(hook.destination)
    assert last_json(mocked) == {"destination": hook.destination}


@pytest.mark.parametrize(
    "name",
    sorted(p.name for p in __import__("tests.api.helpers", fromlist=["SAMPLES"]).SAMPLES.glob("*.json")),
)
def test_every_sample_is_valid_json(name: str) -> None:
    assert sample(name)
