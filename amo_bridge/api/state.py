"""The integration's shared state in the ``kv`` table (a contract with the receiver and the CLI).

- ``amo.integration`` = ``{"state": "connected"|"disconnected"|"unknown", "reason": str, "since": unix}``
- ``amo.blocked_until`` = Unix seconds: after a 403 IP block every process stops calling amoCRM until then.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from amo_bridge.store import Store

INTEGRATION_KEY = "amo.integration"
BLOCKED_UNTIL_KEY = "amo.blocked_until"

CONNECTED = "connected"
DISCONNECTED = "disconnected"
UNKNOWN = "unknown"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IntegrationState:
    state: str
    reason: str
    since: float | None

    def to_dict(self) -> dict[str, Any]:
        return {"state": self.state, "reason": self.reason, "since": self.since}


def read_integration(store: Store) -> IntegrationState:
    raw = store.kv.get(INTEGRATION_KEY)
    if not isinstance(raw, dict):
        return IntegrationState(UNKNOWN, "never connected", None)
    return IntegrationState(str(raw.get("state", UNKNOWN)), str(raw.get("reason", "")), raw.get("since"))


def write_integration(store: Store, state: str, reason: str) -> IntegrationState:
    value = IntegrationState(state, reason, store.clock.now())
    store.kv.set(INTEGRATION_KEY, value.to_dict())
    return value


def blocked_until(store: Store) -> float | None:
    """When the current 403 block ends (``None`` when there is none or it is over)."""
    raw = store.kv.get(BLOCKED_UNTIL_KEY)
    if not isinstance(raw, int | float) or raw <= store.clock.now():
        return None
    return float(raw)


def mark_blocked(store: Store, cooldown: float) -> float:
    """Record a block for ``cooldown`` seconds from now; extends, never shortens, a running block."""
    until = store.clock.now() + cooldown
    current = blocked_until(store)
    if current is not None and current > until:
        return current
    store.kv.set(BLOCKED_UNTIL_KEY, until)
    log.critical(
        "amoCRM BLOCKED this client (403 after rate abuse): every process stops calling the API "
        "until %.0f (%d s). If it persists after that, ask amoCRM support to lift the block.",
        until,
        cooldown,
    )
    return until


def clear_block(store: Store) -> None:
    store.kv.delete(BLOCKED_UNTIL_KEY)
