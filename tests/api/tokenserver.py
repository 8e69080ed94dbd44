"""A tiny amoCRM stand-in on 127.0.0.1 for multi-process tests: a token endpoint that, like amoCRM,
kills a refresh token on first use, and ``GET /api/v4/account`` that accepts only the newest token."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class TokenServer:
    def __init__(self, access: str, refresh: str, *, refresh_latency: float = 0.3) -> None:
        self.access = access
        self.refresh = refresh
        self.refresh_latency = refresh_latency
        self.refreshes = 0
        self.rejected_refreshes = 0
        self.api_ok = 0
        self.api_unauthorized = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> TokenServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _rotate(self, presented: str) -> dict[str, Any] | None:
        with self._lock:
            if presented != self.refresh:
                self.rejected_refreshes += 1
                return None
            self.refreshes += 1
            n = self.refreshes
            self.access = f"access-token-rotated-{n:04d}-0123456789abcdef"
            self.refresh = f"refresh-token-rotated-{n:04d}-0123456789abcdef"
            return {
                "token_type": "Bearer",
                "expires_in": 86400,
                "access_token": self.access,
                "refresh_token": self.refresh,
            }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                content_type = "application/problem+json" if status >= 400 else "application/hal+json"
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if self.path != "/oauth2/access_token" or body.get("grant_type") != "refresh_token":
                    self._answer(400, {"title": "Bad Request", "status": 400, "detail": "unsupported"})
                    return
                pair = server._rotate(str(body.get("refresh_token")))
                if pair is None:
                    self._answer(
                        401, {"title": "Unauthorized", "status": 401, "detail": "Token has been revoked"}
                    )
                    return
                time.sleep(server.refresh_latency)  # the old token is dead already; the answer is slow
                self._answer(200, pair)

            def do_GET(self) -> None:
                token = str(self.headers.get("Authorization", "")).removeprefix("Bearer ")
                with server._lock:
                    ok = token == server.access
                    if ok:
                        server.api_ok += 1
                    else:
                        server.api_unauthorized += 1
                if not ok:
                    self._answer(401, {"title": "Unauthorized", "status": 401, "detail": "Unauthorized"})
                    return
                self._answer(200, {"id": 29085955, "name": "Test", "subdomain": "example"})

        return Handler
