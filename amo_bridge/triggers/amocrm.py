"""The trigger port over the amoCRM API client (:class:`~amo_bridge.api.AmoClient`).

Facts are gathered per rule scope in batches, and only those the rules use (:class:`FactNeeds`):

- leads of the scope: ``filter[statuses]`` (or ``filter[pipeline_id]``) ``with=contacts``, 250 a page;
- contacts (their fields, name, leads): ``filter[id][]`` 250 a request, only when a rule reads a contact
  field, the contact's name or the last purchase;
- the last purchase (``days_since_purchase``): the contacts' leads in ``filter[id][]`` requests, the
  latest ``closed_at`` of a won one;
- stage entered / last activity (``days_in_stage``, ``days_inactive``): ``/api/v4/events`` for 50
  leads a request (newest first), read until every lead of the batch is placed or ``EVENTS_LOOKBACK``
  is reached; a lead with no status change inside it counts from its creation (at least that long);
- whether an episode's task is open: the open tasks of the scope's leads, fetched once when first asked.

Pipelines, custom fields and task types are read once per ``CACHE_SECONDS``.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from amo_bridge.api import AmoClient
from amo_bridge.api.models import LOST_STATUS_ID, WON_STATUS_ID, Contact, Lead, Pipeline
from amo_bridge.api.resources.notes import common_note
from amo_bridge.api.resources.tasks import new_task
from amo_bridge.clock import Clock
from amo_bridge.triggers.evaluate import LeadFacts
from amo_bridge.triggers.parse import PLACEHOLDER
from amo_bridge.triggers.port import TriggerTask
from amo_bridge.triggers.rules import FIELD_METRICS, Catalog, Rule

log = logging.getLogger(__name__)

ID_CHUNK = 250
EVENT_CHUNK = 50
EVENTS_LOOKBACK = 180 * 86400
CACHE_SECONDS = 300.0


@dataclass(frozen=True)
class FactNeeds:
    """Which facts the rules read, so the port asks amoCRM for nothing more."""

    field_ids: frozenset[int] = frozenset()
    contact_name: bool = False
    stage: bool = False
    activity: bool = False
    purchase: bool = False

    @classmethod
    def everything(cls) -> FactNeeds:
        return cls(frozenset(), True, True, True, True)


def needs_of(rules: Iterable[Rule]) -> FactNeeds:
    fields: set[int] = set()
    contact_name = stage = activity = purchase = False
    for rule in rules:
        metrics = {c.metric for c in rule.condition}
        fields |= rule.field_ids
        texts = [rule.action.task_text, rule.action.note or ""]
        for text in texts:
            for match in PLACEHOLDER.finditer(text):
                name = match.group(1)
                metric, _, field_id = name.partition(":")
                metrics.add(metric)
                if name == "contact.name":
                    contact_name = True
                if metric in FIELD_METRICS and field_id:
                    fields.add(int(field_id))
        stage = stage or "days_in_stage" in metrics
        activity = activity or "days_inactive" in metrics
        purchase = purchase or "days_since_purchase" in metrics
    return FactNeeds(frozenset(fields), contact_name, stage, activity, purchase)


def _chunks(ids: Sequence[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(ids), size):
        yield list(ids[start : start + size])


def _first_values(lead_or_contact: Lead | Contact) -> dict[int, object]:
    return {cf.field_id: cf.values[0] for cf in lead_or_contact.custom_fields if cf.values}


def _main_contact(lead: Lead) -> int | None:
    contacts = (lead.raw.get("_embedded") or {}).get("contacts") or []
    for contact in contacts:
        if isinstance(contact, dict) and contact.get("is_main") and contact.get("id") is not None:
            return int(contact["id"])
    return lead.contact_ids[0] if lead.contact_ids else None


def _status_after(event_value: tuple[dict[str, Any], ...]) -> int | None:
    for item in event_value:
        status = item.get("lead_status")
        if isinstance(status, dict) and status.get("id") is not None:
            return int(status["id"])
    return None


@dataclass
class _Scope:
    lead_ids: list[int] = field(default_factory=list)
    open_tasks: set[int] | None = None


class AmoTriggerPort:
    """:class:`~amo_bridge.triggers.port.TriggerPort` over :class:`AmoClient`.

    ``needs`` is asked at the start of each run (when the job reads the catalog); ``pools`` are the
    pool names the distributor offers (reference checks of ``responsible = "pool:NAME"``).
    """

    def __init__(
        self,
        client: AmoClient,
        *,
        needs: Callable[[], FactNeeds] = FactNeeds.everything,
        pools: Callable[[], frozenset[str]] = frozenset,
        clock: Clock | None = None,
    ) -> None:
        self._client = client
        self._needs_source = needs
        self._needs = FactNeeds.everything()
        self._pools = pools
        self._clock = clock or client.clock
        self._pipelines: dict[int, Pipeline] = {}
        self._lead_fields: frozenset[int] = frozenset()
        self._catalog: Catalog | None = None
        self._cached_at = float("-inf")
        self._scope = _Scope()
        self._tags: dict[int, tuple[str, ...]] = {}

    # -- catalog --------------------------------------------------------------------------------

    def catalog(self) -> Catalog:
        self._needs = self._needs_source()
        if self._catalog is None or self._clock.monotonic() - self._cached_at >= CACHE_SECONDS:
            self._pipelines = {p.id: p for p in self._client.pipelines.list()}
            self._lead_fields = frozenset(f.id for f in self._client.account.custom_fields("leads"))
            contact_fields = frozenset(f.id for f in self._client.account.custom_fields("contacts"))
            task_types = frozenset(t.id for t in self._client.account.get(user_groups=False).task_types)
            self._catalog = Catalog(
                pipelines={p.id: frozenset(s.id for s in p.statuses) for p in self._pipelines.values()},
                field_ids=self._lead_fields | contact_fields,
                pools=self._pools(),
                task_type_ids=task_types | {1, 2},
            )
            self._cached_at = self._clock.monotonic()
        return self._catalog

    # -- facts ----------------------------------------------------------------------------------

    def _scope_leads(self, pipeline_id: int, stage_ids: Sequence[int]) -> list[Lead]:
        params: dict[str, Any] = {"with": "contacts"}
        if stage_ids:
            for i, status_id in enumerate(stage_ids):
                params[f"filter[statuses][{i}][pipeline_id]"] = int(pipeline_id)
                params[f"filter[statuses][{i}][status_id]"] = int(status_id)
        else:
            params["filter[pipeline_id][]"] = [int(pipeline_id)]
        leads = [Lead.from_api(row) for row in self._client.paginate("/api/v4/leads", "leads", params)]
        return [
            lead
            for lead in leads
            if not lead.is_deleted
            and lead.pipeline_id == pipeline_id
            and lead.status_id not in (WON_STATUS_ID, LOST_STATUS_ID)
            and (not stage_ids or lead.status_id in stage_ids)
        ]

    def _contacts(self, ids: Sequence[int], *, with_leads: bool) -> dict[int, Contact]:
        out: dict[int, Contact] = {}
        for chunk in _chunks(sorted(set(ids)), ID_CHUNK):
            for contact in self._client.contacts.list(ids=chunk, with_=("leads",) if with_leads else ()):
                out[contact.id] = contact
        return out

    def _last_purchases(self, contacts: dict[int, Contact]) -> dict[int, int]:
        """contact id -> closed_at of its latest won deal."""
        lead_ids = sorted({i for c in contacts.values() for i in c.lead_ids})
        closed: dict[int, int] = {}
        for chunk in _chunks(lead_ids, ID_CHUNK):
            for lead in self._client.leads.list(ids=chunk):
                if lead.is_won and not lead.is_deleted:
                    closed[lead.id] = lead.closed_at or lead.updated_at
        out: dict[int, int] = {}
        for contact in contacts.values():
            times = [closed[i] for i in contact.lead_ids if i in closed]
            if times:
                out[contact.id] = max(times)
        return out

    def _event_facts(self, leads: Sequence[Lead], now: float) -> tuple[dict[int, int], dict[int, int]]:
        """(lead id -> when it entered its current stage, lead id -> its latest event)."""
        stage_at: dict[int, int] = {}
        activity_at: dict[int, int] = {}
        need_stage, need_activity = self._needs.stage, self._needs.activity
        types = None if need_activity else ["lead_status_changed"]
        by_id = {lead.id: lead for lead in leads}
        for chunk in _chunks(sorted(by_id), EVENT_CHUNK):
            waiting = set(chunk)
            events = self._client.events.list(
                types=types,
                entity_type="lead",
                entity_ids=chunk,
                created_from=int(now - EVENTS_LOOKBACK),
            )
            for event in events:
                lead_id = event.entity_id
                if lead_id is None or lead_id not in by_id:
                    continue
                activity_at.setdefault(lead_id, event.created_at)
                if (
                    event.type == "lead_status_changed"
                    and lead_id not in stage_at
                    and _status_after(event.value_after) in (by_id[lead_id].status_id, None)
                ):
                    stage_at[lead_id] = event.created_at
                if (not need_stage or lead_id in stage_at) and (not need_activity or lead_id in activity_at):
                    waiting.discard(lead_id)
                if not waiting:
                    break
        return stage_at, activity_at

    def leads(self, pipeline_id: int, stage_ids: Sequence[int]) -> Iterable[LeadFacts]:
        needs = self._needs
        leads = self._scope_leads(pipeline_id, stage_ids)
        self._scope = _Scope([lead.id for lead in leads])
        self._tags.update({lead.id: lead.tag_names for lead in leads})
        main = {lead.id: _main_contact(lead) for lead in leads}
        contact_fields_needed = bool(needs.field_ids - self._lead_fields)
        contacts: dict[int, Contact] = {}
        if contact_fields_needed or needs.contact_name or needs.purchase:
            contacts = self._contacts([c for c in main.values() if c is not None], with_leads=needs.purchase)
        purchases = self._last_purchases(contacts) if needs.purchase else {}
        now = self._clock.now()
        stage_at, activity_at = self._event_facts(leads, now) if needs.stage or needs.activity else ({}, {})
        for lead in leads:
            contact = contacts.get(main[lead.id] or -1)
            fields: dict[int, object] = _first_values(contact) if contact is not None else {}
            fields.update(_first_values(lead))
            yield LeadFacts(
                lead_id=lead.id,
                name=lead.name,
                pipeline_id=lead.pipeline_id,
                status_id=lead.status_id,
                responsible_user_id=lead.responsible_user_id or 0,
                price=lead.price,
                contact_name=contact.name if contact is not None else "",
                fields=fields,
                stage_entered_at=float(stage_at.get(lead.id, lead.created_at)) if needs.stage else None,
                last_activity_at=float(max(activity_at.get(lead.id, 0), lead.updated_at))
                if needs.activity
                else None,
                last_purchase_at=float(purchases[contact.id])
                if contact is not None and contact.id in purchases
                else None,
            )

    # -- tasks and actions ----------------------------------------------------------------------

    def task_is_open(self, task_id: int) -> bool:
        scope = self._scope
        if scope.open_tasks is None:
            scope.open_tasks = set()
            for chunk in _chunks(scope.lead_ids, ID_CHUNK):
                tasks = self._client.tasks.list(entity_type="leads", entity_ids=chunk, is_completed=False)
                scope.open_tasks.update(task.id for task in tasks)
        if task_id in scope.open_tasks:
            return True
        # Not among the scope's open tasks: completed, or on a lead outside the scope (ask once).
        task = self._client.tasks.get(task_id)
        return bool(task.id) and not task.is_completed

    def find_task(self, lead_id: int, text: str, created_from: int) -> int | None:
        for task in self._client.tasks.list(entity_type="leads", entity_ids=[lead_id]):
            if task.text == text and task.created_at >= created_from:
                return task.id
        return None

    def create_task(self, task: TriggerTask) -> int:
        payload = new_task(
            text=task.text,
            complete_till=task.complete_till,
            entity_id=task.lead_id,
            entity_type="leads",
            responsible_user_id=task.responsible_user_id,
            task_type_id=task.task_type_id,
        )
        digest = hashlib.sha256(
            f"{task.lead_id}|{task.text}|{task.complete_till}|{task.task_type_id}".encode()
        ).hexdigest()[:24]
        task_id = self._client.tasks.create(payload, idempotency_key=f"trigger:{task.lead_id}:{digest}")
        if self._scope.open_tasks is not None:
            self._scope.open_tasks.add(task_id)
        return task_id

    def add_tag(self, lead_id: int, tag: str) -> None:
        current = self._tags.get(lead_id)
        if current is None:
            current = self._client.leads.get(lead_id, with_=()).tag_names
        if tag in current:
            return
        names = [*current, tag]
        # PATCH replaces the lead's tags: send the ones it has plus the new one.
        self._client.leads.update(lead_id, _embedded={"tags": [{"name": n} for n in names]})
        self._tags[lead_id] = tuple(names)

    def add_note(self, lead_id: int, text: str) -> None:
        self._client.notes.add("leads", [common_note(lead_id, text)])

    def move_lead(self, lead_id: int, pipeline_id: int, status_id: int) -> None:
        self._client.leads.update(lead_id, pipeline_id=int(pipeline_id), status_id=int(status_id))
