"""Recognising the same client across leads: phones in E.164, e-mails lower-cased, one company.

``8 (916) 123-45-67``, ``+7 916 1234567`` and ``79161234567`` are one phone. Numbers that cannot be
parsed as phone numbers of any region are ignored rather than compared as raw text, so that junk such
as "нет" or "123" never makes two strangers duplicates.
"""

from __future__ import annotations

from collections.abc import Iterable

import phonenumbers

from amo_bridge.handoff.model import LOST, WON, ClientKeys, OpenLead


def normalise_phone(raw: str, default_region: str = "RU") -> str | None:
    """The E.164 form of ``raw`` (``+79161234567``), or ``None`` if it is not a possible number."""
    text = raw.strip()
    if not text:
        return None
    digits = "".join(ch for ch in text if ch.isdigit())
    # Russian habit: 8XXXXXXXXXX and 7XXXXXXXXXX without "+" mean +7.
    if default_region == "RU" and len(digits) == 11 and digits[0] in "78" and not text.startswith("+"):
        text = "+7" + digits[1:]
    try:
        number = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_email(raw: str) -> str | None:
    text = raw.strip().lower()
    if "@" not in text or text.startswith("@") or text.endswith("@") or " " in text:
        return None
    return text


def client_keys(
    phones: Iterable[str] = (),
    emails: Iterable[str] = (),
    company_id: int | None = None,
    *,
    default_region: str = "RU",
) -> ClientKeys:
    normal_phones = {p for p in (normalise_phone(x, default_region) for x in phones) if p}
    normal_emails = {e for e in (normalise_email(x) for x in emails) if e}
    return ClientKeys(frozenset(normal_phones), frozenset(normal_emails), company_id)


def find_duplicate(
    keys: ClientKeys,
    candidates: Iterable[OpenLead],
    *,
    match: tuple[str, ...] = ("phone", "email", "company"),
    exclude_lead_id: int | None = None,
) -> OpenLead | None:
    """The live deal of the same client, most recently updated first; ``None`` if there is none.

    Closed deals (won 142, lost 143) are not duplicates: a returning client of a closed deal is a
    new sale.
    """
    matches = [
        lead
        for lead in candidates
        if lead.lead_id != exclude_lead_id
        and lead.status_id not in (WON, LOST)
        and _same_client(keys, lead.keys, match)
    ]
    if not matches:
        return None
    return max(matches, key=lambda lead: (lead.updated_at, lead.lead_id))


def _same_client(a: ClientKeys, b: ClientKeys, match: tuple[str, ...]) -> bool:
    if "phone" in match and a.phones & b.phones:
        return True
    if "email" in match and a.emails & b.emails:
        return True
    return "company" in match and a.company_id is not None and a.company_id == b.company_id
