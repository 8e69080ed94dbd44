"""``amo-bridge jobs``: the registered jobs and the history of their runs."""

from __future__ import annotations

from datetime import datetime

import click

from amo_bridge.cli.context import AppContext, pass_app


@click.group("jobs")
def jobs() -> None:
    """Scheduled jobs: list them, show their run history."""


@jobs.command("list")
@pass_app
def list_jobs(app: AppContext) -> None:
    """Every registered job with its schedule and the variable that sets it."""
    from jobs.registry import load_builtin_jobs
    from jobs.scheduler import describe_jobs

    for name, schedule, variable, description in describe_jobs(load_builtin_jobs(), app.settings):
        click.echo(f"{name:<18} {schedule:<20} {variable:<28} {description}")


@jobs.command("history")
@click.option("--job", "job_name", help="Only this job's runs.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=20, show_default=True)
@pass_app
def history(app: AppContext, job_name: str | None, limit: int) -> None:
    """The latest runs, newest first: status, items seen/changed/failed, duration, error."""
    from jobs.history import RunHistory

    tz = app.settings.amo.timezone
    records = RunHistory(app.open_store()).list(job_name, limit)
    if not records:
        click.echo("no runs recorded" + (f" for {job_name}" if job_name else ""))
        return
    click.echo(
        f"{'started':<19} {'job':<18} {'status':<10} {'seen':>6} {'chg':>5} {'fail':>5} {'secs':>7}"
        "  run id / error"
    )
    for r in records:
        started = datetime.fromtimestamp(r.started_at, tz).strftime("%Y-%m-%d %H:%M:%S")
        seconds = f"{r.finished_at - r.started_at:.1f}" if r.finished_at is not None else "-"
        status = r.status + ("*" if r.dry_run else "")
        click.echo(
            f"{started:<19} {r.job:<18} {status:<10} {r.seen:>6} {r.changed:>5} {r.failed:>5}"
            f" {seconds:>7}  {r.run_id}"
        )
        if r.error:
            click.echo(f"{'':<19} {'':<18} {r.error[:200]}")
    if any(r.dry_run for r in records):
        click.echo("* dry run")
