from __future__ import annotations

import multiprocessing

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from amo_bridge.store import Store
from amo_bridge.store.migrate import current_revision, downgrade, head_revision
from amo_bridge.store.schema import metadata


def test_migrations_reach_head_and_match_schema(store: Store) -> None:
    assert current_revision(store) == head_revision()
    with store.read() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == [], f"schema.py and the migrations disagree: {diff}"


def test_upgrade_is_idempotent_and_downgrade_works(store: Store) -> None:
    store.upgrade()
    downgrade(store, "base")
    assert current_revision(store) is None
    store.upgrade()
    assert current_revision(store) == head_revision()


def test_kv_roundtrip_and_compare_and_set(store: Store) -> None:
    assert store.kv.get("missing", default=5) == 5
    store.kv.set("watermark", {"updated_at": 100, "ids": [1, 2]})
    assert store.kv.get("watermark") == {"updated_at": 100, "ids": [1, 2]}
    assert store.kv.compare_and_set("watermark", {"updated_at": 100, "ids": [1, 2]}, {"updated_at": 200})
    assert not store.kv.compare_and_set("watermark", {"updated_at": 100}, {"updated_at": 300})
    assert store.kv.get("watermark") == {"updated_at": 200}
    assert store.kv.compare_and_set("new", None, "first")
    assert not store.kv.compare_and_set("new", None, "second")
    assert store.kv.delete("new")
    assert not store.kv.delete("new")


def test_transaction_rolls_back_on_error(store: Store) -> None:
    with pytest.raises(RuntimeError), store.begin() as conn:
        store.kv.set("a", 1, conn=conn)
        raise RuntimeError("boom")
    assert store.kv.get("a") is None


def test_run_in_transaction_retries_transient_errors(store: Store) -> None:
    calls = []

    def work(conn: sa.Connection) -> str:
        calls.append(1)
        store.kv.set("k", len(calls), conn=conn)
        if len(calls) < 3:
            raise sa.exc.OperationalError("UPDATE", {}, Exception("database is locked"))
        return "done"

    assert store.run_in_transaction(work, base_delay=0) == "done"
    assert len(calls) == 3
    assert store.kv.get("k") == 3


def test_run_in_transaction_does_not_retry_other_errors(store: Store) -> None:
    calls = []

    def work(conn: sa.Connection) -> None:
        calls.append(1)
        raise ValueError("a bug, not a busy database")

    with pytest.raises(ValueError, match="a bug"):
        store.run_in_transaction(work)
    assert calls == [1]


def test_ping_and_repr_hide_password() -> None:
    store = Store("postgresql+psycopg://user:hunter2hunter2@127.0.0.1:1/none")
    assert "hunter2" not in repr(store)


def _upgrade(url: str) -> None:
    Store(url).upgrade()


def test_concurrent_upgrades_from_several_processes(db_url: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    processes = [ctx.Process(target=_upgrade, args=(db_url,)) for _ in range(4)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(60)
    assert [p.exitcode for p in processes] == [0, 0, 0, 0]
    assert current_revision(Store(db_url)) == head_revision()
