"""``amo-bridge demo``: the main job end to end on one machine, against the sandbox, on SQLite.

Starts the sandbox, the receiver, two workers and the scheduler as child processes (one process
group; logs in the work dir), subscribes the receiver to the sandbox's webhooks, plays a compressed
working day and shows live what amo-bridge does with it. A stage whose code is not built yet is
shown as "not built yet": nothing is faked.
"""

from __future__ import annotations

import contextlib
import secrets
import shutil
import signal
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Any

import click
import requests

from amo_bridge.cli.context import AppContext, pass_app

# The webhook events amo-bridge subscribes to (amoCRM's settings names).
WEBHOOK_SETTINGS = [
    "add_lead",
    "update_lead",
    "delete_lead",
    "status_lead",
    "responsible_lead",
    "note_lead",
    "add_contact",
    "update_contact",
    "add_company",
    "update_company",
    "add_task",
    "update_task",
    "add_unsorted",
    "delete_unsorted",
]
DAY_SECONDS = 10 * 3600  # the scenario's working day, 9:00 to 19:00
NOT_BUILT = 3


class Stop(Exception):
    """SIGINT (Ctrl-C), SIGTERM or SIGHUP arrived: stop every child and leave."""


@dataclass
class Stage:
    name: str
    built: bool
    detail: str

    def line(self) -> str:
        return f"stage {self.name:<13} {'built' if self.built else 'not built yet':<14} {self.detail}"


def _amo_bridge() -> list[str]:
    """The command line that runs amo-bridge with this interpreter (no PATH needed)."""
    return [sys.executable, "-c", "from amo_bridge.cli.main import main; main()"]


def _child_environment(env_file: Path) -> dict[str, str]:
    """This process's environment without any amo-bridge variable: the env file alone configures."""
    import os

    from amo_bridge.config.loader import known_variables

    known = set(known_variables())
    env = {k: v for k, v in os.environ.items() if k not in known and k != "AMO_BRIDGE_ENV_FILE"}
    env["AMO_BRIDGE_ENV_FILE"] = str(env_file)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _wait_http(url: str, *, timeout: float, alive: Any) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive():
            return False
        with contextlib.suppress(requests.RequestException):
            if requests.get(url, timeout=2).status_code < 500:
                return True
        _sleep(0.1)
    return False


_stop_requested: list[str] = []


def _checkpoint() -> None:
    """Raise :class:`Stop` if a signal arrived (its handler's own raise can be swallowed when it
    lands inside a finaliser, so every loop of the demo also looks here)."""
    if _stop_requested:
        raise Stop(_stop_requested[0])


def _sleep(seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while True:
        _checkpoint()
        left = deadline - time.monotonic()
        if left <= 0:
            return
        time.sleep(min(left, 0.2))


@contextlib.contextmanager
def _stop_on_sigterm() -> Iterator[None]:
    def raise_stop(signum: int, frame: FrameType | None) -> None:
        _stop_requested.append(signal.Signals(signum).name)
        raise Stop(signal.Signals(signum).name)

    # SIGINT too: a demo started in the background of a script inherits an ignored SIGINT.
    signals = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {sig: signal.signal(sig, raise_stop) for sig in signals}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@click.command()
@click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".demo"),
    show_default=True,
    help="Where the demo keeps its env file, SQLite database and the services' logs (emptied first).",
)
@click.option(
    "--speed",
    type=click.FloatRange(min=1),
    default=720.0,
    show_default=True,
    help="Simulated seconds per real second (720: the 10-hour day in 50 s).",
)
@click.option(
    "--leads", type=click.IntRange(min=1), default=300, show_default=True, help="Leads arriving in the day."
)
@click.option("--seed", type=int, default=1, show_default=True, help="Seed of the sandbox account and day.")
@click.option(
    "--api-rps",
    type=click.IntRange(1, 50),
    default=20,
    show_default=True,
    help="API requests per second of the sandbox and of amo-bridge's limiter. amoCRM allows 7; the "
    "compressed day (700x faster) needs more to keep up: --api-rps 7 shows the real limit.",
)
@click.option("--keep-running", is_flag=True, help="Leave the services up at the end and print their URLs.")
@pass_app
def demo(
    app: AppContext, workdir: Path, speed: float, leads: int, seed: int, api_rps: int, keep_running: bool
) -> None:
    """Run amo-bridge end to end against the sandbox on SQLite, showing every stage live.

    Starts the sandbox, the receiver, two workers and the scheduler on free loopback ports, plays a
    working day of the sandbox's scenario and shows leads arriving, assignments, hand-offs, won deals
    moving to retention and trigger tasks, then the KPI report and a signed dashboard link. Stops
    every process it started at the end, on Ctrl-C or on SIGTERM (unless --keep-running).
    """
    from amo_bridge.demo.children import Children

    started = time.monotonic()
    workdir = workdir.resolve()
    if workdir.exists():
        for name in ("amo_bridge.db", "amo_bridge.db-wal", "amo_bridge.db-shm"):
            (workdir / name).unlink(missing_ok=True)
        shutil.rmtree(workdir / "logs", ignore_errors=True)
    (workdir / "logs").mkdir(parents=True, exist_ok=True)
    env_file = workdir / "demo.env"
    env_file.write_text("# written by amo-bridge demo\n", encoding="utf-8")
    children = Children(workdir / "logs", _child_environment(env_file))
    code = 0
    try:
        with _stop_on_sigterm():
            code = _run(children, workdir, env_file, speed, leads, seed, api_rps, keep_running, started)
    except (KeyboardInterrupt, Stop) as why:
        click.echo(f"\ninterrupted ({why or 'SIGINT'}): stopping every service")
        code = 130
    finally:
        children.stop_all()
        if children.pgid is not None:
            click.echo(f"all services stopped (logs in {workdir / 'logs'})")
    sys.exit(code)


