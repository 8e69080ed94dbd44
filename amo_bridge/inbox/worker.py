"""Workers: N threads that claim inbox rows, run the router's handlers, and record the outcome.

- A claimed row carries a lease of ``INBOX_LEASE_SECONDS``; while its handlers run, a heartbeat
  extends the lease every third of it, so long work keeps the row. A worker killed (even with
  SIGKILL) stops heartbeating; once the lease expires any worker returns the row to the queue
  (:meth:`Inbox.reclaim_expired`) and another worker processes it.
- A handler that raises fails the attempt: the row is retried with exponential backoff, and goes
  to ``dead`` with the last error after ``INBOX_MAX_ATTEMPTS``. An :class:`AmoBridgeError` that is
  not retryable goes to ``dead`` at once (retrying a validation error cannot help).
- SIGTERM/SIGINT stop claiming; rows in hand are finished, then the process exits.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType

from amo_bridge.clock import SYSTEM_CLOCK, Clock
from amo_bridge.errors import AmoBridgeError
from amo_bridge.events.router import Router
from amo_bridge.inbox import metrics
from amo_bridge.inbox.context import HandlerContext
from amo_bridge.inbox.queue import Claimed, Inbox
from amo_bridge.logs import correlation
from amo_bridge.store.locks import default_owner

log = logging.getLogger(__name__)


class _Heartbeat:
    """Extends a claimed row's lease in the background until stopped."""

    def __init__(self, inbox: Inbox, claimed: Claimed, interval: float) -> None:
        self._inbox = inbox
        self._claimed = claimed
        self._interval = interval
        self._stop = threading.Event()
        self.lost = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat:{claimed.row.id}", daemon=True)

    def beat(self) -> bool:
        ok = self._inbox.heartbeat(self._claimed.row.id, self._claimed.owner)
        if not ok:
            self.lost.set()
        return ok

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                if not self.beat():
                    log.error("inbox row %s: lease lost to another worker", self._claimed.row.id)
                    return
            except Exception:  # a database hiccup: try again until the lease would run out
                log.warning("inbox row %s: heartbeat failed; will retry", self._claimed.row.id, exc_info=True)

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


