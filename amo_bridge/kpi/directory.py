"""Users (with their groups) and pipelines (with stage order), cached in the ``kv`` table.

The events sync refreshes them through the :class:`~amo_bridge.kpi.ports.Directory` port; reports
read them without calling amoCRM. kv keys: ``kpi.users``, ``kpi.pipelines``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from amo_bridge.kpi.ports import Directory, PipelineInfo, StageInfo, UserInfo
from amo_bridge.store import Store

USERS_KEY = "kpi.users"
PIPELINES_KEY = "kpi.pipelines"


def refresh(store: Store, directory: Directory) -> tuple[int, int]:
    users = [
        {"id": u.id, "name": u.name, "group_id": u.group_id, "is_active": u.is_active}
        for u in directory.users()
    ]
    pipelines = [
        {
            "id": p.id,
            "name": p.name,
            "stages": [{"id": s.id, "name": s.name, "sort": s.sort} for s in p.stages],
        }
        for p in directory.pipelines()
    ]
    with store.begin() as conn:
        store.kv.set(USERS_KEY, users, conn=conn)
        store.kv.set(PIPELINES_KEY, pipelines, conn=conn)
    return len(users), len(pipelines)


def users(store: Store, conn: Connection | None = None) -> dict[int, UserInfo]:
    raw: list[dict[str, Any]] = store.kv.get(USERS_KEY, [], conn=conn)
    return {
        int(u["id"]): UserInfo(
            int(u["id"]), str(u["name"]), u.get("group_id"), bool(u.get("is_active", True))
        )
        for u in raw
    }


def pipelines(store: Store, conn: Connection | None = None) -> dict[int, PipelineInfo]:
    raw: list[dict[str, Any]] = store.kv.get(PIPELINES_KEY, [], conn=conn)
    return {
        int(p["id"]): PipelineInfo(
            int(p["id"]),
            str(p["name"]),
            tuple(StageInfo(int(s["id"]), str(s["name"]), int(s["sort"])) for s in p["stages"]),
        )
        for p in raw
    }
