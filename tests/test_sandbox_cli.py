"""``amo-bridge sandbox`` as a command: it serves, simulates and exits when told to."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from amo_bridge.cli.main import main; main()", "sandbox", *args],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin"},
        cwd=cwd,
        timeout=60,
        check=False,
    )


def test_simulated_day_runs_and_exits(tmp_path: Path) -> None:
    result = run(
        "--simulate", "--speed", "200000", "--port", "0", "--free-for-all", "--exit-when-done", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "sandbox amoCRM on http://127.0.0.1:" in result.stdout
    assert "simulated 1 working day(s)" in result.stdout
    assert "60 leads arrived" in result.stdout


def test_bad_faults_are_a_usage_error(tmp_path: Path) -> None:
    result = run("--faults", "explode=1", "--port", "0", cwd=tmp_path)
    assert result.returncode == 2
    assert "unknown fault" in result.stderr
