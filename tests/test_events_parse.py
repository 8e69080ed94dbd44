"""The parser over bodies in amoCRM's wire format (tests/samples/webhooks) and malformed input."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amo_bridge.events import (
    KINDS,
    CompanyEvent,
    ContactEvent,
    LeadEvent,
    MessageEvent,
    ParseError,
    TalkEvent,
    TaskEvent,
    UnknownEvent,
    UnsortedEvent,
    dedupe_key,
    parse_delivery,
)
from amo_bridge.events.model import CatalogEvent

SAMPLES = Path(__file__).parent / "samples" / "webhooks"
HEADERS = {"User-Agent": "amoCRM-Webhooks/3.0", "X-Amocrm-Requestid": "4f1c2a9e-77b1", "Content-Type": "x"}


def parse(name: str):
    return parse_delivery((SAMPLES / f"{name}.form").read_bytes(), HEADERS)


def kinds(name: str) -> list[str]:
    return [event.kind for event in parse(name).events]


def test_every_sample_parses_with_account_and_request_id() -> None:
    files = sorted(SAMPLES.glob("*.form"))
    assert len(files) >= 20
    for path in files:
        delivery = parse_delivery(path.read_bytes(), HEADERS)
        assert delivery.account_id == 29384756, path.name
        assert delivery.subdomain == "romashka"
        assert delivery.request_id == "4f1c2a9e-77b1"
        assert delivery.events, path.name
        for event in delivery.events:
            assert event.kind in KINDS or event.kind.startswith("unknown."), (path.name, event.kind)


@pytest.mark.parametrize(
    ("sample", "expected"),
    [
        ("leads_add", ["lead.added"]),
        ("leads_update_many", ["lead.updated"] * 5),
        ("leads_status", ["lead.status_changed"] * 3),
        ("leads_delete", ["lead.deleted"]),
        ("leads_restore", ["lead.restored"]),
        ("leads_responsible", ["lead.responsible_changed"]),
        ("leads_note", ["lead.note_added"]),
        ("note_lead_add", ["lead.note_added"]),
        ("contacts_add", ["contact.added"]),
        ("contacts_company", ["company.added", "contact.updated", "company.responsible_changed"]),
        ("contacts_delete", ["contact.deleted", "company.deleted"]),
        ("unsorted_add", ["unsorted.added"]),
        ("unsorted_update", ["unsorted.updated"]),
        ("unsorted_delete_accept", ["unsorted.deleted"]),
        ("unsorted_delete_decline", ["unsorted.deleted"]),
        ("task_add", ["task.added"]),
        ("task_update", ["task.updated"]),
        ("task_delete", ["task.deleted"]),
        ("message_add", ["message.added"]),
        ("talk_add_update", ["talk.added", "talk.updated"]),
        ("unknown_section", ["unknown.customers.add", "catalog.added", "unknown.leads.merge"]),
    ],
)
def test_kinds_of_each_section(sample: str, expected: list[str]) -> None:
    assert kinds(sample) == expected


def test_lead_status_change_maps_v2_names() -> None:
    won, lost, moved = parse("leads_status").events
    assert isinstance(won, LeadEvent)
    assert (won.entity_id, won.status_id, won.old_status_id, won.pipeline_id) == (
        31002001,
        142,
        47810003,
        5501001,
    )
    assert won.modified_at == 1767263000
    assert won.created_at == 1767259800
    assert won.responsible_user_id == 8123401
    assert won.price == 15000
    assert won.name == "Сделка #31002001"
    assert isinstance(lost, LeadEvent)
    assert lost.status_id == 143
    assert lost.attribute("loss_reason_id") == "9012"
    assert isinstance(moved, LeadEvent)
    assert (moved.pipeline_id, moved.old_pipeline_id) == (5501002, 5501001)


def test_custom_fields_with_value_and_enum_and_unicode() -> None:
    (lead,) = parse("leads_add").events
    assert isinstance(lead, LeadEvent)
    assert lead.name == "Заявка с сайта: Иванов Пётр"
    source = lead.custom_field(672301)
    assert source is not None
    assert source.name == "Источник"
    assert source.first_value == "Яндекс.Директ"
    kind = lead.custom_field("672305")
    assert kind is not None
    assert kind.values[0].value == "Новый"
    assert kind.values[0].enum == 1192341


def test_contact_fields_codes_multiple_values_and_scalar_value() -> None:
    (contact,) = parse("contacts_add").events
    assert isinstance(contact, ContactEvent)
    assert not isinstance(contact, CompanyEvent)
    phone, email, birthday = contact.custom_fields
    assert phone.code == "PHONE"
    assert [v.value for v in phone.values] == ["+7 (912) 345-67-89", "+79001112233"]
    assert [v.enum for v in phone.values] == [301101, 301103]
    assert email.code == "EMAIL"
    assert email.first_value == "petr@example.ru"
    assert birthday.first_value == "1990-05-17"
    assert birthday.values[0].enum is None
    assert contact.attribute("linked_leads_id") == {"31002001": "31002001"}  # numeric keys, not a list


def test_custom_fields_keyed_by_field_id() -> None:
    (lead,) = parse("custom_fields_keyed_by_id").events
    assert [f.id for f in lead.custom_fields] == [672301, 672309, 672311]
    services = lead.custom_field(672309)
    assert services is not None
    assert [(v.value, v.enum) for v in services.values] == [
        ("Йога", 1192401),
        ("Бассейн", 1192403),
    ]
    visit = lead.custom_field(672311)
    assert visit is not None
    assert visit.first_value == "1767312000"


def test_companies_arrive_under_contacts() -> None:
    company, contact, responsible = parse("contacts_company").events
    assert isinstance(company, CompanyEvent)
    assert company.name == "ООО «Ромашка»"
    assert isinstance(contact, ContactEvent)
    assert contact.company_id == 52009001
    assert isinstance(responsible, CompanyEvent)
    assert (responsible.responsible_user_id, responsible.old_responsible_user_id) == (8123402, 8123401)


def test_notes_point_at_their_lead() -> None:
    (note,) = parse("leads_note").events
    assert isinstance(note, LeadEvent)
    assert (note.entity_id, note.note_id, note.note_type) == (31002001, 74001001, 4)
    assert note.note_text == "Клиент просит перезвонить после 15:00 🙂"
    assert dedupe_key(note) == "leads:31002001/note:74001001:lead.note_added:1767265000"
    (other,) = parse("note_lead_add").events
    assert isinstance(other, LeadEvent)
    assert (other.entity_id, other.note_id) == (31002002, 74001002)


def test_unsorted_add_and_accept_decline() -> None:
    (added,) = parse("unsorted_add").events
    assert isinstance(added, UnsortedEvent)
    assert added.entity_id == "a0b1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d"
    assert (added.category, added.pipeline_id, added.lead_id, added.source_uid) == (
        "forms",
        5501001,
        31002001,
        "site-form-7",
    )
    assert added.source_name == "Форма на сайте"
    (accepted,) = parse("unsorted_delete_accept").events
    assert isinstance(accepted, UnsortedEvent)
    assert (accepted.resolution, accepted.result_lead_id) == ("accept", 31002001)
    (declined,) = parse("unsorted_delete_decline").events
    assert isinstance(declined, UnsortedEvent)
    assert (declined.resolution, declined.result_lead_id) == ("decline", None)


def test_tasks_messages_talks() -> None:
    (task,) = parse("task_update").events
    assert isinstance(task, TaskEvent)
    assert (task.element_id, task.element_type, task.task_type_id, task.is_completed) == (
        31002001,
        "lead",
        1,
        True,
    )
    assert task.complete_till == 1767286799
    (deleted,) = parse("task_delete").events
    assert isinstance(deleted, TaskEvent)
    assert deleted.element_type == "contact"
    (message,) = parse("message_add").events
    assert isinstance(message, MessageEvent)
    assert (message.talk_id, message.contact_id, message.element_id, message.origin) == (
        4521,
        52001001,
        31002001,
        "telegram",
    )
    assert message.author_type == "external"
    assert "👋" in (message.text or "")
    added, updated = parse("talk_add_update").events
    assert isinstance(added, TalkEvent)
    assert (added.entity_id, added.lead_id, added.is_in_work) == (
        4521,
        31002001,
        True,
    )
    assert isinstance(updated, TalkEvent)
    assert updated.is_read is True
    assert updated.modified_at == 1767268900


def test_unknown_sections_are_kept_whole() -> None:
    customers, catalog, merge = parse("unknown_section").events
    assert isinstance(customers, UnknownEvent)
    assert customers.item["name"] == "Постоянный клиент"
    assert isinstance(catalog, CatalogEvent)
    assert catalog.catalog_id == 7701
    assert isinstance(merge, UnknownEvent)
    assert merge.entity_id == 31002005


def test_dedupe_identity() -> None:
    events = parse("leads_update_many").events
    keys = {dedupe_key(e) for e in events}
    assert len(keys) == 5
    assert dedupe_key(events[0]) == "leads:31002001:lead.updated:1767260200"
    (deleted,) = parse("leads_delete").events  # no modification time: a digest of the item
    assert dedupe_key(deleted).startswith("leads:31002009:lead.deleted:h=")
    assert dedupe_key(deleted) == dedupe_key(parse("leads_delete").events[0])


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"", "empty"),
        (b"   \n", "empty"),
        (b"\xff\xfe\x00garbage", "encoding"),
        (b"&&&", "not_form"),
        (b'{"leads": {"add": []}}', "no_events"),
        (b"account%5Bid%5D=1&account%5Bsubdomain%5D=x", "no_events"),
        (b"leads=1&contacts=2", "no_events"),
    ],
)
def test_malformed_bodies_give_typed_errors(body: bytes, code: str) -> None:
    with pytest.raises(ParseError) as info:
        parse_delivery(body, {})
    assert info.value.code == code
    assert not info.value.retryable


def test_odd_but_readable_shapes() -> None:
    # a scalar where a list of items is expected, brackets left open, a single item without index
    body = b"leads[add]=5&leads[update][id]=7&leads[update][last_modified]=9&task[add][0][id]=1[&x[=1"
    events = parse_delivery(body, {}).events
    assert [e.kind for e in events] == ["lead.added", "lead.updated", "task.added"]
    assert events[0].item == {"_value": "5"}
    assert events[1].entity_id == 7


FORM_KEYS = st.one_of(
    st.sampled_from(["leads", "contacts", "unsorted", "task", "account", "message", "talk", "x", ""]),
    st.text(max_size=8),
)
SEGMENTS = st.lists(
    st.one_of(
        st.sampled_from(
            [
                "add",
                "update",
                "status",
                "0",
                "1",
                "",
                "id",
                "custom_fields",
                "values",
                "value",
                "enum",
                "type",
            ]
        ),
        st.text(max_size=5),
    ),
    max_size=6,
)


@st.composite
def form_bodies(draw: st.DrawFn) -> bytes:
    from urllib.parse import quote_plus

    pairs = []
    for _ in range(draw(st.integers(0, 8))):
        name = draw(FORM_KEYS) + "".join(f"[{s}]" for s in draw(SEGMENTS))
        if draw(st.booleans()):
            name += draw(st.sampled_from(["[", "]", "[[", "]]", "[a", "%", "%zz"]))
        pairs.append(quote_plus(name, safe="[]%") + "=" + quote_plus(draw(st.text(max_size=6))))
    return "&".join(pairs).encode()


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(max_size=300), form_bodies()))
def test_any_body_gives_events_or_a_parse_error(body: bytes) -> None:
    try:
        delivery = parse_delivery(body, {"X-Amocrm-Requestid": "r"})
    except ParseError as error:
        code = error.code
        delivery = None
    else:
        code = ""
    assert code != "internal", body  # "internal" is a parser bug, not malformed input
    if delivery is None:
        return
    assert delivery.events
    for event in delivery.events:
        assert isinstance(dedupe_key(event), str)
        assert len(dedupe_key(event)) <= 255
