"""``AmoClient.read_cache``: identical GETs inside one block cost one request, until a write."""

from __future__ import annotations

import threading

import pytest
import responses

from amo_bridge.api import AmoClient
from amo_bridge.api.errors import NotFound
from tests.api.helpers import BASE

V4 = f"{BASE}/api/v4"
LEAD = {"id": 7, "name": "Заявка", "responsible_user_id": 1, "pipeline_id": 10, "status_id": 20}


def test_repeated_reads_in_a_block_cost_one_request(
    client: AmoClient, mocked: responses.RequestsMock
) -> None:
    mocked.get(f"{V4}/leads/7", json=LEAD)
    with client.read_cache():
        first = client.leads.get(7, with_=("contacts",))
        second = client.leads.get(7, with_=("contacts",))
        client.leads.get(7, with_=())  # other parameters: another request
    assert first.id == second.id == 7
    assert len(mocked.calls) == 2
    first.raw["name"] = "changed by a caller"  # answers are copies: one caller cannot alter another's
    with client.read_cache():
        client.leads.get(7, with_=("contacts",))
    assert len(mocked.calls) == 3  # a new block reads fresh


def test_a_write_forgets_what_was_read(client: AmoClient, mocked: responses.RequestsMock) -> None:
    mocked.get(f"{V4}/leads/7", json=LEAD)
    mocked.patch(f"{V4}/leads/7", json={"id": 7})
    with client.read_cache():
        client.leads.get(7)
        client.leads.set_responsible(7, 2)
        client.leads.get(7)
    assert [call.request.method for call in mocked.calls] == ["GET", "PATCH", "GET"]


def test_without_a_block_every_read_is_sent(client: AmoClient, mocked: responses.RequestsMock) -> None:
    mocked.get(f"{V4}/leads/7", json=LEAD)
    client.leads.get(7)
    client.leads.get(7)
    assert len(mocked.calls) == 2


def test_a_failed_read_is_not_remembered(client: AmoClient, mocked: responses.RequestsMock) -> None:
    mocked.get(f"{V4}/leads/7", status=404)  # answered first, then the lead
    mocked.get(f"{V4}/leads/7", json=LEAD)
    with client.read_cache():
        with pytest.raises(NotFound):
            client.leads.get(7)
        assert client.leads.get(7).id == 7
    assert len(mocked.calls) == 2


def test_blocks_are_per_thread(client: AmoClient, mocked: responses.RequestsMock) -> None:
    mocked.get(f"{V4}/leads/7", json=LEAD)
    with client.read_cache():
        client.leads.get(7)
        other = threading.Thread(target=lambda: client.leads.get(7))
        other.start()
        other.join()
        client.leads.get(7)
    assert len(mocked.calls) == 2  # this thread's repeat is cached; the other thread read for itself
