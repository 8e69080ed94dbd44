"""Creating calls made safe to retry: a key stored before the call, and a lookup before re-creating.

amoCRM has no idempotency header, so a POST that timed out may or may not have created the entity.
:func:`guarded_create` makes such a create *effectively once*:

1. Record the key as ``pending`` (``amo_idempotency``) **before** the call; a key already ``done``
   returns the stored entity id without calling amoCRM.
2. Before every repeat (a retry here, or a later run that finds the key ``pending``), ask amoCRM
   whether the entity exists (``lookup``); if it does, adopt it.
3. On success record ``done`` with the entity id.

Without a ``lookup`` the only repeats allowed are those where amoCRM surely did not act (429, a
connection never made); an unknown outcome raises :class:`CreateOutcomeUnknown` rather than risk a
duplicate.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace

from sqlalchemy import delete, select, update

from amo_bridge.api.errors import AmoApiError, ApiConnectionError, RateLimited
from amo_bridge.api.retry import GUARDED_WRITE, retrying
from amo_bridge.clock import Clock
from amo_bridge.store import Store
from amo_bridge.store.engine import upsert
from amo_bridge.store.schema import amo_idempotency

log = logging.getLogger(__name__)

PENDING = "pending"
DONE = "done"


class CreateOutcomeUnknown(AmoApiError):
    """A create may have happened and there is no way to look it up: not repeated, check by hand."""


@dataclass(frozen=True)
class KeyRecord:
    key: str
    operation: str
    state: str
    entity_id: int | None
    attempts: int
    created_at: float


class IdempotencyKeys:
    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    def begin(self, key: str, operation: str) -> KeyRecord:
        """Insert ``key`` as pending (or count one more attempt on it); return the record."""
        now = self._clock.now()
        insert = upsert(self._store.dialect, amo_idempotency).values(
            key=key,
            operation=operation,
            state=PENDING,
            entity_id=None,
            attempts=1,
            created_at=now,
            updated_at=now,
        )
        statement = insert.on_conflict_do_update(
            index_elements=[amo_idempotency.c.key],
            set_={"attempts": amo_idempotency.c.attempts + 1, "updated_at": now},
        ).returning(*amo_idempotency.c)
        row = self._store.run_in_transaction(lambda conn: conn.execute(statement).one())
        return KeyRecord(row.key, row.operation, row.state, row.entity_id, row.attempts, row.created_at)

    def complete(self, key: str, entity_id: int) -> None:
        statement = (
            update(amo_idempotency)
            .where(amo_idempotency.c.key == key)
            .values(state=DONE, entity_id=entity_id, updated_at=self._clock.now())
        )
        with self._store.begin() as conn:
            conn.execute(statement)

    def purge(self, older_than: float) -> int:
        """Forget ``done`` keys last touched before ``older_than`` (Unix seconds); return how many.

        Pending keys are kept: they mark creates whose outcome is still unknown.
        """
        statement = delete(amo_idempotency).where(
            amo_idempotency.c.state == DONE, amo_idempotency.c.updated_at < older_than
        )
        with self._store.begin() as conn:
            return int(conn.execute(statement).rowcount)

    def get(self, key: str) -> KeyRecord | None:
        with self._store.read() as conn:
            row = conn.execute(select(amo_idempotency).where(amo_idempotency.c.key == key)).first()
        if row is None:
            return None
        return KeyRecord(row.key, row.operation, row.state, row.entity_id, row.attempts, row.created_at)


def _surely_not_applied(exc: BaseException) -> bool:
    return isinstance(exc, RateLimited) or (isinstance(exc, ApiConnectionError) and not exc.maybe_sent)


def guarded_create(
    keys: IdempotencyKeys,
    key: str,
    operation: str,
    create: Callable[[], int],
    lookup: Callable[[KeyRecord], int | None] | None,
    *,
    max_retries: int,
    sleep: Callable[[float], None],
) -> int:
    """Run ``create`` (one attempt per call, returns the new entity id) at most effectively once."""
    record = keys.begin(key, operation)
    if record.state == DONE and record.entity_id is not None:
        log.info("create %s already done (key %s): entity %s", operation, key, record.entity_id)
        return record.entity_id
    uncertain = record.attempts > 1  # an earlier run stopped after the key was written

    def attempt() -> int:
        nonlocal uncertain
        if uncertain:
            if lookup is None:
                raise CreateOutcomeUnknown(
                    f"{operation}: an earlier attempt (key {key}) may have succeeded and there is no "
                    "lookup for this entity; not repeated"
                )
            found = lookup(record)
            if found is not None:
                log.info("create %s: found the entity of key %s (%s); not re-created", operation, key, found)
                return found
        try:
            return create()
        except AmoApiError as exc:
            uncertain = not _surely_not_applied(exc)
            raise

    def may_retry(exc: BaseException) -> bool:
        return GUARDED_WRITE.retry_on(exc) and (lookup is not None or _surely_not_applied(exc))

    policy = replace(GUARDED_WRITE, retry_on=may_retry)
    entity_id = retrying(policy, max_retries=max_retries, sleep=sleep)(attempt)
    keys.complete(key, entity_id)
    return entity_id
