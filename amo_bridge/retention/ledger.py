"""The ``retention_handoffs`` table: one row per won deal, written BEFORE anything is created.

States: ``claimed`` (a run is handing the deal off; nothing may be created yet, or a lead may have
been created just before a crash) -> ``lead_ready`` (the retention lead id is known) -> ``done``
(the first-call task exists). A claim is a compare-and-set on the row, so two overlapping runs never
both proceed; a claim of a run that is no longer alive (or older than the claim timeout) is taken over.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select, update

from amo_bridge.errors import AmoBridgeError
from amo_bridge.store import Store
from amo_bridge.store.engine import upsert
from amo_bridge.store.schema import retention_handoffs as t


class ClaimLost(AmoBridgeError):
    """Another run took this hand-off over (ours was judged dead); stop touching it."""

    retryable = True


@dataclass(frozen=True)
class Handoff:
    won_lead_id: int
    state: str
    mode: str
    claimed_by: str
    claimed_at: float
    retention_lead_id: int | None
    account_manager_id: int | None
    task_id: int | None
    task_text: str | None
    won_closed_at: int | None


class HandoffLedger:
    def __init__(self, store: Store) -> None:
        self._store = store

    def get(self, won_lead_id: int) -> Handoff | None:
        with self._store.read() as conn:
            row = conn.execute(select(t).where(t.c.won_lead_id == won_lead_id)).first()
        return _handoff(row) if row is not None else None

    def claim(
        self,
        won_lead_id: int,
        run_id: str,
        *,
        mode: str,
        closed_at: int,
        now: float,
        claim_seconds: float,
        is_live: Callable[[str], bool],
    ) -> Handoff | None:
        """Take the deal for ``run_id``; ``None`` if it is done or a live run holds it."""
        insert = (
            upsert(self._store.dialect, t)
            .values(
                won_lead_id=won_lead_id,
                state="claimed",
                mode=mode,
                claimed_by=run_id,
                claimed_at=now,
                won_closed_at=closed_at,
                created_at=now,
                updated_at=now,
            )
            .on_conflict_do_nothing(index_elements=[t.c.won_lead_id])
            .returning(t.c.won_lead_id)
        )
        with self._store.begin() as conn:
            if conn.execute(insert).first() is not None:
                row = conn.execute(select(t).where(t.c.won_lead_id == won_lead_id)).one()
                return _handoff(row)
        current = self.get(won_lead_id)
        if current is None or current.state == "done":
            return None
        if current.claimed_by != run_id:
            fresh = now - current.claimed_at < claim_seconds
            if fresh and is_live(current.claimed_by):
                return None
        taken = (
            update(t)
            .where(
                t.c.won_lead_id == won_lead_id,
                t.c.claimed_by == current.claimed_by,
                t.c.claimed_at == current.claimed_at,
                t.c.state != "done",
            )
            .values(claimed_by=run_id, claimed_at=now, updated_at=now)
            .returning(t)
        )
        with self._store.begin() as conn:
            taken_row = conn.execute(taken).first()
        return _handoff(taken_row) if taken_row is not None else None

    def set_manager(self, won_lead_id: int, run_id: str, manager_id: int, task_text: str, now: float) -> None:
        self._update(won_lead_id, run_id, now, account_manager_id=manager_id, task_text=task_text)

    def lead_ready(self, won_lead_id: int, run_id: str, lead_id: int, now: float) -> None:
        self._update(won_lead_id, run_id, now, state="lead_ready", retention_lead_id=lead_id)

    def done(self, won_lead_id: int, run_id: str, task_id: int, now: float) -> None:
        self._update(won_lead_id, run_id, now, state="done", task_id=task_id)

    def _update(self, won_lead_id: int, run_id: str, now: float, **values: object) -> None:
        statement = (
            update(t)
            .where(t.c.won_lead_id == won_lead_id, t.c.claimed_by == run_id)
            .values(updated_at=now, **values)
        )
        with self._store.begin() as conn:
            if conn.execute(statement).rowcount != 1:
                raise ClaimLost(f"won deal #{won_lead_id}: the hand-off was taken over by another run")

    def counts(self) -> dict[str, int]:
        with self._store.read() as conn:
            rows = conn.execute(select(t.c.state)).all()
        result: dict[str, int] = {}
        for (state,) in rows:
            result[state] = result.get(state, 0) + 1
        return result


def _handoff(row: object) -> Handoff:
    mapping = row._mapping  # type: ignore[attr-defined]
    return Handoff(
        won_lead_id=mapping["won_lead_id"],
        state=mapping["state"],
        mode=mapping["mode"],
        claimed_by=mapping["claimed_by"],
        claimed_at=mapping["claimed_at"],
        retention_lead_id=mapping["retention_lead_id"],
        account_manager_id=mapping["account_manager_id"],
        task_id=mapping["task_id"],
        task_text=mapping["task_text"],
        won_closed_at=mapping["won_closed_at"],
    )
