"""``amo-bridge serve``: the webhook receiver on Werkzeug's threaded server (development, demo).

Production runs the same app under gunicorn: ``gunicorn -w 4 -b 127.0.0.1:8000 'webhooks.wsgi:app'``
behind a TLS reverse proxy (see docs/webhooks.md).
"""

from __future__ import annotations

import click

from amo_bridge.cli.context import AppContext, pass_app


@click.command()
@click.option("--host", default=None, help="Address to listen on (default: SERVE_HOST).")
@click.option("--port", type=int, default=None, help="Port to listen on (default: SERVE_PORT).")
@pass_app
def serve(app: AppContext, host: str | None, port: int | None) -> None:
    """Run the webhook receiver: stores each amoCRM webhook in the durable inbox and answers at once.

    Migrates the store first. Needs WEBHOOK_SECRET (exit 2 without it).
    """
    from werkzeug.serving import run_simple

    from webhooks.app import create_app

    settings = app.settings
    app.require(settings.webhooks.serve_problems())
    app.setup_logging()
    store = app.open_store()
    flask_app = create_app(settings, store)
    bind_host = host or settings.webhooks.host
    bind_port = settings.webhooks.port if port is None else port
    click.echo(f"amo-bridge receiver on http://{bind_host}:{bind_port} (store {store!r})", err=True)
    run_simple(bind_host, bind_port, flask_app, threaded=True, use_reloader=False)
