"""The sandbox's API v4 behaves as amoCRM's: HAL shapes, paging, 204, filters, validation errors."""

from __future__ import annotations

import pytest

from amo_bridge.sandbox import seed as S
from tests.sandbox_support import Api, make


@pytest.fixture
def env() -> tuple[Api, object]:
    app, sandbox, clock = make()
    return Api(app.test_client(), clock), sandbox


def test_empty_list_is_204_with_empty_body(env: tuple[Api, object]) -> None:
    api, _ = env
    response = api.get("/api/v4/leads?filter[id][]=1")
    assert response.status_code == 204
    assert response.data == b""
    assert api.get("/api/v4/tasks").status_code == 204  # no tasks in a fresh account


def test_hal_paging_follows_next_until_absent(env: tuple[Api, object]) -> None:
    api, sandbox = env
    live = sum(1 for lead in sandbox.state.leads.values() if not lead["is_deleted"])  # type: ignore[attr-defined]
    seen: list[int] = []
    url: str | None = "/api/v4/leads?limit=50"
    pages = 0
    while url and pages < 20:
        response = api.get(url.replace("http://localhost", ""))
        assert response.status_code == 200
        assert response.content_type == "application/hal+json"
        body = response.get_json()
        assert body["_page"] == pages + 1
        assert body["_links"]["self"]["href"].endswith(f"page={pages + 1}&limit=50")
        seen += [lead["id"] for lead in body["_embedded"]["leads"]]
        url = body["_links"].get("next", {}).get("href")
        pages += 1
    assert len(seen) == live == len(set(seen))
    assert pages == -(-live // 50)
    assert api.get(f"/api/v4/leads?limit=50&page={pages + 1}").status_code == 204


def test_limit_is_capped_at_250_and_events_at_100() -> None:
    app, _, clock = make(contacts=300)
    api = Api(app.test_client(), clock)
    body = api.get("/api/v4/contacts?limit=1000").get_json()
    assert len(body["_embedded"]["contacts"]) == 250
    assert "limit=250" in body["_links"]["self"]["href"]
    assert "next" in body["_links"]
    events = api.get("/api/v4/events?limit=500").get_json()
    assert len(events["_embedded"]["events"]) == 100
    assert "next" in events["_links"]


def test_batch_of_251_is_422_limit_of_250(env: tuple[Api, object]) -> None:
    api, sandbox = env
    ids = list(sandbox.state.leads)[:1]  # type: ignore[attr-defined]
    response = api.patch("/api/v4/leads", json=[{"id": ids[0], "price": 1}] * 251)
    assert response.status_code == 422
    assert response.get_json()["detail"] == "Limit of 250 per page"
    assert api.post("/api/v4/leads", json=[{"name": "x"}] * 251).status_code == 422
    complex_response = api.post("/api/v4/leads/complex", json=[{"name": "x"}] * 51)
    assert complex_response.status_code == 422
    assert "Limit of 50" in complex_response.get_json()["detail"]
    assert api.patch("/api/v4/leads", json=[{"id": ids[0], "price": 1}] * 250).status_code == 200


def test_pipelines_have_142_143_and_an_unsorted_stage(env: tuple[Api, object]) -> None:
    api, _ = env
    pipelines = api.get("/api/v4/leads/pipelines").get_json()["_embedded"]["pipelines"]
    assert {p["name"] for p in pipelines} == {"Биржа лидов", "Основная воронка", "Прогрев", "Сопровождение"}
    for pipeline in pipelines:
        ids = {s["id"] for s in pipeline["_embedded"]["statuses"]}
        assert {142, 143} <= ids
    exchange = next(p for p in pipelines if p["id"] == S.PIPELINE_LEAD_EXCHANGE)
    types = {s["name"]: s["type"] for s in exchange["_embedded"]["statuses"]}
    assert types["Неразобранное"] == 1
    assert {"Квалифицирован", "Прогрев", "Не целевой"} <= set(types)


def test_validation_errors_are_400_with_amocrm_body(env: tuple[Api, object]) -> None:
    api, sandbox = env
    lead_id = next(iter(sandbox.state.leads))  # type: ignore[attr-defined]
    response = api.patch(
        "/api/v4/leads",
        json=[
            {"id": lead_id, "status_id": 999},
            {
                "id": lead_id,
                "custom_fields_values": [
                    {"field_id": S.CF_LEAD_SOURCE, "values": [{"value": "Голубиная почта"}]}
                ],
            },
        ],
    )
    assert response.status_code == 400
    body = response.get_json()
    assert body["title"] == "Bad Request"
    assert body["status"] == 400
    errors = {item["request_id"]: item["errors"] for item in body["validation-errors"]}
    assert errors["0"][0]["path"] == "status_id"
    assert errors["0"][0]["code"] == "NotSupportedChoice"
    assert errors["1"][0]["path"].startswith("custom_fields_values.0.values.0")
    assert api.patch("/api/v4/leads", json="not a list").status_code == 400


def test_won_needs_the_right_pipeline(env: tuple[Api, object]) -> None:
    api, sandbox = env
    lead = next(x for x in sandbox.state.leads.values() if x["pipeline_id"] == S.PIPELINE_WARM_UP)  # type: ignore[attr-defined]
    ok = api.patch(
        "/api/v4/leads",
        json=[{"id": lead["id"], "status_id": 142, "pipeline_id": S.PIPELINE_MAIN, "price": 500}],
    )
    assert ok.status_code == 200
    assert lead["status_id"] == 142
    assert lead["pipeline_id"] == S.PIPELINE_MAIN
    assert lead["closed_at"] is not None
    other = next(x for x in sandbox.state.leads.values() if x["pipeline_id"] == S.PIPELINE_WARM_UP)  # type: ignore[attr-defined]
    refused = api.patch("/api/v4/leads", json=[{"id": other["id"], "status_id": S.ST_MAIN_NEGOTIATION}])
    assert refused.status_code == 400  # a main-pipeline stage without pipeline_id


def test_lead_filters_and_with_contacts(env: tuple[Api, object]) -> None:
    api, sandbox = env
    leads = sandbox.state.leads  # type: ignore[attr-defined]
    body = api.get(
        f"/api/v4/leads?filter[statuses][0][pipeline_id]={S.PIPELINE_RETENTION}&filter[statuses][0][status_id]={S.ST_RT_ACTIVE}"
        f"&filter[statuses][1][pipeline_id]={S.PIPELINE_WARM_UP}&filter[statuses][1][status_id]={S.ST_WU_NEW}&limit=250&with=contacts"
    ).get_json()
    got = body["_embedded"]["leads"]
    expected = {
        x["id"]
        for x in leads.values()
        if (x["pipeline_id"], x["status_id"])
        in {(S.PIPELINE_RETENTION, S.ST_RT_ACTIVE), (S.PIPELINE_WARM_UP, S.ST_WU_NEW)}
    }
    assert {x["id"] for x in got} == expected
    assert all(x["_embedded"]["contacts"] and x["_embedded"]["contacts"][0]["is_main"] for x in got)
    without = api.get(f"/api/v4/leads?filter[id][]={got[0]['id']}").get_json()["_embedded"]["leads"][0]
    assert "contacts" not in without["_embedded"]

    user = next(iter({x["responsible_user_id"] for x in leads.values()}))
    by_user = api.get(f"/api/v4/leads?filter[responsible_user_id][]={user}&limit=250").get_json()[
        "_embedded"
    ]["leads"]
    assert {x["id"] for x in by_user} == {x["id"] for x in leads.values() if x["responsible_user_id"] == user}

    some = sorted(leads.values(), key=lambda x: x["updated_at"])
    low, high = some[10]["updated_at"], some[40]["updated_at"]
    ranged = api.get(
        f"/api/v4/leads?filter[updated_at][from]={low}&filter[updated_at][to]={high}&limit=250"
    ).get_json()
    assert {x["id"] for x in ranged["_embedded"]["leads"]} == {
        x["id"] for x in leads.values() if low <= x["updated_at"] <= high
    }

    two = [some[0]["id"], some[1]["id"]]
    by_id = api.get(f"/api/v4/leads?filter[id][]={two[0]}&filter[id][]={two[1]}").get_json()["_embedded"][
        "leads"
    ]
    assert sorted(x["id"] for x in by_id) == sorted(two)


def test_seeded_account_is_realistic_and_deterministic() -> None:
    _, first, _ = make(seed=5)
    _, again, _ = make(seed=5)
    _, other, _ = make(seed=6)
    names = lambda s: [c["name"] for c in s.state.contacts.values()]  # noqa: E731
    assert names(first) == names(again)
    assert names(first) != names(other)
    users = first.state.users.values()
    groups = {u["rights"]["group_id"] for u in users}
    assert {S.GROUP_LEAD_MANAGERS, S.GROUP_CLOSERS, S.GROUP_ACCOUNT_MANAGERS} <= groups
    assert any(not u["rights"]["is_active"] for u in users)
    phones = [
        v["values"][0]["value"]
        for c in first.state.contacts.values()
        for v in c["custom_fields_values"]
        if v["field_code"] == "PHONE"
    ]
    digits = [("".join(ch for ch in p if ch.isdigit()))[-10:] for p in phones]
    assert len(set(digits)) < len(digits)  # duplicates by phone exist
    assert len({p[:2] for p in phones}) >= 3  # varied formats
    assert {f["name"] for f in first.state.custom_fields["leads"]} >= {
        "Источник",
        "Пропущенные занятия",
        "Дата последней покупки",
    }
    assert any(f["type"] == "birthday" for f in first.state.custom_fields["contacts"])


def test_account_users_custom_fields_and_task_types(env: tuple[Api, object]) -> None:
    api, _ = env
    account = api.get("/api/v4/account?with=task_types,users_groups").get_json()
    assert {t["id"] for t in account["_embedded"]["task_types"]} >= {1, 2, S.TASK_REPEAT_PURCHASE}
    assert len(account["_embedded"]["users_groups"]) == 4
    users = api.get("/api/v4/users?with=group").get_json()["_embedded"]["users"]
    assert all("is_active" in u["rights"] for u in users)
    fields = api.get("/api/v4/contacts/custom_fields").get_json()["_embedded"]["custom_fields"]
    assert any(f["code"] == "PHONE" for f in fields)


def test_unsorted_accept_decline_link(env: tuple[Api, object]) -> None:
    api, sandbox = env
    state = sandbox.state  # type: ignore[attr-defined]
    made = api.post(
        "/api/v4/leads/unsorted/forms",
        json=[
            {
                "source_uid": f"form-{i}",
                "source_name": "Сайт",
                "pipeline_id": S.PIPELINE_LEAD_EXCHANGE,
                "_embedded": {"leads": [{"name": f"Заявка {i}"}], "contacts": [{"name": f"Клиент {i}"}]},
            }
            for i in range(3)
        ],
    )
    assert made.status_code == 200
    uids = [u["uid"] for u in made.get_json()["_embedded"]["unsorted"]]
    listed = api.get(f"/api/v4/leads/unsorted?filter[pipeline_id]={S.PIPELINE_LEAD_EXCHANGE}").get_json()
    assert {u["uid"] for u in listed["_embedded"]["unsorted"]} == set(uids)
    lead_ids = [state.unsorted[u]["lead_id"] for u in uids]
    assert all(state.leads[i]["status_id"] == S.ST_LX_UNSORTED for i in lead_ids)

    user = S.users_of(state, S.GROUP_LEAD_MANAGERS)[0]
    accepted = api.post(
        f"/api/v4/leads/unsorted/{uids[0]}/accept", json={"user_id": user, "status_id": S.ST_LX_IN_WORK}
    )
    assert accepted.status_code == 200
    assert accepted.get_json()["_embedded"]["leads"][0]["id"] == lead_ids[0]
    assert state.leads[lead_ids[0]]["status_id"] == S.ST_LX_IN_WORK
    assert state.leads[lead_ids[0]]["responsible_user_id"] == user
    assert api.post(f"/api/v4/leads/unsorted/{uids[0]}/accept", json={"user_id": user}).status_code == 404

    assert api.post(f"/api/v4/leads/unsorted/{uids[1]}/decline", json={}).status_code == 200
    assert state.leads[lead_ids[1]]["is_deleted"]

    linked = api.post(
        f"/api/v4/leads/unsorted/{uids[2]}/link",
        json={"link": {"entity_id": lead_ids[0], "entity_type": "leads"}},
    )
    assert linked.status_code == 200
    assert state.leads[lead_ids[2]]["is_deleted"]
    assert len(state.leads[lead_ids[0]]["contacts"]) == 2
    assert api.get("/api/v4/leads/unsorted").status_code == 204
    # A lead in the unsorted stage cannot be moved by PATCH.
    more = api.post("/api/v4/leads/unsorted/sip", json=[{"source_uid": "c", "source_name": "АТС"}]).get_json()
    stuck = state.unsorted[more["_embedded"]["unsorted"][0]["uid"]]["lead_id"]
    assert api.patch("/api/v4/leads", json=[{"id": stuck, "status_id": S.ST_LX_IN_WORK}]).status_code == 400


def test_tasks_notes_links_calls_and_events(env: tuple[Api, object]) -> None:
    api, sandbox = env
    state = sandbox.state  # type: ignore[attr-defined]
    lead_id = next(i for i, x in state.leads.items() if x["contacts"])
    since = state.now()
    missing = api.post("/api/v4/tasks", json=[{"entity_id": lead_id, "entity_type": "leads"}])
    assert missing.status_code == 400
    assert {e["path"] for e in missing.get_json()["validation-errors"][0]["errors"]} == {
        "text",
        "complete_till",
    }
    made = api.post(
        "/api/v4/tasks",
        json=[
            {
                "text": "Позвонить",
                "complete_till": state.now() + 3600,
                "entity_id": lead_id,
                "entity_type": "leads",
                "task_type_id": 1,
            }
        ],
    )
    task_id = made.get_json()["_embedded"]["tasks"][0]["id"]
    assert state.leads[lead_id]["closest_task_at"] == state.now() + 3600
    done = api.patch("/api/v4/tasks", json=[{"id": task_id, "is_completed": True, "result": {"text": "ok"}}])
    assert done.status_code == 200
    assert api.get("/api/v4/tasks?filter[is_completed]=0").status_code == 204

    note = api.post(
        f"/api/v4/leads/{lead_id}/notes", json=[{"note_type": "common", "params": {"text": "Привет"}}]
    )
    assert note.status_code == 200
    assert (
        api.get(f"/api/v4/leads/{lead_id}/notes").get_json()["_embedded"]["notes"][-1]["params"]["text"]
        == "Привет"
    )

    contact = state.contacts[state.leads[lead_id]["contacts"][0]["id"]]
    phone = next(
        v["values"][0]["value"] for v in contact["custom_fields_values"] if v["field_code"] == "PHONE"
    )
    digits = "".join(ch for ch in phone if ch.isdigit())[-10:]
    calls = api.post(
        "/api/v4/calls",
        json=[
            {
                "direction": "outbound",
                "phone": f"8{digits}",
                "duration": 60,
                "source": "pbx",
                "uniq": "u1",
                "call_status": 4,
                "responsible_user_id": S.STAFF[1][0],
            },
            {"direction": "inbound", "phone": "+70000000000", "duration": 5, "source": "pbx"},
        ],
    )
    body = calls.get_json()
    assert body["_embedded"]["calls"][0]["entity_id"] == contact["id"]
    assert len(body["errors"]) == 1

    events = api.get(
        f"/api/v4/events?filter[type]=outgoing_call,task_completed&filter[created_at][from]={since}"
    ).get_json()
    kinds = sorted(e["type"] for e in events["_embedded"]["events"])
    assert kinds == ["outgoing_call", "task_completed"]

    company = next(iter(state.companies))
    linked = api.post(
        f"/api/v4/leads/{lead_id}/link", json=[{"to_entity_id": company, "to_entity_type": "companies"}]
    )
    assert linked.status_code == 200
    links = api.get(f"/api/v4/leads/{lead_id}/links").get_json()["_embedded"]["links"]
    assert {"to_entity_id": company, "to_entity_type": "companies"}.items() <= next(
        link for link in links if link["to_entity_type"] == "companies"
    ).items()


def test_contacts_search_by_phone_in_any_format(env: tuple[Api, object]) -> None:
    api, sandbox = env
    contact = next(iter(sandbox.state.contacts.values()))  # type: ignore[attr-defined]
    phone = next(
        v["values"][0]["value"] for v in contact["custom_fields_values"] if v["field_code"] == "PHONE"
    )
    digits = "".join(ch for ch in phone if ch.isdigit())[-10:]
    found = api.get(f"/api/v4/contacts?query=8{digits}").get_json()["_embedded"]["contacts"]
    assert contact["id"] in {c["id"] for c in found}


def test_catalogs_and_elements(env: tuple[Api, object]) -> None:
    api, _ = env
    catalog = api.post("/api/v4/catalogs", json=[{"name": "KPI"}]).get_json()["_embedded"]["catalogs"][0]
    field = api.post(
        f"/api/v4/catalogs/{catalog['id']}/custom_fields", json=[{"name": "Звонки", "type": "numeric"}]
    )
    field_id = field.get_json()["_embedded"]["custom_fields"][0]["id"]
    element = api.post(
        f"/api/v4/catalogs/{catalog['id']}/elements",
        json=[
            {
                "name": "2026-01-01",
                "custom_fields_values": [{"field_id": field_id, "values": [{"value": 12}]}],
            }
        ],
    )
    assert element.status_code == 200
    bad = api.post(
        f"/api/v4/catalogs/{catalog['id']}/elements",
        json=[{"name": "x", "custom_fields_values": [{"field_id": field_id, "values": [{"value": "many"}]}]}],
    )
    assert bad.status_code == 400
    listed = api.get(f"/api/v4/catalogs/{catalog['id']}/elements").get_json()["_embedded"]["elements"]
    assert listed[0]["custom_fields_values"][0]["values"][0]["value"] == "12"
