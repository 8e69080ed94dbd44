"""The journal of processed events: one row per event identity, written idempotently.

The receiver's own handler writes here, so the whole pipeline (receive -> inbox -> worker ->
handler -> effect) is exercised and observable before the features that act on events land. It is
also the model of an idempotent effect: a second run of the same event changes nothing.
"""

from __future__ import annotations

from sqlalchemy import func, select

from amo_bridge.events.model import Event
from amo_bridge.store import Store
from amo_bridge.store.engine import upsert
from amo_bridge.store.schema import event_journal


def record_processed(store: Store, event: Event, *, dedupe_key: str, inbox_id: int, now: float) -> bool:
    """Journal ``event``; ``True`` if it was new, ``False`` if it had been journalled before."""
    statement = (
        upsert(store.dialect, event_journal)
        .values(
            dedupe_key=dedupe_key,
            inbox_id=inbox_id,
            kind=event.kind[:100],
            entity_id=None if event.entity_id is None else str(event.entity_id)[:100],
            account_id=event.account_id,
            modified_at=event.modified_at,
            processed_at=now,
        )
        .on_conflict_do_nothing(index_elements=[event_journal.c.dedupe_key])
        .returning(event_journal.c.dedupe_key)
    )
    return store.run_in_transaction(lambda conn: conn.execute(statement).first() is not None)


def count(store: Store) -> int:
    with store.read() as conn:
        return int(conn.execute(select(func.count()).select_from(event_journal)).scalar_one())
