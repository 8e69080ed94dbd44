"""Creating calls retried only when made idempotent: key before the call, lookup before re-creating."""

from __future__ import annotations

import pytest
import requests
import responses

from amo_bridge.api import AmoClient, ServerError
from amo_bridge.api.idempotency import DONE, CreateOutcomeUnknown
from amo_bridge.api.resources.calls import new_call
from amo_bridge.api.resources.tasks import new_task
from tests.api.helpers import BASE, sample

TASKS = f"{BASE}/api/v4/tasks"
CALLS = f"{BASE}/api/v4/calls"
TASK = new_task(
    text="Предложить повторную покупку",
    complete_till=1702592000,
    entity_id=31402805,
    entity_type="leads",
    responsible_user_id=3944277,
    task_type_id=2843166,
)


def posts(mocked: responses.RequestsMock, url: str) -> int:
    return sum(1 for c in mocked.calls if c.request.method == "POST" and c.request.url == url)


def test_timed_out_create_is_found_by_lookup_not_created_twice(
    client: AmoClient, mocked: responses.RequestsMock
) -> None:
    mocked.post(TASKS, body=requests.exceptions.ReadTimeout("slow"))  # amoCRM created it, we never knew
    mocked.get(TASKS, json=sample("tasks.json"))
    task_id = client.tasks.create(TASK, idempotency_key="retention:31402805:2026-01")
    assert task_id == 57441101
    assert posts(mocked, TASKS) == 1
    record = client.idempotency.get("retention:31402805:2026-01")
    assert record is not None
    assert record.state == DONE
    assert record.entity_id == 57441101


def test_create_retried_after_lookup_finds_nothing(client: AmoClient, mocked: responses.RequestsMock) -> None:
    mocked.post(TASKS, json=sample("error_500.json"), status=500)
    mocked.post(TASKS, json=sample("tasks_created.json"))
    mocked.get(TASKS, status=204, body="")
    assert client.tasks.create(TASK, idempotency_key="k-1") == 57441201
    assert posts(mocked, TASKS) == 2
    assert sum(1 for c in mocked.calls if c.request.method == "GET") == 1


def test_done_key_returns_without_calling(client: AmoClient, mocked: responses.RequestsMock) -> None:
    mocked.post(TASKS, json=sample("tasks_created.json"))
    first = client.tasks.create(TASK, idempotency_key="k-2")
    again = client.tasks.create(TASK, idempotency_key="k-2")
    assert first == again == 57441201
    assert len(mocked.calls) == 1


def test_pending_key_from_an_earlier_run_looks_up_first(
    client: AmoClient, mocked: responses.RequestsMock
) -> None:
    client.idempotency.begin("k-3", "tasks.create")  # a process died after writing the key
    mocked.get(TASKS, json=sample("tasks.json"))
    assert client.tasks.create(TASK, idempotency_key="k-3") == 57441101
    assert posts(mocked, TASKS) == 0


def test_create_without_lookup_is_at_most_once(client: AmoClient, mocked: responses.RequestsMock) -> None:
    call = new_call(direction="outbound", phone="+79161234567", duration=63, source="sipuni", uniq="c-1")
    mocked.post(CALLS, json=sample("error_500.json"), status=500)
    with pytest.raises(ServerError):  # not retried: no way to tell whether amoCRM logged the call
        client.calls.create(call, idempotency_key="call:c-1")
    assert posts(mocked, CALLS) == 1
    with pytest.raises(CreateOutcomeUnknown):
        client.calls.create(call, idempotency_key="call:c-1")  # a later run refuses too
    assert posts(mocked, CALLS) == 1


def test_create_without_lookup_retries_when_surely_not_sent(
    client: AmoClient, mocked: responses.RequestsMock
) -> None:
    call = new_call(direction="inbound", phone="+79161234567", duration=5, source="sipuni")
    mocked.post(CALLS, body=requests.exceptions.ConnectTimeout("no route"))
    mocked.post(CALLS, json=sample("error_429.json"), status=429)
    mocked.post(CALLS, json=sample("calls_created.json"))
    created = client.calls.create(call, idempotency_key="call:c-2")
    assert created.id == 119300101
    assert posts(mocked, CALLS) == 3


def test_unguarded_create_is_not_retried(client: AmoClient, mocked: responses.RequestsMock) -> None:
    mocked.post(TASKS, json=sample("error_500.json"), status=500)
    with pytest.raises(ServerError):
        client.tasks.create(TASK)
    assert posts(mocked, TASKS) == 1


def test_purge_forgets_old_done_keys_only(client: AmoClient, mocked: responses.RequestsMock) -> None:
    mocked.post(TASKS, json=sample("tasks_created.json"))
    client.tasks.create(TASK, idempotency_key="old-done")
    client.idempotency.begin("old-pending", "tasks.create")
    now = client.clock.now()
    assert client.idempotency.purge(now - 1) == 0
    assert client.idempotency.purge(now + 1) == 1
    assert client.idempotency.get("old-done") is None
    assert client.idempotency.get("old-pending") is not None
