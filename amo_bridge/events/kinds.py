"""Event kind names: the contract shared by the parser, the router and every handler.

The names are listed in docs/architecture.md ("Contracts between the parts"). A kind is
``<entity>.<what happened>``; anything amoCRM sends that is not listed becomes
``unknown.<section>.<action>`` so that it is kept and visible, never dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# amoCRM's action words (v2 webhook names) -> our past-tense suffixes.
ACTION_SUFFIX: Mapping[str, str] = {
    "add": "added",
    "update": "updated",
    "delete": "deleted",
    "restore": "restored",
    "status": "status_changed",
    "responsible": "responsible_changed",
    "note": "note_added",
}

# What each entity may do; a pair outside this table is an unknown event.
ENTITY_KINDS: Mapping[str, frozenset[str]] = {
    "lead": frozenset(
        {"added", "updated", "deleted", "restored", "status_changed", "responsible_changed", "note_added"}
    ),
    "contact": frozenset({"added", "updated", "deleted", "restored", "responsible_changed", "note_added"}),
    "company": frozenset({"added", "updated", "deleted", "restored", "responsible_changed", "note_added"}),
    "unsorted": frozenset({"added", "updated", "deleted"}),
    "task": frozenset({"added", "updated", "deleted"}),
    "message": frozenset({"added"}),
    "talk": frozenset({"added", "updated"}),
    "catalog": frozenset({"added", "updated", "deleted"}),
}

KINDS: frozenset[str] = frozenset(
    f"{entity}.{what}" for entity, whats in ENTITY_KINDS.items() for what in whats
)

# Webhook section -> entity. Companies arrive under ``contacts`` with ``type=company``; notes may
# also arrive in their own sections (``note_lead[add]``).
SECTION_ENTITY: Mapping[str, str] = {
    "leads": "lead",
    "contacts": "contact",
    "companies": "company",
    "unsorted": "unsorted",
    "task": "task",
    "tasks": "task",
    "message": "message",
    "talk": "talk",
    "catalogs": "catalog",
    "note_lead": "lead",
    "note_contact": "contact",
    "note_company": "company",
}
NOTE_SECTIONS = frozenset({"note_lead", "note_contact", "note_company"})


def _clean(text: str) -> str:
    """A section or action name made safe for a kind: printable, no dots, at most 40 characters."""
    kept = "".join(c if (c.isalnum() or c in "_-") else "_" for c in text)[:40]
    return kept or "_"


def entity_for(section: str, item: Mapping[str, Any]) -> str | None:
    entity = SECTION_ENTITY.get(section)
    if entity == "contact" and str(item.get("type", "")).strip().lower() == "company":
        return "company"
    return entity


def kind_for(section: str, action: str, item: Mapping[str, Any]) -> str:
    """The event kind of one item found at ``section[action][i]``."""
    entity = entity_for(section, item)
    what = "note_added" if section in NOTE_SECTIONS and action == "add" else ACTION_SUFFIX.get(action)
    if entity is not None and what is not None and what in ENTITY_KINDS[entity]:
        return f"{entity}.{what}"
    return f"unknown.{_clean(section)}.{_clean(action)}"


def matches(pattern: str, kind: str) -> bool:
    """``"lead.*"`` matches every lead kind, ``"*"`` every kind, otherwise names must be equal."""
    if pattern == "*":
        return True
    if pattern.endswith(".*"):
        return kind.startswith(pattern[:-1])
    return pattern == kind
