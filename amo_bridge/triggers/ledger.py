"""The ``trigger_episodes`` table: per (rule, lead) the state of its current episode.

Every transition is a compare-and-set on the row as it was read, so two overlapping runs never both
start the same episode. An episode is written as ``pending`` (with the task text) BEFORE the task is
created in amoCRM; a run that finds a ``pending`` episode of a dead run looks the task up by its text
before creating it, so a crash never doubles a task.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, update

from amo_bridge.store import Store
from amo_bridge.store.engine import upsert
from amo_bridge.store.schema import trigger_episodes as t
from amo_bridge.triggers.episodes import Episode


@dataclass(frozen=True)
class EpisodeRow:
    episode: Episode
    task_text: str | None
    claimed_by: str | None


class EpisodeLedger:
    def __init__(self, store: Store) -> None:
        self._store = store

    def all_for(self, rule: str) -> dict[int, EpisodeRow]:
        with self._store.read() as conn:
            rows = conn.execute(select(t).where(t.c.rule == rule)).all()
        return {row.lead_id: _row(row) for row in rows}

    def get(self, rule: str, lead_id: int) -> EpisodeRow | None:
        with self._store.read() as conn:
            row = conn.execute(select(t).where(t.c.rule == rule, t.c.lead_id == lead_id)).first()
        return _row(row) if row is not None else None

    def open_episode(
        self, rule: str, lead_id: int, expected: Episode | None, run_id: str, text: str, now: float
    ) -> bool:
        """Start a new episode (state ``pending``) if the row is still as ``expected``."""
        values = {
            "state": "pending",
            "task_id": None,
            "task_text": text,
            "fired_at": now,
            "claimed_by": run_id,
            "updated_at": now,
        }
        with self._store.begin() as conn:
            if expected is None:
                statement = (
                    upsert(self._store.dialect, t)
                    .values(rule=rule, lead_id=lead_id, episodes=1, cleared_at=None, **values)
                    .on_conflict_do_nothing(index_elements=[t.c.rule, t.c.lead_id])
                    .returning(t.c.lead_id)
                )
                return conn.execute(statement).first() is not None
            guarded = (
                update(t)
                .where(
                    t.c.rule == rule,
                    t.c.lead_id == lead_id,
                    t.c.state == expected.state,
                    t.c.episodes == expected.episodes,
                )
                .values(episodes=t.c.episodes + 1, **values)
            )
            return bool(conn.execute(guarded).rowcount == 1)

    def take_over(self, rule: str, lead_id: int, previous_owner: str | None, run_id: str, now: float) -> bool:
        """Adopt a ``pending`` episode of a run that is gone."""
        owner = t.c.claimed_by.is_(None) if previous_owner is None else t.c.claimed_by == previous_owner
        statement = (
            update(t)
            .where(t.c.rule == rule, t.c.lead_id == lead_id, t.c.state == "pending", owner)
            .values(claimed_by=run_id, updated_at=now)
        )
        with self._store.begin() as conn:
            return bool(conn.execute(statement).rowcount == 1)

    def activate(self, rule: str, lead_id: int, run_id: str, task_id: int, now: float) -> bool:
        statement = (
            update(t)
            .where(t.c.rule == rule, t.c.lead_id == lead_id, t.c.state == "pending", t.c.claimed_by == run_id)
            .values(state="active", task_id=task_id, updated_at=now)
        )
        with self._store.begin() as conn:
            return bool(conn.execute(statement).rowcount == 1)

    def clear(self, rule: str, lead_id: int, expected: Episode, now: float) -> bool:
        statement = (
            update(t)
            .where(
                t.c.rule == rule,
                t.c.lead_id == lead_id,
                t.c.state == expected.state,
                t.c.episodes == expected.episodes,
            )
            .values(state="cleared", cleared_at=now, claimed_by=None, updated_at=now)
        )
        with self._store.begin() as conn:
            return bool(conn.execute(statement).rowcount == 1)

    def episode_count(self, rule: str | None = None) -> int:
        statement = select(func.coalesce(func.sum(t.c.episodes), 0))
        if rule is not None:
            statement = statement.where(t.c.rule == rule)
        with self._store.read() as conn:
            return int(conn.execute(statement).scalar_one())


def _row(row: object) -> EpisodeRow:
    m = row._mapping  # type: ignore[attr-defined]
    return EpisodeRow(
        Episode(m["state"], m["episodes"], m["fired_at"], m["task_id"]),
        m["task_text"],
        m["claimed_by"],
    )
