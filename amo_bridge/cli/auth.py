"""``amo-bridge auth``: connect the amoCRM account (OAuth code exchange), show and end the connection."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import click

from amo_bridge.cli.context import AppContext, pass_app


def _when(ts: float | None) -> str:
    if ts is None:
        return "-"
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@click.group()
def auth() -> None:
    """OAuth: exchange an authorisation code, show the connection, disconnect."""


@auth.command()
@click.argument("code")
@click.option("--referer", default=None, help="The account domain amoCRM sent with the code (xxx.amocrm.ru).")
@pass_app
def exchange(app: AppContext, code: str, referer: str | None) -> None:
    """Trade an authorisation CODE (valid 20 minutes, single use) for tokens and store them."""
    from amo_bridge.api.oauth import exchange_code
    from amo_bridge.secrets import register_secret

    register_secret(code)
    app.require(app.settings.amo.api_problems())
    if app.settings.amo.effective_auth_mode != "oauth":
        raise click.UsageError("AMO_AUTH_MODE is long_lived: there is no code to exchange")
    app.setup_logging()
    store = app.open_store()
    pair = exchange_code(app.settings, store, code, referer=referer)
    click.echo(f"connected: access token valid until {_when(pair.expires_at)}")
    if pair.api_domain:
        click.echo(f"api domain: {pair.api_domain}")


@auth.command()
@click.option("--json", "as_json", is_flag=True, help="Print the status as one JSON object.")
@pass_app
def status(app: AppContext, as_json: bool) -> None:
    """Show whether amoCRM is connected; exit 1 when it is not (disconnected, blocked, no tokens)."""
    from amo_bridge.api.oauth import auth_status

    store = app.open_store()
    current = auth_status(app.settings, store)
    if as_json:
        click.echo(json.dumps(current.to_dict(), ensure_ascii=False))
    else:
        click.echo(f"mode:          {current.mode}")
        click.echo(f"state:         {current.state} (since {_when(current.since)})")
        click.echo(f"reason:        {current.reason or '-'}")
        if current.mode == "oauth":
            click.echo(f"token expires: {_when(current.token_expires_at)}")
            click.echo(f"api domain:    {current.api_domain or '-'}")
        if current.blocked_until is not None:
            click.echo(
                f"BLOCKED until: {_when(current.blocked_until)} (403 from amoCRM: no calls until then)"
            )
    if not current.ok:
        raise SystemExit(1)


@auth.command()
@click.option("--reason", default="disconnected by an operator", show_default=True)
@click.option("--yes", is_flag=True, help="Confirm: the stored tokens are deleted.")
@pass_app
def disconnect(app: AppContext, reason: str, yes: bool) -> None:
    """Delete the stored tokens and mark the integration disconnected."""
    from amo_bridge.api.oauth import disconnect as do_disconnect

    if not yes:
        raise click.UsageError("this deletes the stored tokens; pass --yes to confirm")
    store = app.open_store()
    do_disconnect(store, reason)
    click.echo("disconnected; connect again with `amo-bridge auth exchange CODE`")
