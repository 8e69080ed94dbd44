"""Delivering webhooks as amoCRM does: POST form bodies with a 2 s timeout, retries after 5 min,
15 min, 15 min and 1 h (times multiplied by a time-scale factor), a subscription disabled after more
than 100 failed deliveries within 2 hours with the last one failed; duplicates and reordering on demand.

``run_due()`` does one round synchronously (tests call it after advancing the clock); ``start()`` runs
rounds in a background thread.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from amo_bridge.sandbox.clock import SandboxClock
from amo_bridge.sandbox.faults import Faults
from amo_bridge.sandbox.hooks import payloads, phpform
from amo_bridge.sandbox.records import Change, Record

log = logging.getLogger("amo_bridge.sandbox.webhooks")

RETRY_SCHEDULE = (300.0, 900.0, 900.0, 3600.0)
TIMEOUT = 2.0
DISABLE_AFTER = 100
DISABLE_WINDOW = 7200.0
USER_AGENT = "amoCRM-Webhooks/3.0"

Transport = Callable[[str, str, dict[str, str], float], int]


def where(url: str) -> str:
    """Scheme and host of a destination for logs: its path may hold the receiver's secret."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/..."


def requests_transport(url: str, body: str, headers: dict[str, str], timeout: float) -> int:
    import requests

    response = requests.post(url, data=body.encode(), headers=headers, timeout=timeout, allow_redirects=False)
    return response.status_code


@dataclass
class Delivery:
    id: int
    webhook_id: int
    destination: str
    setting: str
    body: str
    request_id: str
    created_at: float
    due_at: float
    attempts: int = 0
    state: str = "pending"  # pending | delivered | failed | dropped
    history: list[Record] = field(default_factory=list)
    duplicate_of: int | None = None

    def as_dict(self) -> Record:
        return {
            "id": self.id,
            "webhook_id": self.webhook_id,
            "destination": self.destination,
            "setting": self.setting,
            "request_id": self.request_id,
            "created_at": self.created_at,
            "due_at": self.due_at,
            "attempts": self.attempts,
            "state": self.state,
            "history": list(self.history),
            "duplicate_of": self.duplicate_of,
            "body": self.body,
        }