def _run(
    children: Any,
    workdir: Path,
    env_file: Path,
    speed: float,
    leads: int,
    seed: int,
    api_rps: int,
    keep_running: bool,
    started: float,
) -> int:
    from amo_bridge.config.loader import load_settings
    from amo_bridge.demo import config as demo_config
    from amo_bridge.demo.children import free_port
    from amo_bridge.demo.watch import Observation, SandboxReader, StoreReader, Watcher, api_usage
    from amo_bridge.store import Store

    echo = click.echo
    token = secrets.token_urlsafe(32)
    sandbox_port, receiver_port = free_port(), free_port()
    sandbox_url = f"http://127.0.0.1:{sandbox_port}"
    receiver_url = f"http://127.0.0.1:{receiver_port}"
    database_url = f"sqlite:///{workdir / 'amo_bridge.db'}"

    # 1. The sandbox: its own variables only, until its account is known.
    env_file.write_text(
        demo_config.render_env(
            {"SANDBOX_LONG_LIVED_TOKEN": token, "AMO_TIMEZONE": "Europe/Moscow", "DATABASE_URL": database_url}
        ),
        encoding="utf-8",
    )
    wait = 60.0
    sandbox = children.start(
        "sandbox",
        [
            *_amo_bridge(),
            "sandbox",
            "--host",
            "127.0.0.1",
            "--port",
            str(sandbox_port),
            "--seed",
            str(seed),
            "--simulate",
            "--speed",
            f"{speed:g}",
            "--leads",
            str(leads),
            "--wait-for-subscription",
            f"{wait:g}",
            "--rate-limit",
            str(api_rps),
        ],
    )
    if not _wait_http(f"{sandbox_url}/_sandbox/info", timeout=30, alive=sandbox.alive):
        echo(f"the sandbox did not start: see {sandbox.log_path}", err=True)
        return 1
    reader = SandboxReader(sandbox_url)
    info = reader.get("info")
    account_id, subdomain = int(info["account_id"]), str(info["subdomain"])
    echo(f"sandbox amoCRM  {sandbox_url}  (account {account_id}, subdomain {subdomain}, seed {seed})")
    if api_rps != 7:
        echo(
            f"API limit       {api_rps} requests/s for the compressed day (amoCRM allows 7: --api-rps 7 "
            "shows it; amo-bridge's limiter and the sandbox agree on the value)"
        )

    # 2. amo-bridge's configuration for that account, then the services.
    handoff_file, trigger_file = workdir / "handoff.toml", workdir / "triggers.toml"
    handoff_file.write_text(demo_config.HANDOFF_RULES, encoding="utf-8")
    trigger_file.write_text(demo_config.TRIGGER_RULES, encoding="utf-8")
    values = demo_config.demo_env(
        sandbox_url=sandbox_url,
        receiver_url=receiver_url,
        receiver_port=receiver_port,
        account_id=account_id,
        subdomain=subdomain,
        database_url=database_url,
        token=token,
        webhook_secret=secrets.token_urlsafe(24),
        dashboard_secret=secrets.token_urlsafe(24),
        handoff_rules_file=str(handoff_file),
        trigger_rules_file=str(trigger_file),
        seed=seed,
        leads=leads,
    )
    values["AMO_RATE_LIMIT"] = str(api_rps)
    env_file.write_text(demo_config.render_env(values), encoding="utf-8")
    env_file.chmod(0o600)
    settings = load_settings(environ=children.env, env_file=env_file)
    store = Store(database_url)
    store.upgrade()
    echo(f"env file        {env_file} (store {store!r})")
    receiver = children.start("receiver", [*_amo_bridge(), "serve"])
    for n in (1, 2):
        children.start(f"worker-{n}", [*_amo_bridge(), "worker"])
    scheduler = children.start("scheduler", [*_amo_bridge(), "scheduler"])
    if not _wait_http(f"{receiver_url}/healthz", timeout=30, alive=receiver.alive):
        echo(f"the receiver did not start: see {receiver.log_path}", err=True)
        return 1
    echo(f"receiver        {receiver_url}  (2 workers, 1 scheduler; logs in {children.log_dir})")

    # 3. The webhook subscription, as an operator would make it.
    destination = f"{receiver_url}/webhooks/amocrm/{values['WEBHOOK_SECRET']}"
    how = _subscribe(children, settings, store, destination)
    echo(f"webhooks        receiver subscribed to {len(WEBHOOK_SETTINGS)} events ({how})")

    # 4. The day, live.
    watcher = Watcher(demo_config.USER_NAMES, settings.amo.timezone)
    store_reader = StoreReader(store)
    echo(f"\nA working day of {leads} leads at {speed:g}x (9:00-19:00 in ~{DAY_SECONDS / speed:.0f} s):\n")
    obs = Observation()
    day_limit = time.monotonic() + wait + DAY_SECONDS / speed + 60
    last_status = 0.0
    while time.monotonic() < day_limit:
        reader.observe(obs)
        store_reader.observe(obs)
        for line in watcher.lines(obs):
            echo(line)
        if time.monotonic() - last_status >= 5:
            echo(watcher.status(obs))
            last_status = time.monotonic()
        dead = children.dead()
        if dead:
            echo(f"a service stopped unexpectedly: {', '.join(c.name for c in dead)} (see its log)", err=True)
            return 1
        if obs.day_over:
            break
        _sleep(1.0)
    echo(watcher.status(obs))

    # 5. Let the last webhooks in, the workers drain the inbox, the jobs catch up once.
    drain_until = time.monotonic() + 30
    while time.monotonic() < drain_until:
        store_reader.observe(obs)
        active = sum(obs.inbox.get(s, 0) for s in ("received", "processing", "failed"))
        pending = len(reader.get("webhooks/deliveries?state=pending") or [])
        if active == 0 and pending == 0:
            break
        _sleep(0.5)
    jobs = {
        job: _run_child(children, f"run-{job}", [*_amo_bridge(), "run", job], timeout=90)
        for job in ("won_to_retention", "triggers")
    }
    reader.observe(obs)
    store_reader.observe(obs)
    for line in watcher.lines(obs):
        echo(line)
    echo(watcher.status(obs))

    # 6. KPIs and the dashboard.
    stages = _stages(children, obs, watcher, store_reader, jobs, scheduler.alive(), how)
    kpi_stage = _kpi(children, settings.amo.timezone, store_reader)
    link_code, link_out = _run_child(
        children, "dashboard-link", [*_amo_bridge(), "dashboard", "link"], timeout=30
    )
    url = next((ln for ln in link_out.splitlines() if ln.startswith("http")), "")
    dashboard = Stage(
        "dashboard",
        link_code == 0 and bool(url),
        url if url else f"amo-bridge dashboard link exited {link_code}",
    )
    usage = api_usage(reader.requests_log())
    echo("\namoCRM API requests made by amo-bridge during the demo:")
    for key, count in list(usage.items())[:10] or [("none", 0)]:
        echo(f"  {count:6d}  {key}")

    echo("\nStages:")
    for stage in [*stages, kpi_stage, dashboard]:
        echo("  " + stage.line())
    echo(f"\ndemo finished in {time.monotonic() - started:.0f} s")
    if keep_running:
        echo("\nServices left running (Ctrl-C stops them all):")
        echo(f"  sandbox   {sandbox_url}/_sandbox/info")
        echo(f"  receiver  {receiver_url}/healthz, {receiver_url}/metrics")
        if url:
            echo(f"  dashboard {url}")
        echo(f"  env file  {env_file}  (AMO_BRIDGE_ENV_FILE={env_file} amo-bridge inbox list)")
        while not children.dead():
            _sleep(1)
        echo(f"a service stopped: {', '.join(c.name for c in children.dead())}", err=True)
        return 1
    return 0


