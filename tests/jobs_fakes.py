"""In-memory amoCRM behind the jobs' ports, for tests. Thread-safe; counts every call as a request."""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from amo_bridge.retention.model import WON_STATUS_ID, RetentionLeadDraft, TaskDraft, WonDeal
from amo_bridge.triggers.evaluate import LeadFacts
from amo_bridge.triggers.port import TriggerTask
from amo_bridge.triggers.rules import Catalog


@dataclass
class FakeLead:
    id: int
    name: str
    pipeline_id: int
    status_id: int
    responsible_user_id: int
    closed_at: int = 0
    price: int = 0
    contact_ids: tuple[int, ...] = ()
    company_id: int | None = None
    fields: dict[int, object] = field(default_factory=dict)
    tags: set[str] = field(default_factory=set)
    won_reference: int | None = None


@dataclass
class FakeTask:
    id: int
    lead_id: int
    text: str
    task_type_id: int
    complete_till: int
    responsible_user_id: int
    created_at: int
    is_completed: bool = False


class FakeAmo:
    """Just enough of an account for both ports."""

    def __init__(self, now: Callable[[], float] = lambda: 0.0) -> None:
        self.now = now
        self.lock = threading.RLock()
        self.ids = itertools.count(90_000)
        self.leads: dict[int, FakeLead] = {}
        self.tasks: dict[int, FakeTask] = {}
        self.notes: list[tuple[int, str]] = []
        self.calls: Counter[str] = Counter()
        self.pipelines: dict[int, list[int]] = {}
        self.owners: dict[tuple[str, int], int] = {}  # ("contact" | "company", id) -> responsible

    def add_lead(self, lead: FakeLead) -> FakeLead:
        with self.lock:
            self.leads[lead.id] = lead
        return lead

    def call(self, name: str) -> None:
        with self.lock:
            self.calls[name] += 1

    @property
    def requests(self) -> int:
        return sum(self.calls.values())


class FakeRetentionPort:
    def __init__(self, amo: FakeAmo, managers: dict[int, int] | None = None) -> None:
        self.amo = amo
        self.managers = managers or {}  # contact id -> existing account manager
        self.on_create: Callable[[int], None] | None = None

    def won_deals(self, pipeline_ids: Sequence[int], closed_from: int, closed_to: int) -> Iterable[WonDeal]:
        self.amo.call("won_deals")
        with self.amo.lock:
            leads = sorted(self.amo.leads.values(), key=lambda lead: (lead.closed_at, lead.id))
        return [
            WonDeal(
                lead_id=lead.id,
                name=lead.name,
                pipeline_id=lead.pipeline_id,
                responsible_user_id=lead.responsible_user_id,
                closed_at=lead.closed_at,
                price=lead.price,
                contact_ids=lead.contact_ids,
                company_id=lead.company_id,
                custom_fields=dict(lead.fields),
            )
            for lead in leads
            if lead.status_id == WON_STATUS_ID
            and lead.pipeline_id in pipeline_ids
            and closed_from <= lead.closed_at <= closed_to
        ]

    def first_stage(self, pipeline_id: int) -> int:
        self.amo.call("first_stage")
        return self.amo.pipelines[pipeline_id][0]

    def client_account_manager(self, contact_ids: Sequence[int], company_id: int | None) -> int | None:
        self.amo.call("client_account_manager")
        for contact in contact_ids:
            if contact in self.managers:
                return self.managers[contact]
        return None

    def find_retention_lead(self, won_lead_id: int, pipeline_id: int) -> int | None:
        self.amo.call("find_retention_lead")
        with self.amo.lock:
            for lead in self.amo.leads.values():
                if lead.won_reference == won_lead_id and lead.pipeline_id == pipeline_id:
                    return lead.id
        return None

    def create_lead(self, draft: RetentionLeadDraft) -> int:
        self.amo.call("create_lead")
        with self.amo.lock:
            lead = FakeLead(
                id=next(self.amo.ids),
                name=draft.name,
                pipeline_id=draft.pipeline_id,
                status_id=draft.status_id,
                responsible_user_id=draft.responsible_user_id,
                price=draft.price,
                contact_ids=draft.contact_ids,
                company_id=draft.company_id,
                fields=dict(draft.custom_fields),
                tags=set(draft.tags),
                won_reference=draft.won_lead_id,
            )
            self.amo.leads[lead.id] = lead
        if self.on_create is not None:
            self.on_create(lead.id)
        return lead.id

    def move_lead(self, lead_id: int, pipeline_id: int, status_id: int, responsible_user_id: int) -> None:
        self.amo.call("move_lead")
        with self.amo.lock:
            lead = self.amo.leads[lead_id]
            lead.pipeline_id, lead.status_id, lead.responsible_user_id = (
                pipeline_id,
                status_id,
                responsible_user_id,
            )

    def give_client(self, contact_ids: Sequence[int], company_id: int | None, user_id: int) -> int:
        entities = [("contact", c) for c in contact_ids]
        entities += [("company", company_id)] if company_id is not None else []
        with self.amo.lock:
            changed = [e for e in entities if self.amo.owners.get(e) != user_id]
            for entity in changed:
                self.amo.owners[entity] = user_id
        if changed:
            self.amo.call("give_client")
        return len(changed)

    def find_task(self, lead_id: int, text: str) -> int | None:
        self.amo.call("find_task")
        with self.amo.lock:
            for task in self.amo.tasks.values():
                if task.lead_id == lead_id and task.text == text:
                    return task.id
        return None

    def create_task(self, task: TaskDraft) -> int:
        self.amo.call("create_task")
        with self.amo.lock:
            new = FakeTask(
                next(self.amo.ids),
                task.lead_id,
                task.text,
                task.task_type_id,
                task.complete_till,
                task.responsible_user_id,
                int(self.amo.now()),
            )
            self.amo.tasks[new.id] = new
        return new.id

    # what the tests look at
    def retention_leads(self, pipeline_id: int) -> list[FakeLead]:
        with self.amo.lock:
            return [lead for lead in self.amo.leads.values() if lead.pipeline_id == pipeline_id]


