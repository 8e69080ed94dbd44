"""``amo-bridge db``: schema migrations."""

from __future__ import annotations

import click

from amo_bridge.cli.context import AppContext, pass_app
from amo_bridge.store.migrate import current_revision, downgrade, head_revision


@click.group()
def db() -> None:
    """Database schema: upgrade, current revision, downgrade."""


@db.command()
@pass_app
def upgrade(app: AppContext) -> None:
    """Apply every pending migration (services also do this at start-up)."""
    store = app.open_store(migrate=False)
    before = current_revision(store)
    store.upgrade()
    after = current_revision(store)
    click.echo(f"{app.settings.store.safe_database_url}: {before or 'empty'} -> {after}")


@db.command()
@pass_app
def current(app: AppContext) -> None:
    """Show the database's revision and the newest one this version knows."""
    store = app.open_store(migrate=False)
    now, head = current_revision(store), head_revision()
    click.echo(f"current: {now or 'empty'}\nhead:    {head}")
    if now != head:
        click.echo("run `amo-bridge db upgrade` to migrate", err=True)
        raise SystemExit(1)


@db.command("downgrade")
@click.argument("revision")
@click.option("--yes", is_flag=True, help="Confirm: downgrading drops tables and their data.")
@pass_app
def downgrade_cmd(app: AppContext, revision: str, yes: bool) -> None:
    """Revert migrations down to REVISION (``base`` empties the database)."""
    if not yes:
        raise click.UsageError("downgrade drops data; pass --yes to confirm")
    store = app.open_store(migrate=False)
    downgrade(store, revision)
    click.echo(f"now at {current_revision(store) or 'empty'}")
