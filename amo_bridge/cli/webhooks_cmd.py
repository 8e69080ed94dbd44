"""``amo-bridge webhooks subscribe|unsubscribe|status``: our receiver's subscription in amoCRM.

The destination is ``{PUBLIC_URL}/webhooks/amocrm/{WEBHOOK_SECRET}``; the secret path segment is
shown masked. Subscribing the same destination again replaces its events (idempotent).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from amo_bridge.cli.context import AppContext, pass_app
from amo_bridge.errors import ConfigProblem
from amo_bridge.secrets import mask

if TYPE_CHECKING:
    from amo_bridge.api import AmoClient

# The events the distributor, the hand-offs, the jobs and the KPI history listen to, as amoCRM
# names them in a subscription's ``settings``. Calls arrive as notes (``note_lead``).
EVENTS = (
    "add_lead",
    "update_lead",
    "status_lead",
    "responsible_lead",
    "delete_lead",
    "note_lead",
    "add_unsorted",
    "delete_unsorted",
    "add_task",
    "update_task",
    "add_contact",
    "update_contact",
    "add_company",
    "update_company",
    "add_talk",
    "add_message",
)

RECEIVER_PATH = "/webhooks/amocrm/"


def destination(public_url: str, secret: str) -> str:
    return f"{public_url.rstrip('/')}{RECEIVER_PATH}{secret}"


def masked(url: str) -> str:
    """A destination with its secret path segment hidden."""
    head, sep, tail = url.partition(RECEIVER_PATH)
    if not sep:
        return url
    return f"{head}{RECEIVER_PATH}{mask(tail)}"


def _ours(app: AppContext) -> str:
    hooks = app.settings.webhooks
    problems = []
    if not hooks.public_url:
        problems.append(ConfigProblem("PUBLIC_URL", None, "the public https URL of the receiver"))
    if hooks.secret is None:
        problems.append(ConfigProblem("WEBHOOK_SECRET", None, "the secret path segment of the receiver"))
    app.require(problems)
    assert hooks.public_url is not None
    assert hooks.secret is not None
    return destination(hooks.public_url, hooks.secret.reveal())


def _client(app: AppContext) -> AmoClient:
    from amo_bridge.api import AmoClient

    app.require(app.settings.amo.api_problems())
    app.setup_logging()
    return AmoClient.from_settings(app.settings, app.open_store())


@click.group()
def webhooks() -> None:
    """Subscribe our receiver to the account's webhooks, unsubscribe it, list subscriptions."""


@webhooks.command()
@click.option("--event", "events", multiple=True, help="An amoCRM event name (default: all we listen to).")
@pass_app
def subscribe(app: AppContext, events: tuple[str, ...]) -> None:
    """Register {PUBLIC_URL}/webhooks/amocrm/{WEBHOOK_SECRET} for the events amo-bridge handles."""
    url = _ours(app)
    client = _client(app)
    try:
        sub = client.webhooks.subscribe(url, events or EVENTS)
    finally:
        client.close()
    click.echo(f"subscribed {masked(url)} to {len(sub.settings or events or EVENTS)} event(s)")


@webhooks.command()
@pass_app
def unsubscribe(app: AppContext) -> None:
    """Remove our receiver's subscription."""
    from amo_bridge.api.errors import ValidationError

    url = _ours(app)
    client = _client(app)
    try:
        client.webhooks.unsubscribe(url)
    except ValidationError:
        click.echo(f"{masked(url)} was not subscribed")
        return
    finally:
        client.close()
    click.echo(f"unsubscribed {masked(url)}")


@webhooks.command()
@pass_app
def status(app: AppContext) -> None:
    """List the account's webhook subscriptions (secrets masked); exit 1 if ours is missing."""
    hooks = app.settings.webhooks
    ours = (
        destination(hooks.public_url, hooks.secret.reveal())
        if hooks.public_url and hooks.secret is not None
        else None
    )
    client = _client(app)
    try:
        subs = client.webhooks.list()
    finally:
        client.close()
    found = False
    for sub in subs:
        mine = sub.destination == ours
        found = found or mine
        state = "disabled" if sub.disabled else "active"
        mark = " (ours)" if mine else ""
        click.echo(f"{masked(sub.destination)}{mark}: {state}; {', '.join(sub.settings)}")
    if not subs:
        click.echo("no webhook subscriptions")
    if ours is not None and not found:
        click.echo(f"ours ({masked(ours)}) is not subscribed")
        raise SystemExit(1)
