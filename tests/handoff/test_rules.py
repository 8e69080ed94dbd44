from __future__ import annotations

from pathlib import Path

import pytest

from amo_bridge.config import load_settings
from amo_bridge.errors import ConfigError
from amo_bridge.handoff.model import MoveLead
from amo_bridge.handoff.rules import RulesError, load_rules_file, parse_rules

RULES = Path(__file__).parent / "rules.toml"


def test_example_rules_load() -> None:
    rules = load_rules_file(RULES)
    assert [r.name for r in rules.outcomes] == ["qualified", "warm-up", "non-target"]
    lost = rules.outcome_for(1001, 2003)
    assert lost is not None
    assert lost.move_to == MoveLead(1001, 143, 55)
    assert rules.warmup_return is not None
    assert rules.warmup_return.target == "last_closer"
    assert rules.max_moves_per_day == 3


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"outcome": [{"when": {"pipeline": 1}}]}, r"outcome\[0\]\.when\.status"),
        ({"outcome": [{"when": {"pipeline": 1, "status": 2}, "colour": "red"}]}, "unknown key"),
        ({"outcome": [{"when": {"pipeline": 1, "status": 2}, "loss_reason_id": 5}]}, "needs move_to"),
        (
            {
                "outcome": [
                    {
                        "when": {"pipeline": 1, "status": 2},
                        "move_to": {"pipeline": 1, "status": 3},
                        "loss_reason_id": 5,
                    }
                ]
            },
            "status 143",
        ),
        (
            {
                "outcome": [
                    {"name": "a", "when": {"pipeline": 1, "status": 2}},
                    {"name": "b", "when": {"pipeline": 1, "status": 2}},
                ]
            },
            "one rule per stage",
        ),
        ({"duplicates": {"mode": "merge"}}, "duplicates.mode"),
        ({"duplicates": {"match": ["fax"]}}, "duplicates.match"),
        (
            {"warmup_return": {"pipeline": 3, "on": ["carrier pigeon"], "move_to": {"pipeline": 1}}},
            "warmup_return.on",
        ),
        ({"warmup_return": {"pipeline": 3}}, "warmup_return.move_to"),
        ({"loop": {"max_moves_per_day": 0}}, "loop.max_moves_per_day"),
        ({"outcomes": []}, "unknown key"),
    ],
)
def test_bad_rules_name_the_key(data: dict[str, object], message: str) -> None:
    with pytest.raises(RulesError, match=message):
        parse_rules(data)


def test_bad_rules_file_stops_start_up_naming_the_variable(tmp_path: Path) -> None:
    bad = tmp_path / "rules.toml"
    bad.write_text("[[outcome]]\nwhen = { pipeline = 1 \n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings({"HANDOFF_RULES_FILE": str(bad)})
    assert "HANDOFF_RULES_FILE" in str(info.value)
    assert "TOML" in str(info.value)
    with pytest.raises(ConfigError, match="readable"):
        load_settings({"HANDOFF_RULES_FILE": str(tmp_path / "missing.toml")})


def test_rules_file_through_settings() -> None:
    settings = load_settings({"HANDOFF_RULES_FILE": str(RULES), "HANDOFF_PHONE_REGION": "kz"})
    assert settings.handoff.rules is not None
    assert len(settings.handoff.rules.outcomes) == 3
    assert settings.handoff.phone_region == "KZ"
    with pytest.raises(ConfigError, match="HANDOFF_PHONE_REGION"):
        load_settings({"HANDOFF_PHONE_REGION": "Narnia"})
