"""KPI computation over 1,000,000 history events: time and peak memory.

Generates a month of synthetic history (200 employees, 100,000 leads, calls, stage moves with
back-and-forth, wins with prices and clients, tasks, notes, reported numbers), loads it in batches
(executemany on SQLite, COPY on PostgreSQL when ``AMO_TEST_DATABASE_URL`` is set), then times a full
month's KPIs for every employee (one pass per metric family, aggregated in SQL), a funnel and a daily
report. Peak memory: ``tracemalloc`` over the computation and the process's max RSS.

    python -m bench.kpi            # 1,000,000 events
    BENCH_KPI_EVENTS=200000 python -m bench.kpi
"""

from __future__ import annotations

import json
import os
import random
import resource
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from amo_bridge.config.settings import KpiSettings
from amo_bridge.kpi import report
from amo_bridge.kpi.activities import parse_activities, parse_levels, parse_reported_fields
from amo_bridge.kpi.periods import parse_period
from amo_bridge.kpi.ports import PipelineInfo, StageInfo
from amo_bridge.store import Store
from amo_bridge.store.schema import kpi_events

TZ = ZoneInfo("Europe/Moscow")
PERIOD = parse_period("2026-11")
USERS = 200
LEADS = 100_000
CLIENTS = 30_000
BATCH = 20_000
STAGES = [1001, 1002, 1003, 1004, 1005, 1006]
COLUMNS = (
    "kind", "occurred_at", "lead_id", "entity_id", "user_id", "actor_id", "pipeline_id", "status_id",
    "old_status_id", "price", "duration", "task_type_id", "due_at", "note_type", "field_id", "value",
    "client_id", "match_key", "sources", "recorded_at",
)  # fmt: skip
KINDS = [
    ("call_out", 30), ("call_in", 10), ("status_changed", 25), ("lead_created", 8),
    ("responsible_changed", 5), ("task_created", 8), ("task_completed", 7), ("note_added", 5),
    ("reported", 2),
]  # fmt: skip
SETTINGS = KpiSettings(
    levels=parse_levels("l1=users:" + ",".join(str(u) for u in range(1, 81)) + ";l2=users:"
                        + ",".join(str(u) for u in range(81, 161)) + ";l3=users:"
                        + ",".join(str(u) for u in range(161, 201))),
    activities=parse_activities("proposal=task:3,note:proposal;invoice=status:1004;contract=status:1005;"
                                "payment=status:142;feedback_call=task:5;repeat_call=call:repeat"),
    qualified_statuses=frozenset({1003}),
    retention_pipeline_id=2,
    reported_fields=parse_reported_fields("calls=512"),
)  # fmt: skip


