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


webhooks = _not_built("webhooks", 6, "Subscribe our receiver to the account's webhooks")
