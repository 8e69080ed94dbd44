"""What a handler receives besides the event: the store, the clock, the row and a heartbeat."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from amo_bridge.clock import Clock
from amo_bridge.store import Store


@dataclass(frozen=True)
class HandlerContext:
    store: Store
    clock: Clock
    inbox_id: int
    dedupe_key: str
    attempt: int  # 1 on the first try
    heartbeat: Callable[[], bool]  # extend the lease now; False if the row was taken from us
    log: logging.Logger
