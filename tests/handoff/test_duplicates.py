from __future__ import annotations

import pytest

from amo_bridge.handoff.duplicates import client_keys, find_duplicate, normalise_email, normalise_phone
from amo_bridge.handoff.model import ClientKeys, OpenLead


@pytest.mark.parametrize(
    "raw",
    [
        "+7 916 123-45-67",
        "8 (916) 123-45-67",
        "79161234567",
        "89161234567",
        "+7(916)1234567",
        " 916 123 45 67 ",
    ],
)
def test_russian_phone_formats_are_one_number(raw: str) -> None:
    assert normalise_phone(raw) == "+79161234567"


@pytest.mark.parametrize("raw", ["", "нет", "123", "+", "call me"])
def test_junk_is_not_a_phone(raw: str) -> None:
    assert normalise_phone(raw) is None


def test_foreign_numbers_and_other_regions() -> None:
    assert normalise_phone("+375 29 123-45-67") == "+375291234567"
    assert normalise_phone("8 701 123 4567", "KZ") == "+77011234567"


def test_emails() -> None:
    assert normalise_email("  Anna.Petrova@Example.RU ") == "anna.petrova@example.ru"
    assert normalise_email("not an email") is None
    assert normalise_email("@x.ru") is None


def lead(lead_id: int, status: int = 4000, updated: float = 0, **keys: object) -> OpenLead:
    return OpenLead(lead_id, 2000, status, 7, updated, client_keys(**keys))  # type: ignore[arg-type]


def test_find_duplicate_by_phone_email_company_newest_live_first() -> None:
    keys = client_keys(["8 916 123 45 67"], ["A@b.ru"])
    candidates = [
        lead(1, phones=["+79161234567"], updated=10),
        lead(2, emails=["a@B.ru"], updated=20),
        lead(3, phones=["+79161234567"], status=142, updated=30),  # won: not a live deal
        lead(4, phones=["+79990000000"], updated=40),  # another client
    ]
    found = find_duplicate(keys, candidates)
    assert found is not None
    assert found.lead_id == 2
    assert find_duplicate(keys, candidates, match=("phone",)) == candidates[0]
    company = ClientKeys(company_id=55)
    assert find_duplicate(company, [lead(9, company_id=55)]) is not None
    assert find_duplicate(company, [lead(9, company_id=55)], match=("phone", "email")) is None


def test_a_lead_is_not_its_own_duplicate_and_empty_keys_match_nothing() -> None:
    keys = client_keys(["+79161234567"])
    assert find_duplicate(keys, [lead(1, phones=["+79161234567"])], exclude_lead_id=1) is None
    assert find_duplicate(ClientKeys(), [lead(1)]) is None
