"""Webhook ingest: ack latency and sustained rate of the durable receiver vs a naive one.

Starts each receiver in its own process on 127.0.0.1 behind a real WSGI server (Werkzeug's threaded
server), drives bounded load from this process (threads, one HTTP connection per request, like
amoCRM), and reports ack latency p50/p99 and requests/second:

- ``durable``: the project's receiver (parse, one transaction into the inbox, 200), on SQLite and,
  when ``AMO_TEST_DATABASE_URL`` is set, on PostgreSQL (a scratch schema, dropped afterwards);
  then a worker (2 threads, the app's router) drains them, reported as events/second;
- ``naive``: a receiver that does the work inside the request: for each event it calls a local
  slow HTTP endpoint standing in for the amoCRM API (150-300 ms per call).

Bounded: a fixed number of requests per run and a wall-clock cap. Run: ``python -m bench.webhook_ingest``.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

SECRET = "bench-secret-0123456789abcdef"
ACCOUNT_ID = "29384756"
THREADS = 8
DURABLE_REQUESTS = 800
NAIVE_REQUESTS = 80
TIME_CAP_S = 60.0
API_DELAY_S = (0.150, 0.300)


def body(i: int) -> bytes:
    prefix = "leads[status][0]"
    pairs = [
        (f"{prefix}[id]", str(40_000_000 + i)),
        (f"{prefix}[name]", f"Сделка {i}"),
        (f"{prefix}[status_id]", "142"),
        (f"{prefix}[old_status_id]", "47810003"),
        (f"{prefix}[pipeline_id]", "5501001"),
        (f"{prefix}[responsible_user_id]", "8123401"),
        (f"{prefix}[last_modified]", str(1_767_260_000 + i)),
        (f"{prefix}[custom_fields][0][id]", "672301"),
        (f"{prefix}[custom_fields][0][values][0][value]", "Яндекс.Директ"),
        ("account[subdomain]", "romashka"),
        ("account[id]", ACCOUNT_ID),
    ]
    return urlencode(pairs).encode()


# ----------------------------------------------------------------------------- servers (child)


def _serve(mode: str, url: str) -> None:
    import logging

    from werkzeug.serving import make_server

    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    if mode == "durable":
        from amo_bridge.config import load_settings
        from amo_bridge.store import Store
        from webhooks.app import create_app

        settings = load_settings(
            environ={"WEBHOOK_SECRET": SECRET, "DATABASE_URL": url, "AMO_ACCOUNT_ID": ACCOUNT_ID}
        )
        store = Store(url)
        store.upgrade()
        app: Any = create_app(settings, store)
    else:
        app = _naive_app()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    print(f"PORT {server.server_port}", flush=True)
    server.serve_forever()


def _naive_app() -> Any:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    import requests
    from flask import Flask, request

    from amo_bridge.events import ParseError, parse_delivery

    class SlowApi(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            time.sleep(random.uniform(*API_DELAY_S))  # an amoCRM API call
            payload = b'{"id": 1, "status_id": 142}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    api = ThreadingHTTPServer(("127.0.0.1", 0), SlowApi)
    threading.Thread(target=api.serve_forever, daemon=True).start()
    api_base = f"http://127.0.0.1:{api.server_port}"
    app = Flask("naive")
    session = requests.Session()

    @app.post("/webhooks/amocrm/<secret>")
    def receive(secret: str) -> Any:
        try:
            delivery = parse_delivery(request.get_data(), dict(request.headers))
        except ParseError:
            return "", 200
        for event in delivery.events:  # the work, inside the request: re-read the lead from the API
            session.get(f"{api_base}/api/v4/leads/{event.entity_id}", timeout=10).raise_for_status()
        return "", 200

    return app


# ----------------------------------------------------------------------------- load (parent)


def _start(mode: str, url: str) -> tuple[subprocess.Popen[str], int]:
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.webhook_ingest", "--serve", mode, url],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("PORT "):
        process.kill()
        raise RuntimeError(f"{mode} receiver did not start")
    return process, int(line.split()[1])


def _load(port: int, total: int, offset: int) -> dict[str, Any]:
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    counter = iter(range(total))
    deadline = time.monotonic() + TIME_CAP_S
    path = f"/webhooks/amocrm/{quote(SECRET)}"
    headers = {"Content-Type": "application/x-www-form-urlencoded", "User-Agent": "amoCRM-Webhooks/3.0"}

    def client() -> None:
        nonlocal errors
        while time.monotonic() < deadline:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            payload = body(offset + i)
            started = time.perf_counter()
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                conn.request("POST", path, payload, {**headers, "X-Amocrm-Requestid": uuid.uuid4().hex})
                status = conn.getresponse().status
                conn.close()
            except OSError:
                status = 0
            elapsed = time.perf_counter() - started
            with lock:
                if 200 <= status < 300:
                    latencies.append(elapsed)
                else:
                    errors += 1

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    latencies.sort()
    return {
        "requests": len(latencies),
        "errors": errors,
        "p50_ms": round(statistics.median(latencies) * 1000, 2) if latencies else None,
        "p99_ms": round(latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000, 2) if latencies else None,
        "rps": round(len(latencies) / wall, 1) if wall > 0 else None,
        "seconds": round(wall, 2),
    }


def _stored(url: str) -> int:
    from amo_bridge.inbox import Inbox
    from amo_bridge.store import Store

    store = Store(url)
    try:
        return Inbox(store).stats().by_state.get("received", 0)
    finally:
        store.dispose()


def _drain(url: str, threads: int = 2) -> dict[str, Any]:
    """Process the stored events with the app's router (the journal handler); events/second."""
    from amo_bridge.inbox import Inbox
    from amo_bridge.inbox.worker import Worker
    from webhooks.handlers import build_router

    store = _open_store(url)
    inbox = Inbox(store)
    pending = inbox.stats().depth
    worker = Worker(inbox, build_router(), concurrency=threads, poll_interval=0.05)
    runner = threading.Thread(target=worker.run, kwargs={"install_signals": False})
    started = time.perf_counter()
    runner.start()
    deadline = time.monotonic() + TIME_CAP_S
    while inbox.stats().depth and time.monotonic() < deadline:
        time.sleep(0.05)
    elapsed = time.perf_counter() - started
    worker.stop()
    runner.join(10)
    done = inbox.stats().by_state.get("done", 0)
    store.dispose()
    return {"drain_events": done, "drain_threads": threads, "drain_events_per_s": round(pending / elapsed, 1)}


