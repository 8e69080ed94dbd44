"""``/api/v4/tasks``: list, create (optionally idempotent), complete."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from amo_bridge.api.batching import DEFAULT_CHUNK, BatchResult
from amo_bridge.api.idempotency import KeyRecord
from amo_bridge.api.models import Task
from amo_bridge.api.resources.base import Resource, first_embedded, id_filter, range_filter
from amo_bridge.api.retry import READ, SINGLE, UNSAFE_WRITE

TASKS = "/api/v4/tasks"
ENTITY_TYPES = ("leads", "contacts", "companies", "customers")
FOLLOW_UP_CALL = 1
MEETING = 2


def new_task(
    *,
    text: str,
    complete_till: int,
    entity_id: int | None = None,
    entity_type: str | None = None,
    responsible_user_id: int | None = None,
    task_type_id: int = FOLLOW_UP_CALL,
) -> dict[str, Any]:
    """A task payload; ``text`` and ``complete_till`` (Unix seconds) are required by amoCRM."""
    if not text:
        raise ValueError("a task needs a text")
    task: dict[str, Any] = {
        "text": text,
        "complete_till": int(complete_till),
        "task_type_id": int(task_type_id),
    }
    if entity_id is not None:
        if entity_type not in ENTITY_TYPES:
            raise ValueError(f"entity_type must be one of {ENTITY_TYPES}")
        task.update(entity_id=int(entity_id), entity_type=entity_type)
    if responsible_user_id is not None:
        task["responsible_user_id"] = int(responsible_user_id)
    return task


class TasksResource(Resource):
    def list(
        self,
        *,
        entity_type: str | None = None,
        entity_ids: Iterable[int] | None = None,
        responsible_user_ids: Iterable[int] | None = None,
        is_completed: bool | None = None,
        task_type_ids: Iterable[int] | None = None,
        updated_from: int | None = None,
        updated_to: int | None = None,
    ) -> Iterator[Task]:
        params: dict[str, Any] = {
            **id_filter("entity_id", entity_ids),
            **id_filter("responsible_user_id", responsible_user_ids),
            **id_filter("task_type", task_type_ids),
            **range_filter("updated_at", updated_from, updated_to),
        }
        if entity_type is not None:
            params["filter[entity_type]"] = entity_type
        if is_completed is not None:
            params["filter[is_completed]"] = int(is_completed)
        return (Task.from_api(row) for row in self._client.paginate(TASKS, "tasks", params))

    def get(self, task_id: int) -> Task:
        return Task.from_api(self._client.get(f"{TASKS}/{int(task_id)}") or {})

    def create(self, task: dict[str, Any], *, idempotency_key: str | None = None) -> int:
        """Create one task (see :func:`new_task`); with ``idempotency_key`` safe to call again."""

        def create() -> int:
            policy = SINGLE if idempotency_key else UNSAFE_WRITE
            body = self._client.request("POST", TASKS, json=[task], policy=policy)
            return int(first_embedded(body, "tasks")["id"])

        if idempotency_key is None:
            return create()

        def lookup(record: KeyRecord) -> int | None:
            entity_id = task.get("entity_id")
            candidates = self.list(
                entity_type=task.get("entity_type"),
                entity_ids=[int(entity_id)] if entity_id is not None else None,
                is_completed=False,
            )
            for found in candidates:
                if found.text == task["text"] and found.complete_till == int(task["complete_till"]):
                    return found.id
            return None

        return self._client.create_once(idempotency_key, "tasks.create", create, lookup)

    def create_many(self, tasks: Sequence[dict[str, Any]], *, chunk_size: int = DEFAULT_CHUNK) -> BatchResult:
        return self._client.batch("POST", TASKS, "tasks", list(tasks), chunk_size=chunk_size)

    def complete(self, task_id: int, *, result_text: str | None = None) -> None:
        body: dict[str, Any] = {"is_completed": True}
        if result_text:
            body["result"] = {"text": result_text}
        self._client.request("PATCH", f"{TASKS}/{int(task_id)}", json=body, policy=READ)

    def update_many(
        self, changes: Sequence[dict[str, Any]], *, chunk_size: int = DEFAULT_CHUNK
    ) -> BatchResult:
        return self._client.batch("PATCH", TASKS, "tasks", list(changes), chunk_size=chunk_size, policy=READ)
