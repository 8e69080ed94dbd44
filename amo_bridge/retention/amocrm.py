"""The retention port over the amoCRM API client (:class:`~amo_bridge.api.AmoClient`).

Request costs (measured on the sandbox, see docs/jobs.md): listing won deals is one request per 250
deals (``with=contacts``); the pipelines are read once per cache period; a hand-off reads the client's
leads twice at most (contacts ``with=leads``, then those leads in one ``filter[id][]`` request, shared
by the sticky-manager and the reference lookups), creates the lead with its contacts, company and tags
in one POST (``_embedded``), looks the task up once and creates it once.

The reference to the won deal is the ``RETENTION_REFERENCE_FIELD_ID`` field when configured, else a
tag ``won-<id>`` (``REFERENCE_TAG``); the lookup checks both, so switching between them is safe.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from amo_bridge.api import AccountBlocked, AmoClient, Forbidden
from amo_bridge.api.models import WON_STATUS_ID, Lead, Pipeline
from amo_bridge.api.resources.base import first_embedded
from amo_bridge.api.resources.tasks import new_task
from amo_bridge.api.retry import SINGLE
from amo_bridge.clock import Clock
from amo_bridge.retention.model import RetentionLeadDraft, TaskDraft, WonDeal

log = logging.getLogger(__name__)

REFERENCE_TAG = "won-{id}"
ID_CHUNK = 250  # ids per filter[id][] request
CACHE_SECONDS = 3600.0  # pipelines and the account managers' group change rarely


def reference_tag(won_lead_id: int) -> str:
    return REFERENCE_TAG.format(id=int(won_lead_id))


def _chunks(ids: Sequence[int], size: int = ID_CHUNK) -> Iterator[list[int]]:
    for start in range(0, len(ids), size):
        yield list(ids[start : start + size])


def _field_payload(field_id: int, value: object) -> dict[str, Any]:
    """A ``custom_fields_values`` item: values copied as amoCRM gave them, or a plain value wrapped."""
    if isinstance(value, list | tuple):
        values = [v if isinstance(v, dict) else {"value": v} for v in value]
    else:
        values = [{"value": value}]
    return {"field_id": int(field_id), "values": values}


def refers_to(lead: Lead, won_lead_id: int, reference_field_id: int | None) -> bool:
    """Whether ``lead`` carries the reference to the won deal (field value or tag)."""
    if reference_tag(won_lead_id) in lead.tag_names:
        return True
    if reference_field_id is None:
        return False
    for cf in lead.custom_fields:
        if cf.field_id == reference_field_id:
            return any(str(v).strip() == str(won_lead_id) for v in cf.values)
    return False


class AmoRetentionPort:
    """:class:`~amo_bridge.retention.port.RetentionPort` over :class:`AmoClient`.

    ``manager_user_ids``: when given, a contact's responsible user counts as the client's account
    manager only if among them (the account-manager department); the responsible of the client's live
    retention lead always counts.
    """

    def __init__(
        self,
        client: AmoClient,
        *,
        retention_pipeline_id: int | None,
        reference_field_id: int | None = None,
        manager_group_id: int | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._client = client
        self._retention_pipeline_id = retention_pipeline_id
        self._reference_field_id = reference_field_id
        self._manager_group_id = manager_group_id
        self._clock = clock or client.clock
        self._pipelines: dict[int, Pipeline] = {}
        self._pipelines_at = float("-inf")
        self._managers: frozenset[int] | None = None
        self._managers_at = float("-inf")
        self._deals: dict[int, WonDeal] = {}
        # The client's leads, read once per hand-off: contact/company ids -> leads.
        self._client_leads: tuple[tuple[tuple[int, ...], int | None], list[Lead]] | None = None
        self._contact_owner: dict[int, int | None] = {}  # contact id -> responsible, read with its leads
        self._company_owner: dict[int, int | None] = {}  # company id -> responsible, read with its leads
        # Leads this adapter created moments ago: they have no tasks yet, so no lookup is needed.
        self._new_leads: set[int] = set()

    # -- cached account data --------------------------------------------------------------------

    def _fresh(self, since: float) -> bool:
        return self._clock.monotonic() - since < CACHE_SECONDS

    def _pipeline(self, pipeline_id: int) -> Pipeline:
        if pipeline_id not in self._pipelines or not self._fresh(self._pipelines_at):
            self._pipelines = {p.id: p for p in self._client.pipelines.list()}
            self._pipelines_at = self._clock.monotonic()
        return self._pipelines[pipeline_id]

    def _manager_ids(self) -> frozenset[int] | None:
        if self._manager_group_id is None:
            return None
        if self._managers is None or not self._fresh(self._managers_at):
            try:
                self._managers = frozenset(
                    u.id for u in self._client.users.active() if u.group_id == self._manager_group_id
                )
            except Forbidden as exc:
                if isinstance(exc, AccountBlocked):
                    raise
                log.warning(
                    "cannot list users (%s): a contact's responsible is not taken as account manager", exc
                )
                self._managers = frozenset()
            self._managers_at = self._clock.monotonic()
        return self._managers

    # -- RetentionPort --------------------------------------------------------------------------

    def won_deals(self, pipeline_ids: Sequence[int], closed_from: int, closed_to: int) -> Iterable[WonDeal]:
        """Won leads of these pipelines closed in the window.

        Listed by ``filter[statuses]`` (142 in each pipeline) and ``filter[updated_at][from]`` (a deal
        closed at ``t`` was last updated at ``t`` or later), then filtered on ``closed_at`` here.
        """
        self._client_leads = None  # a new run: what was read about clients may have changed
        self._deals.clear()
        params: dict[str, Any] = {"with": "contacts", "filter[updated_at][from]": int(closed_from)}
        for i, pipeline_id in enumerate(pipeline_ids):
            params[f"filter[statuses][{i}][pipeline_id]"] = int(pipeline_id)
            params[f"filter[statuses][{i}][status_id]"] = WON_STATUS_ID
        deals: list[WonDeal] = []
        for row in self._client.paginate("/api/v4/leads", "leads", params):
            lead = Lead.from_api(row)
            closed_at = lead.closed_at or lead.updated_at
            if lead.is_deleted or lead.status_id != WON_STATUS_ID or lead.pipeline_id not in pipeline_ids:
                continue
            if not closed_from <= closed_at <= closed_to:
                continue
            deal = WonDeal(
                lead_id=lead.id,
                name=lead.name,
                pipeline_id=lead.pipeline_id,
                responsible_user_id=lead.responsible_user_id,
                closed_at=closed_at,
                price=lead.price,
                contact_ids=lead.contact_ids,
                company_id=lead.company_ids[0] if lead.company_ids else None,
                custom_fields={cf.field_id: list(cf.raw_values) for cf in _raw_fields(row)},
            )
            self._deals[deal.lead_id] = deal
            deals.append(deal)
        deals.sort(key=lambda d: (d.closed_at, d.lead_id))
        return deals

    def first_stage(self, pipeline_id: int) -> int:
        return self._pipeline(pipeline_id).first_working_status.id

    def _leads_of_client(self, contact_ids: Sequence[int], company_id: int | None) -> list[Lead]:
        """Every lead of the client's contacts and company (two requests, kept for this hand-off)."""
        key = (tuple(sorted(contact_ids)), company_id)
        if self._client_leads is not None and self._client_leads[0] == key:
            return self._client_leads[1]
        lead_ids: set[int] = set()
        for chunk in _chunks(sorted(contact_ids)):
            for contact in self._client.contacts.list(ids=chunk, with_=("leads",)):
                lead_ids.update(contact.lead_ids)
                self._contact_owner[contact.id] = contact.responsible_user_id
        if company_id is not None:
            company = self._client.companies.get(company_id, with_=("leads",))
            lead_ids.update(company.lead_ids)
            self._company_owner[company.id] = company.responsible_user_id
        leads: list[Lead] = []
        for chunk in _chunks(sorted(lead_ids)):
            leads.extend(lead for lead in self._client.leads.list(ids=chunk) if not lead.is_deleted)
        self._client_leads = (key, leads)
        return leads

    def client_account_manager(self, contact_ids: Sequence[int], company_id: int | None) -> int | None:
        """Sticky: the responsible of the client's live retention lead, else of the main contact."""
        if not contact_ids and company_id is None:
            return None
        leads = self._leads_of_client(contact_ids, company_id)
        live = [
            lead
            for lead in leads
            if lead.pipeline_id == self._retention_pipeline_id
            and not (lead.is_won or lead.is_lost)
            and lead.responsible_user_id is not None
        ]
        if live:
            return max(live, key=lambda lead: (lead.updated_at, lead.id)).responsible_user_id
        if not contact_ids:
            return None
        owner = self._contact_owner.get(contact_ids[0])
        if owner is None:
            return None
        managers = self._manager_ids()
        if managers is not None and owner not in managers:
            return None
        return owner

    def find_retention_lead(self, won_lead_id: int, pipeline_id: int) -> int | None:
        deal = self._deals.get(won_lead_id)
        if deal is None:
            lead = self._client.leads.get(won_lead_id, with_=("contacts",))
            contact_ids, company_id = lead.contact_ids, (lead.company_ids[0] if lead.company_ids else None)
            since = lead.closed_at or lead.updated_at
        else:
            contact_ids, company_id, since = deal.contact_ids, deal.company_id, deal.closed_at
        if contact_ids or company_id is not None:
            candidates = self._leads_of_client(contact_ids, company_id)
        else:  # a deal without a client: the retention leads made since it was won
            candidates = list(self._client.leads.list(pipeline_ids=[pipeline_id], created_from=since - 60))
        found = [
            lead
            for lead in candidates
            if lead.pipeline_id == pipeline_id and refers_to(lead, won_lead_id, self._reference_field_id)
        ]
        return min(found, key=lambda lead: lead.id).id if found else None

    def create_lead(self, draft: RetentionLeadDraft) -> int:
        """One POST carrying contacts, company, fields and tags; guarded by an idempotency key."""
        tags = [*draft.tags]
        if draft.reference_field_id is None:
            tags.append(reference_tag(draft.won_lead_id))
        payload: dict[str, Any] = {
            "name": draft.name,
            "pipeline_id": draft.pipeline_id,
            "status_id": draft.status_id,
            "responsible_user_id": draft.responsible_user_id,
            "price": draft.price,
            "_embedded": {
                "tags": [{"name": t} for t in dict.fromkeys(tags)],
                "contacts": [{"id": c, "is_main": i == 0} for i, c in enumerate(draft.contact_ids)],
                **({"companies": [{"id": draft.company_id}]} if draft.company_id is not None else {}),
            },
        }
        if draft.custom_fields:
            payload["custom_fields_values"] = [
                _field_payload(fid, value) for fid, value in draft.custom_fields.items()
            ]

        def create() -> int:
            body = self._client.request("POST", "/api/v4/leads", json=[payload], policy=SINGLE)
            return int(first_embedded(body, "leads")["id"])

        def lookup(_record: object) -> int | None:
            self._client_leads = None
            return self.find_retention_lead(draft.won_lead_id, draft.pipeline_id)

        self._client_leads = None
        lead_id = self._client.create_once(
            f"retention:lead:{draft.won_lead_id}", "leads.create", create, lookup
        )
        self._client_leads = None
        self._new_leads = {lead_id}
        return lead_id

    def move_lead(self, lead_id: int, pipeline_id: int, status_id: int, responsible_user_id: int) -> None:
        self._client.leads.update(
            lead_id,
            pipeline_id=int(pipeline_id),
            status_id=int(status_id),
            responsible_user_id=int(responsible_user_id),
        )
        self._client_leads = None

    def give_client(self, contact_ids: Sequence[int], company_id: int | None, user_id: int) -> int:
        """Owners are known from the sticky-manager read of this hand-off; read only when they are not
        (a resumed hand-off). One PATCH per entity type, only for what someone else owns."""
        unknown = [c for c in contact_ids if c not in self._contact_owner]
        for chunk in _chunks(unknown):
            for contact in self._client.contacts.list(ids=chunk):
                self._contact_owner[contact.id] = contact.responsible_user_id
        if company_id is not None and company_id not in self._company_owner:
            self._company_owner[company_id] = self._client.companies.get(company_id).responsible_user_id
        contacts = [c for c in contact_ids if c in self._contact_owner and self._contact_owner[c] != user_id]
        for chunk in _chunks(contacts):
            self._client.contacts.update_many([{"id": c, "responsible_user_id": user_id} for c in chunk])
        for contact_id in contacts:
            self._contact_owner[contact_id] = user_id
        changed = len(contacts)
        if (
            company_id is not None
            and company_id in self._company_owner
            and self._company_owner[company_id] != user_id
        ):
            self._client.companies.update_many([{"id": company_id, "responsible_user_id": user_id}])
            self._company_owner[company_id] = user_id
            changed += 1
        return changed

    def find_task(self, lead_id: int, text: str) -> int | None:
        if lead_id in self._new_leads:
            return None
        for task in self._client.tasks.list(entity_type="leads", entity_ids=[lead_id]):
            if task.text == text:
                return task.id
        return None

    def create_task(self, task: TaskDraft) -> int:
        payload = new_task(
            text=task.text,
            complete_till=task.complete_till,
            entity_id=task.lead_id,
            entity_type="leads",
            responsible_user_id=task.responsible_user_id,
            task_type_id=task.task_type_id,
        )
        self._new_leads.discard(task.lead_id)
        return self._client.tasks.create(payload, idempotency_key=f"retention:first-call:{task.lead_id}")


class _RawField:
    __slots__ = ("field_id", "raw_values")

    def __init__(self, field_id: int, raw_values: list[Any]) -> None:
        self.field_id = field_id
        self.raw_values = raw_values


def _raw_fields(row: dict[str, Any]) -> list[_RawField]:
    """Custom field values exactly as amoCRM gave them (enum ids kept), for copying to the new lead."""
    out: list[_RawField] = []
    for item in row.get("custom_fields_values") or []:
        if isinstance(item, dict) and item.get("field_id") is not None:
            values = [
                {k: v for k, v in value.items() if k in ("value", "enum_id", "enum_code")}
                if isinstance(value, dict)
                else value
                for value in item.get("values") or []
            ]
            out.append(_RawField(int(item["field_id"]), values))
    return out


__all__ = ["AmoRetentionPort", "reference_tag", "refers_to"]
