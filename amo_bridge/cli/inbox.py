"""``amo-bridge inbox``: look at the webhook inbox and replay rows."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import click

from amo_bridge.cli.context import AppContext, pass_app
from amo_bridge.inbox.states import STATES

STATE_CHOICE = click.Choice(STATES)


def _when(timestamp: float | None) -> str:
    if timestamp is None:
        return "-"
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S")


@click.group()
def inbox() -> None:
    """Inspect and replay the durable webhook inbox."""


@inbox.command("list")
@click.option("--state", type=STATE_CHOICE, default=None, help="Only rows in this state.")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@pass_app
def list_cmd(app: AppContext, state: str | None, limit: int) -> None:
    """The newest rows: id, state, attempts, kind, entity, received, last error."""
    from amo_bridge.inbox import Inbox

    rows = Inbox(app.open_store()).list(state, limit=limit)
    if not rows:
        click.echo("no rows")
        return
    click.echo(
        f"{'id':>8}  {'state':<11} {'att':>3}  {'kind':<28} {'entity':<14} {'received':<19}  last error"
    )
    for row in rows:
        error = (row.last_error or "").splitlines()[0][:60] if row.last_error else ""
        click.echo(
            f"{row.id:>8}  {row.state:<11} {row.attempts:>3}  {row.kind[:28]:<28} "
            f"{(row.entity_id or '-')[:14]:<14} {_when(row.created_at):<19}  {error}"
        )


@inbox.command()
@click.argument("row_id", type=int)
@pass_app
def show(app: AppContext, row_id: int) -> None:
    """One row in full: state, timings, last error, the event and its raw delivery."""
    from amo_bridge.inbox import Inbox

    box = Inbox(app.open_store())
    row = box.get(row_id)
    if row is None:
        raise click.ClickException(f"no inbox row {row_id}")
    click.echo(f"id:            {row.id}")
    click.echo(f"state:         {row.state} (attempts {row.attempts})")
    click.echo(f"kind:          {row.kind}  section={row.section} action={row.action}")
    click.echo(f"entity:        {row.entity_id or '-'}  account={row.account_id or '-'}")
    click.echo(f"dedupe key:    {row.dedupe_key}")
    click.echo(f"received:      {_when(row.created_at)}  next attempt: {_when(row.next_attempt_at)}")
    click.echo(f"done:          {_when(row.done_at)}  lease: {row.lease_owner or '-'}")
    click.echo(f"last error:    {row.last_error or '-'}")
    click.echo("item:")
    click.echo(json.dumps(row.payload, ensure_ascii=False, indent=2))
    delivery = box.delivery(row.delivery_id)
    if delivery is not None:
        click.echo(
            f"delivery {delivery['id']}: request id {delivery['request_id'] or '-'}, "
            f"{delivery['event_count']} event(s)"
        )
        click.echo(f"headers: {delivery['headers']}")
        if delivery["parse_error"]:
            click.echo(f"parse error: {delivery['parse_error']}")
        click.echo("body:")
        click.echo(bytes(delivery["body"]).decode("utf-8", errors="replace"))


@inbox.command()
@click.argument("row_id", type=int, required=False)
@click.option(
    "--state",
    type=click.Choice(["dead", "failed", "unparseable"]),
    default=None,
    help="Replay every row in this state.",
)
@pass_app
def replay(app: AppContext, row_id: int | None, state: str | None) -> None:
    """Queue ROW_ID again, or every row in --state (dead, failed; unparseable rows are re-parsed)."""
    from amo_bridge.inbox import Inbox

    if (row_id is None) == (state is None):
        raise click.UsageError("give a ROW_ID or --state, not both")
    box = Inbox(app.open_store())
    if row_id is not None:
        if not box.replay(row_id):
            raise click.ClickException(
                f"row {row_id} was not replayed (missing, in progress, or still unparseable)"
            )
        click.echo(f"row {row_id} queued again")
        return
    assert state is not None
    count = box.replay_state(state)
    click.echo(f"{count} {state} row(s) queued again")
