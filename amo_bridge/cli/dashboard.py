"""``amo-bridge dashboard``: signed links to the KPI dashboard for a plain browser."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import click

from amo_bridge.cli.context import AppContext, pass_app
from amo_bridge.errors import ConfigProblem
from amo_bridge.widget import links


@click.group()
def dashboard() -> None:
    """The KPI dashboard served under /widget/."""


@dashboard.command("link")
@click.option(
    "--ttl",
    type=click.IntRange(min=60),
    default=None,
    help="Seconds the link stays valid (default DASHBOARD_LINK_TTL).",
)
@click.option("--lang", type=click.Choice(["ru", "en"]), default="ru", show_default=True)
@pass_app
def link(app: AppContext, ttl: int | None, lang: str) -> None:
    """Print a signed, expiring URL of the dashboard (read-only; anyone holding it can open it)."""
    settings = app.settings
    secret = settings.widget.link_secret(settings.amo)
    problems = []
    if not settings.webhooks.public_url:
        problems.append(ConfigProblem("PUBLIC_URL", None, "the public base URL of amo-bridge"))
    if secret is None:
        problems.append(
            ConfigProblem("DASHBOARD_SECRET", None, "a secret to sign links (or AMO_CLIENT_SECRET)")
        )
    app.require(problems)
    assert settings.webhooks.public_url is not None
    assert secret is not None
    params = links.link_params(
        links.link_key(secret), now=time.time(), ttl=ttl or settings.widget.link_ttl, lang=lang
    )
    click.echo(links.dashboard_url(settings.webhooks.public_url, params))
    expires = datetime.fromtimestamp(int(params["exp"]), UTC).strftime("%Y-%m-%d %H:%M UTC")
    click.echo(f"valid until {expires}", err=True)
