"""Admin operations of the sandbox, for tests and the demo (in-process; ``/_sandbox/`` serves them
over HTTP): reset, inspect state, advance the clock, the request log, faults, OAuth codes, ground truth."""

from __future__ import annotations

from typing import Any

from amo_bridge.sandbox.core import Sandbox
from amo_bridge.sandbox.records import Record, copy_record

STATE_KINDS = (
    "leads",
    "contacts",
    "companies",
    "tasks",
    "unsorted",
    "events",
    "webhooks",
    "users",
    "calls",
    "notes",
    "catalogs",
)


class SandboxAdmin:
    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    def reset(self, seed: int | None = None) -> None:
        self.sandbox.reset(seed)

    def state(self, kind: str) -> list[Record]:
        state = self.sandbox.state
        with state.lock:
            if kind == "notes":
                return [
                    {**copy_record(n), "entity_type": t}
                    for t, notes in state.notes.items()
                    for n in notes.values()
                ]
            if kind == "events":
                return [copy_record(e) for e in state.events]
            source: dict[Any, Record] = getattr(state, kind)
            return [copy_record(r) for r in source.values()]

    def advance(self, seconds: float) -> float:
        self.sandbox.clock.advance(seconds)
        self.sandbox.dispatcher.kick()
        return self.sandbox.clock.now()

    def requests(self) -> list[Record]:
        return list(self.sandbox.request_log)

    def clear_requests(self) -> None:
        self.sandbox.request_log.clear()

    def faults(self) -> Record:
        return self.sandbox.faults.as_dict() | {"blocked": self.sandbox.limiter.blocked_since is not None}

    def set_faults(self, **values: Any) -> Record:
        self.sandbox.set_faults(values)
        return self.faults()

    def expire_token(self, token: str | None = None) -> int:
        return self.sandbox.auth.expire_access_tokens(token)

    def block(self, seconds: float = 0.0) -> None:
        self.sandbox.limiter.block(self.sandbox.clock.wall(), seconds)

    def lift_block(self) -> None:
        self.sandbox.limiter.lift()

    def issue_code(self, client_id: str | None = None) -> str:
        return self.sandbox.auth.issue_code(client_id or self.sandbox.config.client_id)

    def deliveries(self, state: str | None = None) -> list[Record]:
        return self.sandbox.dispatcher.snapshot(state)

    def run_webhooks(self) -> int:
        return self.sandbox.dispatcher.run_due()

    def ground_truth(self) -> Record:
        with self.sandbox.state.lock:
            return copy_record(self.sandbox.state.ground_truth)

    def info(self) -> Record:
        from amo_bridge.sandbox import seed

        config = self.sandbox.config
        return {
            "base_url": self.sandbox.base_url,
            "account_id": config.account_id,
            "subdomain": config.subdomain,
            "client_id": config.client_id,
            "seed": self.sandbox.state.ground_truth.get("seed"),
            "now": self.sandbox.clock.now(),
            "wall": self.sandbox.clock.wall(),
            "pipelines": {
                "lead_exchange": seed.PIPELINE_LEAD_EXCHANGE,
                "main": seed.PIPELINE_MAIN,
                "warm_up": seed.PIPELINE_WARM_UP,
                "retention": seed.PIPELINE_RETENTION,
            },
            "groups": {
                "lead_managers": seed.GROUP_LEAD_MANAGERS,
                "closers": seed.GROUP_CLOSERS,
                "account_managers": seed.GROUP_ACCOUNT_MANAGERS,
            },
        }
