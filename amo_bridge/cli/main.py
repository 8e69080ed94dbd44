"""Entry point of the ``amo-bridge`` console script."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from amo_bridge import __version__
from amo_bridge.cli.context import AppContext
from amo_bridge.cli.lazy import LazyGroup
from amo_bridge.errors import AmoBridgeError

# Command name -> "module:attribute". Each command lives in its own module and is imported only
# when it runs, so `amo-bridge --help` stays fast and a broken command cannot break the others.
COMMANDS = {
    "check-config": "amo_bridge.cli.config_cmd:check_config",
    "db": "amo_bridge.cli.db:db",
    "serve": "amo_bridge.cli.serve:serve",
    "worker": "amo_bridge.cli.worker:worker",
    "inbox": "amo_bridge.cli.inbox:inbox",
    "webhooks": "amo_bridge.cli.pending:webhooks",
    "auth": "amo_bridge.cli.auth:auth",
    "sandbox": "amo_bridge.cli.sandbox:sandbox",
    "distribution": "amo_bridge.cli.distribution:distribution",
    "scheduler": "amo_bridge.cli.scheduler:scheduler",
    "run": "amo_bridge.cli.run:run",
    "jobs": "amo_bridge.cli.jobs_cmd:jobs",
    "kpi": "amo_bridge.cli.kpi:kpi",
    "dashboard": "amo_bridge.cli.dashboard:dashboard",
    "widget": "amo_bridge.cli.widget:widget",
    "demo": "amo_bridge.cli.demo:demo",
}


@click.group(cls=LazyGroup, lazy_commands=COMMANDS)
@click.option(
    "--env-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=".env",
    show_default=True,
    envvar="AMO_BRIDGE_ENV_FILE",
    help="Env file with the configuration (the process environment overrides it).",
)
@click.version_option(__version__, prog_name="amo-bridge")
@click.pass_context
def cli(ctx: click.Context, env_file: Path) -> None:
    """amo-bridge: automation backend for amoCRM sales departments.

    Receives amoCRM webhooks, distributes leads fairly among lead managers, closers and account
    managers, moves won deals into retention, creates trigger tasks and keeps KPIs.
    """
    source = ctx.get_parameter_source("env_file")
    explicit = source not in (click.core.ParameterSource.DEFAULT, None)
    ctx.obj = AppContext(env_file=env_file, env_file_explicit=explicit)


def main() -> None:
    try:
        cli.main(prog_name="amo-bridge", standalone_mode=True)
    except AmoBridgeError as error:
        # Expected failures get a one-line message, not a traceback (which logs carry at DEBUG).
        logging.getLogger("amo_bridge").debug("command failed", exc_info=True)
        click.echo(f"amo-bridge: {error.__class__.__name__}: {error}", err=True)
        sys.exit(1)
