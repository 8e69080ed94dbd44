"""Trigger rules: the syntax, reference checks, conditions, templates and deadlines (all pure)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from amo_bridge.config import load_settings
from amo_bridge.triggers import check_rules, parse_rules
from amo_bridge.triggers.episodes import Episode, Step, decide
from amo_bridge.triggers.evaluate import LeadFacts, due_at, holds, render
from amo_bridge.triggers.parse import parse_deadline
from amo_bridge.triggers.rules import Catalog
from amo_bridge.triggers.source import load_rules
from amo_bridge.workhours import WorkingHours

MSK = ZoneInfo("Europe/Moscow")
NOW = datetime(2026, 3, 4, 11, 0, tzinfo=MSK).timestamp()  # Wednesday
DAY = 86400

GYM = """
# Gym: a client who missed three sessions gets a trainer's consultation.
[[rule]]
name = "missed_sessions"
pipeline = 7001
stages = [101, 102]
when = "field:512 >= 3"
task = "{lead.name}: пропущено занятий {field:512}, консультация тренера"
task_type = 2
deadline = "+1d 10:00"
responsible = "pool:trainers"
tag = "пропуски"
note = "Правило {rule}: {field:512} пропусков"
cooldown = "14d"

[[rule]]
name = "no_repeat_purchase"
pipeline = 7001
when = "days_since_purchase > 60"
task = "Позвонить {contact.name}: нет покупок {days_since_purchase} дней"
"""

CATALOG = Catalog(
    pipelines={7001: frozenset({101, 102, 103}), 7002: frozenset({201})},
    field_ids=frozenset({512, 600, 601}),
    pools=frozenset({"trainers"}),
)


def facts(**changes: object) -> LeadFacts:
    base = LeadFacts(lead_id=1, name="Иван", pipeline_id=7001, status_id=101, responsible_user_id=11,
                     contact_name="Иван Петров", fields={512: "3"})  # fmt: skip
    return LeadFacts(**{**base.__dict__, **changes})  # type: ignore[arg-type]


def test_rules_parse_into_data() -> None:
    result = parse_rules(GYM)
    assert result.errors == []
    gym, purchase = result.rules
    assert (gym.name, gym.pipeline_id, gym.stage_ids) == ("missed_sessions", 7001, (101, 102))
    assert [str(c) for c in gym.condition] == ["field:512 >= 3"]
    assert gym.action.pool == "trainers"
    assert gym.action.task_type_id == 2
    assert gym.cooldown_seconds == 14 * DAY
    assert (purchase.stage_ids, purchase.action.responsible, purchase.action.task_type_id) == ((), "lead", 1)


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ('when = "field:512 >= 3"\ntask = "x"\npipeline = 1', "missing name"),
        ('name = "a"\npipeline = 1\nwhen = "visits >= 3"\ntask = "x"', "unknown metric 'visits'"),
        ('name = "a"\npipeline = 1\nwhen = "field >= 3"\ntask = "x"', "needs a custom field id"),
        ('name = "a"\npipeline = 1\nwhen = "days_in_stage > lots"\ntask = "x"', "cannot read condition"),
        ('name = "a"\npipeline = 1\nwhen = "field:5 > \\"x\\""\ntask = "x"', "only be compared with =="),
        (
            'name = "a"\npipeline = 1\nwhen = "days_in_stage > 3"\ntask = "{lead.phone}"',
            "unknown placeholder",
        ),
        ('name = "a"\npipeline = 1\nwhen = "days_in_stage > 3"\ntask = "x"\ndeadline = "soon"', "deadline"),
        (
            'name = "a"\npipeline = 1\nwhen = "days_in_stage > 3"\ntask = "x"\ncooldown = "2 weeks"',
            "cooldown",
        ),
        ('name = "a"\npipeline = "x"\nwhen = "days_in_stage > 3"\ntask = "x"', "positive whole number"),
        (
            'name = "a"\npipeline = 1\nwhen = "days_in_stage > 3"\ntask = "x"\ncolor = 1',
            "unknown key(s) color",
        ),
        (
            'name = "a"\npipeline = 1\nwhen = "days_in_stage > 3"\ntask = "x"\nresponsible = "boss"',
            "pool:NAME",
        ),
        ('name = "a"\npipeline = 1\nwhen = "days_in_stage > 3\ntask = "x"', "syntax error"),
    ],
)
def test_a_bad_rule_is_reported_and_the_others_still_load(block: str, message: str) -> None:
    result = parse_rules(GYM + "\n[[rule]]\n" + block + "\n")
    assert [rule.name for rule in result.rules] == ["missed_sessions", "no_repeat_purchase"]
    assert len(result.errors) == 1
    assert message in str(result.errors[0]), str(result.errors[0])
    assert "line " in result.errors[0].source


def test_duplicate_names_and_stray_text_are_errors() -> None:
    result = parse_rules("stray = 1\n" + GYM + GYM)
    assert len(result.rules) == 2
    assert sorted(e.message for e in result.errors) == [
        "a rule with this name is already defined",
        "a rule with this name is already defined",
        "text outside a [[rule]] block",
    ]


def test_reference_errors_need_the_catalog() -> None:
    text = GYM.replace("pool:trainers", "pool:coaches").replace("stages = [101, 102]", "stages = [101, 999]")
    assert parse_rules(text).errors == []  # syntax alone is fine
    checked = check_rules(text, CATALOG)
    assert [rule.name for rule in checked.rules] == ["no_repeat_purchase"]
    (error,) = checked.errors
    assert error.rule == "missed_sessions"
    assert "[999] are not in pipeline 7001" in error.message
    assert "pool 'coaches' does not exist" in error.message
    missing_field = check_rules(GYM.replace("field:512", "field:513"), CATALOG)
    assert "custom field(s) [513] do not exist" in missing_field.errors[0].message
    missing_pipeline = check_rules(GYM.replace("pipeline = 7001", "pipeline = 7009"), CATALOG)
    assert len(missing_pipeline.errors) == 2


def test_rules_from_the_env_and_a_file(tmp_path: Path) -> None:
    rules_file = tmp_path / "rules.toml"
    rules_file.write_text(GYM.replace("missed_sessions", "from_file").replace("no_repeat_purchase", "x2"))
    settings = load_settings({"TRIGGER_RULES": GYM, "TRIGGER_RULES_FILE": str(rules_file)})
    loaded = load_rules(settings.jobs, CATALOG)
    assert [rule.name for rule in loaded.rules] == [
        "missed_sessions",
        "no_repeat_purchase",
        "from_file",
        "x2",
    ]
    assert loaded.rules[2].source == f"{rules_file}, line 3"
    missing = load_settings({"TRIGGER_RULES_FILE": str(tmp_path / "nope.toml")})
    assert "cannot read TRIGGER_RULES_FILE" in str(load_rules(missing.jobs).errors[0])


def test_conditions() -> None:
    (gym, purchase) = parse_rules(GYM).rules
    assert holds(gym, facts(), NOW, MSK)
    assert holds(gym, facts(fields={512: 4}), NOW, MSK)
    assert not holds(gym, facts(fields={512: "2"}), NOW, MSK)
    assert not holds(gym, facts(fields={}), NOW, MSK)  # no value: not known to be true
    assert not holds(gym, facts(fields={512: "many"}), NOW, MSK)
    assert holds(purchase, facts(last_purchase_at=NOW - 61 * DAY), NOW, MSK)
    assert not holds(purchase, facts(last_purchase_at=NOW - 60 * DAY), NOW, MSK)
    assert not holds(purchase, facts(last_purchase_at=None), NOW, MSK)


def rule_when(condition: str) -> object:
    text = f'[[rule]]\nname = "r"\npipeline = 1\nwhen = {json.dumps(condition)}\ntask = "t"\n'
    (rule,) = parse_rules(text).rules
    return rule


@pytest.mark.parametrize(
    ("condition", "lead", "expected"),
    [
        ("days_in_stage > 14", {"stage_entered_at": NOW - 15 * DAY}, True),
        ("days_in_stage > 14", {"stage_entered_at": NOW - 14 * DAY}, False),
        ("days_inactive >= 7", {"last_activity_at": NOW - 7 * DAY - 1}, True),
        ("days_inactive >= 7", {"last_activity_at": NOW - 6 * DAY}, False),
        # birthday 1990-03-10 -> 6 days from Wednesday 4 March
        ("days_to_anniversary:600 <= 7", {"fields": {600: "1990-03-10"}}, True),
        ("days_to_anniversary:600 <= 7", {"fields": {600: "1990-03-20"}}, False),
        ("days_to_anniversary:600 <= 7", {"fields": {600: "1990-03-01"}}, False),  # next one is in 2027
        # unix seconds, as amoCRM sends date fields
        (
            "days_to_anniversary:600 == 0",
            {"fields": {600: int(datetime(1985, 3, 4, tzinfo=MSK).timestamp())}},
            True,
        ),
        ("days_to_date:601 <= 30 and days_to_date:601 >= 0", {"fields": {601: "2026-03-30"}}, True),
        ("days_to_date:601 <= 30 and days_to_date:601 >= 0", {"fields": {601: "2026-03-01"}}, False),
        ('field:512 == "VIP"', {"fields": {512: "VIP"}}, True),
        ('field:512 != "VIP"', {"fields": {512: "VIP"}}, False),
        ("field:512 == 'VIP'", {"fields": {512: "VIP"}}, True),
    ],
)
def test_metrics(condition: str, lead: dict[str, object], expected: bool) -> None:
    assert holds(rule_when(condition), facts(**lead), NOW, MSK) is expected  # type: ignore[arg-type]


def test_leap_day_birthday_is_kept_on_28_february() -> None:
    rule = rule_when("days_to_anniversary:600 == 0")
    feb28 = datetime(2027, 2, 28, 12, tzinfo=MSK).timestamp()
    assert holds(rule, facts(fields={600: "2000-02-29"}), feb28, MSK)  # type: ignore[arg-type]


def test_templates_are_filled_from_the_lead() -> None:
    gym, purchase = parse_rules(GYM).rules
    assert (
        render(gym.action.task_text, gym, facts(), NOW, MSK)
        == "Иван: пропущено занятий 3, консультация тренера"
    )
    text = render(purchase.action.task_text, purchase, facts(last_purchase_at=NOW - 90 * DAY), NOW, MSK)
    assert text == "Позвонить Иван Петров: нет покупок 90 дней"
    assert render(purchase.action.task_text, purchase, facts(), NOW, MSK).endswith("нет покупок ? дней")


def test_deadlines_fall_inside_working_hours() -> None:
    hours = WorkingHours.parse("09:00-18:00", "mon-fri")

    def due(text: str, now: float = NOW) -> datetime:
        return datetime.fromtimestamp(due_at(parse_deadline(text), now, MSK, hours), MSK)

    assert due("+1d 10:00") == datetime(2026, 3, 5, 10, 0, tzinfo=MSK)
    assert due("+2h") == datetime(2026, 3, 4, 13, 0, tzinfo=MSK)
    assert due("+8h") == datetime(2026, 3, 5, 9, 0, tzinfo=MSK)  # 19:00 is after hours
    assert due("10:00") == datetime(2026, 3, 5, 10, 0, tzinfo=MSK)  # 10:00 today has passed
    friday = datetime(2026, 3, 6, 16, 0, tzinfo=MSK).timestamp()
    assert due("+1d 10:00", friday) == datetime(2026, 3, 9, 10, 0, tzinfo=MSK)  # Saturday -> Monday


def test_edge_triggering_decision() -> None:
    active = Episode("active", 1, NOW - DAY, 77)
    cleared = Episode("cleared", 1, NOW - DAY, 77)
    assert decide(None, True, None, NOW, 0) is Step.FIRE
    assert decide(None, False, None, NOW, 0) is Step.NOTHING
    assert decide(active, True, True, NOW, 0) is Step.NOTHING  # stays true, task open
    assert decide(active, False, None, NOW, 0) is Step.CLEAR
    assert decide(cleared, True, None, NOW, 0) is Step.FIRE  # true again: a new episode
    assert decide(cleared, True, None, NOW, 14 * DAY) is Step.WAIT  # ... but not within the cooldown
    assert decide(active, True, False, NOW, 14 * DAY) is Step.NOTHING  # task done, cooldown running
    assert decide(active, True, False, NOW + 14 * DAY, 14 * DAY) is Step.FIRE  # done, still true, cooled
    assert decide(Episode("pending", 1, NOW, None), True, None, NOW, 0) is Step.RESUME


def test_the_worked_examples_in_the_docs_parse() -> None:
    import re

    doc = (Path(__file__).resolve().parent.parent / "docs" / "jobs.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```toml\n(.*?)```", doc, re.S)
    assert len(blocks) >= 4
    result = parse_rules("\n".join(blocks))
    assert result.errors == []
    assert {"missed_sessions", "no_repeat_purchase", "stuck_in_proposal", "birthday", "renewal"} <= {
        rule.name for rule in result.rules
    }
