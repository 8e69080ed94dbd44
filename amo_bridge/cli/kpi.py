"""``amo-bridge kpi``: KPI reports, funnels and daily activity from the event history."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import click

from amo_bridge.cli.context import AppContext, pass_app
from amo_bridge.kpi import directory, report
from amo_bridge.kpi.periods import Period, parse_period, period_of

FORMATS = click.Choice(["table", "csv", "json"])


def _period(value: str | None, default_kind: str, app: AppContext) -> Period:
    if value is None:
        return period_of(default_kind, time.time(), app.settings.amo.timezone)
    try:
        return parse_period(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _format_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--format",
        "fmt",
        type=FORMATS,
        default="table",
        show_default=True,
        help="table for people, csv or json for pipelines.",
    )(f)


@click.group()
def kpi() -> None:
    """KPI reports and funnel analytics from amo-bridge's own event history."""


@kpi.command("report")
@click.option(
    "--period", help="2026-11 (month), 2026-W47 (ISO week) or 2026-11-23 (day); default: this month."
)
@click.option("--level", required=True, help="A level named in KPI_LEVELS, e.g. l1.")
@_format_option
@pass_app
def report_cmd(app: AppContext, period: str | None, level: str, fmt: str) -> None:
    """KPIs per employee of a level, with plan/fact percentages against KPI_TARGETS."""
    chosen = _period(period, "month", app)
    store = app.open_store()
    with store.read() as conn:
        users = directory.users(store, conn)
        snapshots = report.level_report(
            conn, app.settings.kpi, app.settings.amo.timezone, chosen, level, users, time.time()
        )
    if fmt == "table":
        click.echo(
            f"KPI {level} {chosen.label} ({chosen.first} .. {chosen.end}, {app.settings.amo.timezone.key})"
        )
    click.echo(report.render_level(snapshots, level, fmt))


@kpi.command("funnel")
@click.option("--pipeline", "pipeline_id", type=int, required=True, help="Pipeline id.")
@click.option("--period", help="2026-11, 2026-W47 or 2026-11-23; default: this month.")
@_format_option
@pass_app
def funnel_cmd(app: AppContext, pipeline_id: int, period: str | None, fmt: str) -> None:
    """Stage-to-stage conversion and median time in stage, the weakest stage flagged."""
    chosen = _period(period, "month", app)
    store = app.open_store()
    with store.read() as conn:
        pipelines = directory.pipelines(store, conn)
        if pipeline_id not in pipelines:
            raise report.KpiError(
                f"no stage order known for pipeline {pipeline_id}: the events sync stores the pipelines "
                "(kv key kpi.pipelines) when it runs"
            )
        stages = report.funnel_report(conn, pipelines[pipeline_id], app.settings.amo.timezone, chosen)
    if fmt == "table":
        click.echo(f"Funnel of pipeline {pipeline_id} ({pipelines[pipeline_id].name}), {chosen.label}")
    click.echo(report.render_funnel(stages, fmt))


@kpi.command("daily")
@click.option("--date", "date_", help="2026-11-23 (or a week/month to list every day); default: today.")
@click.option("--user", "user_id", type=int, help="Only this employee (amoCRM user id).")
@_format_option
@pass_app
def daily_cmd(app: AppContext, date_: str | None, user_id: int | None, fmt: str) -> None:
    """Daily activity per employee; flags numbers the employee reported that the CRM disagrees with."""
    chosen = _period(date_, "day", app)
    store = app.open_store()
    with store.read() as conn:
        users = directory.users(store, conn)
        rows = report.daily_report(conn, app.settings.kpi, app.settings.amo.timezone, chosen, users, user_id)
    click.echo(report.render_daily(rows, fmt))
    if any(r.discrepancies for r in rows) and fmt == "table":
        click.echo(f"\n{sum(len(r.discrepancies) for r in rows)} reported number(s) disagree with the CRM.")