def generate(n: int, seed: int = 7) -> Iterator[list[tuple[Any, ...]]]:
    """Batches of rows in ``COLUMNS`` order; memory stays at one batch."""
    rng = random.Random(seed)
    start, end = PERIOD.bounds(TZ)
    kinds = [k for k, _ in KINDS]
    weights = [w for _, w in KINDS]
    batch: list[tuple[Any, ...]] = []
    for i in range(n):
        kind = rng.choices(kinds, weights)[0]
        at = rng.randrange(start, end)
        lead = rng.randrange(1, LEADS)
        user = 1 + lead % USERS if rng.random() < 0.8 else rng.randrange(1, USERS + 1)
        pipeline = 1 if lead % 5 else 2
        status = old = price = client = duration = task_type = due = note = field = value = entity = None
        if kind == "status_changed":
            roll = rng.random()
            status = 142 if roll < 0.1 else 143 if roll < 0.15 else rng.choice(STAGES)
            old = rng.choice(STAGES)
            if status == 142:
                price = float(rng.randrange(1_000, 100_000))
                client = rng.randrange(1, CLIENTS)
        elif kind == "lead_created":
            status = STAGES[0]
        elif kind in ("call_out", "call_in"):
            duration = rng.randrange(0, 600)
            entity = i
        elif kind in ("task_created", "task_completed"):
            entity = rng.randrange(1, n // 8 + 2)
            task_type = rng.choice([1, 2, 3, 5])
            due = at + rng.randrange(-86_400, 3 * 86_400) if kind == "task_created" else None
        elif kind == "note_added":
            note = rng.choice(["common", "proposal", "invoice"])
            entity = i
        elif kind == "reported":
            field, value = 512, float(rng.randrange(0, 60))
        batch.append(
            (kind, at, lead, entity, user, user, pipeline if status else None, status, old, price, duration,
             task_type, due, note, field, value, client, f"bench:{i}", 1, 0.0)
        )  # fmt: skip
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def load(store: Store, n: int) -> float:
    """Bulk load with the secondary indexes dropped, then rebuilt (as a restore would)."""
    started = time.perf_counter()
    with store.begin() as conn:
        for index in kpi_events.indexes:
            index.drop(conn)
    raw = store.engine.raw_connection()
    try:
        cursor = raw.cursor()
        if store.dialect == "postgresql":
            with cursor.copy(f"COPY kpi_events ({', '.join(COLUMNS)}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                for batch in generate(n):
                    for record in batch:
                        copy.write_row(record)
        else:
            cursor.execute("BEGIN")
            marks = ", ".join("?" for _ in COLUMNS)
            sql = f"INSERT INTO kpi_events ({', '.join(COLUMNS)}) VALUES ({marks})"
            for batch in generate(n):
                cursor.executemany(sql, batch)
        raw.commit()
        cursor.close()
    finally:
        raw.close()
    with store.begin() as conn:
        for index in kpi_events.indexes:
            index.create(conn)
    # PostgreSQL: statistics and the visibility map for index-only scans, as autovacuum would. SQLite
    # gathers no statistics by itself and amo-bridge runs no ANALYZE, so it is measured without.
    if store.dialect == "postgresql":
        with store.engine.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            conn.exec_driver_sql("VACUUM ANALYZE kpi_events")
    return time.perf_counter() - started


def compute(store: Store) -> dict[str, Any]:
    now = float(PERIOD.bounds(TZ)[1] + 86_400)
    pipeline = PipelineInfo(1, "Main", tuple(StageInfo(s, f"stage {s}", i) for i, s in enumerate(STAGES)))
    timings: dict[str, float] = {}
    tracemalloc.start()
    started = time.perf_counter()
    with store.read() as conn:
        t = time.perf_counter()
        metrics = report.all_metrics(conn, SETTINGS, TZ, PERIOD, now)
        timings["all_metrics_s"] = round(time.perf_counter() - t, 2)
        t = time.perf_counter()
        stages = report.funnel_report(conn, pipeline, TZ, PERIOD)
        timings["funnel_s"] = round(time.perf_counter() - t, 2)
        t = time.perf_counter()
        daily = report.daily_report(conn, SETTINGS, TZ, parse_period("2026-11-23"), {})
        timings["daily_s"] = round(time.perf_counter() - t, 2)
    total = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    calls = sum(float(m.get("calls") or 0) for m in metrics.values())
    return {
        "kpi_total_s": round(total, 2),
        **timings,
        "python_peak_mb": round(peak / 1e6, 1),
        "employees": len(metrics),
        "calls_counted": int(calls),
        "weakest_stage": next((s.status_id for s in stages if s.weakest), None),
        "daily_rows": len(daily),
    }


def bench(url: str, backend: str, n: int) -> dict[str, Any]:
    store = Store(url)
    store.upgrade()
    try:
        load_s = load(store, n)
        result = compute(store)
    finally:
        store.dispose()
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"bench": "kpi", "backend": backend, "events": n, "load_s": round(load_s, 1), **result,
            "process_max_rss_mb": round(rss_kb / 1024, 1)}  # fmt: skip


def run() -> list[dict[str, Any]]:
    n = int(os.environ.get("BENCH_KPI_EVENTS", "1000000"))
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        results.append(bench(f"sqlite:///{Path(tmp) / 'kpi.db'}", "sqlite", n))
    pg = os.environ.get("AMO_TEST_DATABASE_URL")
    if pg:
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(pg, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        try:
            sep = "&" if "?" in pg else "?"
            results.append(bench(f"{pg}{sep}options=-csearch_path%3D{schema}", "postgresql", n))
        finally:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
            admin.dispose()
    return results


if __name__ == "__main__":
    for line in run():
        print(json.dumps(line))
    sys.exit(0)
