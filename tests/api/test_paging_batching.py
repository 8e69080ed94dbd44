"""Lazy paging (``_links.next``, 204 = empty) and chunked batches with per-item results."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
import responses

from amo_bridge.api import AmoClient, PaymentRequired, ValidationError
from amo_bridge.api.batching import MAX_CHUNK
from tests.api.helpers import BASE, sample

LEADS = f"{BASE}/api/v4/leads"


def test_paging_follows_next_lazily(client: AmoClient, mocked: responses.RequestsMock) -> None:
    mocked.get(
        LEADS, json=sample("leads_page1.json"), match=[responses.matchers.query_param_matcher({"limit": "2"})]
    )
    mocked.get(
        LEADS,
        json=sample("leads_page2.json"),
        match=[responses.matchers.query_param_matcher({"limit": "2", "page": "2"})],
    )
    leads = client.leads.list(limit=2)
    first = next(leads)
    assert first.id == 31402801
    assert len(mocked.calls) == 1  # the second page is not fetched before it is needed
    rest = list(leads)
    assert [lead.id for lead in rest] == [31402803, 31402805]
    assert len(mocked.calls) == 2
    assert rest[-1].is_won


def test_204_is_an_empty_list(client: AmoClient, mocked: responses.RequestsMock) -> None:
    mocked.get(LEADS, status=204, body="")
    assert list(client.leads.list()) == []


def test_204_on_a_later_page_ends_the_list(client: AmoClient, mocked: responses.RequestsMock) -> None:
    mocked.get(
        LEADS,
        json=sample("leads_page1.json"),
        match=[responses.matchers.query_param_matcher({"limit": "250"})],
    )
    mocked.get(
        LEADS,
        status=204,
        body="",
        match=[responses.matchers.query_param_matcher({"limit": "2", "page": "2"})],
    )
    assert len(list(client.leads.list())) == 2


def test_limit_is_clamped_and_filters_are_encoded(client: AmoClient, mocked: responses.RequestsMock) -> None:
    mocked.get(LEADS, status=204, body="")
    list(
        client.leads.list(
            statuses=[(7164310, 59612510)],
            updated_from=1700000000,
            updated_to=1700086400,
            responsible_user_ids=[1, 2],
            with_=["contacts"],
            limit=1000,
        )
    )
    query = requests.utils.unquote(mocked.calls[0].request.url.split("?", 1)[1])
    assert "limit=250" in query
    assert "filter[statuses][0][pipeline_id]=7164310" in query
    assert "filter[statuses][0][status_id]=59612510" in query
    assert "filter[updated_at][from]=1700000000" in query
    assert "filter[updated_at][to]=1700086400" in query
    assert "filter[responsible_user_id][]=1&filter[responsible_user_id][]=2" in query
    assert "with=contacts" in query


def _echo_created(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
    items = json.loads(request.body or b"[]")
    created = [{"id": 1000 + int(item["request_id"]), "request_id": item["request_id"]} for item in items]
    return 200, {}, json.dumps({"_embedded": {"leads": created}})


def test_batches_are_chunked_and_mapped_back(client: AmoClient, mocked: responses.RequestsMock) -> None:
    mocked.add_callback(responses.POST, LEADS, callback=_echo_created)
    items = [{"name": f"lead {i}"} for i in range(120)]
    result = client.leads.create_many(items)
    sizes = [len(json.loads(c.request.body or b"[]")) for c in mocked.calls]
    assert sizes == [50, 50, 20]
    assert result.ok
    assert result.ids == [1000 + i for i in range(120)]
    assert [r.input["name"] for r in result.items] == [f"lead {i}" for i in range(120)]


def test_chunk_size_never_exceeds_250(client: AmoClient, mocked: responses.RequestsMock) -> None:
    mocked.add_callback(responses.POST, LEADS, callback=_echo_created)
    client.leads.create_many([{"name": str(i)} for i in range(300)], chunk_size=1000)
    sizes = [len(json.loads(c.request.body or b"[]")) for c in mocked.calls]
    assert sizes == [MAX_CHUNK, 50]


def test_validation_failure_is_reported_per_item(client: AmoClient, mocked: responses.RequestsMock) -> None:
    bodies: list[Any] = []

    def second_chunk_invalid(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        items = json.loads(request.body or b"[]")
        bodies.append(items)
        if len(bodies) == 2:
            error = sample("error_400_validation.json")
            error["validation-errors"][0]["request_id"] = items[1]["request_id"]
            return 400, {}, json.dumps(error)
        return _echo_created(request)

    mocked.add_callback(responses.PATCH, LEADS, callback=second_chunk_invalid)
    result = client.leads.update_many([{"id": i, "price": 1} for i in range(4)], chunk_size=2)
    assert [item.ok for item in result.items] == [True, True, False, False]
    untouched, bad = result.items[2], result.items[3]
    assert isinstance(bad.error, ValidationError)
    assert bad.error.errors[0].path == "custom_fields_values.0.values.0.enum_id"
    assert untouched.error is not None
    assert not isinstance(untouched.error, ValidationError)
    assert "not applied" in str(untouched.error)
    assert len(result.failed) == 2


def test_fatal_errors_stop_the_batch(client: AmoClient, mocked: responses.RequestsMock) -> None:
    mocked.post(LEADS, json=sample("error_402.json"), status=402)
    with pytest.raises(PaymentRequired):
        client.leads.create_many([{"name": str(i)} for i in range(120)])
    assert len(mocked.calls) == 1
