from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from amo_bridge.config import load_settings
from amo_bridge.distribution.config import (
    AccountPipeline,
    AccountStatus,
    AccountUser,
    check_references,
    parse_pools,
)
from amo_bridge.errors import ConfigError

THREE_LEVELS = (
    "L1 = unsorted 7001 : 101,102,103*2 : quota=60 sla=15 ;"
    " L2 = status 7002/41002 : 201,202 : cap=40 after_hours=on_duty on_duty=201 ;"
    " L3 = pipeline 7003 : 301,302"
)


def test_three_level_department_parses_with_defaults_and_overrides() -> None:
    settings = load_settings(
        {
            "DISTRIBUTION_POOLS": THREE_LEVELS,
            "DISTRIBUTION_RULES": 'L1.calls: category=sip -> 101 ; L2: source="Site form" and tag=VIP -> 202',
            "DISTRIBUTION_SLA_MINUTES": "30",
        }
    )
    l1, l2, l3 = settings.distribution.pools()
    assert [m.weight for m in l1.members] == [1, 1, 2]
    assert (l1.daily_quota, l1.sla_minutes) == (60, 15)
    assert l1.rules[0].lane == "calls"
    assert (l2.cap, l2.after_hours.policy, l2.after_hours.on_duty, l2.sla_minutes) == (
        40,
        "on_duty",
        (201,),
        30,
    )
    assert l2.rules[0].lane == "rule1"
    assert [str(c) for c in l2.rules[0].conditions] == ['source="Site form"', "tag=VIP"]
    assert l3.trigger.kind == "pipeline"


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("DISTRIBUTION_POOLS", "L1 = unsorted x : 1", "trigger"),
        ("DISTRIBUTION_POOLS", "L1 = unsorted 1 : 1,a", "members"),
        ("DISTRIBUTION_POOLS", "L1 = unsorted 1 : 1*0", "weight from 1 to 1000"),
        ("DISTRIBUTION_POOLS", "L1 = unsorted 1 : 1 : cap=lots", "cap="),
        ("DISTRIBUTION_POOLS", "L1 = unsorted 1 : 1 : colour=red", "pool option"),
        ("DISTRIBUTION_POOLS", "L1 = unsorted 1 : 1 : after_hours=on_duty", "on_duty=USER"),
        ("DISTRIBUTION_POOLS", "L1 = unsorted 1 : 1; L1 = pipeline 2 : 2", "once"),
        ("DISTRIBUTION_RULES", "L1: colour=red -> 1", "condition"),
        ("DISTRIBUTION_RULES", "L1 tag=x -> 1", "rule"),
        ("DISTRIBUTION_HOURS", "mon-fri 18:00-09:00", "ends after it starts"),
        ("DISTRIBUTION_HOURS", "weekdays 09:00-18:00", "days like"),
        ("DISTRIBUTION_DAYS_OFF", "2026-13-01", "YYYY-MM-DD"),
        ("DISTRIBUTION_VACATIONS", "101 2026-01-01", "USER:"),
        ("DISTRIBUTION_AFTER_HOURS", "sometimes", "hold, assign"),
        ("DISTRIBUTION_RULES_FILE", "/nonexistent/rules.txt", "readable rules file"),
    ],
)
def test_syntax_errors_name_the_variable(variable: str, value: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings({variable: value})
    problems = {p.variable: str(p) for p in info.value.problems}
    assert variable in problems
    assert expected in problems[variable]


def test_rules_must_name_a_configured_pool() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings({"DISTRIBUTION_POOLS": "L1 = unsorted 1 : 1", "DISTRIBUTION_RULES": "L9: tag=x -> 1"})
    assert "DISTRIBUTION_RULES" in str(info.value)


def test_rules_file_is_read_with_line_numbers(tmp_path: Path) -> None:
    rules = tmp_path / "routing.rules"
    rules.write_text("# VIP first\nL1.vip: tag=VIP -> 1\n\nL1.web: source=Website -> 2\n", encoding="utf-8")
    settings = load_settings(
        {"DISTRIBUTION_POOLS": "L1 = unsorted 1 : 1,2", "DISTRIBUTION_RULES_FILE": str(rules)}
    )
    assert [r.lane for r in settings.distribution.pools()[0].rules] == ["vip", "web"]
    rules.write_text("L1.vip: tag=VIP -> 1\nL1 nonsense\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"routing.rules:2"):
        load_settings({"DISTRIBUTION_POOLS": "L1 = unsorted 1 : 1,2", "DISTRIBUTION_RULES_FILE": str(rules)})


def test_bad_pools_stop_start_up_with_exit_2(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", "from amo_bridge.cli.main import main; main()", "distribution", "status"],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "DISTRIBUTION_POOLS": "L1 = unsorted 7001 : bob"},
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "DISTRIBUTION_POOLS" in result.stderr


def test_references_checked_against_the_account() -> None:
    pools = load_settings({"DISTRIBUTION_POOLS": THREE_LEVELS}).distribution.pools()
    users = [AccountUser(u) for u in (101, 102, 201, 202, 301)] + [AccountUser(302, "Old", is_active=False)]
    pipelines = [
        AccountPipeline(7001, "Exchange", (AccountStatus(1, "Unsorted", 1), AccountStatus(2, "New"))),
        AccountPipeline(7002, "Main", (AccountStatus(41001, "Qualified"),)),
    ]
    problems = check_references(pools, users, pipelines)
    assert "pool L1: unknown user 103" in problems
    assert "pool L2: pipeline 7002 (Main) has no status 41002" in problems
    assert "pool L3: unknown pipeline 7003" in problems
    assert "pool L3: user 302 (Old) is inactive in amoCRM" in problems
    assert len(problems) == 4


def test_pool_spec_round_trip_of_members() -> None:
    [spec] = parse_pools("L2 = status 1/2 : 5*3, 6")
    assert [(m.user_id, m.weight) for m in spec.members] == [(5, 3), (6, 1)]


def test_effective_values_print_in_the_syntax_they_were_written_in() -> None:
    from amo_bridge.distribution.config import parse_days_off, parse_hours, parse_rules

    pools = parse_pools(THREE_LEVELS)
    assert parse_pools(str(pools)) == pools
    rules = parse_rules('L1.web: source="Site form" and field 5=x -> 1,2*3')
    assert str(rules) == 'L1.web: source="Site form" and field 5=x -> 1,2*3'
    assert parse_rules(str(rules)) == rules
    hours = parse_hours("mon-fri 09:00-13:00, mon-fri 14:00-18:00, sat 10:00-14:00")
    assert str(hours) == "mon-fri 09:00-13:00, mon-fri 14:00-18:00, sat 10:00-14:00"
    assert parse_hours(str(hours)) == hours
    assert str(parse_days_off("2027-01-03, 2027-01-01..2027-01-02")) == "2027-01-01..2027-01-03"
