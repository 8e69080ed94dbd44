"""Persistence of distribution: rotation state, assignments, the outbox, pauses and the users mirror.

SQL lives here and nowhere else in the package. Every function that writes takes the caller's
connection, so the service can make a decision, its counters and its outbox row one transaction.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, delete, func, insert, or_, select, update

from amo_bridge.distribution.fairness import LaneState
from amo_bridge.distribution.model import Decision, MemberStatus, Pool
from amo_bridge.store.engine import upsert
from amo_bridge.store.schema import (
    crm_users,
    distribution_assignments,
    distribution_lanes,
    distribution_members,
    distribution_outbox,
    distribution_pauses,
)

LIVE_STATES = ("pending", "active")  # an assignment that holds the lead now
COUNTED_STATES = ("pending", "active", "missed", "closed")  # counted in "assigned today/this week"
ALL_POOLS = "*"

A = distribution_assignments
O = distribution_outbox  # noqa: E741


@dataclass(frozen=True)
class CrmUser:
    """One amoCRM user as the users sync job reads it."""

    id: int
    name: str
    email: str | None = None
    is_active: bool = True
    group_id: int | None = None


# -- rotation state --------------------------------------------------------------------------


def lock_pool(conn: Connection, pool: str, now: float) -> None:
    """Serialise decisions of one pool: create its row if needed, then lock it until commit."""
    statement = upsert(conn.dialect.name, distribution_lanes).values(
        pool=pool, lane="", vtime=0.0, present="[]", decisions=0, updated_at=now
    )
    conn.execute(statement.on_conflict_do_nothing(index_elements=["pool", "lane"]))
    query = select(distribution_lanes.c.pool).where(
        distribution_lanes.c.pool == pool, distribution_lanes.c.lane == ""
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    conn.execute(query)  # SQLite: BEGIN IMMEDIATE already holds the database's write lock


def load_lanes(conn: Connection, pool: str) -> dict[str, LaneState]:
    lanes = {
        row.lane: (row.vtime, frozenset(json.loads(row.present)))
        for row in conn.execute(
            select(distribution_lanes).where(
                distribution_lanes.c.pool == pool, distribution_lanes.c.lane != ""
            )
        )
    }
    passes: dict[str, dict[int, float]] = {lane: {} for lane in lanes}
    for row in conn.execute(select(distribution_members).where(distribution_members.c.pool == pool)):
        passes.setdefault(row.lane, {})[int(row.user_id)] = row.vstart
    return {
        lane: LaneState(vtime=vtime, present=present, passes=passes.get(lane, {}))
        for lane, (vtime, present) in lanes.items()
    }


def save_lane(
    conn: Connection,
    pool: str,
    lane: str,
    before: LaneState | None,
    after: LaneState,
    *,
    charged: int | None,
    now: float,
    delta: int = 1,
) -> None:
    """Write the rows of a rotation that changed (the lane, changed passes, the charged counter)."""
    dialect = conn.dialect.name
    lane_row = upsert(dialect, distribution_lanes).values(
        pool=pool,
        lane=lane,
        vtime=after.vtime,
        present=json.dumps(sorted(after.present)),
        decisions=delta if charged is not None else 0,
        updated_at=now,
    )
    conn.execute(
        lane_row.on_conflict_do_update(
            index_elements=["pool", "lane"],
            set_={
                "vtime": lane_row.excluded.vtime,
                "present": lane_row.excluded.present,
                "decisions": distribution_lanes.c.decisions + lane_row.excluded.decisions,
                "updated_at": lane_row.excluded.updated_at,
            },
        )
    )
    old = before.passes if before else {}
    for user_id, vstart in after.passes.items():
        if old.get(user_id) == vstart and user_id != charged:
            continue
        bump = delta if user_id == charged else 0
        member_row = upsert(dialect, distribution_members).values(
            pool=pool,
            lane=lane,
            user_id=user_id,
            vstart=vstart,
            assigned=bump,
            last_assigned_at=now if bump > 0 else None,
        )
        set_: dict[str, Any] = {
            "vstart": member_row.excluded.vstart,
            "assigned": distribution_members.c.assigned + member_row.excluded.assigned,
        }
        if bump > 0:
            set_["last_assigned_at"] = member_row.excluded.last_assigned_at
        conn.execute(member_row.on_conflict_do_update(index_elements=["pool", "lane", "user_id"], set_=set_))


# -- member facts ----------------------------------------------------------------------------


def member_statuses(conn: Connection, pool: Pool, *, day_start: float) -> dict[int, MemberStatus]:
    users = sorted(pool.user_ids)
    known = {
        int(row.id): bool(row.is_active)
        for row in conn.execute(
            select(crm_users.c.id, crm_users.c.is_active).where(crm_users.c.id.in_(users))
        )
    }
    paused = {
        int(row.user_id)
        for row in conn.execute(
            select(distribution_pauses.c.user_id).where(
                distribution_pauses.c.user_id.in_(users),
                distribution_pauses.c.pool.in_([pool.name, ALL_POOLS]),
            )
        )
    }
    open_leads = _counts(conn, pool.name, A.c.state.in_(LIVE_STATES))
    today = _counts(conn, pool.name, and_(A.c.state.in_(COUNTED_STATES), A.c.created_at >= day_start))
    return {
        uid: MemberStatus(
            active=known.get(uid, True),
            known=uid in known,
            paused=uid in paused,
            open_leads=open_leads.get(uid, 0),
            assigned_today=today.get(uid, 0),
        )
        for uid in users
    }


def _counts(conn: Connection, pool: str, condition: Any) -> dict[int, int]:
    rows = conn.execute(
        select(A.c.user_id, func.count()).where(A.c.pool == pool, condition).group_by(A.c.user_id)
    )
    return {int(user_id): int(count) for user_id, count in rows}


def counts_since(conn: Connection, pool: str, since: float) -> dict[int, int]:
    return _counts(conn, pool, and_(A.c.state.in_(COUNTED_STATES), A.c.created_at >= since))


def open_counts(conn: Connection, pool: str) -> dict[int, int]:
    return _counts(conn, pool, A.c.state.in_(LIVE_STATES))


# -- assignments -----------------------------------------------------------------------------


def current_episode(conn: Connection, pool: str, entity_type: str, entity_id: str) -> int:
    """The entity's episode in the pool: the last one, or the next once the last was closed."""
    row = conn.execute(
        select(A.c.episode, A.c.closed_at)
        .where(A.c.pool == pool, A.c.entity_type == entity_type, A.c.entity_id == entity_id)
        .order_by(A.c.episode.desc(), A.c.seq.desc())
        .limit(1)
    ).first()
    if row is None:
        return 1
    return int(row.episode) + (1 if row.closed_at is not None else 0)


