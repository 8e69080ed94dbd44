"""``amo-bridge demo``: its configuration is valid for the sandbox's account, and the whole demo runs
end to end in a short configuration, exits 0, names every stage and leaves no process behind."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from amo_bridge.config.loader import load_settings
from amo_bridge.demo import config as demo_config
from amo_bridge.demo.watch import Observation, Watcher
from amo_bridge.handoff.rules import load_rules_file
from amo_bridge.sandbox import seed as S
from amo_bridge.triggers.parse import parse_rules

STAGES = (
    "sandbox",
    "webhooks",
    "receiver",
    "scheduler",
    "distribution",
    "hand-offs",
    "retention",
    "triggers",
    "kpi",
    "dashboard",
)


def _env_values(tmp_path: Path) -> dict[str, str]:
    handoff, triggers = tmp_path / "handoff.toml", tmp_path / "triggers.toml"
    handoff.write_text(demo_config.HANDOFF_RULES, encoding="utf-8")
    triggers.write_text(demo_config.TRIGGER_RULES, encoding="utf-8")
    return demo_config.demo_env(
        sandbox_url="http://127.0.0.1:1",
        receiver_url="http://127.0.0.1:2",
        receiver_port=2,
        account_id=31415926,
        subdomain="sandbox",
        database_url=f"sqlite:///{tmp_path / 'db.sqlite'}",
        token="t" * 43,
        webhook_secret="s" * 32,
        dashboard_secret="d" * 32,
        handoff_rules_file=str(handoff),
        trigger_rules_file=str(triggers),
        seed=1,
        leads=10,
    )


def test_demo_configuration_is_valid_for_the_seeded_account(tmp_path: Path) -> None:
    env_file = tmp_path / "demo.env"
    env_file.write_text(demo_config.render_env(_env_values(tmp_path)), encoding="utf-8")
    settings = load_settings(environ={}, env_file=env_file, env_file_required=True)
    assert settings.amo.base_url == "http://127.0.0.1:1"
    pools = {pool.name: pool for pool in settings.distribution.pools()}
    assert set(pools) == {"L1", "L2", "L3"}
    members = {m.user_id for m in pools["L1"].members}
    assert members == set(demo_config.LEAD_MANAGERS)
    rules = load_rules_file(tmp_path / "handoff.toml")
    assert rules.outcome_for(S.PIPELINE_LEAD_EXCHANGE, S.ST_LX_QUALIFIED) is not None
    parsed = parse_rules(demo_config.TRIGGER_RULES)
    assert parsed.errors == []
    assert {rule.name for rule in parsed.rules} == {"missed_sessions", "no_repeat_purchase", "birthday"}


def test_render_env_refuses_values_it_cannot_write() -> None:
    with pytest.raises(ValueError, match="X"):
        demo_config.render_env({"X": 'a"b'})


def test_watcher_shows_each_fact_once() -> None:
    watcher = Watcher(demo_config.USER_NAMES, ZoneInfo("Europe/Moscow"))
    closer = demo_config.CLOSERS[0]
    obs = Observation(
        business_time=1_767_250_000.0,
        arrivals={7: {"category": "sip", "source": "Звонок"}, 8: {"category": "forms", "source": "Сайт"}},
        responsible={7: S.ADMIN_USER_ID, 8: closer, 99: closer},
        assignments={8: "L2"},
        trigger_tasks=[{"rule": "birthday", "lead_id": 5, "task_id": 11, "task_text": "Поздравить"}],
        inbox={"done": 3, "dead": 1},
    )
    first = watcher.lines(obs)
    assert any("2 leads arrived: #7 (sip, Звонок), #8 (forms, Сайт)" in line for line in first)
    assert any(f"lead #8 assigned to {demo_config.USER_NAMES[closer]} (pool L2)" in line for line in first)
    assert not any("#99" in line or "lead #7 assigned" in line for line in first)  # not an arrival; admin
    assert any("trigger birthday: task #11 on lead #5" in line for line in first)
    assert watcher.lines(obs) == []  # nothing new
    assert "assigned 1" in watcher.status(obs)
    assert "webhook events 4 (done 3, dead 1)" in watcher.status(obs)


def _processes_using(env_file: Path) -> list[int]:
    """Processes whose environment names the demo's env file: the demo's services."""
    marker = f"AMO_BRIDGE_ENV_FILE={env_file}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if marker in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def _demo(workdir: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AMO_", "SANDBOX_", "DATABASE_URL"))}
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from amo_bridge.cli.main import main; main()",
            "demo",
            "--workdir",
            str(workdir),
            "--speed",
            "7200",
            "--leads",
            "12",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=workdir.parent,
        start_new_session=True,
    )


needs_proc = pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs Linux /proc")


@needs_proc
def test_the_distribution_stage_says_why_leads_are_still_waiting() -> None:
    from amo_bridge.cli.demo import _queued
    from amo_bridge.demo.watch import Totals

    behind = Totals(arrived=300, assigned=132, inbox_received=1828, inbox_done=713, inbox_dead=0)
    assert _queued(behind).startswith("; 1115 webhook events still queued (nothing lost)")
    assert _queued(Totals(arrived=300, assigned=300, inbox_received=900, inbox_done=900)) == ""


def test_demo_runs_end_to_end_and_leaves_no_process(tmp_path: Path) -> None:
    workdir = tmp_path / "demo"
    proc = _demo(workdir)
    try:
        out, _ = proc.communicate(timeout=170)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0, out
    assert re.search(r"\d+ leads? arrived: #\d+", out), out
    for stage in STAGES:
        line = next((ln for ln in out.splitlines() if ln.strip().startswith(f"stage {stage} ")), None)
        assert line is not None, f"no line for stage {stage}:\n{out}"
        assert " built " in line or " not built yet " in line, line
    assert "webhook events in the inbox" in out
    assert (workdir / "logs" / "receiver.log").exists()
    assert _processes_using(workdir / "demo.env") == []


@needs_proc
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_every_service(tmp_path: Path, signum: signal.Signals) -> None:
    workdir = tmp_path / "demo"
    proc = _demo(workdir)
    assert proc.stdout is not None
    seen = []
    try:
        deadline = time.monotonic() + 90
        for line in proc.stdout:  # bounded: the demo ends by itself within the deadline too
            seen.append(line)
            if line.startswith("receiver ") or time.monotonic() > deadline:
                break
        running = _processes_using(workdir / "demo.env")
        assert len(running) >= 5, "".join(seen)  # sandbox, receiver, two workers, scheduler
        proc.send_signal(signum)
        rest, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, "".join(seen) + rest
    assert "all services stopped" in rest
    assert _processes_using(workdir / "demo.env") == []
