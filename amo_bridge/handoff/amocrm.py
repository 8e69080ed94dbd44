"""The hand-off port over the amoCRM API client."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from amo_bridge.api import AmoClient
from amo_bridge.api.models import Contact, Lead, Pipeline
from amo_bridge.api.resources.notes import common_note
from amo_bridge.api.resources.tasks import new_task
from amo_bridge.handoff.duplicates import client_keys
from amo_bridge.handoff.model import ClientKeys, OpenLead, StatusRef

PoolAssigner = Callable[[int, str], "int | None"]


class AmoHandoffPort:
    """Carries out hand-off actions through :class:`~amo_bridge.api.AmoClient`.

    ``assign_from_pool`` is the distributor's entry point (lead id, pool name) -> chosen user id,
    passed in by the process that wires the parts together.
    """

    def __init__(
        self,
        client: AmoClient,
        *,
        assign_from_pool: PoolAssigner | None = None,
        phone_region: str = "RU",
    ) -> None:
        self._client = client
        self._assign_from_pool = assign_from_pool
        self._region = phone_region
        self._pipelines: dict[int, Pipeline] = {}

    def _pipeline(self, pipeline_id: int) -> Pipeline:
        if pipeline_id not in self._pipelines:
            self._pipelines = {p.id: p for p in self._client.pipelines.list()}
        return self._pipelines[pipeline_id]

    def move_lead(
        self, lead_id: int, pipeline_id: int, status: StatusRef, loss_reason_id: int | None
    ) -> None:
        status_id = self._pipeline(pipeline_id).first_working_status.id if status == "first" else status
        fields = {"loss_reason_id": loss_reason_id} if loss_reason_id is not None else {}
        self._client.leads.update(lead_id, pipeline_id=pipeline_id, status_id=status_id, **fields)

    def assign_user(self, lead_id: int, user_id: int) -> None:
        self._client.leads.set_responsible(lead_id, user_id)

    def assign_from_pool(self, lead_id: int, pool: str) -> int | None:
        if self._assign_from_pool is None:
            raise RuntimeError(f"no distributor is wired to assign lead {lead_id} from pool {pool!r}")
        return self._assign_from_pool(lead_id, pool)

    def add_tags(self, lead_id: int, tags: tuple[str, ...]) -> None:
        # PATCH replaces the lead's tags: send the ones it has plus the new ones.
        current = self._client.leads.get(lead_id, with_=()).tag_names
        names = list(dict.fromkeys([*current, *tags]))
        self._client.leads.update(lead_id, _embedded={"tags": [{"name": n} for n in names]})

    def add_note(self, lead_id: int, text: str) -> None:
        self._client.notes.add("leads", [common_note(lead_id, text)])

    def create_task(self, lead_id: int, text: str, due_at: float, task_type_id: int, *, key: str) -> None:
        lead = self._client.leads.get(lead_id, with_=())
        task = new_task(
            text=text,
            complete_till=int(due_at),
            entity_id=lead_id,
            entity_type="leads",
            responsible_user_id=lead.responsible_user_id,
            task_type_id=task_type_id,
        )
        self._client.tasks.create(task, idempotency_key=f"handoff:{key}")

    def link_unsorted(self, uid: str, lead_id: int) -> None:
        self._client.unsorted.link(uid, lead_id=lead_id)

    def accept_unsorted(self, uid: str, user_id: int) -> None:
        self._client.unsorted.accept(uid, user_id=user_id)

    def open_leads_of(self, keys: ClientKeys, *, exclude_lead_id: int | None = None) -> list[OpenLead]:
        contacts: dict[int, Contact] = {}
        for query in _queries(keys):
            for contact in self._client.contacts.list(query=query, with_=("leads",)):
                contacts[contact.id] = contact
        lead_keys: dict[int, ClientKeys] = {}
        for contact in contacts.values():
            found = self.keys_of(contact)
            if found.phones & keys.phones or found.emails & keys.emails:
                for lead_id in contact.lead_ids:
                    lead_keys[lead_id] = found
        if keys.company_id is not None:
            company = self._client.companies.get(keys.company_id, with_=("leads",))
            for lead_id in company.lead_ids:
                lead_keys.setdefault(lead_id, ClientKeys(company_id=company.id))
        lead_keys.pop(exclude_lead_id or -1, None)  # a new client's only lead is its own: no read
        if not lead_keys:
            return []
        leads: Iterable[Lead] = self._client.leads.list(ids=sorted(lead_keys))
        return [
            OpenLead(
                lead.id,
                lead.pipeline_id,
                lead.status_id,
                lead.responsible_user_id,
                float(lead.updated_at),
                lead_keys[lead.id],
            )
            for lead in leads
            if not lead.is_deleted
        ]

    def keys_of(self, contact: Contact, company_id: int | None = None) -> ClientKeys:
        phones = [
            str(v.get("value", "")) if isinstance(v, dict) else str(v) for v in contact.field_values("PHONE")
        ]
        emails = [
            str(v.get("value", "")) if isinstance(v, dict) else str(v) for v in contact.field_values("EMAIL")
        ]
        return client_keys(phones, emails, company_id, default_region=self._region)


def _queries(keys: ClientKeys) -> list[str]:
    """Search strings for amoCRM's contact search: the national digits of a phone, an e-mail."""
    return [phone[-10:] for phone in sorted(keys.phones)] + sorted(keys.emails)
