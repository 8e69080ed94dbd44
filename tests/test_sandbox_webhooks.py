"""Webhooks out of the sandbox: amoCRM's form format, headers, retries, disabling, duplicates, order."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from amo_bridge.clock import FakeClock
from amo_bridge.sandbox import SandboxServer
from amo_bridge.sandbox import seed as S
from amo_bridge.sandbox.hooks.delivery import RETRY_SCHEDULE
from tests.sandbox_support import Api, make, php_decode

RECEIVER = "https://receiver.example/webhooks/amocrm/secret"
ALL = [
    "add_lead",
    "update_lead",
    "status_lead",
    "responsible_lead",
    "note_lead",
    "add_unsorted",
    "delete_unsorted",
    "add_task",
    "update_task",
    "update_contact",
    "update_company",
    "add_contact",
]


class Capture:
    """A transport that records deliveries and answers with a chosen status (or raises)."""

    def __init__(self, status: int | None = 200) -> None:
        self.status = status
        self.sent: list[tuple[str, str, dict[str, str]]] = []

    def __call__(self, url: str, body: str, headers: dict[str, str], timeout: float) -> int:
        assert timeout == 2.0
        self.sent.append((url, body, headers))
        if self.status is None:
            raise TimeoutError("read timed out")
        return self.status

    def decoded(self) -> list[dict[str, Any]]:
        return [php_decode(body) for _, body, _ in self.sent]


def setup(
    settings: list[str] = ALL, status: int | None = 200, **options: Any
) -> tuple[Api, Any, FakeClock, Capture]:
    capture = Capture(status)
    app, sandbox, clock = make(transport=capture, **options)
    api = Api(app.test_client(), clock)
    response = api.post("/api/v4/webhooks", json={"destination": RECEIVER, "settings": settings})
    assert response.status_code == 201
    assert response.get_json()["settings"] == settings
    return api, sandbox, clock, capture


def test_status_change_arrives_in_v2_form_format() -> None:
    api, sandbox, _, capture = setup(["status_lead"])
    lead = next(x for x in sandbox.state.leads.values() if x["pipeline_id"] == S.PIPELINE_RETENTION)
    old_status = lead["status_id"]
    assert (
        api.patch("/api/v4/leads", json=[{"id": lead["id"], "status_id": S.ST_RT_SLEEPING}]).status_code
        == 200
    )
    assert sandbox.dispatcher.run_due() == 1
    url, body, headers = capture.sent[0]
    assert url == RECEIVER
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert headers["User-Agent"] == "amoCRM-Webhooks/3.0"
    assert headers["X-Amocrm-Requestid"]
    assert "leads%5Bstatus%5D%5B0%5D%5Bold_status_id%5D" in body  # PHP bracket keys, url-encoded
    data = php_decode(body)
    item = data["leads"]["status"]["0"]
    assert item["id"] == str(lead["id"])
    assert item["status_id"] == str(S.ST_RT_SLEEPING)
    assert item["old_status_id"] == str(old_status)
    assert item["pipeline_id"] == str(S.PIPELINE_RETENTION)
    assert item["responsible_user_id"] == str(lead["responsible_user_id"])
    assert item["last_modified"] == str(lead["updated_at"])
    fields = {f["id"]: f for f in item["custom_fields"].values()}
    source = fields[str(S.CF_LEAD_SOURCE)]
    assert source["values"]["0"]["enum"]
    assert source["values"]["0"]["value"] in S.LEAD_SOURCES
    assert fields[str(S.CF_LAST_PURCHASE)]["values"]["0"].isdigit()  # a date: a scalar at values[0]
    assert data["account"] == {
        "subdomain": "sandbox",
        "id": "31415926",
        "_links": {"self": "https://sandbox.amocrm.ru"},
    }


def test_unsorted_add_and_accept_carry_action_and_result() -> None:
    api, sandbox, _, capture = setup(["add_unsorted", "delete_unsorted", "responsible_lead"])
    made = api.post(
        "/api/v4/leads/unsorted/forms",
        json=[
            {
                "source_uid": "f1",
                "source_name": "Сайт",
                "pipeline_id": S.PIPELINE_LEAD_EXCHANGE,
                "_embedded": {"contacts": [{"name": "Ира"}]},
            }
        ],
    ).get_json()
    uid = made["_embedded"]["unsorted"][0]["uid"]
    user = S.users_of(sandbox.state, S.GROUP_LEAD_MANAGERS)[0]
    api.post(f"/api/v4/leads/unsorted/{uid}/accept", json={"user_id": user, "status_id": S.ST_LX_IN_WORK})
    sandbox.dispatcher.run_due()
    bodies = capture.decoded()
    added = next(b for b in bodies if "add" in b.get("unsorted", {}))["unsorted"]["add"]["0"]
    assert added["uid"] == uid
    assert added["category"] == "forms"
    assert added["pipeline_id"] == str(S.PIPELINE_LEAD_EXCHANGE)
    assert added["data"]["contacts"]["0"]["name"] == "Ира"
    deleted = next(b for b in bodies if "delete" in b.get("unsorted", {}))["unsorted"]["delete"]["0"]
    assert deleted["action"] == "accept"
    lead_id = sandbox.state.unsorted_done[uid]["lead_id"]
    assert deleted["accept_result"]["leads"]["0"] == str(lead_id)
    responsible = next(b for b in bodies if "leads" in b)["leads"]["responsible"]["0"]
    assert responsible["responsible_user_id"] == str(user)
    assert responsible["old_responsible_user_id"] == str(S.ADMIN_USER_ID)


def test_task_note_and_company_sections() -> None:
    api, sandbox, _, capture = setup(["add_task", "note_lead", "update_company", "update_contact"])
    lead_id = next(iter(sandbox.state.leads))
    api.post(
        "/api/v4/tasks",
        json=[
            {
                "text": "Позвонить",
                "complete_till": 1_900_000_000,
                "entity_id": lead_id,
                "entity_type": "leads",
                "task_type_id": 1,
            }
        ],
    )
    api.post(f"/api/v4/leads/{lead_id}/notes", json=[{"note_type": "common", "params": {"text": "заметка"}}])
    company = next(iter(sandbox.state.companies))
    api.patch("/api/v4/companies", json=[{"id": company, "name": "ООО Новое имя"}])
    contact = next(iter(sandbox.state.contacts))
    api.patch("/api/v4/contacts", json=[{"id": contact, "name": "Новое имя"}])
    sandbox.dispatcher.run_due()
    bodies = capture.decoded()
    task = next(b for b in bodies if "task" in b)["task"]["add"]["0"]
    assert (task["element_id"], task["element_type"], task["status"], task["task_type"]) == (
        str(lead_id),
        "2",
        "0",
        "1",
    )
    assert task["complete_till"] == "1900000000"
    note = next(b for b in bodies if "note_lead" in b)["note_lead"]["add"]["0"]
    assert note["element_id"] == str(lead_id)
    assert note["text"] == "заметка"
    updates = [b["contacts"]["update"]["0"] for b in bodies if "contacts" in b]
    assert {(u["id"], u["type"]) for u in updates} == {(str(company), "company"), (str(contact), "contact")}
    phones = [f for u in updates for f in u.get("custom_fields", {}).values() if f.get("code") == "PHONE"]
    assert phones


def test_retries_follow_amocrm_schedule_compressed_then_give_up() -> None:
    scale = 0.001
    api, sandbox, clock, capture = setup(["update_lead"], status=500, webhook_time_scale=scale)
    lead_id = next(iter(sandbox.state.leads))
    api.patch("/api/v4/leads", json=[{"id": lead_id, "price": 10}])
    assert sandbox.dispatcher.run_due() == 1
    for delay in RETRY_SCHEDULE:
        clock.advance(delay * scale * 0.9)
        assert sandbox.dispatcher.run_due() == 0  # not yet due
        clock.advance(delay * scale * 0.11)
        assert sandbox.dispatcher.run_due() == 1
    delivery = sandbox.dispatcher.snapshot()[0]
    assert delivery["attempts"] == 5
    assert delivery["state"] == "failed"
    gaps = [b["at"] - a["at"] for a, b in zip(delivery["history"], delivery["history"][1:], strict=False)]
    assert gaps == pytest.approx([d * scale for d in RETRY_SCHEDULE], rel=0.05)
    assert len(capture.sent) == 5
    assert (
        len({headers["X-Amocrm-Requestid"] for _, _, headers in capture.sent}) == 1
    )  # one delivery, retried


def test_a_timeout_counts_as_failure_and_a_later_success_stops_retries() -> None:
    api, sandbox, clock, capture = setup(["update_lead"], status=None, webhook_time_scale=0.001)
    api.patch("/api/v4/leads", json=[{"id": next(iter(sandbox.state.leads)), "price": 10}])
    sandbox.dispatcher.run_due()
    capture.status = 204
    clock.advance(RETRY_SCHEDULE[0] * 0.001 + 0.01)
    sandbox.dispatcher.run_due()
    delivery = sandbox.dispatcher.snapshot()[0]
    assert delivery["state"] == "delivered"
    assert delivery["history"][0]["error"] == "TimeoutError"


def test_webhook_disabled_after_more_than_100_failures_in_two_hours() -> None:
    api, sandbox, clock, capture = setup(["update_lead"], status=503, webhook_time_scale=0.01)
    leads = list(sandbox.state.leads)[:101]
    for index in range(0, 101, 50):
        api.patch(
            "/api/v4/leads", json=[{"id": lead_id, "price": 5} for lead_id in leads[index : index + 50]]
        )
    sandbox.dispatcher.run_due()
    assert len(capture.sent) == 101
    hooks = api.get("/api/v4/webhooks").get_json()["_embedded"]["webhooks"]
    assert hooks[0]["disabled"] is True
    assert {d["state"] for d in sandbox.dispatcher.snapshot()} == {"dropped"}  # no retries to a disabled hook
    assert sandbox.dispatcher.pending() == 0
    api.patch("/api/v4/leads", json=[{"id": leads[0], "price": 6}])
    clock.advance(100)
    sandbox.dispatcher.run_due()
    assert len(capture.sent) == 101  # nothing goes to a disabled webhook
    # Subscribing again re-enables it.
    api.post("/api/v4/webhooks", json={"destination": RECEIVER, "settings": ["update_lead"]})
    assert api.get("/api/v4/webhooks").get_json()["_embedded"]["webhooks"][0]["disabled"] is False


def test_fewer_failures_do_not_disable() -> None:
    api, sandbox, _, capture = setup(["update_lead"], status=500, webhook_time_scale=0.01)
    api.patch(
        "/api/v4/leads", json=[{"id": lead_id, "price": 5} for lead_id in list(sandbox.state.leads)[:100]]
    )
    sandbox.dispatcher.run_due()
    assert len(capture.sent) == 100
    assert api.get("/api/v4/webhooks").get_json()["_embedded"]["webhooks"][0]["disabled"] is False


def test_duplicates_and_reordering_can_be_injected() -> None:
    api, sandbox, clock, capture = setup(["update_lead"], faults={"webhook_duplicate_rate": "1"})
    lead_id = next(iter(sandbox.state.leads))
    api.patch("/api/v4/leads", json=[{"id": lead_id, "price": 7}])
    clock.advance(2)
    sandbox.dispatcher.run_due()
    assert len(capture.sent) == 2
    assert capture.sent[0][1] == capture.sent[1][1]
    assert capture.sent[0][2]["X-Amocrm-Requestid"] != capture.sent[1][2]["X-Amocrm-Requestid"]

    capture.sent.clear()
    sandbox.set_faults({"webhook_duplicate_rate": 0, "webhook_reorder": True})
    leads = list(sandbox.state.leads)[:30]
    for lead in leads:
        api.patch("/api/v4/leads", json=[{"id": lead, "price": 8}])
    for _ in range(20):
        clock.advance(2)
        sandbox.dispatcher.run_due()
    order = [int(php_decode(body)["leads"]["update"]["0"]["id"]) for _, body, _ in capture.sent]
    assert sorted(order) == sorted(leads)
    assert order != leads


def test_unsubscribe_stops_deliveries() -> None:
    api, sandbox, _, capture = setup(["update_lead"])
    assert api.delete("/api/v4/webhooks", json={"destination": RECEIVER}).status_code == 204
    assert api.get("/api/v4/webhooks").status_code == 204
    api.patch("/api/v4/leads", json=[{"id": next(iter(sandbox.state.leads)), "price": 9}])
    sandbox.dispatcher.run_due()
    assert capture.sent == []
    bad = api.post("/api/v4/webhooks", json={"destination": "nope", "settings": ["fly_to_moon"]})
    assert bad.status_code == 400
    assert {e["path"] for e in bad.get_json()["validation-errors"][0]["errors"]} == {
        "destination",
        "settings",
    }


def test_delivery_thread_posts_to_a_real_receiver() -> None:
    received: list[tuple[dict[str, str], str]] = []
    arrived = threading.Event()

    @Request.application
    def receiver(request: Request) -> Response:
        received.append((dict(request.headers), request.get_data(as_text=True)))
        arrived.set()
        return Response("ok")

    http_server = make_server("127.0.0.1", 0, receiver, threaded=True)
    thread = threading.Thread(target=http_server.serve_forever, daemon=True)
    thread.start()
    try:
        with SandboxServer(seed=4, clock=FakeClock(), contacts=20, companies=5) as server:
            url = f"http://127.0.0.1:{http_server.server_port}/hook"
            server.state.webhooks[1] = {
                "id": 1,
                "destination": url,
                "settings": ["update_lead"],
                "disabled": False,
                "created_at": 0,
                "updated_at": 0,
                "account_id": 1,
                "created_by": 0,
                "sort": 1,
            }
            sandbox_url = server.url
            lead_id = next(iter(server.state.leads))
            server.state.update_lead(lead_id, {"price": 123})
            assert arrived.wait(10)
            deadline = time.monotonic() + 5
            while server.admin.deliveries("delivered") == [] and time.monotonic() < deadline:
                time.sleep(0.01)
        headers, body = received[0]
        assert headers["User-Agent"] == "amoCRM-Webhooks/3.0"
        assert php_decode(body)["leads"]["update"]["0"]["price"] == "123"
        assert php_decode(body)["account"]["_links"]["self"] == sandbox_url
    finally:
        http_server.shutdown()
        http_server.server_close()


def as_php(value: Any) -> Any:
    """What PHP's ``$_POST`` holds for ``value``: lists become index-keyed maps, scalars strings, and
    empty arrays vanish (``http_build_query`` writes nothing for them)."""
    if isinstance(value, list):
        value = dict(enumerate(value))
    if isinstance(value, dict):
        return {
            str(k): as_php(v) for k, v in value.items() if not (isinstance(v, dict | list) and not as_php(v))
        }
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


@pytest.mark.parametrize(
    "settings", [["status_lead"], ["add_unsorted"], ["add_task"], ["update_contact"], ["note_lead"]]
)
def test_every_body_decodes_back_into_the_nested_payload(settings: list[str]) -> None:
    from amo_bridge.sandbox.hooks import payloads

    seen: list[Any] = []
    api, sandbox, _, capture = setup(settings)
    sandbox.state.listeners.append(seen.append)
    state = sandbox.state
    lead = next(x for x in state.leads.values() if x["pipeline_id"] == S.PIPELINE_RETENTION and x["contacts"])
    state.update_lead(lead["id"], {"status_id": S.ST_RT_AT_RISK})
    api.post(
        "/api/v4/leads/unsorted/sip",
        json=[
            {
                "source_uid": "s",
                "source_name": "АТС",
                "metadata": {"from": "+79990001122"},
                "_embedded": {"contacts": [{"name": "Ян"}]},
            }
        ],
    )
    api.post(
        "/api/v4/tasks",
        json=[{"text": "t", "complete_till": 1_900_000_000, "entity_id": lead["id"], "entity_type": "leads"}],
    )
    api.patch("/api/v4/contacts", json=[{"id": lead["contacts"][0]["id"], "name": "Новое"}])
    api.post(f"/api/v4/leads/{lead['id']}/notes", json=[{"note_type": "common", "params": {"text": "n"}}])
    sandbox.dispatcher.run_due()
    assert len(capture.sent) == 1
    change = next(c for c in seen if payloads.setting_for(c) == settings[0])
    expected = as_php(payloads.build(change, state.account, sandbox.base_url))
    assert php_decode(capture.sent[0][1]) == expected


def test_subscriptions_survive_a_reset() -> None:
    api, sandbox, _, _ = setup(["update_lead"])
    before = api.get("/api/v4/webhooks").get_json()["_embedded"]["webhooks"]
    sandbox.reset(2)
    api.post("/api/v4/webhooks", json={"destination": "https://other.example/h", "settings": ["add_lead"]})
    after = api.get("/api/v4/webhooks").get_json()["_embedded"]["webhooks"]
    assert after[0] == before[0]
    assert len({w["id"] for w in after}) == 2
