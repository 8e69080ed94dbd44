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


@dashboard.command("preview")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8010, show_default=True)
@click.option("--lang", type=click.Choice(["ru", "en"]), default="ru", show_default=True)
@pass_app
def preview(app: AppContext, host: str, port: int, lang: str) -> None:
    """Serve the dashboard with built-in demonstration data and print a signed link to it.

    For a look at the page before the KPI engine and the distributor feed it; the page says so.
    """
    import dataclasses
    import secrets

    from flask import Flask
    from werkzeug.serving import make_server

    from amo_bridge.secrets import Secret
    from amo_bridge.widget.fixture import FixtureDashboard
    from webhooks.widget import register_widget

    settings = app.settings
    # A fresh signing key for this preview only: links to it are worthless anywhere else.
    widget_settings = dataclasses.replace(settings.widget, dashboard_secret=Secret(secrets.token_urlsafe(32)))
    settings = dataclasses.replace(settings, widget=widget_settings)
    store = app.open_store()
    flask_app = Flask("amo-bridge-dashboard-preview")
    fixture = FixtureDashboard()
    register_widget(flask_app, settings, store, fixture, fixture, notice="preview_notice")
    server = make_server(host, port, flask_app, threaded=True)
    assert widget_settings.dashboard_secret is not None
    params = links.link_params(
        links.link_key(widget_settings.dashboard_secret),
        now=time.time(),
        ttl=settings.widget.link_ttl,
        lang=lang,
    )
    click.echo(links.dashboard_url(f"http://{host}:{server.server_port}", params))
    click.echo("serving the dashboard preview with demonstration data; Ctrl+C stops", err=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        store.dispose()