class Worker:
    def __init__(
        self,
        inbox: Inbox,
        router: Router[HandlerContext],
        *,
        concurrency: int = 2,
        poll_interval: float = 1.0,
        clock: Clock = SYSTEM_CLOCK,
        owner: str | None = None,
        heartbeat_interval: float | None = None,
    ) -> None:
        self.inbox = inbox
        self.router = router
        self.concurrency = concurrency
        self.poll_interval = poll_interval
        self.clock = clock
        self.owner = owner or default_owner()
        self.heartbeat_interval = heartbeat_interval or max(inbox.lease_seconds / 3.0, 0.05)
        self.stopping = threading.Event()
        self.stopped_by: str | None = None

    # ------------------------------------------------------------------ one row

    def process_one(self, owner: str | None = None) -> bool:
        """Claim and process one due row; ``False`` if there was none."""
        owner = owner or self.owner
        claimed = self.inbox.claim(owner)
        if claimed is None:
            return False
        row = claimed.row
        with correlation(f"inbox-{row.id}"), _Heartbeat(self.inbox, claimed, self.heartbeat_interval) as hb:
            try:
                event = row.event()
            except Exception as exc:  # a stored item the model cannot rebuild: keep it, visibly
                self.inbox.fail(row.id, owner, exc, final=True)
                log.exception("inbox row %s: cannot rebuild its event; moved to dead", row.id)
                return True
            context = HandlerContext(
                store=self.inbox.store,
                clock=self.clock,
                inbox_id=row.id,
                dedupe_key=row.dedupe_key,
                attempt=row.attempts,
                heartbeat=hb.beat,
                log=log,
            )
            started = self.clock.monotonic()
            try:
                names = self.router.dispatch(event, context)
            except Exception as exc:  # the worker's boundary: every failure is recorded
                final = isinstance(exc, AmoBridgeError) and not exc.retryable
                state = self.inbox.fail(row.id, owner, exc, final=final)
                counter = metrics.DEAD if state == "dead" else metrics.FAILED
                counter.labels(kind=event.kind).inc()
                log.warning(
                    "inbox row %s (%s) failed on attempt %s -> %s: %s",
                    row.id,
                    event.kind,
                    row.attempts,
                    state or "lost",
                    exc.__class__.__name__,
                    exc_info=not isinstance(exc, AmoBridgeError),
                )
                return True
            finally:
                metrics.HANDLER_SECONDS.labels(kind=event.kind).observe(self.clock.monotonic() - started)
            if self.inbox.complete(row.id, owner):
                metrics.PROCESSED.labels(kind=event.kind).inc()
                metrics.END_TO_END_SECONDS.observe(max(0.0, self.clock.now() - row.created_at))
                log.info("inbox row %s (%s) done by %d handler(s)", row.id, event.kind, len(names))
            else:
                log.warning("inbox row %s: lease lost before completion (handlers are idempotent)", row.id)
        return True

    def reclaim(self) -> int:
        count = self.inbox.reclaim_expired()
        if count:
            metrics.RECLAIMED.inc(count)
            log.warning("requeued %d inbox row(s) whose worker went silent", count)
        return count

    # ------------------------------------------------------------------ loops

    def run_once(self, max_rows: int = 100_000) -> int:
        """Process due rows until none is left (or ``max_rows``); return how many were handled."""
        self.reclaim()
        handled = 0
        while handled < max_rows and not self.stopping.is_set() and self.process_one():
            handled += 1
        return handled

    def _loop(self, index: int) -> None:
        owner = f"{self.owner}:t{index}"
        next_reclaim = self.clock.monotonic()
        while not self.stopping.is_set():
            try:
                if index == 0 and self.clock.monotonic() >= next_reclaim:
                    # Often enough that a dead worker's row waits at most a third of a lease more.
                    self.reclaim()
                    next_reclaim = self.clock.monotonic() + self.heartbeat_interval
                if self.process_one(owner):
                    continue
            except Exception:  # the database is down or busy: wait and try again, never die
                log.exception("worker thread %d: error outside a handler; retrying", index)
            self.stopping.wait(self.poll_interval)

    def run(self, *, install_signals: bool = True, on_started: Callable[[], None] | None = None) -> None:
        """Run ``concurrency`` threads until :meth:`stop` (or SIGTERM/SIGINT) and they finish."""
        if install_signals and threading.current_thread() is threading.main_thread():
            self.install_signal_handlers()
        threads = [
            threading.Thread(target=self._loop, args=(i,), name=f"inbox-worker-{i}", daemon=True)
            for i in range(self.concurrency)
        ]
        for thread in threads:
            thread.start()
        log.info("worker %s started with %d thread(s)", self.owner, self.concurrency)
        if on_started is not None:
            on_started()
        announced = False
        while any(thread.is_alive() for thread in threads):
            if self.stopped_by and not announced:
                log.info("received %s: finishing rows in hand, then stopping", self.stopped_by)
                announced = True
            for thread in threads:
                thread.join(timeout=0.2)
        log.info("worker %s stopped%s", self.owner, f" ({self.stopped_by})" if self.stopped_by else "")

    def stop(self) -> None:
        self.stopping.set()

    def install_signal_handlers(self) -> None:
        def handle(signum: int, _frame: FrameType | None) -> None:
            # Only set flags here: logging from a signal handler can re-enter a stream write that
            # the interrupted code was in the middle of, and then the stop would be lost.
            self.stopped_by = signal.Signals(signum).name
            self.stop()

        signal.signal(signal.SIGTERM, handle)
        signal.signal(signal.SIGINT, handle)
