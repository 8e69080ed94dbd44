"""Notes: ``/api/v4/{leads|contacts|companies}/notes`` and ``/{entity}/{id}/notes``."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from amo_bridge.api.batching import DEFAULT_CHUNK, BatchResult
from amo_bridge.api.models import Note
from amo_bridge.api.resources.base import Resource, id_filter, range_filter

NOTE_ENTITIES = ("leads", "contacts", "companies", "customers")


def _entity(entity_type: str) -> str:
    if entity_type not in NOTE_ENTITIES:
        raise ValueError(f"entity type must be one of {NOTE_ENTITIES}")
    return entity_type


def common_note(entity_id: int, text: str) -> dict[str, Any]:
    return {"entity_id": int(entity_id), "note_type": "common", "params": {"text": text}}


class NotesResource(Resource):
    def list(
        self,
        entity_type: str,
        *,
        entity_ids: Iterable[int] | None = None,
        note_types: Iterable[str] | None = None,
        updated_from: int | None = None,
        updated_to: int | None = None,
    ) -> Iterator[Note]:
        params: dict[str, Any] = {
            **id_filter("entity_id", entity_ids),
            **range_filter("updated_at", updated_from, updated_to),
        }
        if note_types:
            params["filter[note_type][]"] = list(note_types)
        rows = self._client.paginate(f"/api/v4/{_entity(entity_type)}/notes", "notes", params)
        return (Note.from_api(row) for row in rows)

    def add(
        self, entity_type: str, notes: Sequence[dict[str, Any]], *, chunk_size: int = DEFAULT_CHUNK
    ) -> BatchResult:
        """Add notes (e.g. :func:`common_note`) in chunks; not retried after an unknown outcome."""
        path = f"/api/v4/{_entity(entity_type)}/notes"
        return self._client.batch("POST", path, "notes", list(notes), chunk_size=chunk_size)
