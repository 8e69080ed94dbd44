"""Builders of history rows for KPI tests."""

from __future__ import annotations

import itertools
from typing import Any

from amo_bridge.kpi.history import record
from amo_bridge.kpi.rows import EVENTS, HistoryRow
from amo_bridge.store import Store

_ids = itertools.count(1)


def row(kind: str, at: int, **fields: Any) -> HistoryRow:
    n = next(_ids)
    return HistoryRow(
        kind=kind, occurred_at=at, key=f"test:{n}", source=EVENTS, match_key=f"test:{n}", **fields
    )


def put(store: Store, *rows: HistoryRow) -> None:
    with store.begin() as conn:
        record(conn, rows, now=store.clock.now())
