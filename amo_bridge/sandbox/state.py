"""The sandbox account in memory: entities, their mutations, events and change notifications.

Every mutation goes through a method here, whether it comes from the HTTP API or from the scenario's
actors (who stand for people clicking in amoCRM's interface). Each method records amoCRM events
(``/api/v4/events``) and tells listeners about the change (the webhook dispatcher listens). One
re-entrant lock guards everything; listeners are called outside no lock-sensitive I/O (they queue).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from amo_bridge.sandbox import validation
from amo_bridge.sandbox.clock import SandboxClock
from amo_bridge.sandbox.problems import EntityNotFound, InvalidInput, error
from amo_bridge.sandbox.records import (
    EVENT_ENTITY,
    LOST,
    UNSORTED_TYPE,
    WON,
    Change,
    Record,
    copy_record,
)

Listener = Callable[[Change], None]


class SandboxState:
    def __init__(self, clock: SandboxClock, *, account_id: int, subdomain: str) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self.account: Record = {"id": account_id, "subdomain": subdomain, "name": subdomain}
        self.listeners: list[Listener] = []
        self.clear()

    # ------------------------------------------------------------------ basics
    def clear(self) -> None:
        with self.lock:
            self.groups: list[Record] = []
            self.users: dict[int, Record] = {}
            self.pipelines: dict[int, Record] = {}
            self.custom_fields: dict[str, list[Record]] = {"leads": [], "contacts": [], "companies": []}
            self.task_types: list[Record] = []
            self.loss_reasons: list[Record] = []
            self.leads: dict[int, Record] = {}
            self.contacts: dict[int, Record] = {}
            self.companies: dict[int, Record] = {}
            self.tasks: dict[int, Record] = {}
            self.notes: dict[str, dict[int, Record]] = {"leads": {}, "contacts": {}, "companies": {}}
            self.events: list[Record] = []
            self.calls: dict[int, Record] = {}
            self.unsorted: dict[str, Record] = {}
            self.unsorted_done: dict[str, Record] = {}
            self.catalogs: dict[int, Record] = {}
            self.catalog_fields: dict[int, list[Record]] = {}
            self.catalog_elements: dict[int, Record] = {}
            self.webhooks: dict[int, Record] = {}
            self.ground_truth: Record = {"seed": None, "leads": {}, "clients": {}}
            self._ids: dict[str, int] = {}
            self.quiet = False  # while seeding: no events to listeners
            # Who owns what nobody was given: new unsorted leads and their contacts belong to the
            # account's main user, as amoCRM gives them to the source's default user (set by the seed).
            self.default_user_id = 0

    def next_id(self, kind: str, start: int = 10_000_000) -> int:
        with self.lock:
            value = self._ids.get(kind, start) + 1
            self._ids[kind] = value
            return value

    def bump_id(self, kind: str, at_least: int) -> None:
        with self.lock:
            self._ids[kind] = max(self._ids.get(kind, 0), at_least)

    def now(self) -> int:
        return int(self.clock.now())

    def _notify(self, section: str, action: str, record: Record, /, **extra: Any) -> None:
        if self.quiet:
            return
        change = Change(section, action, copy_record(record), extra, self.clock.now())
        for listener in list(self.listeners):
            listener(change)

    def add_event(
        self,
        type_: str,
        entity_type: str,
        entity_id: int,
        *,
        by: int,
        before: list[Record] | None = None,
        after: list[Record] | None = None,
        at: int | None = None,
    ) -> Record:
        event: Record = {
            "id": uuid.UUID(int=self.next_id("event", 0) | (1 << 100)).hex[-26:],
            "type": type_,
            "entity_id": entity_id,
            "entity_type": EVENT_ENTITY.get(entity_type, entity_type),
            "created_by": by,
            "created_at": at if at is not None else self.now(),
            "value_after": after or [],
            "value_before": before or [],
            "account_id": self.account["id"],
        }
        with self.lock:
            self.events.append(event)
        return event

    # ------------------------------------------------------------------ lookups
    def status(self, pipeline_id: int, status_id: int) -> Record | None:
        pipeline = self.pipelines.get(pipeline_id)
        if pipeline is None:
            return None
        return next((s for s in pipeline["statuses"] if s["id"] == status_id), None)

    def unsorted_status(self, pipeline_id: int) -> Record | None:
        pipeline = self.pipelines.get(pipeline_id)
        if pipeline is None:
            return None
        return next((s for s in pipeline["statuses"] if s["type"] == UNSORTED_TYPE), None)

    def first_status(self, pipeline_id: int) -> Record:
        pipeline = self.pipelines[pipeline_id]
        return next(
            s for s in pipeline["statuses"] if s["type"] != UNSORTED_TYPE and s["id"] not in (WON, LOST)
        )

    def pipelines_with_status(self, status_id: int) -> list[int]:
        return [p["id"] for p in self.pipelines.values() if any(s["id"] == status_id for s in p["statuses"])]

    def main_pipeline_id(self) -> int:
        return int(next(p["id"] for p in self.pipelines.values() if p["is_main"]))

    def user_group(self, user_id: int) -> int:
        user = self.users.get(user_id)
        return int(user["rights"]["group_id"] or 0) if user else 0

    def entity_store(self, entity_type: str) -> dict[int, Record]:
        stores = {"leads": self.leads, "contacts": self.contacts, "companies": self.companies}
        if entity_type not in stores:
            raise EntityNotFound(entity_type)
        return stores[entity_type]

    def get(self, entity_type: str, entity_id: int) -> Record:
        record = self.entity_store(entity_type).get(entity_id)
        if record is None or record.get("is_deleted"):
            raise EntityNotFound(f"{entity_type} {entity_id}")
        return record

    # ------------------------------------------------------------------ custom fields
    def normalise_custom_fields(
        self, entity_type: str, given: Any, current: list[Record] | None, path: str = "custom_fields_values"
    ) -> list[Record] | None:
        return validation.normalise_custom_fields(self, entity_type, given, current, path)

    # ------------------------------------------------------------------ leads
    def validate_lead(self, data: Any, current: Record | None) -> Record:
        return validation.validate_lead(self, data, current)

    def add_lead(self, fields: Record, *, by: int = 0, at: int | None = None) -> Record:
        with self.lock:
            now = at if at is not None else self.now()
            pipeline_id = fields.get("pipeline_id") or self.main_pipeline_id()
            status_id = fields.get("status_id") or self.first_status(pipeline_id)["id"]
            responsible = fields.get("responsible_user_id", by or 0)
            lead: Record = {
                "id": self.next_id("lead"),
                "name": fields.get("name") or "",
                "price": fields.get("price", 0) or 0,
                "responsible_user_id": responsible,
                "group_id": self.user_group(responsible),
                "status_id": status_id,
                "pipeline_id": pipeline_id,
                "loss_reason_id": fields.get("loss_reason_id"),
                "created_by": fields.get("created_by", by),
                "updated_by": by,
                "created_at": fields.get("created_at", now),
                "updated_at": fields.get("updated_at", now),
                "closed_at": now if status_id in (WON, LOST) else None,
                "closest_task_at": None,
                "is_deleted": False,
                "custom_fields_values": fields.get("custom_fields_values"),
                "score": None,
                "account_id": self.account["id"],
                "labor_cost": None,
                "tags": fields.get("tags", []),
                "contacts": [],
                "company_id": None,
            }
            self.leads[lead["id"]] = lead
            self.add_event(
                "lead_added",
                "leads",
                lead["id"],
                by=by,
                at=lead["created_at"],
                after=[{"lead_status": {"id": status_id, "pipeline_id": pipeline_id}}],
            )
            self._notify("leads", "add", lead)
            return lead

    def update_lead(self, lead_id: int, changes: Record, *, by: int = 0) -> Record:
        with self.lock:
            lead = self.get("leads", lead_id)
            old = copy_record(lead)
            now = self.now()
            for key, value in changes.items():
                lead[key] = value
            lead["updated_at"] = changes.get("updated_at", now)
            lead["updated_by"] = by
            if "responsible_user_id" in changes:
                lead["group_id"] = self.user_group(lead["responsible_user_id"])
            status_changed = (lead["status_id"], lead["pipeline_id"]) != (
                old["status_id"],
                old["pipeline_id"],
            )
            if status_changed:
                lead["closed_at"] = now if lead["status_id"] in (WON, LOST) else None
                self.add_event(
                    "lead_status_changed",
                    "leads",
                    lead_id,
                    by=by,
                    before=[{"lead_status": {"id": old["status_id"], "pipeline_id": old["pipeline_id"]}}],
                    after=[{"lead_status": {"id": lead["status_id"], "pipeline_id": lead["pipeline_id"]}}],
                )
            responsible_changed = lead["responsible_user_id"] != old["responsible_user_id"]
            if responsible_changed:
                self.add_event(
                    "entity_responsible_changed",
                    "leads",
                    lead_id,
                    by=by,
                    before=[{"responsible_user": {"id": old["responsible_user_id"]}}],
                    after=[{"responsible_user": {"id": lead["responsible_user_id"]}}],
                )
            if lead["price"] != old["price"]:
                self.add_event(
                    "sale_field_changed",
                    "leads",
                    lead_id,
                    by=by,
                    before=[{"sale_field_value": {"sale": old["price"]}}],
                    after=[{"sale_field_value": {"sale": lead["price"]}}],
                )
            self._custom_field_events(
                "leads", lead_id, old.get("custom_fields_values"), lead.get("custom_fields_values"), by
            )
            self._notify("leads", "update", lead)
            if status_changed:
                self._notify(
                    "leads",
                    "status",
                    lead,
                    old_status_id=old["status_id"],
                    old_pipeline_id=old["pipeline_id"],
                )
            if responsible_changed:
                self._notify("leads", "responsible", lead, old_responsible_user_id=old["responsible_user_id"])
            return lead

    def _custom_field_events(
        self, entity_type: str, entity_id: int, before: Any, after: Any, by: int
    ) -> None:
        old = {v["field_id"]: v["values"] for v in before or []}
        new = {v["field_id"]: v["values"] for v in after or []}
        for field_id in sorted(set(old) | set(new)):
            if old.get(field_id) != new.get(field_id):
                self.add_event(
                    f"custom_field_{field_id}_value_changed",
                    entity_type,
                    entity_id,
                    by=by,
                    before=[
                        {"custom_field_value": {"field_id": field_id, "text": str(v.get("value"))}}
                        for v in old.get(field_id, [])
                    ],
                    after=[
                        {"custom_field_value": {"field_id": field_id, "text": str(v.get("value"))}}
                        for v in new.get(field_id, [])
                    ],
                )

    def delete_lead(self, lead_id: int, *, by: int = 0) -> None:
        with self.lock:
            lead = self.get("leads", lead_id)
            lead["is_deleted"] = True
            lead["updated_at"] = self.now()
            self.add_event("lead_deleted", "leads", lead_id, by=by)
            self._notify("leads", "delete", lead)

    # ------------------------------------------------------------------ contacts and companies
    def add_contact(
        self, fields: Record, *, by: int = 0, company: bool = False, at: int | None = None
    ) -> Record:
        with self.lock:
            now = at if at is not None else self.now()
            kind = "companies" if company else "contacts"
            responsible = fields.get("responsible_user_id", by or 0)
            record: Record = {
                "id": self.next_id("company" if company else "contact"),
                "name": fields.get("name") or "",
                "responsible_user_id": responsible,
                "group_id": self.user_group(responsible),
                "created_by": by,
                "updated_by": by,
                "created_at": fields.get("created_at", now),
                "updated_at": fields.get("updated_at", now),
                "closest_task_at": None,
                "is_deleted": False,
                "custom_fields_values": fields.get("custom_fields_values"),
                "account_id": self.account["id"],
                "tags": [],
                "lead_ids": [],
            }
            if company:
                record["contact_ids"] = []
            else:
                record["first_name"] = fields.get("first_name", "")
                record["last_name"] = fields.get("last_name", "")
                record["company_id"] = None
            self.entity_store(kind)[record["id"]] = record
            self.add_event(
                "company_added" if company else "contact_added",
                kind,
                record["id"],
                by=by,
                at=record["created_at"],
            )
            self._notify("contacts", "add", record, type="company" if company else "contact")
            return record

    def update_contact(self, entity_type: str, entity_id: int, changes: Record, *, by: int = 0) -> Record:
        with self.lock:
            record = self.get(entity_type, entity_id)
            old = copy_record(record)
            record.update(changes)
            record["updated_at"] = self.now()
            record["updated_by"] = by
            if (
                "responsible_user_id" in changes
                and old["responsible_user_id"] != record["responsible_user_id"]
            ):
                self.add_event(
                    "entity_responsible_changed",
                    entity_type,
                    entity_id,
                    by=by,
                    before=[{"responsible_user": {"id": old["responsible_user_id"]}}],
                    after=[{"responsible_user": {"id": record["responsible_user_id"]}}],
                )
            self._custom_field_events(
                entity_type,
                entity_id,
                old.get("custom_fields_values"),
                record.get("custom_fields_values"),
                by,
            )
            self._notify(
                "contacts", "update", record, type="company" if entity_type == "companies" else "contact"
            )
            return record

    def validate_contact(self, entity_type: str, data: Any, current: Record | None) -> Record:
        return validation.validate_contact(self, entity_type, data, current)

    # ------------------------------------------------------------------ links
    def link(
        self,
        entity_type: str,
        entity_id: int,
        to_type: str,
        to_id: int,
        *,
        is_main: bool = False,
        by: int = 0,
    ) -> None:
        with self.lock:
            source = self.get(entity_type, entity_id)
            target = self.get(to_type, to_id)
            pair = {entity_type, to_type}
            if pair == {"leads", "contacts"}:
                lead, contact = (source, target) if entity_type == "leads" else (target, source)
                if all(c["id"] != contact["id"] for c in lead["contacts"]):
                    lead["contacts"].append({"id": contact["id"], "is_main": is_main or not lead["contacts"]})
                if lead["id"] not in contact["lead_ids"]:
                    contact["lead_ids"].append(lead["id"])
            elif pair == {"leads", "companies"}:
                lead, company = (source, target) if entity_type == "leads" else (target, source)
                lead["company_id"] = company["id"]
                if lead["id"] not in company["lead_ids"]:
                    company["lead_ids"].append(lead["id"])
            elif pair == {"contacts", "companies"}:
                contact, company = (source, target) if entity_type == "contacts" else (target, source)
                contact["company_id"] = company["id"]
                if contact["id"] not in company["contact_ids"]:
                    company["contact_ids"].append(contact["id"])
            else:
                raise EntityNotFound(f"cannot link {entity_type} to {to_type}")
            self.add_event(
                "entity_linked",
                entity_type,
                entity_id,
                by=by,
                after=[{"link": {"entity": {"id": to_id, "type": EVENT_ENTITY.get(to_type, to_type)}}}],
            )

    def unlink(self, entity_type: str, entity_id: int, to_type: str, to_id: int) -> None:
        with self.lock:
            source = self.get(entity_type, entity_id)
            if entity_type == "leads" and to_type == "contacts":
                source["contacts"] = [c for c in source["contacts"] if c["id"] != to_id]
                contact = self.contacts.get(to_id)
                if contact and entity_id in contact["lead_ids"]:
                    contact["lead_ids"].remove(entity_id)
            elif entity_type == "leads" and to_type == "companies":
                source["company_id"] = None

    def links_of(self, entity_type: str, entity_id: int) -> list[Record]:
        record = self.get(entity_type, entity_id)
        out: list[Record] = []
        if entity_type == "leads":
            out += [
                {
                    "to_entity_id": c["id"],
                    "to_entity_type": "contacts",
                    "metadata": {"main_contact": c["is_main"]},
                }
                for c in record["contacts"]
            ]
            if record["company_id"]:
                out.append(
                    {"to_entity_id": record["company_id"], "to_entity_type": "companies", "metadata": None}
                )
        elif entity_type == "contacts":
            out += [
                {"to_entity_id": i, "to_entity_type": "leads", "metadata": None} for i in record["lead_ids"]
            ]
            if record.get("company_id"):
                out.append(
                    {"to_entity_id": record["company_id"], "to_entity_type": "companies", "metadata": None}
                )
        else:
            out += [
                {"to_entity_id": i, "to_entity_type": "leads", "metadata": None} for i in record["lead_ids"]
            ]
            out += [
                {"to_entity_id": i, "to_entity_type": "contacts", "metadata": None}
                for i in record["contact_ids"]
            ]
        for item in out:
            item["entity_id"] = entity_id
            item["entity_type"] = entity_type
        return out

    # ------------------------------------------------------------------ tasks
    def validate_task(self, data: Any, current: Record | None) -> Record:
        return validation.validate_task(self, data, current)

    def add_task(self, fields: Record, *, by: int = 0) -> Record:
        with self.lock:
            now = self.now()
            responsible = fields.get("responsible_user_id", by)
            task: Record = {
                "id": self.next_id("task"),
                "created_by": by,
                "updated_by": by,
                "created_at": fields.get("created_at", now),
                "updated_at": fields.get("updated_at", now),
                "responsible_user_id": responsible,
                "group_id": self.user_group(responsible),
                "entity_id": fields.get("entity_id"),
                "entity_type": fields.get("entity_type", "leads" if fields.get("entity_id") else None),
                "is_completed": fields.get("is_completed", False),
                "task_type_id": fields.get("task_type_id", 1),
                "text": fields["text"],
                "duration": fields.get("duration", 0),
                "complete_till": fields["complete_till"],
                "result": fields.get("result", {}),
                "account_id": self.account["id"],
            }
            self.tasks[task["id"]] = task
            self._refresh_closest_task(task)
            self.add_event("task_added", "tasks", task["id"], by=by)
            self._notify("task", "add", task)
            return task

    def update_task(self, task_id: int, changes: Record, *, by: int = 0) -> Record:
        with self.lock:
            task = self.tasks.get(task_id)
            if task is None:
                raise EntityNotFound(f"task {task_id}")
            was_completed = task["is_completed"]
            task.update(changes)
            task["updated_at"] = self.now()
            task["updated_by"] = by
            if task["is_completed"] and not was_completed:
                self.add_event(
                    "task_completed",
                    "tasks",
                    task_id,
                    by=by,
                    after=[{"task_completed": {"result": task.get("result", {}).get("text", "")}}],
                )
            self._refresh_closest_task(task)
            self._notify("task", "update", task)
            return task

    def _refresh_closest_task(self, task: Record) -> None:
        if task.get("entity_type") not in ("leads", "contacts", "companies") or not task.get("entity_id"):
            return
        owner = self.entity_store(task["entity_type"]).get(task["entity_id"])
        if owner is None:
            return
        open_tasks = [
            t["complete_till"]
            for t in self.tasks.values()
            if t["entity_id"] == owner["id"]
            and t["entity_type"] == task["entity_type"]
            and not t["is_completed"]
        ]
        owner["closest_task_at"] = min(open_tasks) if open_tasks else None

    # ------------------------------------------------------------------ notes
    def add_note(
        self,
        entity_type: str,
        entity_id: int,
        note_type: str,
        params: Record,
        *,
        by: int = 0,
        at: int | None = None,
    ) -> Record:
        with self.lock:
            owner = self.get(entity_type, entity_id)
            now = at if at is not None else self.now()
            note: Record = {
                "id": self.next_id("note"),
                "entity_id": entity_id,
                "created_by": by,
                "updated_by": by,
                "created_at": now,
                "updated_at": now,
                "responsible_user_id": by or owner["responsible_user_id"],
                "group_id": self.user_group(by),
                "note_type": note_type,
                "params": params,
                "account_id": self.account["id"],
            }
            self.notes[entity_type][note["id"]] = note
            kind = {"call_in": "incoming_call", "call_out": "outgoing_call"}.get(
                note_type, "common_note_added"
            )
            if kind == "common_note_added" and note_type != "common":
                kind = f"{note_type}_note_added"
            self.add_event(kind, entity_type, entity_id, by=by, at=now, after=[{"note": {"id": note["id"]}}])
            singular = {"leads": "lead", "contacts": "contact", "companies": "company"}[entity_type]
            self._notify(
                f"note_{singular}",
                "add",
                note,
                element_type={"contacts": 1, "leads": 2, "companies": 3}[entity_type],
            )
            return note

    # ------------------------------------------------------------------ unsorted
    def add_unsorted(
        self,
        *,
        category: str,
        pipeline_id: int,
        source_uid: str,
        source_name: str,
        lead_fields: Record,
        contact_id: int | None,
        metadata: Record,
        at: int | None = None,
    ) -> Record:
        with self.lock:
            status = self.unsorted_status(pipeline_id)
            if status is None:
                raise EntityNotFound(f"pipeline {pipeline_id} has no unsorted stage")
            was_quiet = self.quiet
            self.quiet = True  # the unsorted[add] webhook stands for the lead's creation
            try:
                lead = self.add_lead(
                    {
                        **lead_fields,
                        "pipeline_id": pipeline_id,
                        "status_id": status["id"],
                        "responsible_user_id": lead_fields.get("responsible_user_id", self.default_user_id),
                    },
                    by=0,
                    at=at,
                )
                if contact_id is not None:
                    self.link("leads", lead["id"], "contacts", contact_id, is_main=True)
            finally:
                self.quiet = was_quiet
            uid = uuid.UUID(int=(self.next_id("unsorted", 0) << 64) | lead["id"]).hex
            record: Record = {
                "uid": uid,
                "source_uid": source_uid,
                "source_name": source_name,
                "category": category,
                "pipeline_id": pipeline_id,
                "created_at": lead["created_at"],
                "metadata": metadata,
                "account_id": self.account["id"],
                "lead_id": lead["id"],
                "contact_ids": [contact_id] if contact_id is not None else [],
            }
            self.unsorted[uid] = record
            contacts = [copy_record(self.contacts[c]) for c in record["contact_ids"] if c in self.contacts]
            self._notify("unsorted", "add", record, lead=copy_record(lead), contacts=contacts)
            return record

    def take_unsorted(self, uid: str) -> Record:
        record = self.unsorted.get(uid)
        if record is None:
            raise EntityNotFound(f"unsorted {uid}")
        return record

    def accept_unsorted(self, uid: str, *, user_id: int, status_id: int | None, by: int) -> Record:
        with self.lock:
            record = self.take_unsorted(uid)
            lead = self.leads[record["lead_id"]]
            target = status_id if status_id is not None else self.first_status(record["pipeline_id"])["id"]
            if self.status(record["pipeline_id"], target) is None:
                raise InvalidInput(
                    [
                        error(
                            "NotSupportedChoice", "status_id", "The value you selected is not a valid choice."
                        )
                    ]
                )
            if user_id not in self.users:
                raise InvalidInput(
                    [error("NotSupportedChoice", "user_id", "The value you selected is not a valid choice.")]
                )
            del self.unsorted[uid]
            self.unsorted_done[uid] = {**record, "action": "accept"}
            self.update_lead(lead["id"], {"status_id": target, "responsible_user_id": user_id}, by=by)
            for contact_id in record["contact_ids"]:
                contact = self.contacts.get(contact_id)
                if contact is not None and contact["responsible_user_id"] in (0, self.default_user_id):
                    contact["responsible_user_id"] = user_id
            self._notify(
                "unsorted",
                "delete",
                record,
                action="accept",
                accept_result={"leads": [lead["id"]], "contacts": record["contact_ids"]},
                modified_user_id=by,
            )
            return record

    def decline_unsorted(self, uid: str, *, by: int) -> Record:
        with self.lock:
            record = self.take_unsorted(uid)
            del self.unsorted[uid]
            self.unsorted_done[uid] = {**record, "action": "decline"}
            self.delete_lead(record["lead_id"], by=by)
            self._notify(
                "unsorted",
                "delete",
                record,
                action="decline",
                decline_result={"leads": [record["lead_id"]]},
                modified_user_id=by,
            )
            return record

    def link_unsorted(self, uid: str, *, lead_id: int, by: int) -> Record:
        with self.lock:
            record = self.take_unsorted(uid)
            target = self.get("leads", lead_id)
            del self.unsorted[uid]
            self.unsorted_done[uid] = {**record, "action": "link", "linked_lead_id": lead_id}
            for contact_id in record["contact_ids"]:
                if contact_id in self.contacts:
                    self.link("leads", target["id"], "contacts", contact_id, by=by)
            self.delete_lead(record["lead_id"], by=by)
            self._notify(
                "unsorted",
                "delete",
                record,
                action="link",
                accept_result={"leads": [lead_id]},
                modified_user_id=by,
            )
            return record

    # ------------------------------------------------------------------ webhook subscriptions
    def subscribe(self, destination: str, settings: list[str], *, by: int = 0, sort: int = 1) -> Record:
        """Create the subscription, or update (and re-enable) the one with this destination."""
        with self.lock:
            now = self.now()
            existing = next((w for w in self.webhooks.values() if w["destination"] == destination), None)
            if existing is not None:
                existing.update(
                    {"settings": list(settings), "updated_at": now, "disabled": False, "sort": sort}
                )
                return existing
            record: Record = {
                "id": self.next_id("webhook", 70_000),
                "destination": destination,
                "created_at": now,
                "updated_at": now,
                "account_id": self.account["id"],
                "created_by": by,
                "sort": sort,
                "disabled": False,
                "settings": list(settings),
            }
            self.webhooks[record["id"]] = record
            return record

    # ------------------------------------------------------------------ calls
    def find_contacts_by_phone(self, phone: str) -> list[Record]:
        digits = normalise_phone(phone)
        found = []
        for contact in self.contacts.values():
            if contact["is_deleted"]:
                continue
            for value in contact.get("custom_fields_values") or []:
                if value.get("field_code") == "PHONE" and any(
                    normalise_phone(str(v["value"])) == digits for v in value["values"]
                ):
                    found.append(contact)
                    break
        return found

    def add_call(self, data: Record, *, by: int) -> Record:
        with self.lock:
            contacts = self.find_contacts_by_phone(str(data.get("phone", "")))
            if not contacts:
                raise EntityNotFound("no contact with this phone")
            contact = contacts[0]
            note_type = "call_in" if data.get("direction") == "inbound" else "call_out"
            params = {
                k: data.get(k)
                for k in ("uniq", "duration", "source", "link", "phone", "call_result", "call_status")
            }
            author = data.get("responsible_user_id") or data.get("created_by") or by
            note = self.add_note(
                "contacts", contact["id"], note_type, params, by=author, at=data.get("created_at")
            )
            call: Record = {
                "id": note["id"],
                "entity_id": contact["id"],
                "entity_type": "contact",
                "account_id": self.account["id"],
                **params,
                "direction": data.get("direction"),
                "responsible_user_id": author,
                "created_at": note["created_at"],
            }
            self.calls[call["id"]] = call
            return call

    # ------------------------------------------------------------------ snapshots
    def iter_lead_ids(self) -> Iterable[int]:
        return list(self.leads)


def normalise_phone(raw: str) -> str:
    """Digits of a Russian phone number, ``8`` prefix read as ``7`` (for matching only)."""
    digits = "".join(ch for ch in raw if ch.isdigit())
    if len(digits) == 11 and digits[0] == "8":
        digits = "7" + digits[1:]
    if len(digits) == 10:
        digits = "7" + digits
    return digits