class Dispatcher:
    def __init__(
        self,
        *,
        clock: SandboxClock,
        webhooks: Callable[[], dict[int, Record]],
        account: Callable[[], Record],
        base_url: Callable[[], str],
        faults: Faults,
        transport: Transport = requests_transport,
        time_scale: float = 1.0,
        seed: int = 0,
        disable_after: int = DISABLE_AFTER,
    ) -> None:
        self.clock = clock
        self._webhooks = webhooks
        self._account = account
        self._base_url = base_url
        self.faults = faults
        self.transport = transport
        self.time_scale = time_scale
        self.disable_after = disable_after
        self.rng = random.Random(seed)
        self.lock = threading.RLock()
        self.deliveries: list[Delivery] = []
        self.failures: dict[int, list[float]] = {}
        self._next_id = 0
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ enqueue
    def on_change(self, change: Change) -> None:
        setting = payloads.setting_for(change)
        if setting is None:
            return
        targets = [w for w in self._webhooks().values() if not w["disabled"] and setting in w["settings"]]
        if not targets:
            return
        body = phpform.encode(payloads.build(change, self._account(), self._base_url()))
        now = self.clock.wall()
        with self.lock:
            for webhook in targets:
                first = self._enqueue(webhook, setting, body, now)
                if (
                    self.faults.webhook_duplicate_rate
                    and self.rng.random() < self.faults.webhook_duplicate_rate
                ):
                    copy = self._enqueue(webhook, setting, body, now + self.rng.uniform(0.0, 1.0))
                    copy.duplicate_of = first.id
        self._wake.set()

    def _enqueue(self, webhook: Record, setting: str, body: str, due: float) -> Delivery:
        self._next_id += 1
        delivery = Delivery(
            id=self._next_id,
            webhook_id=webhook["id"],
            destination=webhook["destination"],
            setting=setting,
            body=body,
            request_id=f"{self.rng.getrandbits(64):016x}",
            created_at=self.clock.wall(),
            due_at=due,
        )
        self.deliveries.append(delivery)
        return delivery

    # ------------------------------------------------------------------ delivery
    def due(self) -> list[Delivery]:
        now = self.clock.wall()
        with self.lock:
            ready = [d for d in self.deliveries if d.state == "pending" and d.due_at <= now]
            if self.faults.webhook_reorder and len(ready) > 0:
                self.rng.shuffle(ready)
                held = [d for d in ready[1:] if self.rng.random() < 0.3]
                for delivery in held:
                    delivery.due_at = now + self.rng.uniform(0.2, 1.5)
                ready = [d for d in ready if d not in held]
            else:
                ready.sort(key=lambda d: (d.due_at, d.id))
            return ready

    def run_due(self) -> int:
        """Attempt every delivery that is due now; return how many attempts were made."""
        attempts = 0
        for delivery in self.due():
            self._attempt(delivery)
            attempts += 1
        return attempts

    def _attempt(self, delivery: Delivery) -> None:
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": USER_AGENT,
            "X-Amocrm-Requestid": delivery.request_id,
        }
        status: int | None = None
        problem = ""
        if self.faults.webhook_fail_rate and self.rng.random() < self.faults.webhook_fail_rate:
            problem = "injected failure"
        else:
            try:
                status = self.transport(delivery.destination, delivery.body, headers, TIMEOUT)
            except Exception as exc:  # noqa: BLE001 - any transport failure is a failed delivery
                problem = exc.__class__.__name__  # the message may repeat the URL and its secret
        now = self.clock.wall()
        ok = status is not None and 100 <= status <= 299
        with self.lock:
            delivery.attempts += 1
            delivery.history.append({"at": now, "status": status, "error": problem or None})
            if ok:
                delivery.state = "delivered"
                return
            self.failures.setdefault(delivery.webhook_id, []).append(now)
            if delivery.attempts <= len(RETRY_SCHEDULE):
                delivery.due_at = now + RETRY_SCHEDULE[delivery.attempts - 1] * self.time_scale
            else:
                delivery.state = "failed"
            self._maybe_disable(delivery.webhook_id, now)
        log.info(
            "webhook delivery %s to %s failed (%s)",
            delivery.id,
            where(delivery.destination),
            status or problem,
        )

    def _maybe_disable(self, webhook_id: int, now: float) -> None:
        window = DISABLE_WINDOW * self.time_scale
        recent = [t for t in self.failures.get(webhook_id, []) if t > now - window]
        self.failures[webhook_id] = recent
        if len(recent) > self.disable_after:
            webhook = self._webhooks().get(webhook_id)
            if webhook is not None and not webhook["disabled"]:
                webhook["disabled"] = True
                log.warning("webhook %s disabled after %d failed deliveries", webhook["id"], len(recent))
            for delivery in self.deliveries:
                if delivery.webhook_id == webhook_id and delivery.state == "pending":
                    delivery.state = "dropped"

    # ------------------------------------------------------------------ inspection
    def snapshot(self, state: str | None = None) -> list[Record]:
        with self.lock:
            return [d.as_dict() for d in self.deliveries if state is None or d.state == state]

    def pending(self) -> int:
        with self.lock:
            return sum(1 for d in self.deliveries if d.state == "pending")

    def clear(self) -> None:
        with self.lock:
            self.deliveries.clear()
            self.failures.clear()

    # ------------------------------------------------------------------ thread
    def start(self, poll: float = 0.05) -> None:
        if self._thread is not None:
            return
        self._stop.clear()

        def loop() -> None:
            while not self._stop.is_set():
                try:
                    self.run_due()
                except Exception:  # the delivery thread must outlive one bad round
                    log.exception("webhook delivery round failed")
                self._wake.wait(poll)
                self._wake.clear()

        self._thread = threading.Thread(target=loop, name="sandbox-webhooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def kick(self) -> None:
        self._wake.set()

    def configure(self, **values: Any) -> None:
        if "time_scale" in values:
            self.time_scale = float(values["time_scale"])
