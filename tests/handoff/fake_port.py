"""An in-memory amoCRM for hand-off tests: it records every call and can fail on demand."""

from __future__ import annotations

from dataclasses import dataclass, field

from amo_bridge.handoff.model import ClientKeys, OpenLead, StatusRef

FIRST_STATUS = {1001: 2000, 2000: 4000, 3000: 5000}


@dataclass
class FakeLead:
    lead_id: int
    pipeline_id: int
    status_id: int
    responsible_user_id: int | None
    keys: ClientKeys = field(default_factory=ClientKeys)
    updated_at: float = 0.0
    tags: set[str] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)
    loss_reason_id: int | None = None


class FakePort:
    def __init__(self, pool_choice: dict[str, list[int]] | None = None) -> None:
        self.leads: dict[int, FakeLead] = {}
        self.tasks: dict[str, tuple[int, str, float, int]] = {}
        self.task_calls = 0
        self.linked: list[tuple[str, int]] = []
        self.accepted: list[tuple[str, int]] = []
        self.calls: list[str] = []
        self.fail_on: set[str] = set()
        self.pool_choice = pool_choice or {}

    def _call(self, name: str) -> None:
        self.calls.append(name)
        if name in self.fail_on:
            self.fail_on.discard(name)
            raise ConnectionError(f"amoCRM unavailable during {name}")

    def move_lead(
        self, lead_id: int, pipeline_id: int, status: StatusRef, loss_reason_id: int | None
    ) -> None:
        self._call("move_lead")
        lead = self.leads[lead_id]
        lead.pipeline_id = pipeline_id
        lead.status_id = FIRST_STATUS[pipeline_id] if status == "first" else status
        lead.loss_reason_id = loss_reason_id

    def assign_user(self, lead_id: int, user_id: int) -> None:
        self._call("assign_user")
        self.leads[lead_id].responsible_user_id = user_id

    def assign_from_pool(self, lead_id: int, pool: str) -> int | None:
        self._call("assign_from_pool")
        members = self.pool_choice.get(pool, [])
        if not members:
            return None
        chosen = members.pop(0)
        members.append(chosen)
        self.leads[lead_id].responsible_user_id = chosen
        return chosen

    def add_tags(self, lead_id: int, tags: tuple[str, ...]) -> None:
        self._call("add_tags")
        self.leads[lead_id].tags.update(tags)

    def add_note(self, lead_id: int, text: str) -> None:
        self._call("add_note")
        self.leads[lead_id].notes.append(text)

    def create_task(self, lead_id: int, text: str, due_at: float, task_type_id: int, *, key: str) -> None:
        self._call("create_task")
        self.task_calls += 1
        self.tasks.setdefault(key, (lead_id, text, due_at, task_type_id))

    def link_unsorted(self, uid: str, lead_id: int) -> None:
        self._call("link_unsorted")
        self.linked.append((uid, lead_id))

    def accept_unsorted(self, uid: str, user_id: int) -> None:
        self._call("accept_unsorted")
        self.accepted.append((uid, user_id))

    def open_leads_of(self, keys: ClientKeys, *, exclude_lead_id: int | None = None) -> list[OpenLead]:
        self._call("open_leads_of")
        return [
            OpenLead(
                lead.lead_id,
                lead.pipeline_id,
                lead.status_id,
                lead.responsible_user_id,
                lead.updated_at,
                lead.keys,
            )
            for lead in self.leads.values()
            if lead.lead_id != exclude_lead_id
            and (
                lead.keys.phones & keys.phones
                or lead.keys.emails & keys.emails
                or (keys.company_id is not None and lead.keys.company_id == keys.company_id)
            )
        ]
