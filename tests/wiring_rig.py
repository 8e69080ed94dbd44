"""The whole chain on one machine: the sandbox delivers webhooks to a real receiver on a loopback
port, a real worker runs the handlers, the services act on the sandbox through the API client."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server

from amo_bridge.app_services import Services, ServicesProvider
from amo_bridge.cli.webhooks_cmd import EVENTS, destination
from amo_bridge.clock import Clock
from amo_bridge.config import load_settings
from amo_bridge.inbox import Inbox
from amo_bridge.inbox.worker import Worker
from amo_bridge.sandbox import seed as sb
from amo_bridge.sandbox.server import QuietHandler, SandboxServer
from amo_bridge.store import Store
from jobs.distribution_jobs import read_users, store_users
from webhooks.app import create_app
from webhooks.handlers import build_router

SECRET = "wiring-test-secret-0123456789"
L1 = [uid for uid, _, group, active in sb.STAFF if group == sb.GROUP_LEAD_MANAGERS and active][:3]
L2 = [uid for uid, _, group, active in sb.STAFF if group == sb.GROUP_CLOSERS and active]
POOLS = (
    f"L1 = unsorted {sb.PIPELINE_LEAD_EXCHANGE} : {','.join(map(str, L1))} : first_task=15; "
    f"L2 = status {sb.PIPELINE_MAIN}/{sb.ST_MAIN_FIRST_CONTACT} : {','.join(map(str, L2))} : first_task=30"
)
RULES = f"""
[[outcome]]
name = "qualified"
when = {{ pipeline = {sb.PIPELINE_LEAD_EXCHANGE}, status = {sb.ST_LX_QUALIFIED} }}
move_to = {{ pipeline = {sb.PIPELINE_MAIN}, status = "first" }}
assign_pool = "L2"
task = {{ text = "Квалифицированный лид: позвонить клиенту", due_minutes = 30 }}
note = "Квалифицировал менеджер {{responsible_user_id}}"

[[outcome]]
name = "warm-up"
when = {{ pipeline = {sb.PIPELINE_LEAD_EXCHANGE}, status = {sb.ST_LX_WARM_UP} }}
move_to = {{ pipeline = {sb.PIPELINE_WARM_UP}, status = "first" }}

[[outcome]]
name = "non-target"
when = {{ pipeline = {sb.PIPELINE_LEAD_EXCHANGE}, status = {sb.ST_LX_NON_TARGET} }}
move_to = {{ pipeline = {sb.PIPELINE_LEAD_EXCHANGE}, status = 143 }}
loss_reason_id = {sb.LOSS_REASON_IDS[0]}

[duplicates]
mode = "link"
tag = "duplicate"

[warmup_return]
pipeline = {sb.PIPELINE_WARM_UP}
on = ["incoming_call", "message"]
move_to = {{ pipeline = {sb.PIPELINE_LEAD_EXCHANGE}, status = {sb.ST_LX_IN_WORK} }}
task = {{ text = "Клиент из прогрева снова на связи", due_minutes = 15 }}
"""


class Rig:
    def __init__(
        self,
        store: Store,
        tmp_path: Path,
        *,
        sandbox_clock: Clock | None = None,
        deliver: bool = False,
        rate_limit: int = 50,
        env: Mapping[str, str] | None = None,
        concurrency: int = 1,
        sandbox_rate: int | None = None,
    ) -> None:
        self.store = store
        self.sandbox = SandboxServer(
            seed=5,
            clock=sandbox_clock,
            deliver_webhooks=deliver,
            rate_limit=sandbox_rate or rate_limit * 4,
            contacts=30,
            companies=5,
        )
        self.sandbox.start()
        rules = tmp_path / "handoff.toml"
        rules.write_text(RULES, encoding="utf-8")
        self.settings = load_settings(
            {
                "AMO_BASE_URL": self.sandbox.url,
                "AMO_LONG_LIVED_TOKEN": str(self.sandbox.token),
                "AMO_RATE_LIMIT": str(rate_limit),
                "AMO_ACCOUNT_ID": str(self.sandbox.state.account["id"]),
                "DATABASE_URL": store.url,
                "WEBHOOK_SECRET": SECRET,
                "DISTRIBUTION_ENABLED": "on",
                "DISTRIBUTION_POOLS": POOLS,
                "HANDOFF_RULES_FILE": str(rules),
                **(env or {}),
            }
        )
        self.receiver: BaseWSGIServer = make_server(
            "127.0.0.1", 0, create_app(self.settings, store), threaded=True, request_handler=QuietHandler
        )
        self._thread = threading.Thread(target=self.receiver.serve_forever, daemon=True)
        self._thread.start()
        self.services = Services.from_settings(self.settings, store)
        assert self.services.client is not None
        assert self.services.distribution is not None
        assert self.services.handoff is not None
        self.client = self.services.client
        store_users(store, read_users(self.client), 0.0)
        url = destination(f"http://127.0.0.1:{self.receiver.server_port}", SECRET)
        self.client.webhooks.subscribe(url, EVENTS)
        self.inbox = Inbox(store, lease_seconds=60.0)
        provider = ServicesProvider(lambda: self.services)
        self.worker = Worker(self.inbox, build_router(provider), concurrency=concurrency, poll_interval=0.01)

    @property
    def state(self) -> Any:
        return self.sandbox.state

    def settle(self, rounds: int = 40) -> int:
        """Deliver due webhooks and process the inbox until nothing is left (bounded)."""
        handled = 0
        for _ in range(rounds):
            sent = self.sandbox.admin.run_webhooks()
            done = self.worker.run_once()
            handled += done
            if sent == 0 and done == 0:
                return handled
        raise AssertionError(f"webhooks still flowing after {rounds} rounds")

    def new_contact(self, phone: str, name: str = "Клиент") -> int:
        fields = {
            "name": name,
            "custom_fields_values": [
                {"field_id": sb.CF_PHONE, "values": [{"value": phone, "enum_code": "WORK"}]}
            ],
        }
        with self.state.lock:
            contact = self.state.add_contact(self.state.validate_contact("contacts", fields, None))
        return int(contact["id"])

    def new_unsorted(self, source_uid: str, contact_id: int | None) -> str:
        entry = self.state.add_unsorted(
            category="forms",
            pipeline_id=sb.PIPELINE_LEAD_EXCHANGE,
            source_uid=source_uid,
            source_name="Сайт",
            lead_fields={"name": f"Заявка {source_uid}"},
            contact_id=contact_id,
            metadata={"form_name": "Заказать звонок"},
        )
        return str(entry["uid"])

    def close(self) -> None:
        self.worker.stop()
        self.services.close()
        self.receiver.shutdown()
        self.receiver.server_close()
        self._thread.join(timeout=5)
        self.sandbox.stop()
