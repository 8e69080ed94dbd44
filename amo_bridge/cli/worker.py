"""``amo-bridge worker``: process the durable webhook inbox with the registered handlers."""

from __future__ import annotations

import click

from amo_bridge.cli.context import AppContext, pass_app


@click.command()
@click.option(
    "--concurrency", type=click.IntRange(min=1), default=None, help="Threads (default: WORKER_CONCURRENCY)."
)
@click.option("--once", is_flag=True, help="Process every due row, then exit (for cron or tests).")
@click.option("--metrics-port", type=int, default=0, help="Serve Prometheus metrics on this port (0: off).")
@pass_app
def worker(app: AppContext, concurrency: int | None, once: bool, metrics_port: int) -> None:
    """Claim inbox rows with a lease and run the registered handlers; retry, dead-letter, reclaim.

    Stops gracefully on SIGTERM/SIGINT (rows in hand are finished first).
    """
    from amo_bridge.app_services import Services, ServicesProvider
    from amo_bridge.inbox import Backoff, Inbox
    from amo_bridge.inbox.worker import Worker
    from webhooks.handlers import build_router

    settings = app.settings
    app.setup_logging()
    store = app.open_store()
    inbox = Inbox(
        store,
        lease_seconds=settings.worker.lease_seconds,
        max_attempts=settings.worker.max_attempts,
        backoff=Backoff(base=settings.worker.retry_base, cap=settings.worker.retry_cap),
    )
    runner = Worker(
        inbox,
        build_router(ServicesProvider(lambda: Services.from_settings(settings, store))),
        concurrency=concurrency or settings.worker.concurrency,
        poll_interval=settings.worker.poll_seconds,
    )
    if once:
        handled = runner.run_once()
        click.echo(f"processed {handled} inbox row(s)")
        return
    if metrics_port:
        from prometheus_client import start_http_server

        start_http_server(metrics_port, addr="127.0.0.1")
    runner.run()