def episode_rows(conn: Connection, pool: str, entity_type: str, entity_id: str, episode: int) -> list[Any]:
    return list(
        conn.execute(
            select(A)
            .where(
                A.c.pool == pool,
                A.c.entity_type == entity_type,
                A.c.entity_id == entity_id,
                A.c.episode == episode,
            )
            .order_by(A.c.seq)
        )
    )


def insert_assignment(
    conn: Connection,
    decision: Decision,
    *,
    entity_type: str,
    entity_id: str,
    episode: int,
    seq: int,
    lead_id: int | None,
    now: float,
    reassign_count: int = 0,
    note: str | None = None,
) -> int:
    assert decision.member is not None
    result = conn.execute(
        insert(A)
        .values(
            pool=decision.pool,
            lane=decision.lane,
            entity_type=entity_type,
            entity_id=entity_id,
            episode=episode,
            seq=seq,
            lead_id=lead_id,
            user_id=decision.member,
            reason=decision.reason,
            rule=decision.rule,
            candidates=json.dumps(decision.candidates_json(), ensure_ascii=False),
            state="pending",
            created_at=now,
            reassign_count=reassign_count,
            note=note,
        )
        .returning(A.c.id)
    )
    return int(result.scalar_one())


def assignment(conn: Connection, assignment_id: int) -> Any:
    return conn.execute(select(A).where(A.c.id == assignment_id)).first()


def set_assignment(conn: Connection, assignment_id: int, **values: Any) -> int:
    return int(conn.execute(update(A).where(A.c.id == assignment_id).values(**values)).rowcount)


def assignments_of_lead(conn: Connection, lead_id: int) -> list[Any]:
    entity = or_(
        A.c.lead_id == lead_id,
        and_(A.c.entity_type == "lead", A.c.entity_id == str(lead_id)),
    )
    return list(conn.execute(select(A).where(entity).order_by(A.c.created_at, A.c.id)))


def sla_overdue(conn: Connection, now: float, limit: int = 100) -> list[Any]:
    return list(
        conn.execute(
            select(A)
            .where(A.c.state == "active", A.c.sla_due_at <= now, A.c.first_action_at.is_(None))
            .order_by(A.c.sla_due_at)
            .limit(limit)
        )
    )


# -- outbox ----------------------------------------------------------------------------------


