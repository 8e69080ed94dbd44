"""``amo-bridge scheduler``: every registered job on its schedule, in one leader-locked process.

Only the holder of the store's leader lease (``scheduler:leader``) runs jobs. A second scheduler on
another host waits, polling the lease; when the leader dies its lease expires after
``SCHEDULE_LEASE_SECONDS`` and the standby takes over. A leader that loses its lease (a stalled
process, a database outage longer than the lease) stops its scheduler at once and goes back to
waiting. Each run still takes its own job lease, so even two leaders for a moment never run the same
job twice at once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.exc import SQLAlchemyError

from amo_bridge.clock import SYSTEM_CLOCK, Clock
from amo_bridge.config import Settings
from amo_bridge.schedules import Schedule
from amo_bridge.store import Lease, Store, default_owner
from jobs.registry import Registry

log = logging.getLogger(__name__)

LEADER_LOCK = "scheduler:leader"


def make_trigger(schedule: Schedule, tz: ZoneInfo) -> Any:
    if schedule.kind == "cron":
        return CronTrigger.from_crontab(schedule.cron, timezone=tz)
    if schedule.kind == "interval":
        return IntervalTrigger(seconds=schedule.seconds, timezone=tz)
    raise ValueError(f"schedule {schedule} has no trigger")


def build_scheduler(
    registry: Registry,
    settings: Settings,
    run_job: Callable[[str], object],
    *,
    max_workers: int = 4,
) -> Any:
    """A BackgroundScheduler (not started) with one APScheduler job per registered job.

    Options are data: explicit ``id`` (the job name) with ``replace_existing``, ``coalesce`` (a
    backlog of missed runs becomes one run), ``misfire_grace_time`` (a run late by less than this
    still happens) and ``max_instances=1``.
    """
    tz = settings.amo.timezone
    scheduler = BackgroundScheduler(
        timezone=tz,
        executors={"default": ThreadPoolExecutor(max_workers=max_workers)},
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": settings.jobs.misfire_grace_seconds,
        },
    )
    for spec in registry:
        schedule = settings.jobs.schedule_of(spec.schedule_variable)
        if schedule.kind == "off":
            log.info("%s: off (%s)", spec.name, spec.schedule_variable)
            continue
        scheduler.add_job(
            run_job,
            trigger=make_trigger(schedule, tz),
            args=[spec.name],
            id=spec.name,
            name=spec.name,
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=settings.jobs.misfire_grace_seconds,
        )
    return scheduler


def describe_jobs(registry: Registry, settings: Settings) -> list[tuple[str, str, str, str]]:
    """(name, schedule, variable, description) for every registered job."""
    return [
        (
            spec.name,
            str(settings.jobs.schedule_of(spec.schedule_variable)),
            spec.schedule_variable,
            spec.description,
        )
        for spec in registry
    ]


class SchedulerService:
    """Wait for leadership, run the schedule while leading, step down when the lease is lost."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        registry: Registry,
        run_job: Callable[[str], object],
        *,
        clock: Clock = SYSTEM_CLOCK,
        owner: str | None = None,
        lease_seconds: float | None = None,
        poll_seconds: float | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.registry = registry
        self.run_job = run_job
        self.clock = clock
        self.owner = owner or default_owner()
        self.lease_seconds = lease_seconds or settings.jobs.lease_seconds
        self.poll_seconds = poll_seconds or max(self.lease_seconds / 3, 0.05)
        self.leading = threading.Event()
        self.terms = 0  # how many times this process became leader

    def run_forever(self, stop: threading.Event) -> None:
        while not stop.is_set():
            lease = self._wait_for_leadership(stop)
            if lease is None:
                return
            self.terms += 1
            log.info("scheduler %s is the leader (term %d)", self.owner, self.terms)
            scheduler = build_scheduler(self.registry, self.settings, self.run_job)
            lease.keep_alive(interval=self.lease_seconds / 3)
            scheduler.start()
            self.leading.set()
            try:
                while not stop.is_set() and not lease.lost:
                    stop.wait(min(self.poll_seconds, 1.0))
            finally:
                self.leading.clear()
                # Do not wait for running jobs when leadership is lost: their own job leases keep them
                # single; waiting would only delay stepping down.
                scheduler.shutdown(wait=not lease.lost)
                lost = lease.lost
                lease.release()
            if lost:
                log.error("scheduler %s lost leadership; waiting to lead again", self.owner)

    def _wait_for_leadership(self, stop: threading.Event) -> Lease | None:
        announced = False
        while not stop.is_set():
            try:
                if self.store.locks.try_acquire(LEADER_LOCK, self.owner, self.lease_seconds):
                    return Lease(self.store.locks, LEADER_LOCK, self.owner, self.lease_seconds)
            except Exception:
                log.warning("could not reach the store to take leadership; retrying", exc_info=True)
            if not announced:
                try:
                    holder = self.store.locks.info(LEADER_LOCK)
                except SQLAlchemyError:
                    holder = None
                log.info(
                    "scheduler %s waits: %s leads",
                    self.owner,
                    holder.owner if holder else "another scheduler",
                )
                announced = True
            stop.wait(self.poll_seconds)
        return None
