"""``amo-bridge run JOB``: run one job once (for system cron); the exit status tells cron how it went."""

from __future__ import annotations

import sys
from datetime import datetime
from zoneinfo import ZoneInfo

import click

from amo_bridge.cli.context import AppContext, pass_app
from amo_bridge.schedules import parse_duration


def parse_since(text: str, tz: ZoneInfo, now: float) -> float:
    """``2026-11-01``, ``2026-11-01T09:30`` (AMO_TIMEZONE unless it has an offset) or ``3d``/``12h``."""
    try:
        return now - parse_duration(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise click.BadParameter(
            "expected a date (2026-11-01), a date and time (2026-11-01T09:30) or a duration back (3d, 12h)",
            param_hint="--since",
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment.timestamp()


@click.command("run")
@click.argument("job_name", metavar="JOB")
@click.option("--dry-run", is_flag=True, help="Print the planned changes; write nothing to amoCRM.")
@click.option(
    "--since", help="Look at changes since then (2026-11-01, 2026-11-01T09:30, 3d) instead of the watermark."
)
@pass_app
def run(app: AppContext, job_name: str, dry_run: bool, since: str | None) -> None:
    """Run one job once and exit: 0 done (or skipped: another run holds the job), 1 failed, 3 not built yet.

    Jobs: won_to_retention, triggers, users_sync, sla_reassign, events_sync, kpi_sync
    (`amo-bridge scheduler --list` shows their schedules).
    """
    settings = app.settings
    from amo_bridge.app_services import Services
    from amo_bridge.clock import SYSTEM_CLOCK
    from jobs.ports import process_ports
    from jobs.registry import load_builtin_jobs
    from jobs.runner import Runner

    registry = load_builtin_jobs()
    if job_name not in registry:
        raise click.BadParameter(
            f"no job named {job_name!r}; known: {', '.join(registry.names())}", param_hint="JOB"
        )
    since_ts = parse_since(since, settings.amo.timezone, SYSTEM_CLOCK.now()) if since else None
    app.setup_logging()
    store = app.open_store()
    services = Services.from_settings(settings, store)
    runner = Runner(
        store, settings, process_ports(settings, store, services), registry=registry, echo=click.echo
    )
    try:
        result = runner.run(job_name, dry_run=dry_run, since=since_ts, origin="run")
    finally:
        services.close()
    click.echo(result.summary())
    sys.exit(result.exit_code)