def enqueue(
    conn: Connection,
    *,
    dedupe_key: str,
    kind: str,
    pool: str,
    entity_type: str,
    entity_id: str,
    payload: Mapping[str, Any],
    due_at: float,
    now: float,
    assignment_id: int | None = None,
) -> int | None:
    """Add an outbox row unless one with ``dedupe_key`` exists; its id, or ``None`` if it existed."""
    statement = upsert(conn.dialect.name, O).values(
        dedupe_key=dedupe_key,
        kind=kind,
        pool=pool,
        entity_type=entity_type,
        entity_id=entity_id,
        assignment_id=assignment_id,
        payload=json.dumps(payload, ensure_ascii=False),
        state="pending",
        attempts=0,
        due_at=due_at,
        created_at=now,
        updated_at=now,
    )
    row = conn.execute(
        statement.on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(O.c.id)
    ).first()
    return int(row[0]) if row else None


def due_items(conn: Connection, now: float, limit: int) -> list[Any]:
    return list(
        conn.execute(
            select(O)
            .where(O.c.state == "pending", O.c.due_at <= now)
            .order_by(O.c.due_at, O.c.id)
            .limit(limit)
        )
    )


def claim(conn: Connection, item_id: int, seen_due_at: float, until: float, now: float) -> bool:
    """Take an outbox row for ``until - now`` seconds (compare-and-set on its due time)."""
    result = conn.execute(
        update(O)
        .where(O.c.id == item_id, O.c.state == "pending", O.c.due_at == seen_due_at)
        .values(due_at=until, updated_at=now)
    )
    return int(result.rowcount) == 1


def outbox_item(conn: Connection, item_id: int) -> Any:
    return conn.execute(select(O).where(O.c.id == item_id)).first()


def set_item(conn: Connection, item_id: int, **values: Any) -> None:
    conn.execute(update(O).where(O.c.id == item_id).values(**values))


def items_of(conn: Connection, entity_type: str, entity_id: str) -> list[Any]:
    return list(
        conn.execute(
            select(O).where(O.c.entity_type == entity_type, O.c.entity_id == entity_id).order_by(O.c.id)
        )
    )


# -- pauses ----------------------------------------------------------------------------------


def pause(conn: Connection, user_id: int, pool: str, now: float, reason: str | None) -> None:
    statement = upsert(conn.dialect.name, distribution_pauses).values(
        user_id=user_id, pool=pool, paused_at=now, reason=reason
    )
    conn.execute(statement.on_conflict_do_nothing(index_elements=["user_id", "pool"]))


def resume(conn: Connection, user_id: int, pool: str | None) -> int:
    statement = delete(distribution_pauses).where(distribution_pauses.c.user_id == user_id)
    if pool is not None:
        statement = statement.where(distribution_pauses.c.pool == pool)
    return int(conn.execute(statement).rowcount)


def paused(conn: Connection) -> dict[int, list[str]]:
    result: dict[int, list[str]] = {}
    for row in conn.execute(select(distribution_pauses).order_by(distribution_pauses.c.user_id)):
        result.setdefault(int(row.user_id), []).append(row.pool)
    return result


# -- users mirror ----------------------------------------------------------------------------


def upsert_crm_users(conn: Connection, users: Iterable[CrmUser], synced_at: float, *, complete: bool) -> int:
    """Store a synced list of users. ``complete``: the list is the whole account, so anyone missing
    from it (deleted in amoCRM) is marked inactive. Returns the number of users written."""
    count = 0
    ids: list[int] = []
    for user in users:
        statement = upsert(conn.dialect.name, crm_users).values(
            id=user.id,
            name=user.name,
            email=user.email,
            is_active=user.is_active,
            group_id=user.group_id,
            synced_at=synced_at,
        )
        conn.execute(
            statement.on_conflict_do_update(
                index_elements=["id"],
                set_={
                    "name": statement.excluded.name,
                    "email": statement.excluded.email,
                    "is_active": statement.excluded.is_active,
                    "group_id": statement.excluded.group_id,
                    "synced_at": statement.excluded.synced_at,
                },
            )
        )
        ids.append(user.id)
        count += 1
    if complete:
        conn.execute(
            update(crm_users)
            .where(crm_users.c.id.not_in(ids) if ids else crm_users.c.id.is_not(None))
            .values(is_active=False, synced_at=synced_at)
        )
    return count


def crm_user_names(conn: Connection, ids: Sequence[int]) -> dict[int, tuple[str, bool]]:
    rows = conn.execute(
        select(crm_users.c.id, crm_users.c.name, crm_users.c.is_active).where(crm_users.c.id.in_(ids))
    )
    return {int(row.id): (row.name, bool(row.is_active)) for row in rows}


def outbox_item_by_key(conn: Connection, dedupe_key: str) -> Any:
    return conn.execute(select(O).where(O.c.dedupe_key == dedupe_key)).first()


def assignments_of_entity(conn: Connection, entity_type: str, entity_id: str) -> list[Any]:
    query = select(A).where(A.c.entity_type == entity_type, A.c.entity_id == entity_id)
    return list(conn.execute(query.order_by(A.c.created_at, A.c.id)))
