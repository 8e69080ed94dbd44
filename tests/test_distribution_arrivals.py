from __future__ import annotations

from amo_bridge.distribution.arrivals import arrival_from_lead, arrival_from_unsorted
from amo_bridge.distribution.model import Condition, Trigger


def test_unsorted_entry_becomes_an_arrival() -> None:
    entry = {
        "uid": "a1b2c3",
        "source_uid": "form-7",
        "source_name": "Website form",
        "category": "forms",
        "pipeline_id": 7001,
        "created_at": 1767225600,
        "_embedded": {
            "leads": [
                {
                    "id": 31337,
                    "status_id": 555,
                    "custom_fields_values": [
                        {"field_id": 42, "values": [{"value": "Moscow"}]},
                        {"field_id": 43, "values": ["scalar"]},
                    ],
                    "_embedded": {"tags": [{"id": 1, "name": "VIP"}]},
                }
            ],
            "contacts": [{"id": 9001}],
            "companies": [{"id": 77}],
        },
    }
    arrival = arrival_from_unsorted(entry)
    assert arrival.entity_type == "unsorted"
    assert arrival.entity_id == "a1b2c3"
    assert arrival.lead_id == 31337
    assert arrival.target_lead_id == 31337
    assert (arrival.contact_ids, arrival.company_id) == ((9001,), 77)
    assert arrival.fields == {42: ("Moscow",), 43: ("scalar",)}
    assert Trigger("unsorted", 7001).matches(arrival)
    assert Condition("source", "website form").holds(arrival)
    assert Condition("category", "forms").holds(arrival)
    assert Condition("tag", "vip").holds(arrival)
    assert Condition("field", "Moscow", 42).holds(arrival)


def test_lead_becomes_an_arrival_and_matches_stage_triggers() -> None:
    lead = {
        "id": 5,
        "pipeline_id": 7002,
        "status_id": 41002,
        "_embedded": {"contacts": [{"id": 1}, {"id": 2}]},
    }
    arrival = arrival_from_lead(lead)
    assert arrival.target_lead_id == 5
    assert arrival.contact_ids == (1, 2)
    assert Trigger("status", 7002, 41002).matches(arrival)
    assert not Trigger("status", 7002, 41003).matches(arrival)
    assert Trigger("pipeline", 7002).matches(arrival)
    assert not Trigger("pipeline", 7002).matches(arrival_from_lead({**lead, "status_id": 142}))
    assert not Trigger("unsorted", 7002).matches(arrival)
