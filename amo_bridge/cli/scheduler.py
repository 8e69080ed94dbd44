"""``amo-bridge scheduler``: every job on its schedule, in one leader-locked process."""

from __future__ import annotations

import signal
import threading
from types import FrameType

import click

from amo_bridge.cli.context import AppContext, pass_app


@click.command("scheduler")
@click.option("--list", "list_only", is_flag=True, help="Print the jobs and their schedules, then exit.")
@pass_app
def scheduler(app: AppContext, list_only: bool) -> None:
    """Run every job on its schedule (APScheduler), holding the store's leader lease.

    A second scheduler (on another host) waits and takes over when the leader dies. Schedules come from
    the SCHEDULE_* variables; an invalid one stops start-up with status 2, naming the variable.
    """
    settings = app.settings  # exits 2 on an invalid schedule
    from amo_bridge.app_services import Services
    from jobs.ports import process_ports
    from jobs.registry import load_builtin_jobs
    from jobs.runner import Runner
    from jobs.scheduler import SchedulerService, describe_jobs

    registry = load_builtin_jobs()
    if list_only:
        for name, schedule, variable, description in describe_jobs(registry, settings):
            click.echo(f"{name:<18} {schedule:<20} {variable:<28} {description}")
        return
    app.setup_logging()
    store = app.open_store()
    services = Services.from_settings(settings, store)
    runner = Runner(store, settings, process_ports(settings, store, services), registry=registry)

    def run_job(name: str) -> object:
        return runner.run(name, origin="scheduler")

    service = SchedulerService(store, settings, registry, run_job)
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        service.run_forever(stop)
    finally:
        services.close()
