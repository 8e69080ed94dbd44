"""KPI configuration (bad values exit 2 naming the variable), periods and the kpi commands."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from amo_bridge.cli.main import cli
from amo_bridge.config import load_settings
from amo_bridge.errors import ConfigError
from amo_bridge.kpi.activities import Matcher
from amo_bridge.kpi.periods import local_midnight, parse_period
from amo_bridge.kpi.rows import CALL_OUT, LEAD_CREATED, REPORTED, STATUS_CHANGED
from amo_bridge.store import Store
from tests.kpi_helpers import put, row
from tests.test_cli import run


def test_kpi_settings_parse() -> None:
    s = load_settings(
        {
            "KPI_LEVELS": "l1=group:101;l2=group:102,103;l3=users:7,8+group:104",
            "KPI_TARGETS": "l1.calls_per_day=40;l2.sales=20",
            "KPI_ACTIVITIES": "proposal=task:3,note:proposal;repeat_call=call:repeat",
            "KPI_QUALIFIED_STATUSES": "555, 556",
            "KPI_REPORTED_FIELDS": "calls=512",
            "KPI_CHURN_WINDOW_DAYS": "60",
        }
    ).kpi
    assert s.levels["l2"].groups == {102, 103}
    assert s.levels["l3"].users == {7, 8}
    assert s.levels["l3"].contains(1, 104)
    assert s.targets[("l1", "calls_per_day")] == 40
    assert s.activities.of("proposal") == (Matcher("task", "3"), Matcher("note", "proposal"))
    assert s.qualified_statuses == {555, 556}
    assert s.reported_fields == {512: "calls"}
    assert s.churn_window_days == 60
    hash(s)  # frozen and hashable like every settings section


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("KPI_LEVELS", "l1=team:5"),
        ("KPI_LEVELS", "l1"),
        ("KPI_TARGETS", "l1.speed=3"),
        ("KPI_TARGETS", "l1.calls=-1"),
        ("KPI_ACTIVITIES", "proposal=task:x"),
        ("KPI_ACTIVITIES", "gossip=task:3"),
        ("KPI_QUALIFIED_STATUSES", "abc"),
        ("KPI_REPORTED_FIELDS", "mood=5"),
        ("KPI_CHURN_WINDOW_DAYS", "0"),
    ],
)
def test_bad_kpi_values_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings({name: value})
    assert [p.variable for p in info.value.problems] == [name]


def test_targets_for_unknown_level_fail() -> None:
    with pytest.raises(ConfigError, match="KPI_TARGETS"):
        load_settings({"KPI_LEVELS": "l1=users:7", "KPI_TARGETS": "l2.sales=3"})


def test_bad_kpi_value_exits_2(tmp_path: Path) -> None:
    result = run("kpi", "report", "--level", "l1", env={"KPI_LEVELS": "l1=team:5"}, cwd=tmp_path)
    assert result.returncode == 2
    assert "KPI_LEVELS" in result.stderr


def test_periods() -> None:
    week = parse_period("2026-W48")
    assert (week.first, week.end) == (date(2026, 11, 23), date(2026, 11, 30))
    dec = parse_period("2026-12")
    assert (dec.first, dec.end) == (date(2026, 12, 1), date(2027, 1, 1))
    assert len(list(parse_period("2026-02").days())) == 28
    start, end = parse_period("2026-11-23").bounds(ZoneInfo("Europe/Moscow"))
    assert end - start == 86_400
    assert start % 86_400 == 21 * 3600  # Moscow midnight is 21:00 UTC
    for bad in ("2026-13", "2026-W60", "yesterday", "2026-11-31"):
        with pytest.raises(ValueError, match="expected a period"):
            parse_period(bad)


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    url = f"sqlite:///{tmp_path / 'kpi.db'}"
    for key, value in {
        "DATABASE_URL": url,
        "AMO_TIMEZONE": "Europe/Moscow",
        "KPI_LEVELS": "l1=users:7",
        "KPI_TARGETS": "l1.calls=2",
        "KPI_REPORTED_FIELDS": "calls=512",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)
    store = Store(url)
    store.upgrade()
    m = local_midnight(date(2026, 11, 23), ZoneInfo("Europe/Moscow"))
    put(
        store,
        row(CALL_OUT, m + 10, user_id=7, lead_id=1),
        row(LEAD_CREATED, m, user_id=7, lead_id=1, pipeline_id=5, status_id=100),
        row(STATUS_CHANGED, m + 20, user_id=7, lead_id=1, pipeline_id=5, status_id=142, old_status_id=100),
        row(REPORTED, m + 30, user_id=7, field_id=512, value=4),
    )
    store.kv.set("kpi.users", [{"id": 7, "name": "Anna", "group_id": None}])
    store.kv.set(
        "kpi.pipelines",
        [{"id": 5, "name": "Main", "stages": [{"id": 100, "name": "New", "sort": 10}]}],
    )
    return store


def test_kpi_report_formats(cli_env: Store) -> None:
    runner = CliRunner()
    table = runner.invoke(cli, ["kpi", "report", "--period", "2026-11", "--level", "l1"])
    assert table.exit_code == 0, table.output
    assert "Anna" in table.output
    assert "calls_plan_pct" in table.output
    csv_out = runner.invoke(cli, ["kpi", "report", "--period", "2026-11", "--level", "l1", "--format", "csv"])
    header, line = csv_out.output.strip().splitlines()
    assert header.startswith("user_id,name,calls,")
    assert line.startswith("7,Anna,1,")
    as_json = json.loads(
        runner.invoke(
            cli, ["kpi", "report", "--period", "2026-11", "--level", "l1", "--format", "json"]
        ).output
    )
    assert as_json[0]["metrics"]["calls"] == 1
    assert as_json[0]["plan"]["calls"] == 50
    bad = runner.invoke(cli, ["kpi", "report", "--period", "november", "--level", "l1"])
    assert bad.exit_code == 2


def test_kpi_funnel_and_daily(cli_env: Store) -> None:
    runner = CliRunner()
    funnel = runner.invoke(
        cli, ["kpi", "funnel", "--pipeline", "5", "--period", "2026-11", "--format", "json"]
    )
    assert funnel.exit_code == 0, funnel.output
    assert [(s["status_id"], s["reached"]) for s in json.loads(funnel.output)] == [(100, 1), (142, 1)]
    unknown = runner.invoke(cli, ["kpi", "funnel", "--pipeline", "6"])
    assert unknown.exit_code != 0
    daily = runner.invoke(cli, ["kpi", "daily", "--date", "2026-11-23", "--user", "7"])
    assert daily.exit_code == 0, daily.output
    assert "1 (reported 4)" in daily.output
    assert "disagree with the CRM" in daily.output
