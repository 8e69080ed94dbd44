"""The distributor as the scheduled jobs' choosers: the L3 pool for retention, named pools for triggers.

Thin adapters over :meth:`~amo_bridge.distribution.service.DistributionService.choose`. A won deal or
a trigger rule's episode becomes an :class:`~amo_bridge.distribution.model.Arrival` keyed by the
caller's own identity (entity ``won_deal`` with the won lead's id, entity ``trigger`` with the rule,
lead and episode), so the pool decides once per key: a job re-run after a crash gets the recorded
member back and charges nobody twice. The caller writes the responsible itself, so nothing is queued
for amoCRM. Nobody available in the pool: ``None``, and the caller falls back on its default.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping

from amo_bridge.distribution.model import Arrival
from amo_bridge.distribution.service import DistributionService, Outcome, StandsFor
from amo_bridge.retention.amocrm import REFERENCE_TAG
from amo_bridge.retention.model import WonDeal
from amo_bridge.triggers.evaluate import LeadFacts

MAX_ENTITY_ID = 64  # the width of distribution_assignments.entity_id


def _texts(value: object) -> tuple[str, ...]:
    """A field's values as text: amoCRM's ``[{"value": ...}, ...]`` or a plain value."""
    items = value if isinstance(value, list | tuple) else [value]
    texts = []
    for item in items:
        raw = item.get("value") if isinstance(item, Mapping) else item
        if raw is not None:
            texts.append(str(raw))
    return tuple(texts)


def _fields(values: Mapping[int, object]) -> dict[int, tuple[str, ...]]:
    return {int(field_id): _texts(value) for field_id, value in values.items()}


def won_deal_arrival(deal: WonDeal) -> Arrival:
    """A new client to give an account manager; the pool's routing rules see the won deal's fields.

    Without the client's contacts and company: the retention job asks the pool only when the client
    has no account manager (its own stickiness read the same contacts and leads a moment before), so
    the pool's stickiness lookup would cost two more requests per deal to find nothing.
    """
    return Arrival(
        entity_type="won_deal",
        entity_id=str(deal.lead_id),
        pipeline_id=deal.pipeline_id,
        fields=_fields(deal.custom_fields),
    )


def retention_reference(reference_field_id: int | None) -> StandsFor:
    """What a retention lead stands for: the won deal it refers to (``RETENTION_REFERENCE_FIELD_ID``,
    else the tag ``won-<id>``), whose account manager the L3 pool chose before the lead existed."""
    tag = re.compile(re.escape(REFERENCE_TAG).replace(re.escape("{id}"), r"(\d+)"))

    def stands_for(arrival: Arrival) -> tuple[str, str] | None:
        if arrival.entity_type != "lead":
            return None
        if reference_field_id is not None:
            for value in arrival.fields.get(reference_field_id, ()):
                if value.strip().isdigit():
                    return "won_deal", str(int(value))
        for name in sorted(arrival.tags):
            found = tag.fullmatch(name)
            if found:
                return "won_deal", found.group(1)
        return None

    return stands_for


def trigger_key(key: str) -> str:
    """The entity id of a trigger episode's choice: the key itself, or its digest when too long."""
    if len(key) <= MAX_ENTITY_ID:
        return key
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()[: MAX_ENTITY_ID - 7]


def trigger_arrival(lead: LeadFacts, key: str) -> Arrival:
    """A trigger rule's task on ``lead`` (the rule's episode is ``key``); the lead is recorded with it,
    so ``distribution explain LEAD_ID`` shows who got its tasks and why."""
    return Arrival(
        entity_type="trigger",
        entity_id=trigger_key(key),
        pipeline_id=lead.pipeline_id,
        status_id=lead.status_id,
        lead_id=lead.lead_id,
        fields=_fields(lead.fields),
    )


def _member(outcome: Outcome) -> int | None:
    return outcome.member if outcome.status in ("assigned", "duplicate") else None


class PoolAccountManagers:
    """:class:`~amo_bridge.retention.port.AccountManagerChooser` over one pool (the L3 pool).

    The choice holds the client's retention lead: it counts against the pool's ``cap`` until that
    lead is closed, once :meth:`lead_created` has tied it to the lead.
    """

    def __init__(self, service: DistributionService, pool: str) -> None:
        service.pool(pool)  # KeyError now rather than at the first won deal
        self.service = service
        self.pool = pool

    def choose_account_manager(self, deal: WonDeal) -> int | None:
        return _member(self.service.choose(self.pool, won_deal_arrival(deal)))

    def lead_created(self, deal: WonDeal, lead_id: int) -> None:
        self.service.link_lead("won_deal", str(deal.lead_id), lead_id)


class PoolTaskChooser:
    """:class:`~amo_bridge.triggers.port.PoolChooser` over every configured pool: a trigger task's
    responsible, chosen fairly in the pool the rule names. The choice does not hold the lead (no
    ``cap``), it counts in the day's quota and the reports."""

    def __init__(self, service: DistributionService) -> None:
        self.service = service

    def names(self) -> frozenset[str]:
        return frozenset(pool.name for pool in self.service.pools)

    def choose_from_pool(self, pool: str, lead: LeadFacts, key: str) -> int | None:
        if pool not in self.names():
            return None
        return _member(self.service.choose(pool, trigger_arrival(lead, key), holds_lead=False))
