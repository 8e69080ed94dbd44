"""Commands that are part of the interface but not built yet.

Each says so and exits with status 3; none pretends to work. When a command is built, its entry in
``amo_bridge.cli.main.COMMANDS`` points to its own module and its stub here is deleted.
"""

from __future__ import annotations

import click

NOT_BUILT_EXIT_CODE = 3


def _not_built(name: str, issue: int, summary: str) -> click.Command:
    @click.command(
        name,
        help=f"{summary}\n\nNot built yet (issue #{issue}).",
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    )
    def command() -> None:
        click.echo(f"amo-bridge {name}: not built yet (issue #{issue}: {summary})", err=True)
        raise SystemExit(NOT_BUILT_EXIT_CODE)

    return command


serve = _not_built("serve", 6, "Run the webhook receiver (Flask)")
worker = _not_built("worker", 6, "Process the durable webhook inbox")
inbox = _not_built("inbox", 6, "Inspect and replay inbox rows")
webhooks = _not_built("webhooks", 6, "Subscribe our receiver to the account's webhooks")
auth = _not_built("auth", 4, "OAuth: exchange a code, show token status")
sandbox = _not_built("sandbox", 5, "Run the local amoCRM emulator")
distribution = _not_built("distribution", 7, "Fair lead distribution: status, pause, explain, simulate")
scheduler = _not_built("scheduler", 9, "Run every scheduled job (APScheduler, leader-locked)")
run = _not_built("run", 9, "Run one job once (for system cron)")
jobs = _not_built("jobs", 9, "Job run history")
dashboard = _not_built("dashboard", 11, "Signed links to the KPI dashboard")
widget = _not_built("widget", 11, "Build the amoCRM widget archive")
