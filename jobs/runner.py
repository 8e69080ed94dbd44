"""Running one job once: lease, history row, correlation id, counters, outcome.

The scheduler and ``amo-bridge run`` both go through :meth:`Runner.run`, so a run is recorded and
guarded the same way whoever starts it. Exit codes of :class:`RunResult`: 0 succeeded or skipped
(another run of the job holds its lease), 1 failed or partial (some items failed), 3 not built yet.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TextIO

from amo_bridge.clock import SYSTEM_CLOCK, Clock
from amo_bridge.config import Settings
from amo_bridge.errors import NotBuiltYet
from amo_bridge.logs import correlation, redact
from amo_bridge.store import Lease, Store
from jobs.context import JobContext, LeaseLost
from jobs.history import RunHistory
from jobs.ports import Ports
from jobs.registry import REGISTRY, JobSpec, Registry

log = logging.getLogger(__name__)

NOT_BUILT_EXIT_CODE = 3


@dataclass(frozen=True)
class RunResult:
    run_id: str
    job: str
    status: str
    seen: int = 0
    changed: int = 0
    failed: int = 0
    error: str | None = None
    not_built: bool = False
    planned: tuple[str, ...] = field(default=())

    @property
    def exit_code(self) -> int:
        if self.not_built:
            return NOT_BUILT_EXIT_CODE
        return 0 if self.status in ("succeeded", "skipped") else 1

    def summary(self) -> str:
        text = (
            f"{self.job} [{self.run_id}] {self.status}: "
            f"seen {self.seen}, changed {self.changed}, failed {self.failed}"
        )
        return text + (f"; {self.error}" if self.error else "")


def new_run_id() -> str:
    return f"run-{uuid.uuid4().hex[:16]}"


class Runner:
    def __init__(
        self,
        store: Store,
        settings: Settings,
        ports: Ports,
        *,
        registry: Registry = REGISTRY,
        clock: Clock = SYSTEM_CLOCK,
        host: str | None = None,
        echo: Callable[[str], None] = lambda _line: None,
        progress_stream: TextIO | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.ports = ports
        self.registry = registry
        self.clock = clock
        self.host = host or f"{socket.gethostname()}:{os.getpid()}"
        self.echo = echo
        self.progress_stream = progress_stream
        self.history = RunHistory(store)

    def run(
        self,
        name: str,
        *,
        dry_run: bool = False,
        since: float | None = None,
        origin: str = "manual",
        run_id: str | None = None,
    ) -> RunResult:
        spec = self.registry.get(name)
        run_id = run_id or new_run_id()
        with correlation(run_id):
            return self._run(spec, run_id, dry_run=dry_run, since=since, origin=origin)

    def _is_live(self, spec: JobSpec) -> Callable[[str], bool]:
        def is_live(run_id: str) -> bool:
            holder = self.store.locks.info(spec.lock_name)
            return holder is not None and holder.owner == run_id

        return is_live

    def _run(
        self, spec: JobSpec, run_id: str, *, dry_run: bool, since: float | None, origin: str
    ) -> RunResult:
        lease: Lease | None = None
        # A dry run writes nothing, so it neither takes nor waits for the job's lease.
        if spec.exclusive and not dry_run:
            if not self.store.locks.try_acquire(spec.lock_name, run_id, spec.lease_seconds):
                holder = self.store.locks.info(spec.lock_name)
                reason = f"another run holds {spec.lock_name}" + (f" ({holder.owner})" if holder else "")
                now = self.clock.now()
                self.history.start(run_id, spec.name, origin, dry_run, self.host, now)
                self.history.finish(run_id, "skipped", now, error=reason)
                log.info("%s skipped: %s", spec.name, reason)
                return RunResult(run_id, spec.name, "skipped", error=reason)
            lease = Lease(self.store.locks, spec.lock_name, run_id, spec.lease_seconds)
            lease.keep_alive()
            abandoned = self.history.abandon_stale(spec.name, run_id, self.clock.now())
            if abandoned:
                log.warning(
                    "%s: %d earlier run(s) had stopped without recording their end", spec.name, abandoned
                )

        def check_lease() -> None:
            if lease is not None and lease.lost:
                raise LeaseLost(f"{spec.name}: lease {spec.lock_name} passed to another process")

        ctx = JobContext(
            job=spec.name,
            run_id=run_id,
            store=self.store,
            settings=self.settings,
            clock=self.clock,
            ports=self.ports,
            dry_run=dry_run,
            since=since,
            is_live=self._is_live(spec),
            check_lease=check_lease,
            echo=self.echo,
            progress_stream=self.progress_stream,
        )
        try:
            self.history.start(run_id, spec.name, origin, dry_run, self.host, self.clock.now())
            log.info("%s started (%s%s)", spec.name, origin, ", dry run" if dry_run else "")
            status, error, not_built = "succeeded", None, False
            try:
                spec.func(ctx)
                if ctx.counters.failed:
                    status = "partial"
                    error = "; ".join(ctx.counters.errors[:5])
            except NotBuiltYet as exc:
                status, error, not_built = "failed", f"not built yet: {exc}", True
                log.error("%s", error)
            except Exception as exc:
                status, error = "failed", redact(f"{exc.__class__.__name__}: {exc}")
                log.exception("%s failed", spec.name)
            counters = ctx.counters
            self.history.finish(
                run_id,
                status,
                self.clock.now(),
                seen=counters.seen,
                changed=counters.changed,
                failed=counters.failed,
                error=error,
            )
            result = RunResult(
                run_id,
                spec.name,
                status,
                counters.seen,
                counters.changed,
                counters.failed,
                error,
                not_built,
                tuple(ctx.planned),
            )
            log.info("%s", result.summary())
            return result
        finally:
            if lease is not None:
                lease.release()
