"""Two real `amo-bridge scheduler` processes: one leads and runs jobs, the other waits and takes over."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from amo_bridge.store import Store
from jobs.history import RunHistory
from jobs.scheduler import LEADER_LOCK

LEASE = 1.0
DEADLINE = 45.0  # seconds for any one wait below; a healthy run needs a few


def start_scheduler(db_url: str, log: Path) -> subprocess.Popen[bytes]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DATABASE_URL": db_url,
        "SCHEDULE_LEASE_SECONDS": str(LEASE),
        "SCHEDULE_USERS_SYNC": "every 0.3s",
        "SCHEDULE_WON_TO_RETENTION": "off",
        "SCHEDULE_TRIGGERS": "off",
        "SCHEDULE_SLA_REASSIGN": "off",
        "SCHEDULE_EVENTS_SYNC": "off",
        "SCHEDULE_KPI_SYNC": "off",
        "LOG_LEVEL": "INFO",
    }
    return subprocess.Popen(
        [sys.executable, "-c", "from amo_bridge.cli.main import main; main()", "scheduler"],
        env=env,
        cwd=log.parent,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )


def runs_by(store: Store, pid: int) -> int:
    return sum(1 for r in RunHistory(store).list("users_sync", limit=1000) if r.host.endswith(f":{pid}"))


def wait_until(condition: object, what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow
def test_standby_scheduler_takes_over_when_the_leader_is_killed(store: Store, tmp_path: Path) -> None:
    first = start_scheduler(store.url, tmp_path / "first.log")
    second: subprocess.Popen[bytes] | None = None
    try:
        wait_until(lambda: runs_by(store, first.pid) >= 2, "the first scheduler to run jobs")
        holder = store.locks.info(LEADER_LOCK)
        assert holder is not None
        assert f":{first.pid}:" in holder.owner

        second = start_scheduler(store.url, tmp_path / "second.log")
        wait_until(lambda: "waits" in (tmp_path / "second.log").read_text(), "the second scheduler to wait")
        before = runs_by(store, first.pid)
        wait_until(lambda: runs_by(store, first.pid) >= before + 3, "the leader to keep running jobs")
        assert runs_by(store, second.pid) == 0  # the standby runs nothing while the leader lives

        first.send_signal(signal.SIGKILL)
        first.wait(10)
        wait_until(lambda: runs_by(store, second.pid) >= 2, "the standby to take over")
        holder = store.locks.info(LEADER_LOCK)
        assert holder is not None
        assert f":{second.pid}:" in holder.owner
        stopped_at = runs_by(store, first.pid)
        time.sleep(LEASE)
        assert runs_by(store, first.pid) == stopped_at

        second.send_signal(signal.SIGTERM)  # a clean stop releases leadership
        assert second.wait(20) == 0
        assert store.locks.info(LEADER_LOCK) is None
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait(10)
