"""Recovery: kill -9 of a worker and of the receiver under load; events lost and effects duplicated.

Starts the receiver (``amo-bridge serve``) and two workers (``amo-bridge worker``) on SQLite in a
scratch directory, and posts a fixed number of webhook deliveries (one lead event each, distinct lead
ids) from 4 threads, retrying a delivery until it gets a 2xx as amoCRM does. A third of the way in,
worker 1 is killed with SIGKILL and restarted; two thirds in, the receiver is killed with SIGKILL and
restarted on the same port. Then the workers drain the inbox (bounded).

Measured against the inbox and the journal of processed events (the receiver's own effect log):
- **lost**: leads acknowledged to the sender with no row in the journal (goal 0);
- **duplicated effects**: leads with more than one journal row (goal 0);
- redelivered bodies absorbed by the inbox's dedupe, and handler runs repeated after the kill
  (rows with more than one attempt: what idempotent handlers absorb).

Bounded: a fixed number of deliveries and a wall-clock cap. Run: ``python -m bench.recovery``.
"""

from __future__ import annotations

import http.client
import os
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench.webhook_ingest import ACCOUNT_ID, SECRET, body

DELIVERIES = 900
THREADS = 4
TIME_CAP_S = 120.0
DRAIN_CAP_S = 90.0


def _cli() -> list[str]:
    return [sys.executable, "-c", "from amo_bridge.cli.main import main; main()"]


def _post(port: int, payload: bytes) -> int | None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request(
            "POST",
            f"/webhooks/amocrm/{SECRET}",
            body=payload,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "User-Agent": "amoCRM-Webhooks/3.0",
            },
        )
        return conn.getresponse().status
    except OSError:
        return None
    finally:
        conn.close()


def _wait_up(port: int, cap: float = 30.0) -> None:
    deadline = time.monotonic() + cap
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status < 500:
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the receiver did not come up")


def _measure() -> list[dict[str, Any]]:
    from sqlalchemy import func, select

    from amo_bridge.demo.children import Children, free_port
    from amo_bridge.store import Store
    from amo_bridge.store import schema as T

    with tempfile.TemporaryDirectory(prefix="amo-bench-recovery-") as tmp:
        workdir = Path(tmp)
        port = free_port()
        database_url = f"sqlite:///{workdir / 'bench.db'}"
        env_file = workdir / "bench.env"
        env_file.write_text(
            "\n".join(
                [
                    f"DATABASE_URL={database_url}",
                    f"WEBHOOK_SECRET={SECRET}",
                    f"AMO_ACCOUNT_ID={ACCOUNT_ID}",
                    "SERVE_HOST=127.0.0.1",
                    f"SERVE_PORT={port}",
                    "WORKER_CONCURRENCY=2",
                    "WORKER_POLL_SECONDS=0.1",
                    "INBOX_LEASE_SECONDS=3",
                    "INBOX_RETRY_BASE_SECONDS=1",
                    "LOG_LEVEL=WARNING",
                ]
            )
            + "\n",
            encoding="utf-8",
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AMO_", "WEBHOOK_", "DATABASE_"))}
        env["AMO_BRIDGE_ENV_FILE"] = str(env_file)
        store = Store(database_url)
        store.upgrade()
        children = Children(workdir, env)
        try:
            receiver = children.start("receiver", [*_cli(), "serve"])
            workers = [children.start(f"worker-{n}", [*_cli(), "worker"]) for n in (1, 2)]
            _wait_up(port)
            acked: set[int] = set()
            lock = threading.Lock()
            counter = iter(range(DELIVERIES))
            retries = [0]
            deadline = time.monotonic() + TIME_CAP_S

            def send() -> None:
                while time.monotonic() < deadline:
                    with lock:
                        i = next(counter, None)
                    if i is None:
                        return
                    while time.monotonic() < deadline:
                        status = _post(port, body(i))
                        if status is not None and 200 <= status < 300:
                            with lock:
                                acked.add(40_000_000 + i)
                            break
                        with lock:
                            retries[0] += 1
                        time.sleep(0.1)

            threads = [threading.Thread(target=send, daemon=True) for _ in range(THREADS)]
            started = time.monotonic()
            for thread in threads:
                thread.start()
            kills = []
            for share, victim in ((1 / 3, "worker"), (2 / 3, "receiver")):
                while len(acked) < DELIVERIES * share and time.monotonic() < deadline:
                    time.sleep(0.02)
                if victim == "worker":
                    os.kill(workers[0].pid, signal.SIGKILL)
                    workers[0].process.wait()
                    time.sleep(0.5)
                    workers[0] = children.start("worker-1b", [*_cli(), "worker"])
                else:
                    os.kill(receiver.pid, signal.SIGKILL)
                    receiver.process.wait()
                    time.sleep(0.5)
                    receiver = children.start("receiver-b", [*_cli(), "serve"])
                kills.append(f"{victim} at {len(acked)}")
            for thread in threads:
                thread.join(timeout=max(0.0, deadline - time.monotonic()))
            load_s = time.monotonic() - started
            drain_deadline = time.monotonic() + DRAIN_CAP_S
            while time.monotonic() < drain_deadline:
                with store.read() as conn:
                    active = conn.execute(
                        select(func.count())
                        .select_from(T.inbox)
                        .where(T.inbox.c.state.in_(["received", "processing", "failed"]))
                    ).scalar_one()
                if active == 0:
                    break
                time.sleep(0.2)
            with store.read() as conn:
                journal = [
                    int(r[0]) for r in conn.execute(select(T.event_journal.c.entity_id)) if r[0] is not None
                ]
                deliveries = conn.execute(select(func.count()).select_from(T.inbox_deliveries)).scalar_one()
                rows = conn.execute(select(func.count()).select_from(T.inbox)).scalar_one()
                repeated = conn.execute(
                    select(func.count()).select_from(T.inbox).where(T.inbox.c.attempts > 1)
                ).scalar_one()
                dead = conn.execute(
                    select(func.count()).select_from(T.inbox).where(T.inbox.c.state == "dead")
                ).scalar_one()
        finally:
            children.stop_all(grace=5)
    seen = set(journal)
    duplicated = len(journal) - len(seen)
    return [
        {
            "store": "SQLite",
            "deliveries acked": len(acked),
            "kills (kill -9 at acked count)": "; ".join(kills),
            "sender retries": retries[0],
            "inbox rows": int(rows),
            "bodies stored": int(deliveries),
            "handler runs repeated": int(repeated),
            "dead rows": int(dead),
            "events lost (goal 0)": len(acked - seen),
            "duplicated effects (goal 0)": duplicated,
            "load s": round(load_s, 1),
        }
    ]


def run() -> list[dict[str, Any]]:
    return _measure()


if __name__ == "__main__":
    for row in run():
        print(row)
