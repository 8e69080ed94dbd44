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
from datetime import datetime, timedelta
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
from jobs.history import RunHistory
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
    last_started: Callable[[str], float | None] | None = None,
    now: datetime | None = None,
) -> Any:
    """A BackgroundScheduler (not started) with one APScheduler job per registered job.

    Options are data: explicit ``id`` (the job name) with ``replace_existing``, ``coalesce`` (a
    backlog of missed runs becomes one run), ``misfire_grace_time`` (a run late by less than this
    still happens) and ``max_instances=1``.

    With ``last_started`` (the start of each job's latest recorded run), a scheduler that starts or
    takes over leadership catches up at once on a run that fell due while no scheduler led (see
    :func:`first_run_time`), instead of waiting for the next time.
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
        trigger = make_trigger(schedule, tz)
        first = None
        if last_started is not None:
            first = first_run_time(
                schedule,
                trigger,
                now or datetime.now(tz),
                settings.jobs.misfire_grace_seconds,
                last_started(spec.name),
            )
            if first is not None:
                log.info("%s: a run fell due while no scheduler led; running it now", spec.name)
        extra: dict[str, Any] = {"next_run_time": first} if first is not None else {}
        scheduler.add_job(
            run_job,
            trigger=trigger,
            args=[spec.name],
            **extra,
            id=spec.name,
            name=spec.name,
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=settings.jobs.misfire_grace_seconds,
        )
    return scheduler


def first_run_time(
    schedule: Schedule, trigger: Any, now: datetime, grace: float, last_started: float | None
) -> datetime | None:
    """``now`` if a run fell due recently and no run has started since, else ``None``.

    Cron: a fire time within the last ``grace`` seconds not followed by a run (the leader died just
    before 08:00; the standby took over at 08:00:20). Interval: the job has never run, or its last run
    started a whole interval ago. Older misses are not caught up: the jobs catch up by themselves
    (watermarks, episodes) at their next run.
    """
    if schedule.kind == "interval":
        if last_started is None or now.timestamp() - last_started >= schedule.seconds:
            return now
        return None
    due = None
    fire = trigger.get_next_fire_time(None, now - timedelta(seconds=grace))
    for _ in range(10_000):  # bounded: a per-minute cron has at most grace/60 fire times in the window
        if fire is None or fire > now:
            break
        due = fire
        fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
    if due is not None and (last_started is None or last_started < due.timestamp()):
        return now
    return None


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
        self.history = RunHistory(store)

    def run_forever(self, stop: threading.Event) -> None:
        while not stop.is_set():
            lease = self._wait_for_leadership(stop)
            if lease is None:
                return
            self.terms += 1
            log.info("scheduler %s is the leader (term %d)", self.owner, self.terms)
            scheduler = build_scheduler(
                self.registry, self.settings, self.run_job, last_started=self.history.last_started
            )
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