def _run_child(children: Any, name: str, argv: list[str], *, timeout: float) -> tuple[int, str]:
    return children.run(name, argv, timeout=timeout, checkpoint=_checkpoint)  # type: ignore[no-any-return]


def _subscribe(children: Any, settings: Any, store: Any, destination: str) -> str:
    """Through ``amo-bridge webhooks subscribe`` once it is built, else the API client directly."""
    from amo_bridge.cli.main import COMMANDS

    if not COMMANDS["webhooks"].startswith("amo_bridge.cli.pending:"):
        code, out = _run_child(
            children, "webhooks-subscribe", [*_amo_bridge(), "webhooks", "subscribe"], timeout=60
        )
        if code == 0:
            return "amo-bridge webhooks subscribe"
        last = out.strip().splitlines()[-1] if out.strip() else ""
        click.echo(f"amo-bridge webhooks subscribe exited {code} ({last}); using the API client", err=True)
    from amo_bridge.api import AmoClient

    client = AmoClient.from_settings(settings, store)
    client.webhooks.subscribe(destination, WEBHOOK_SETTINGS)
    return "POST /api/v4/webhooks through AmoClient.webhooks"


def _handlers() -> list[str]:
    from webhooks.handlers import build_router

    return build_router().describe()


def _queued(t: Any) -> str:
    """Why some arrivals are not assigned yet when the demo stops (said only when it is so)."""
    waiting = t.inbox_received - t.inbox_done - t.inbox_dead
    if t.assigned >= t.arrived or waiting <= 0:
        return ""
    return (
        f"; {waiting} webhook events still queued (nothing lost): the compressed day brings work "
        "faster than the API limit serves it, 7 calls per new lead"
    )


