"""The inbox table as a work queue: record, claim with a lease, heartbeat, complete, fail, replay.

One inbox row per **event** (not per delivery): amoCRM packs several events into one body, and
per-event rows make deduplication and retries precise (a failing event does not hold back or
re-run its neighbours). The raw delivery (body + headers) is kept once in ``inbox_deliveries`` so
nothing is lost and an unparseable body stays visible. Recording a delivery is one transaction of
two ``INSERT ... ON CONFLICT DO NOTHING`` statements (the delivery, then all its events in one
multi-row statement); a redelivered body or an event seen before adds nothing.

Claiming is one statement, ``UPDATE inbox SET state='processing', lease... WHERE id = (SELECT id
... LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING *``: on PostgreSQL concurrent workers skip each
other's rows; on SQLite ``FOR UPDATE`` is not rendered and the write transaction starts with
``BEGIN IMMEDIATE``, so claims are serialised by the database lock. Either way a row is handed
to one worker at a time, and every later write by that worker is fenced by ``lease_owner``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, case, func, select, update

from amo_bridge.clock import SYSTEM_CLOCK, Clock
from amo_bridge.events.dedupe import dedupe_key
from amo_bridge.events.model import Event
from amo_bridge.events.parse import ParsedDelivery, ParseError, build_event, parse_delivery
from amo_bridge.inbox import states as S
from amo_bridge.inbox.backoff import Backoff
from amo_bridge.logs import redact
from amo_bridge.store import Store
from amo_bridge.store.engine import upsert
from amo_bridge.store.schema import inbox, inbox_deliveries

_CHUNK = 500  # rows per multi-row INSERT (SQLite limits bound parameters per statement)
MAX_ERROR_CHARS = 4000
# Headers worth keeping with a delivery (never Authorization/Cookie: amoCRM sends neither).
KEPT_HEADERS = ("content-type", "user-agent", "x-amocrm-requestid", "content-length", "x-forwarded-for")


@dataclass(frozen=True)
class Recorded:
    delivery_id: int | None  # None: the same body was recorded before
    stored: int  # new inbox rows
    duplicates: int  # events already in the inbox
    unparseable: bool

    @property
    def duplicate_delivery(self) -> bool:
        return self.delivery_id is None


@dataclass(frozen=True)
class InboxRow:
    id: int
    delivery_id: int
    dedupe_key: str
    kind: str
    section: str
    action: str
    entity_id: str | None
    account_id: int | None
    modified_at: int | None
    payload: Any
    state: str
    attempts: int
    next_attempt_at: float
    lease_owner: str | None
    lease_expires_at: float | None
    last_error: str | None
    created_at: float
    updated_at: float
    done_at: float | None

    @classmethod
    def from_db(cls, row: Any) -> InboxRow:
        values = dict(row._mapping)
        values["payload"] = json.loads(values["payload"])
        return cls(**values)

    def event(self) -> Event:
        """The typed event, rebuilt from the stored item by the same code that parsed it."""
        return build_event(self.section, self.action, self.payload, self.account_id)


@dataclass(frozen=True)
class Claimed:
    row: InboxRow
    owner: str


@dataclass(frozen=True)
class QueueStats:
    by_state: Mapping[str, int]
    oldest_unprocessed_age: float | None  # seconds since the oldest received/failed/processing row

    @property
    def depth(self) -> int:
        return sum(self.by_state.get(state, 0) for state in S.ACTIVE_STATES)


def _error_text(error: BaseException | str) -> str:
    text = error if isinstance(error, str) else f"{error.__class__.__name__}: {error}"
    return redact(text)[:MAX_ERROR_CHARS]


class Inbox:
    def __init__(
        self,
        store: Store,
        *,
        clock: Clock = SYSTEM_CLOCK,
        lease_seconds: float = 60.0,
        max_attempts: int = 8,
        backoff: Backoff | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.lease_seconds = lease_seconds
        self.max_attempts = max_attempts
        self.backoff = backoff or Backoff()

    # ------------------------------------------------------------------ receiving

    def record(
        self, body: bytes, headers: Mapping[str, str], parsed: ParsedDelivery | ParseError
    ) -> Recorded:
        """Store one delivery and its events (or one ``unparseable`` row) in one transaction."""
        now = self.clock.now()
        digest = hashlib.sha256(body).hexdigest()
        kept = {k.lower(): v for k, v in headers.items() if k.lower() in KEPT_HEADERS}
        error = parsed if isinstance(parsed, ParseError) else None
        is_error = error is not None
        delivery = {
            "received_at": now,
            "request_id": (kept.get("x-amocrm-requestid") or "")[:100] or None,
            "account_id": None if isinstance(parsed, ParseError) else parsed.account_id,
            "subdomain": None if isinstance(parsed, ParseError) else (parsed.subdomain or "")[:100] or None,
            "headers": json.dumps(kept, ensure_ascii=False),
            "body": body,
            "body_sha256": digest,
            "event_count": 0 if isinstance(parsed, ParseError) else len(parsed.events),
            "parse_error": _error_text(f"{error.code}: {error.message}") if error else None,
        }

        def work(conn: Connection) -> Recorded:
            statement = upsert(self.store.dialect, inbox_deliveries).values(**delivery)
            statement = statement.on_conflict_do_nothing(index_elements=[inbox_deliveries.c.body_sha256])
            delivery_id = conn.execute(statement.returning(inbox_deliveries.c.id)).scalar_one_or_none()
            if delivery_id is None:
                return Recorded(None, 0, 0, is_error)
            if isinstance(parsed, ParseError):
                rows = [self._unparseable_row(delivery_id, digest, delivery["parse_error"], now)]
            else:
                rows = self._event_rows(delivery_id, parsed.events, now)
            stored = self._insert_rows(conn, rows)
            total = 1 if is_error else len(parsed.events)  # type: ignore[union-attr]
            return Recorded(delivery_id, stored, total - stored, is_error)

        return self.store.run_in_transaction(work)

    def _event_rows(self, delivery_id: int, events: Iterable[Event], now: float) -> list[dict[str, Any]]:
        rows: dict[str, dict[str, Any]] = {}
        for event in events:
            key = dedupe_key(event)
            if key in rows:
                continue  # the same event twice in one body
            rows[key] = {
                "delivery_id": delivery_id,
                "dedupe_key": key,
                "kind": event.kind[:100],
                "section": event.section[:100],
                "action": event.action[:100],
                "entity_id": None if event.entity_id is None else str(event.entity_id)[:100],
                "account_id": event.account_id,
                "modified_at": event.modified_at,
                "payload": json.dumps(event.item, ensure_ascii=False),
                "state": S.RECEIVED,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
                "updated_at": now,
            }
        return list(rows.values())

    def _unparseable_row(self, delivery_id: int, digest: str, error: Any, now: float) -> dict[str, Any]:
        return {
            "delivery_id": delivery_id,
            "dedupe_key": f"raw:{digest}",
            "kind": "unparseable",
            "section": "",
            "action": "",
            "entity_id": None,
            "account_id": None,
            "modified_at": None,
            "payload": "{}",
            "state": S.UNPARSEABLE,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
            "updated_at": now,
            "last_error": error,
        }

    def _insert_rows(self, conn: Connection, rows: list[dict[str, Any]]) -> int:
        stored = 0
        for start in range(0, len(rows), _CHUNK):
            chunk = rows[start : start + _CHUNK]
            statement = upsert(self.store.dialect, inbox).values(chunk)
            statement = statement.on_conflict_do_nothing(index_elements=[inbox.c.dedupe_key])
            stored += len(conn.execute(statement.returning(inbox.c.id)).all())
        return stored

    # ------------------------------------------------------------------ processing

    def claim(self, owner: str) -> Claimed | None:
        """Take the oldest due row for ``owner`` with a lease of ``lease_seconds``; ``None`` if idle."""
        now = self.clock.now()
        candidate = (
            select(inbox.c.id)
            .where(inbox.c.state.in_(S.CLAIMABLE), inbox.c.next_attempt_at <= now)
            .order_by(inbox.c.next_attempt_at, inbox.c.id)
            .limit(1)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        statement = (
            update(inbox)
            .where(inbox.c.id == candidate, inbox.c.state.in_(S.CLAIMABLE))
            .values(
                state=S.PROCESSING,
                lease_owner=owner,
                lease_expires_at=now + self.lease_seconds,
                attempts=inbox.c.attempts + 1,
                updated_at=now,
            )
            .returning(*inbox.c)
        )

        def work(conn: Connection) -> Claimed | None:
            row = conn.execute(statement).first()
            return None if row is None else Claimed(InboxRow.from_db(row), owner)

        return self.store.run_in_transaction(work)

    def heartbeat(self, row_id: int, owner: str) -> bool:
        """Extend our lease; ``False`` if the row is no longer ours (lease expired and reclaimed)."""
        now = self.clock.now()
        statement = (
            update(inbox)
            .where(self._ours(row_id, owner))
            .values(lease_expires_at=now + self.lease_seconds, updated_at=now)
        )
        with self.store.begin() as conn:
            return conn.execute(statement).rowcount == 1

    def complete(self, row_id: int, owner: str) -> bool:
        now = self.clock.now()
        statement = (
            update(inbox)
            .where(self._ours(row_id, owner))
            .values(state=S.DONE, lease_owner=None, lease_expires_at=None, done_at=now, updated_at=now)
        )
        return self._run(statement) == 1

    def fail(self, row_id: int, owner: str, error: BaseException | str, *, final: bool = False) -> str | None:
        """Record a failed attempt: ``failed`` with a retry time, or ``dead`` when out of attempts
        (or at once when ``final``: an error that says retrying cannot help).

        Returns the new state, or ``None`` if the row was no longer ours.
        """
        now = self.clock.now()
        text = _error_text(error)
        with self.store.begin() as conn:
            attempts = conn.execute(
                select(inbox.c.attempts).where(self._ours(row_id, owner))
            ).scalar_one_or_none()
            if attempts is None:
                return None
            dead = final or attempts >= self.max_attempts
            values: dict[str, Any] = {
                "state": S.DEAD if dead else S.FAILED,
                "lease_owner": None,
                "lease_expires_at": None,
                "last_error": text,
                "updated_at": now,
            }
            if not dead:
                values["next_attempt_at"] = now + self.backoff.delay(attempts)
            conn.execute(update(inbox).where(self._ours(row_id, owner)).values(**values))
            return str(values["state"])

    def reclaim_expired(self) -> int:
        """Return rows whose worker went silent (lease expired) to the queue, or to dead."""
        now = self.clock.now()
        statement = (
            update(inbox)
            .where(inbox.c.state == S.PROCESSING, inbox.c.lease_expires_at <= now)
            .values(
                state=case((inbox.c.attempts >= self.max_attempts, S.DEAD), else_=S.FAILED),
                last_error=func.coalesce(inbox.c.lease_owner, "?").concat(": lease expired (worker died?)"),
                lease_owner=None,
                lease_expires_at=None,
                next_attempt_at=now,
                updated_at=now,
            )
        )
        return self._run(statement)

    @staticmethod
    def _ours(row_id: int, owner: str) -> Any:
        return and_(inbox.c.id == row_id, inbox.c.state == S.PROCESSING, inbox.c.lease_owner == owner)

    def _run(self, statement: Any) -> int:
        return self.store.run_in_transaction(lambda conn: int(conn.execute(statement).rowcount))

    # ------------------------------------------------------------------ operations

    def get(self, row_id: int) -> InboxRow | None:
        with self.store.read() as conn:
            row = conn.execute(select(inbox).where(inbox.c.id == row_id)).first()
        return None if row is None else InboxRow.from_db(row)

    def delivery(self, delivery_id: int) -> dict[str, Any] | None:
        with self.store.read() as conn:
            row = conn.execute(select(inbox_deliveries).where(inbox_deliveries.c.id == delivery_id)).first()
        return None if row is None else dict(row._mapping)

    def list(self, state: str | None = None, *, limit: int = 50) -> list[InboxRow]:
        statement = select(inbox).order_by(inbox.c.id.desc()).limit(limit)
        if state is not None:
            statement = statement.where(inbox.c.state == state)
        with self.store.read() as conn:
            return [InboxRow.from_db(row) for row in conn.execute(statement)]

    def replay(self, row_id: int) -> bool:
        """Queue one row again (dead, failed or done: attempts reset); an ``unparseable`` row is
        parsed again and, if the parser now reads it, its events are queued. ``False`` otherwise."""
        row = self.get(row_id)
        if row is None:
            return False
        if row.state == S.UNPARSEABLE:
            return self._reparse(row)
        if row.state not in S.REPLAYABLE:
            return False
        now = self.clock.now()
        statement = (
            update(inbox)
            .where(inbox.c.id == row_id, inbox.c.state.in_(S.REPLAYABLE))
            .values(state=S.RECEIVED, attempts=0, next_attempt_at=now, updated_at=now, done_at=None)
        )
        return self._run(statement) == 1

    def replay_state(self, state: str) -> int:
        """Replay every row in ``state`` (``dead`` after an outage was fixed, or ``unparseable``)."""
        if state == S.UNPARSEABLE:
            return sum(1 for row in self.list(S.UNPARSEABLE, limit=1_000_000) if self._reparse(row))
        if state not in S.REPLAYABLE:
            raise ValueError(f"cannot replay rows in state {state!r}")
        now = self.clock.now()
        statement = (
            update(inbox)
            .where(inbox.c.state == state)
            .values(state=S.RECEIVED, attempts=0, next_attempt_at=now, updated_at=now, done_at=None)
        )
        return self._run(statement)

    def _reparse(self, row: InboxRow) -> bool:
        delivery = self.delivery(row.delivery_id)
        if delivery is None:
            return False
        headers = json.loads(delivery["headers"])
        try:
            parsed = parse_delivery(bytes(delivery["body"]), headers)
        except ParseError:
            return False
        now = self.clock.now()

        def work(conn: Connection) -> bool:
            stored = self._insert_rows(conn, self._event_rows(row.delivery_id, parsed.events, now))
            conn.execute(
                update(inbox)
                .where(inbox.c.id == row.id, inbox.c.state == S.UNPARSEABLE)
                .values(state=S.DONE, done_at=now, updated_at=now, last_error=f"re-parsed: {stored} event(s)")
            )
            return True

        return self.store.run_in_transaction(work)

    def stats(self) -> QueueStats:
        now = self.clock.now()
        with self.store.read() as conn:
            counts: dict[str, int] = {
                str(state): int(count)
                for state, count in conn.execute(select(inbox.c.state, func.count()).group_by(inbox.c.state))
            }
            oldest = conn.execute(
                select(func.min(inbox.c.created_at)).where(inbox.c.state.in_(S.ACTIVE_STATES))
            ).scalar_one_or_none()
        by_state = {state: int(counts.get(state, 0)) for state in S.STATES}
        return QueueStats(by_state, None if oldest is None else max(0.0, now - float(oldest)))
