"""What the routes share, kept on the app (``app.extensions["amo_bridge"]``), not in globals."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app

from amo_bridge.clock import Clock
from amo_bridge.config import Settings
from amo_bridge.inbox import Inbox
from amo_bridge.store import Store
from webhooks.metrics import ReceiverMetrics

EXTENSION = "amo_bridge"


@dataclass(frozen=True)
class ReceiverState:
    settings: Settings
    store: Store
    inbox: Inbox
    clock: Clock
    metrics: ReceiverMetrics


def state(app: Flask | None = None) -> ReceiverState:
    found = (app or current_app).extensions[EXTENSION]
    assert isinstance(found, ReceiverState)
    return found
