"""Running a sandbox on a free loopback port in a background thread (tests, demo, benchmarks)."""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from amo_bridge.clock import Clock
from amo_bridge.sandbox.admin import SandboxAdmin
from amo_bridge.sandbox.app import create_app, sandbox_of
from amo_bridge.sandbox.core import Sandbox
from amo_bridge.sandbox.state import SandboxState


class QuietHandler(WSGIRequestHandler):
    """No access log lines on stderr: the sandbox keeps its own request log."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


class SandboxServer:
    """``with SandboxServer(seed=3) as sb: requests.get(sb.url + "/api/v4/leads", ...)``.

    ``.url`` is the base URL, ``.state`` the live :class:`SandboxState`, ``.admin`` a
    :class:`SandboxAdmin`, ``.sandbox`` everything else; ``.token`` the long-lived token."""

    def __init__(
        self,
        seed: int = 1,
        clock: Clock | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        long_lived_token: str | None = "sandbox-long-lived-token",  # noqa: S107 - a test credential
        **options: Any,
    ) -> None:
        self.app = create_app(seed, clock, long_lived_token=long_lived_token, **options)
        self.sandbox: Sandbox = sandbox_of(self.app)
        self.token = long_lived_token
        self._host = host
        self._port = port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the sandbox server is not running")
        return f"http://{self._host}:{self._server.server_port}"

    @property
    def state(self) -> SandboxState:
        return self.sandbox.state

    @property
    def admin(self) -> SandboxAdmin:
        admin = self.app.extensions["amo_sandbox_admin"]
        assert isinstance(admin, SandboxAdmin)
        return admin

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def start(self) -> SandboxServer:
        self._server = make_server(
            self._host, self._port, self.app, threaded=True, request_handler=QuietHandler
        )
        self.sandbox.set_base_url(self.url)
        self._thread = threading.Thread(target=self._server.serve_forever, name="sandbox-http", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.sandbox.close()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