class FixedChooser:
    def __init__(self, user_id: int | None) -> None:
        self.user_id = user_id
        self.calls = 0
        self.linked: dict[int, int] = {}
        self.keys: list[str] = []

    def choose_account_manager(self, deal: WonDeal) -> int | None:
        self.calls += 1
        return self.user_id

    def lead_created(self, deal: WonDeal, lead_id: int) -> None:
        self.linked[deal.lead_id] = lead_id

    def choose_from_pool(self, pool: str, lead: LeadFacts, key: str) -> int | None:
        self.calls += 1
        self.keys.append(key)
        return self.user_id


class FakeTriggerPort:
    def __init__(self, amo: FakeAmo, catalog: Catalog) -> None:
        self.amo = amo
        self._catalog = catalog
        self.facts: dict[int, LeadFacts] = {}
        self.after_create_task: Callable[[int], None] | None = None

    def set(self, facts: LeadFacts) -> None:
        self.facts[facts.lead_id] = facts

    def update(self, lead_id: int, **changes: Any) -> None:
        self.facts[lead_id] = replace(self.facts[lead_id], **changes)

    def catalog(self) -> Catalog:
        self.amo.call("catalog")
        return self._catalog

    def leads(self, pipeline_id: int, stage_ids: Sequence[int]) -> Iterable[LeadFacts]:
        self.amo.call("leads")
        return [
            f
            for f in self.facts.values()
            if f.pipeline_id == pipeline_id and (not stage_ids or f.status_id in stage_ids)
        ]

    def task_is_open(self, task_id: int) -> bool:
        self.amo.call("task_is_open")
        return not self.amo.tasks[task_id].is_completed

    def find_task(self, lead_id: int, text: str, created_from: int) -> int | None:
        self.amo.call("find_task")
        for task in self.amo.tasks.values():
            if task.lead_id == lead_id and task.text == text and task.created_at >= created_from:
                return task.id
        return None

    def create_task(self, task: TriggerTask) -> int:
        self.amo.call("create_task")
        with self.amo.lock:
            new = FakeTask(
                next(self.amo.ids),
                task.lead_id,
                task.text,
                task.task_type_id,
                task.complete_till,
                task.responsible_user_id,
                int(self.amo.now()),
            )
            self.amo.tasks[new.id] = new
        if self.after_create_task is not None:
            self.after_create_task(new.id)
        return new.id

    def add_tag(self, lead_id: int, tag: str) -> None:
        self.amo.call("add_tag")
        self.amo.leads.setdefault(lead_id, FakeLead(lead_id, "", 0, 0, 0)).tags.add(tag)

    def add_note(self, lead_id: int, text: str) -> None:
        self.amo.call("add_note")
        self.amo.notes.append((lead_id, text))

    def move_lead(self, lead_id: int, pipeline_id: int, status_id: int) -> None:
        self.amo.call("move_lead")
        self.facts[lead_id] = replace(self.facts[lead_id], status_id=status_id)

    def tasks_for(self, lead_id: int) -> list[FakeTask]:
        return [t for t in self.amo.tasks.values() if t.lead_id == lead_id]
