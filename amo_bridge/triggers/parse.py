"""The rule syntax: TOML, one ``[[rule]]`` table per rule (see docs/jobs.md for worked examples).

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
    cooldown = "14d"

Each ``[[rule]]`` block is parsed on its own, so a syntax error in one rule is reported with its
line and the other rules still load. Pure: text in, rules and errors out.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from typing import Any

from amo_bridge.schedules import parse_duration
from amo_bridge.triggers.rules import (
    FIELD_METRICS,
    METRICS,
    OPERATORS,
    Action,
    Catalog,
    Comparison,
    Deadline,
    Rule,
)
from amo_bridge.workhours import parse_clock

KEYS = {
    "name", "pipeline", "stages", "when", "task", "task_type", "deadline", "responsible",
    "tag", "note", "move_to_stage", "cooldown", "working_hours",
}  # fmt: skip
REQUIRED = ("name", "pipeline", "when", "task")
PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
PLAIN_PLACEHOLDERS = {"lead.id", "lead.name", "lead.price", "contact.name", "rule"}
_TERM = re.compile(
    r"^\s*(?P<metric>[a-z_]+)(?::(?P<field>\d+))?\s*(?P<op>>=|<=|!=|==|>|<)\s*"
    r"(?P<value>-?\d+(?:\.\d+)?|\"[^\"]*\"|'[^']*')\s*$"
)
_DEADLINE = re.compile(
    r"^\s*(?:(?P<today>today)|\+(?P<n>\d+(?:\.\d+)?)(?P<unit>[mhd]))?\s*(?P<at>\d{1,2}:\d{2})?\s*$"
)
_NAME = re.compile(r"^[a-z0-9_\-]{1,100}$")


@dataclass(frozen=True)
class RuleError:
    """A rule that cannot be used, with where it was written and why."""

    rule: str  # its name, or "line N" when the name is unknown
    source: str
    message: str

    def __str__(self) -> str:
        return f"trigger rule {self.rule} ({self.source}): {self.message}"


@dataclass(frozen=True)
class ParseResult:
    rules: list[Rule]
    errors: list[RuleError]


class _Bad(ValueError):
    pass


def parse_condition(text: str) -> tuple[Comparison, ...]:
    """``"field:512 >= 3 and days_inactive > 7"`` -> comparisons (all must hold)."""
    if not text.strip():
        raise _Bad("'when' is empty")
    terms = re.split(r"\s+and\s+", text.strip())
    result: list[Comparison] = []
    for term in terms:
        match = _TERM.match(term)
        if not match:
            raise _Bad(
                f"cannot read condition {term!r}: expected METRIC OP VALUE such as 'field:512 >= 3' "
                f"or 'days_in_stage > 14'"
            )
        metric, field, op, raw = match["metric"], match["field"], match["op"], match["value"]
        if metric not in METRICS:
            raise _Bad(f"unknown metric {metric!r} in {term!r}; known: {', '.join(sorted(METRICS))}")
        if metric in FIELD_METRICS and field is None:
            raise _Bad(f"{metric} needs a custom field id: '{metric}:ID' in {term!r}")
        if metric not in FIELD_METRICS and field is not None:
            raise _Bad(f"{metric} takes no field id in {term!r}")
        value: float | str = raw[1:-1] if raw[0] in "\"'" else float(raw)
        if isinstance(value, str) and (metric != "field" or op not in ("==", "!=")):
            raise _Bad(f"text can only be compared with == or != on a field, in {term!r}")
        assert op in OPERATORS
        result.append(Comparison(metric, op, value, int(field) if field is not None else None))
    return tuple(result)


def parse_deadline(text: str, working_hours: bool = True) -> Deadline:
    match = _DEADLINE.match(text)
    if not match or not text.strip():
        raise _Bad(f"cannot read deadline {text!r}: expected '+2h', '+1d 10:00', 'today 18:00' or '10:00'")
    offset = 0.0
    if match["n"] is not None:
        offset = parse_duration(match["n"] + match["unit"])
    at = None
    if match["at"] is not None:
        try:
            at = parse_clock(match["at"])
        except ValueError as exc:
            raise _Bad(f"deadline {text!r}: {exc}") from None
    return Deadline(offset, at, working_hours)


def template_placeholders(template: str) -> list[str]:
    return PLACEHOLDER.findall(template)


def check_placeholder(name: str) -> None:
    if name in PLAIN_PLACEHOLDERS or name in {"days_since_purchase", "days_in_stage", "days_inactive"}:
        return
    metric, _, field = name.partition(":")
    if metric in FIELD_METRICS and field.isdigit():
        return
    raise _Bad(
        f"unknown placeholder {{{name}}}: use lead.id, lead.name, lead.price, contact.name, rule, "
        "field:ID, days_since_purchase, days_in_stage, days_inactive, days_to_anniversary:ID, days_to_date:ID"
    )


def _int(value: Any, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise _Bad(f"{key!r} must be a positive whole number (an amoCRM id), not {value!r}")
    return value


def _str(value: Any, key: str) -> str:
    if not isinstance(value, str):
        raise _Bad(f"{key!r} must be a text in quotes, not {value!r}")
    return value


def build_rule(table: dict[str, Any], source: str) -> Rule:
    unknown = sorted(set(table) - KEYS)
    if unknown:
        raise _Bad(f"unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(KEYS))}")
    missing = [key for key in REQUIRED if key not in table]
    if missing:
        raise _Bad(f"missing {', '.join(missing)}")
    name = _str(table["name"], "name")
    if not _NAME.match(name):
        raise _Bad(f"name {name!r}: use lower-case letters, digits, '_' and '-' (at most 100)")
    stages_raw = table.get("stages", [])
    if not isinstance(stages_raw, list):
        raise _Bad("'stages' must be a list of stage ids such as [101, 102]")
    stages = tuple(_int(s, "stages") for s in stages_raw)
    task = _str(table["task"], "task")
    for placeholder in template_placeholders(task):
        check_placeholder(placeholder)
    note = _str(table["note"], "note") if "note" in table else None
    for placeholder in template_placeholders(note or ""):
        check_placeholder(placeholder)
    working_hours = table.get("working_hours", True)
    if not isinstance(working_hours, bool):
        raise _Bad("'working_hours' must be true or false")
    responsible = _str(table.get("responsible", "lead"), "responsible")
    if responsible != "lead" and not (responsible.startswith("pool:") and len(responsible) > len("pool:")):
        raise _Bad(f'responsible {responsible!r}: use "lead" (the lead\'s responsible) or "pool:NAME"')
    try:
        cooldown = parse_duration(_str(table["cooldown"], "cooldown")) if "cooldown" in table else 0.0
    except ValueError as exc:
        raise _Bad(f"cooldown: expected {exc}") from None
    action = Action(
        task_text=task,
        task_type_id=_int(table.get("task_type", 1), "task_type"),
        deadline=parse_deadline(_str(table.get("deadline", "+1d"), "deadline"), working_hours),
        responsible=responsible,
        tag=_str(table["tag"], "tag") if "tag" in table else None,
        note=note,
        move_to_stage_id=_int(table["move_to_stage"], "move_to_stage") if "move_to_stage" in table else None,
    )
    return Rule(
        name=name,
        pipeline_id=_int(table["pipeline"], "pipeline"),
        stage_ids=stages,
        condition=parse_condition(_str(table["when"], "when")),
        action=action,
        cooldown_seconds=cooldown,
        source=source,
    )


def _blocks(text: str) -> tuple[list[tuple[int, str]], list[int]]:
    """Split into ``[[rule]]`` blocks: (first line number, text); and lines of stray text."""
    blocks: list[tuple[int, list[str]]] = []
    stray: list[int] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip() == "[[rule]]":
            blocks.append((number, [line]))
        elif blocks:
            blocks[-1][1].append(line)
        elif line.strip() and not line.strip().startswith("#"):
            stray.append(number)
    return [(n, "\n".join(lines)) for n, lines in blocks], stray


def parse_rules(text: str, origin: str = "TRIGGER_RULES") -> ParseResult:
    """Every usable rule, and an error for each rule that is not (the others are unaffected)."""
    rules: list[Rule] = []
    errors: list[RuleError] = []
    blocks, stray = _blocks(text)
    for number in stray:
        errors.append(RuleError(f"line {number}", origin, "text outside a [[rule]] block"))
    names: set[str] = set()
    for number, block in blocks:
        source = f"{origin}, line {number}"
        label = f"line {number}"
        try:
            document = tomllib.loads(block)
        except tomllib.TOMLDecodeError as exc:
            errors.append(RuleError(label, source, f"syntax error: {exc}"))
            continue
        tables = document.get("rule")
        if set(document) != {"rule"} or not isinstance(tables, list) or len(tables) != 1:
            errors.append(RuleError(label, source, "each block must be exactly one [[rule]] table"))
            continue
        table = tables[0]
        if isinstance(table.get("name"), str):
            label = table["name"]
        try:
            rule = build_rule(table, source)
        except _Bad as exc:
            errors.append(RuleError(label, source, str(exc)))
            continue
        if rule.name in names:
            errors.append(RuleError(label, source, "a rule with this name is already defined"))
            continue
        names.add(rule.name)
        rules.append(rule)
    return ParseResult(rules, errors)


def reference_errors(rule: Rule, catalog: Catalog) -> list[str]:
    """What the rule names that does not exist in the account."""
    problems: list[str] = []
    stages = catalog.pipelines.get(rule.pipeline_id)
    if stages is None:
        problems.append(f"pipeline {rule.pipeline_id} does not exist")
    else:
        missing = [s for s in rule.stage_ids if s not in stages]
        if missing:
            problems.append(f"stage(s) {missing} are not in pipeline {rule.pipeline_id}")
        move = rule.action.move_to_stage_id
        if move is not None and move not in stages:
            problems.append(f"move_to_stage {move} is not in pipeline {rule.pipeline_id}")
    fields = rule.field_ids | {
        int(p.partition(":")[2])
        for template in (rule.action.task_text, rule.action.note or "")
        for p in template_placeholders(template)
        if ":" in p
    }
    unknown_fields = sorted(f for f in fields if f not in catalog.field_ids)
    if unknown_fields:
        problems.append(f"custom field(s) {unknown_fields} do not exist")
    pool = rule.action.pool
    if pool is not None and pool not in catalog.pools:
        problems.append(f"pool {pool!r} does not exist")
    if rule.action.task_type_id not in catalog.task_type_ids:
        problems.append(f"task type {rule.action.task_type_id} does not exist")
    return problems


def check_rules(text: str, catalog: Catalog | None = None, origin: str = "TRIGGER_RULES") -> ParseResult:
    """Syntax errors always; reference errors too when the account's ``catalog`` is given.

    The rules returned are the usable ones; each error names its rule and says why it is skipped.
    """
    parsed = parse_rules(text, origin)
    if catalog is None:
        return parsed
    usable: list[Rule] = []
    errors = list(parsed.errors)
    for rule in parsed.rules:
        problems = reference_errors(rule, catalog)
        if problems:
            errors.append(RuleError(rule.name, rule.source, "; ".join(problems)))
        else:
            usable.append(rule)
    return ParseResult(usable, errors)