def _stages(
    children: Any,
    obs: Any,
    watcher: Any,
    store_reader: Any,
    jobs: dict[str, tuple[int, str]],
    scheduler_alive: bool,
    how: str,
) -> list[Stage]:
    from amo_bridge.store import schema as T

    t = watcher.totals
    handlers = _handlers()
    names = [h.lower().replace("_", "").replace("-", "") for h in handlers]
    distribution = any("distribut" in h for h in names) or bool(obs.assignments)
    handoff = any("handoff" in h for h in names) or bool(obs.handoffs)
    stages = [
        Stage("sandbox", True, f"{t.arrived} leads arrived, {t.won} deals won (ground truth)"),
        Stage("webhooks", True, how),
        Stage(
            "receiver",
            True,
            f"{t.inbox_received} webhook events in the inbox, {t.inbox_done} done by 2 workers, "
            f"{t.inbox_dead} dead; {store_reader.count(T.event_journal)} journalled",
        ),
        Stage("scheduler", scheduler_alive, f"{store_reader.count(T.job_runs)} job runs recorded"),
        Stage(
            "distribution",
            distribution,
            f"{t.assigned} of {t.arrived} new leads assigned{_queued(t)}"
            if distribution
            else "no webhook handler assigns arrivals yet (leads stay with the admin)",
        ),
        Stage(
            "hand-offs",
            handoff,
            f"{t.handoffs} hand-offs between levels"
            if handoff
            else "no webhook handler runs hand-off rules yet",
        ),
    ]
    for job, stage_name, done in (
        ("won_to_retention", "retention", f"{t.retention} won deals moved to retention"),
        ("triggers", "triggers", f"{t.trigger_tasks} trigger tasks created"),
    ):
        code, out = jobs[job]
        last = out.strip().splitlines()[-1] if out.strip() else ""
        if code == NOT_BUILT:
            stages.append(Stage(stage_name, False, f"amo-bridge run {job}: {last}"))
        else:
            stages.append(Stage(stage_name, True, f"{done}; amo-bridge run {job} exit {code}: {last}"))
    return stages


def _kpi(children: Any, timezone: Any, store_reader: Any) -> Stage:
    from amo_bridge.cli.main import COMMANDS
    from amo_bridge.store import schema as T

    if COMMANDS["kpi"].startswith("amo_bridge.cli.pending:"):
        return Stage("kpi", False, "amo-bridge kpi is not built yet")
    period = datetime.now(timezone).strftime("%Y-%m")
    outputs = []
    codes = []
    for level in ("l1", "l2", "l3"):
        code, out = _run_child(
            children,
            f"kpi-{level}",
            [*_amo_bridge(), "kpi", "report", "--period", period, "--level", level],
            timeout=60,
        )
        codes.append(code)
        outputs.append(out.rstrip())
    if all(code == NOT_BUILT for code in codes):
        return Stage("kpi", False, outputs[0].splitlines()[-1] if outputs[0] else "not built")
    click.echo(f"\nKPI report, {period} (amo-bridge kpi report --level l1|l2|l3):")
    for level, code, out in zip(("l1", "l2", "l3"), codes, outputs, strict=True):
        click.echo(f"-- level {level} (exit {code})")
        click.echo(out)
    rows = store_reader.count(T.kpi_events) if hasattr(T, "kpi_events") else 0
    feeds = store_reader.job_runs("events_sync")
    last = feeds[-1] if feeds else None
    feed = f"events_sync last run {last['status']}" if last else "events_sync never ran"
    if last and last.get("error"):
        feed += f" ({str(last['error']).splitlines()[0][:90]})"
    return Stage("kpi", True, f"reports ran (exits {codes}); {rows} rows of KPI history; {feed}")
