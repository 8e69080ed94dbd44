from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from amo_bridge.cli.main import COMMANDS, cli


def run(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """The real console entry point in a child process, with a controlled environment."""
    return subprocess.run(
        [sys.executable, "-c", "from amo_bridge.cli.main import main; main()", *args],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", **(env or {})},
        cwd=cwd,
        timeout=60,
        check=False,
    )


def test_help_lists_every_command() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for name in ("serve", "worker", "scheduler", "run", "sandbox", "demo", "kpi", "distribution",
                 "inbox", "auth", "db", "check-config"):  # fmt: skip
        assert name in result.output
        assert name in COMMANDS


def test_check_config_bad_rate_exits_2_naming_variable(tmp_path: Path) -> None:
    result = run("check-config", env={"AMO_RATE_LIMIT": "fast"}, cwd=tmp_path)
    assert result.returncode == 2
    assert "AMO_RATE_LIMIT" in result.stderr
    assert "'fast'" in result.stderr


def test_check_config_masks_secret(tmp_path: Path) -> None:
    result = run("check-config", env={"AMO_CLIENT_SECRET": "abc123"}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "abc123" not in result.stdout + result.stderr
    assert "AMO_CLIENT_SECRET" in result.stdout
    line = next(ln for ln in result.stdout.splitlines() if "AMO_CLIENT_SECRET" in ln)
    assert line.split("=", 1)[1].strip() == "***"


def test_check_config_reads_env_file_and_requirements(tmp_path: Path) -> None:
    env_file = tmp_path / "prod.env"
    env_file.write_text("AMO_SUBDOMAIN=acme\nAMO_LONG_LIVED_TOKEN=" + "t" * 40 + "\n", encoding="utf-8")
    ok = run("--env-file", str(env_file), "check-config", "--require", "api", cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert "t" * 40 not in ok.stdout
    assert "api: ready" in ok.stdout
    not_ready = run("--env-file", str(env_file), "check-config", "--require", "serve", cwd=tmp_path)
    assert not_ready.returncode == 2
    assert "WEBHOOK_SECRET" in not_ready.stdout


def test_missing_explicit_env_file_exits_2(tmp_path: Path) -> None:
    result = run("--env-file", str(tmp_path / "missing.env"), "check-config", cwd=tmp_path)
    assert result.returncode == 2
    assert "missing.env" in result.stderr


def test_every_command_is_built() -> None:
    for name in COMMANDS:
        result = CliRunner().invoke(cli, [name, "--help"])
        assert result.exit_code == 0, (name, result.output)
        assert "Not built yet (issue #" not in result.output


def test_db_upgrade_and_current(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}
    assert run("db", "current", env=env, cwd=tmp_path).returncode == 1  # empty database
    upgraded = run("db", "upgrade", env=env, cwd=tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    current = run("db", "current", env=env, cwd=tmp_path)
    assert current.returncode == 0
    lines = dict(line.split(":", 1) for line in current.stdout.splitlines())
    assert lines["current"].strip() == lines["head"].strip() != "empty"


def test_check_config_reports_a_retention_pool_that_is_not_configured(tmp_path: Path) -> None:
    env = {"DISTRIBUTION_POOLS": "L3 = pipeline 7003 : 301", "RETENTION_POOL": "L4"}
    result = run("check-config", env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert "RETENTION_POOL='L4': expected a pool named in DISTRIBUTION_POOLS (L3)" in result.stderr