def _open_store(url: str) -> Any:
    from amo_bridge.store import Store

    return Store(url)


def _pg_schema(base: str) -> tuple[str, Any]:
    import sqlalchemy as sa

    for prefix in ("postgres://", "postgresql://"):
        if base.startswith(prefix):
            base = "postgresql+psycopg://" + base[len(prefix) :]
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')

    def drop() -> None:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()

    separator = "&" if "?" in base else "?"
    return f"{base}{separator}options={quote(f'-csearch_path={schema}')}", drop


def _measure(mode: str, backend: str, url: str, total: int) -> dict[str, Any]:
    process, port = _start(mode, url)
    try:
        _load(port, 16, offset=10_000_000)  # warm-up: imports, connections, first transactions
        result = _load(port, total, offset=0)
    finally:
        process.terminate()
        process.wait(10)
    row = {"bench": "webhook_ingest", "receiver": mode, "backend": backend, "threads": THREADS, **result}
    if mode == "durable":
        row["stored_events"] = _stored(url) - 16
        row.update(_drain(url))
    return row


def run() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        rows.append(_measure("durable", "sqlite", f"sqlite:///{Path(tmp) / 'bench.db'}", DURABLE_REQUESTS))
    pg = os.environ.get("AMO_TEST_DATABASE_URL")
    if pg:
        url, drop = _pg_schema(pg)
        try:
            rows.append(_measure("durable", "postgresql", url, DURABLE_REQUESTS))
        finally:
            drop()
    naive = _measure("naive", "none", "-", NAIVE_REQUESTS)
    rows.append(naive)
    for row in [r for r in rows if r["receiver"] == "durable"]:
        rows.append(
            {
                "bench": "webhook_ingest",
                "comparison": f"durable[{row['backend']}] vs naive",
                "rps_ratio": round(row["rps"] / naive["rps"], 1) if naive["rps"] else None,
                "p50_ratio": round(naive["p50_ms"] / row["p50_ms"], 1) if row["p50_ms"] else None,
                "p99_ratio": round(naive["p99_ms"] / row["p99_ms"], 1) if row["p99_ms"] else None,
            }
        )
    return rows


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--serve":
        _serve(sys.argv[2], sys.argv[3])
    else:
        for result in run():
            print(json.dumps(result, ensure_ascii=False))
