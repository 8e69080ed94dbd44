"""``amo-bridge serve|worker|inbox`` end to end: a real server, a real worker, the inbox commands."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.inbox_helpers import sample
from tests.test_cli import run

SECRET = "cli-test-secret-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_without_secret_exits_2(tmp_path: Path) -> None:
    result = run("serve", env={"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}, cwd=tmp_path)
    assert result.returncode == 2
    assert "WEBHOOK_SECRET" in result.stderr


@pytest.mark.slow
def test_serve_worker_and_inbox_commands(tmp_path: Path) -> None:
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
        "WEBHOOK_SECRET": SECRET,
        "AMO_ACCOUNT_ID": "29384756",
    }
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-c", "from amo_bridge.cli.main import main; main()", "serve", "--port", str(port)],
        env={"PATH": "/usr/bin:/bin", **env},
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=2).read()
                break
            except OSError:
                time.sleep(0.1)
        for body in (sample("leads_status"), b"\xff\xfe junk"):
            request = urllib.request.Request(f"{base}/webhooks/amocrm/{SECRET}", data=body, method="POST")
            request.add_header("Content-Type", "application/x-www-form-urlencoded")
            assert urllib.request.urlopen(request, timeout=5).status == 200
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=10)
    assert SECRET.encode() not in stderr  # access log lines are redacted

    listed = run("inbox", "list", env=env, cwd=tmp_path)
    assert listed.returncode == 0
    assert listed.stdout.count(" received ") == 3 + 1  # three events, and the column title
    assert "unparseable" in listed.stdout
    unparseable = run("inbox", "list", "--state", "unparseable", env=env, cwd=tmp_path)
    assert len(unparseable.stdout.splitlines()) == 2
    assert "not UTF-8" in unparseable.stdout

    worked = run("worker", "--once", env=env, cwd=tmp_path)
    assert worked.returncode == 0
    assert "processed 3 inbox row(s)" in worked.stdout
    done = run("inbox", "list", "--state", "done", env=env, cwd=tmp_path)
    assert done.stdout.count("lead.status_changed") == 3

    shown = run("inbox", "show", "1", env=env, cwd=tmp_path)
    assert shown.returncode == 0
    assert "lead.status_changed" in shown.stdout
    assert "old_status_id" in shown.stdout
    replayed = run("inbox", "replay", "1", env=env, cwd=tmp_path)
    assert replayed.returncode == 0
    assert "queued again" in replayed.stdout
    assert run("inbox", "replay", "--state", "dead", env=env, cwd=tmp_path).stdout.startswith("0 dead")
    assert run("inbox", "replay", env=env, cwd=tmp_path).returncode == 2
    assert run("inbox", "show", "999", env=env, cwd=tmp_path).returncode == 1


@pytest.mark.slow
def test_worker_stops_gracefully_on_sigterm(tmp_path: Path) -> None:
    import signal

    env = {
        "PATH": "/usr/bin:/bin",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
        "WORKER_POLL_SECONDS": "0.1",
    }
    worker = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from amo_bridge.cli.main import main; main()",
            "worker",
            "--concurrency",
            "2",
        ],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        assert worker.stderr is not None
        started = ""
        while "started" not in started and time.monotonic() < deadline:
            started = worker.stderr.readline()
        assert "started with 2 thread(s)" in started
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(15) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(5)
