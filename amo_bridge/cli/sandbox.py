"""``amo-bridge sandbox``: run the local amoCRM emulator, optionally playing a working day."""

from __future__ import annotations

import threading
import time
from datetime import datetime

import click

from amo_bridge.cli.context import AppContext, pass_app


@click.command("sandbox")
@click.option("--host", default=None, help="Listen address (default SANDBOX_HOST, 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Listen port (default SANDBOX_PORT, 8900).")
@click.option(
    "--seed", type=int, default=None, help="Seed of the account and scenario (default SANDBOX_SEED)."
)
@click.option(
    "--faults", default=None, help="Faults, e.g. error_rate=0.05,latency=0.2 (default SANDBOX_FAULTS)."
)
@click.option("--simulate", is_flag=True, help="Play a working day (or --days N) with the scenario's actors.")
@click.option(
    "--speed", type=float, default=600.0, show_default=True, help="Simulated seconds per real second."
)
@click.option("--days", type=int, default=1, show_default=True, help="Working days to simulate.")
@click.option(
    "--receiver", default=None, help="Subscribe this URL to every webhook event (e.g. amo-bridge serve)."
)
@click.option(
    "--assigned-only/--free-for-all",
    default=None,
    help="Managers act only on leads assigned to them (default SANDBOX_ASSIGNED_ONLY) "
    "or pick leads themselves.",
)
@click.option(
    "--exit-when-done", is_flag=True, help="With --simulate: stop once the days are played and webhooks sent."
)
@click.option(
    "--wait-for-subscription",
    type=float,
    default=0.0,
    show_default=True,
    help="With --simulate: start the day only once a webhook subscription exists "
    "(at most this many seconds; 0: start at once).",
)
@click.option(
    "--leads", type=int, default=None, help="Leads per simulated day (default SANDBOX_LEADS_PER_DAY)."
)
@click.option(
    "--rate-limit",
    type=click.IntRange(min=1),
    default=None,
    help="API requests per second per integration before 429 (default 7, as amoCRM).",
)
@pass_app
def sandbox(
    app: AppContext,
    host: str | None,
    port: int | None,
    seed: int | None,
    faults: str | None,
    simulate: bool,
    speed: float,
    days: int,
    receiver: str | None,
    assigned_only: bool | None,
    exit_when_done: bool,
    wait_for_subscription: float,
    leads: int | None,
    rate_limit: int | None,
) -> None:
    """Run the local amoCRM emulator (API v4, OAuth, webhooks, limits and faults)."""
    from werkzeug.serving import make_server

    from amo_bridge.clock import SYSTEM_CLOCK
    from amo_bridge.sandbox.app import build_app
    from amo_bridge.sandbox.clock import SandboxClock
    from amo_bridge.sandbox.core import Sandbox, SandboxConfig
    from amo_bridge.sandbox.faults import parse_faults
    from amo_bridge.sandbox.scenario import Scenario, ScenarioConfig, ScenarioDriver
    from amo_bridge.sandbox.server import QuietHandler

    settings = app.settings
    app.setup_logging()
    cfg = settings.sandbox
    amo = settings.amo
    if speed <= 0 or days <= 0 or (leads is not None and leads <= 0):
        raise click.BadParameter("--speed, --days and --leads must be greater than 0")
    try:
        fault_values = parse_faults(faults if faults is not None else cfg.faults)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--faults") from None
    token = cfg.long_lived_token or amo.long_lived_token
    clock = SandboxClock(SYSTEM_CLOCK)

    def start_the_day() -> None:
        local = datetime.now(amo.timezone).replace(hour=8, minute=58, second=0, microsecond=0)
        clock.set_speed(speed, start=local.timestamp())

    if simulate and wait_for_subscription <= 0:
        start_the_day()
    config = SandboxConfig(
        seed=cfg.seed if seed is None else seed,
        account_id=amo.account_id or SandboxConfig.account_id,
        subdomain=amo.subdomain or SandboxConfig.subdomain,
        client_id=amo.client_id or SandboxConfig.client_id,
        client_secret=amo.client_secret.reveal() if amo.client_secret else SandboxConfig.client_secret,
        redirect_uri=amo.redirect_uri,
        long_lived_token=token.reveal() if token else None,
        webhook_time_scale=(1.0 / speed)
        if simulate and cfg.webhook_time_scale == 1.0
        else cfg.webhook_time_scale,
        faults=fault_values,
        rate_limit=SandboxConfig.rate_limit if rate_limit is None else rate_limit,
    )
    emulator = Sandbox(config, clock=clock)
    wsgi = build_app(emulator)
    listen_host = host or cfg.host
    server = make_server(
        listen_host, cfg.port if port is None else port, wsgi, threaded=True, request_handler=QuietHandler
    )
    url = f"http://{listen_host}:{server.server_port}"
    emulator.set_base_url(url)
    if receiver:
        from amo_bridge.sandbox.routes.webhooks import KNOWN_SETTINGS

        emulator.state.subscribe(receiver, sorted(KNOWN_SETTINGS))
    click.echo(
        f"sandbox amoCRM on {url} (account {config.account_id}, subdomain {config.subdomain}, "
        f"seed {config.seed})"
    )
    click.echo(
        f"  OAuth client_id {config.client_id}; long-lived token: {'accepted' if token else 'not configured'}"
    )
    click.echo(f"  admin API: {url}/_sandbox/info; faults: {fault_values or 'none'}")
    started = time.monotonic()

    def simulate_day() -> None:
        if wait_for_subscription > 0:
            click.echo(f"  waiting up to {wait_for_subscription:g} s for a webhook subscription")
            deadline = time.monotonic() + wait_for_subscription
            while not emulator.state.webhooks and time.monotonic() < deadline:
                time.sleep(0.05)
            start_the_day()
        nonlocal started
        started = time.monotonic()
        scenario = Scenario(
            emulator.state,
            ScenarioConfig(
                seed=config.seed,
                days=days,
                leads_per_day=cfg.leads_per_day if leads is None else leads,
                assigned_only=cfg.assigned_only if assigned_only is None else assigned_only,
                timezone=amo.timezone.key,
            ),
        )

        def finished(played: Scenario) -> None:
            deadline = time.monotonic() + 30
            while emulator.dispatcher.pending() and time.monotonic() < deadline:
                time.sleep(0.1)
            truth = emulator.state.ground_truth
            happened = [h["what"] for lead in truth["leads"].values() for h in lead["happened"]]
            delivered = len(emulator.dispatcher.snapshot("delivered"))
            failed = len(emulator.dispatcher.snapshot("failed")) + emulator.dispatcher.pending()
            click.echo(
                f"simulated {days} working day(s) in {time.monotonic() - started:.1f} s: "
                f"{len(truth['leads'])} leads arrived, "
                f"{happened.count('won')} won, {happened.count('lost')} lost, {played.actions_run} actions; "
                f"webhooks delivered {delivered}, not delivered {failed}"
            )
            if exit_when_done:
                threading.Thread(target=server.shutdown, daemon=True).start()

        click.echo(
            f"  simulating {days} day(s) at speed {speed:g} "
            f"(managers act only on assigned leads: {scenario.config.assigned_only})"
        )
        ScenarioDriver(scenario, on_done=finished).start()

    if simulate:
        # Waiting for a subscription must not hold the server: the subscription comes through it.
        threading.Thread(target=simulate_day, name="sandbox-day", daemon=True).start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.close()
        server.server_close()
