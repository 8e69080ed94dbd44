"""Achieved request rate of 4 processes sharing the amoCRM limiter, against a local HTTP server.

Every process runs an :class:`~amo_bridge.api.AmoClient` (long-lived token mode) calling
``GET /api/v4/account`` as fast as its limiter lets it, for a few seconds. The server on 127.0.0.1
timestamps each arrival; the achieved rate is the number of arrivals inside the measured window divided
by its length, and must not exceed ``AMO_RATE_LIMIT``. Backends: the store (a temporary SQLite file;
also PostgreSQL when ``AMO_TEST_DATABASE_URL`` is set) and Redis when ``REDIS_URL`` or
``AMO_TEST_REDIS_URL`` is set.

    python -m bench.api_rate            # prints one JSON row per backend
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote

PROCESSES = 4
DURATION = 3.0  # seconds measured per backend
LEAD_IN = 2.5  # seconds for the processes to start before the window opens
ACCOUNT_BODY = json.dumps({"id": 1, "name": "bench", "subdomain": "bench"}).encode()


class _CountingServer:
    def __init__(self) -> None:
        self.arrivals: list[float] = []
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                with outer._lock:
                    outer.arrivals.append(time.time())
                self.send_response(200)
                self.send_header("Content-Type", "application/hal+json")
                self.send_header("Content-Length", str(len(ACCOUNT_BODY)))
                self.end_headers()
                self.wfile.write(ACCOUNT_BODY)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _settings(database_url: str, base_url: str, rate: float, redis_url: str | None) -> Any:
    from amo_bridge.config.settings import AmoSettings, Settings, StoreSettings
    from amo_bridge.secrets import Secret

    amo = AmoSettings(
        base_url=base_url,
        long_lived_token=Secret("bench-long-lived-token-0123456789abcdef"),
        auth_mode="long_lived",
        rate_limit=rate,
        max_retries=0,
    )
    return Settings(amo=amo, store=StoreSettings(database_url=database_url, redis_url=redis_url))


def _worker(
    database_url: str, base_url: str, rate: float, redis_url: str | None, name: str, start: float
) -> None:
    from amo_bridge.api import AmoClient
    from amo_bridge.api.ratelimit import make_limiter
    from amo_bridge.clock import SYSTEM_CLOCK
    from amo_bridge.store import Store

    store = Store(database_url)
    limiter = make_limiter(rate, store, clock=SYSTEM_CLOCK, redis_url=redis_url, name=name)
    client = AmoClient.from_settings(
        _settings(database_url, base_url, rate, redis_url), store, limiter=limiter
    )
    time.sleep(max(0.0, start - time.time()))
    deadline = start + DURATION
    while time.time() < deadline:
        client.account.get()
    store.dispose()


def _measure(backend: str, database_url: str, rate: float, redis_url: str | None) -> dict[str, Any]:
    import amo_bridge.api  # noqa: F401  (imported once here, inherited by forked workers)
    from amo_bridge.store import Store

    store = Store(database_url)
    store.upgrade()
    store.dispose()
    server = _CountingServer()
    name = f"bench-{uuid.uuid4().hex[:8]}"
    start = time.time() + LEAD_IN
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    ctx = multiprocessing.get_context(method)
    workers = [
        ctx.Process(target=_worker, args=(database_url, server.url, rate, redis_url, name, start))
        for _ in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=DURATION + LEAD_IN + 30)
        if worker.is_alive():
            worker.kill()
    server.close()
    inside = sorted(t for t in server.arrivals if start <= t < start + DURATION)
    busiest = max((sum(1 for u in inside if t <= u < t + 1.0) for t in inside), default=0)
    achieved = len(inside) / DURATION
    return {
        "bench": "api_rate",
        "backend": backend,
        "processes": PROCESSES,
        "configured_rps": rate,
        "window_s": DURATION,
        "requests_in_window": len(inside),
        "achieved_rps": round(achieved, 3),
        "max_requests_in_any_1s": busiest,
        "within_limit": achieved <= rate + 1e-9,
        "workers_ok": all(w.exitcode == 0 for w in workers),
        "late_arrivals_excluded": sum(1 for t in server.arrivals if t >= start + DURATION),
    }


def run() -> list[dict[str, Any]]:
    from amo_bridge.config.settings import AmoSettings

    rate = float(os.environ.get("AMO_RATE_LIMIT") or 0) or float(AmoSettings().rate_limit)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        rows.append(_measure("store:sqlite", f"sqlite:///{Path(tmp) / 'bench.db'}", rate, None))
        redis_url = os.environ.get("REDIS_URL") or os.environ.get("AMO_TEST_REDIS_URL")
        if redis_url:
            rows.append(_measure("redis", f"sqlite:///{Path(tmp) / 'bench-redis.db'}", rate, redis_url))
    pg_url = os.environ.get("AMO_TEST_DATABASE_URL")
    if pg_url:
        with _pg_schema(pg_url) as url:
            rows.append(_measure("store:postgresql", url, rate, None))
    return rows


@contextlib.contextmanager
def _pg_schema(base: str) -> Iterator[str]:
    """A throw-away schema on the PostgreSQL server, so the bench never touches real tables."""
    import sqlalchemy as sa

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    separator = "&" if "?" in base else "?"
    try:
        yield f"{base}{separator}options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


if __name__ == "__main__":
    for row in run():
        print(json.dumps(row, ensure_ascii=False))
