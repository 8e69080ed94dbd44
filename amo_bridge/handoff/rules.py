"""Hand-off rules: a TOML file named by ``HANDOFF_RULES_FILE``, parsed and validated at start-up.

Example (the three-level department; ids are the account's pipeline and status ids)::

    [[outcome]]
    name = "qualified"                       # L1 -> L2
    when = { pipeline = 1001, status = 2001 }
    move_to = { pipeline = 2000, status = "first" }
    assign_pool = "l2"
    task = { text = "Qualified lead: call the client", due_minutes = 30 }
    note = "Qualified by L1 manager {responsible_user_id}"

    [[outcome]]
    name = "warm-up"
    when = { pipeline = 1001, status = 2002 }
    move_to = { pipeline = 3000, status = "first" }

    [[outcome]]
    name = "non-target"
    when = { pipeline = 1001, status = 2003 }
    move_to = { pipeline = 1001, status = 143 }
    loss_reason_id = 55

    [duplicates]
    mode = "link"                            # or "accept_to_owner"
    tag = "duplicate"
    task = { text = "The client wrote again", due_minutes = 15 }

    [warmup_return]
    pipeline = 3000
    on = ["incoming_call", "message", "form", "stage"]
    stage = 3005                             # the stage marketing sets when the client is back
    target = "lead_exchange"                 # or "last_closer"
    move_to = { pipeline = 1001, status = "first" }
    task = { text = "A warm-up client is back", due_minutes = 15 }

    [loop]
    max_moves_per_day = 4
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from amo_bridge.handoff.model import CreateTask, MoveLead, StatusRef

ACTIVITY_KINDS = ("incoming_call", "message", "form", "stage")


class RulesError(ValueError):
    """A hand-off rules file that cannot be used; the text says where and what was expected."""


@dataclass(frozen=True)
class OutcomeRule:
    name: str
    pipeline_id: int
    status_id: int
    move_to: MoveLead | None = None
    assign_pool: str | None = None
    assign_user: int | None = None
    tags: tuple[str, ...] = ()
    note: str | None = None
    task: CreateTask | None = None


@dataclass(frozen=True)
class DuplicatePolicy:
    mode: Literal["link", "accept_to_owner", "off"] = "link"
    tag: str | None = "duplicate"
    task: CreateTask | None = None
    match: tuple[str, ...] = ("phone", "email", "company")


@dataclass(frozen=True)
class WarmupReturn:
    pipeline_id: int
    on: tuple[str, ...]
    move_to: MoveLead
    stage_id: int | None = None
    target: Literal["lead_exchange", "last_closer"] = "lead_exchange"
    task: CreateTask | None = None


@dataclass(frozen=True)
class HandoffRules:
    outcomes: tuple[OutcomeRule, ...] = ()
    duplicates: DuplicatePolicy = field(default_factory=DuplicatePolicy)
    warmup_return: WarmupReturn | None = None
    max_moves_per_day: int = 4
    source: str = "(none)"

    def outcome_for(self, pipeline_id: int, status_id: int) -> OutcomeRule | None:
        for rule in self.outcomes:
            if rule.pipeline_id == pipeline_id and rule.status_id == status_id:
                return rule
        return None

    def __str__(self) -> str:
        return f"{self.source} ({len(self.outcomes)} outcome rule(s))"


def load_rules_file(path: str | Path) -> HandoffRules:
    """Read and validate a rules file; raise :class:`RulesError` naming the bad key."""
    file = Path(path)
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RulesError(f"a readable TOML hand-off rules file ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(f"valid TOML ({exc})") from None
    return parse_rules(data, source=str(file))


def parse_rules(data: dict[str, Any], *, source: str = "(inline)") -> HandoffRules:
    _only(data, {"outcome", "duplicates", "warmup_return", "loop"}, "the top level")
    outcomes = tuple(_outcome(item, i) for i, item in enumerate(_list(data.get("outcome", []), "outcome")))
    seen: dict[tuple[int, int], str] = {}
    for rule in outcomes:
        key = (rule.pipeline_id, rule.status_id)
        if key in seen:
            raise RulesError(f"one rule per stage: outcomes {seen[key]!r} and {rule.name!r} share {key}")
        seen[key] = rule.name
    duplicates = _duplicates(_table(data.get("duplicates", {}), "duplicates"))
    warmup = data.get("warmup_return")
    loop = _table(data.get("loop", {}), "loop")
    _only(loop, {"max_moves_per_day"}, "[loop]")
    max_moves = _int(loop.get("max_moves_per_day", 4), "loop.max_moves_per_day", minimum=1)
    return HandoffRules(
        outcomes=outcomes,
        duplicates=duplicates,
        warmup_return=_warmup(_table(warmup, "warmup_return")) if warmup is not None else None,
        max_moves_per_day=max_moves,
        source=source,
    )


def _outcome(item: Any, index: int) -> OutcomeRule:
    where = f"outcome[{index}]"
    table = _table(item, where)
    _only(
        table,
        {"name", "when", "move_to", "assign_pool", "assign_user", "tags", "note", "task", "loss_reason_id"},
        where,
    )
    name = _str(table.get("name", f"outcome-{index}"), f"{where}.name")
    when = _table(table.get("when"), f"{where}.when")
    _only(when, {"pipeline", "status"}, f"{where}.when")
    move_to = None
    if "move_to" in table:
        move_to = _move(table["move_to"], f"{where}.move_to", table.get("loss_reason_id"))
    elif "loss_reason_id" in table:
        raise RulesError(f"{where}.loss_reason_id needs move_to with status 143")
    if "assign_pool" in table and "assign_user" in table:
        raise RulesError(f"{where}: assign_pool or assign_user, not both")
    return OutcomeRule(
        name=name,
        pipeline_id=_int(when.get("pipeline"), f"{where}.when.pipeline"),
        status_id=_int(when.get("status"), f"{where}.when.status"),
        move_to=move_to,
        assign_pool=_str(table["assign_pool"], f"{where}.assign_pool") if "assign_pool" in table else None,
        assign_user=_int(table["assign_user"], f"{where}.assign_user") if "assign_user" in table else None,
        tags=tuple(_str(t, f"{where}.tags") for t in _list(table.get("tags", []), f"{where}.tags")),
        note=_str(table["note"], f"{where}.note") if "note" in table else None,
        task=_task(table["task"], f"{where}.task") if "task" in table else None,
    )


def _duplicates(table: dict[str, Any]) -> DuplicatePolicy:
    _only(table, {"mode", "tag", "task", "match"}, "[duplicates]")
    mode = table.get("mode", "link")
    if mode not in ("link", "accept_to_owner", "off"):
        raise RulesError("duplicates.mode: one of link, accept_to_owner, off")
    match = tuple(
        _str(m, "duplicates.match")
        for m in _list(table.get("match", ["phone", "email", "company"]), "duplicates.match")
    )
    unknown = set(match) - {"phone", "email", "company"}
    if unknown:
        raise RulesError(f"duplicates.match: phone, email and/or company, not {sorted(unknown)}")
    return DuplicatePolicy(
        mode=mode,
        tag=_str(table["tag"], "duplicates.tag") if table.get("tag") else None,
        task=_task(table["task"], "duplicates.task") if "task" in table else None,
        match=match,
    )


def _warmup(table: dict[str, Any]) -> WarmupReturn:
    _only(table, {"pipeline", "on", "stage", "target", "move_to", "task"}, "[warmup_return]")
    on = tuple(
        _str(k, "warmup_return.on") for k in _list(table.get("on", list(ACTIVITY_KINDS)), "warmup_return.on")
    )
    unknown = set(on) - set(ACTIVITY_KINDS)
    if unknown:
        raise RulesError(f"warmup_return.on: some of {', '.join(ACTIVITY_KINDS)}, not {sorted(unknown)}")
    target = table.get("target", "lead_exchange")
    if target not in ("lead_exchange", "last_closer"):
        raise RulesError("warmup_return.target: lead_exchange or last_closer")
    if "move_to" not in table:
        raise RulesError(
            'warmup_return.move_to: where a returning lead goes, e.g. { pipeline = 1001, status = "first" }'
        )
    return WarmupReturn(
        pipeline_id=_int(table.get("pipeline"), "warmup_return.pipeline"),
        on=on,
        move_to=_move(table["move_to"], "warmup_return.move_to", None),
        stage_id=_int(table["stage"], "warmup_return.stage") if "stage" in table else None,
        target=target,
        task=_task(table["task"], "warmup_return.task") if "task" in table else None,
    )


def _move(value: Any, where: str, loss_reason: Any) -> MoveLead:
    table = _table(value, where)
    _only(table, {"pipeline", "status"}, where)
    status_raw = table.get("status", "first")
    status: StatusRef = "first" if status_raw == "first" else _int(status_raw, f"{where}.status")
    loss_reason_id = None
    if loss_reason is not None:
        if status != 143:
            raise RulesError(f"{where}: loss_reason_id only goes with status 143 (lost)")
        loss_reason_id = _int(loss_reason, "loss_reason_id")
    return MoveLead(
        pipeline_id=_int(table.get("pipeline"), f"{where}.pipeline"),
        status=status,
        loss_reason_id=loss_reason_id,
    )


def _task(value: Any, where: str) -> CreateTask:
    table = _table(value, where)
    _only(table, {"text", "due_minutes", "type"}, where)
    return CreateTask(
        text=_str(table.get("text"), f"{where}.text"),
        due_minutes=_int(table.get("due_minutes", 60), f"{where}.due_minutes", minimum=0),
        task_type_id=_int(table.get("type", 1), f"{where}.type"),
    )


def _only(table: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = set(table) - allowed
    if unknown:
        raise RulesError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(allowed)}")


def _table(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise RulesError(f"{where}: a table, e.g. {{ pipeline = 1001, status = 2001 }}")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise RulesError(f"{where}: a list")
    return value


def _int(value: Any, where: str, *, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise RulesError(f"{where}: a whole number >= {minimum}")
    return value


def _str(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise RulesError(f"{where}: a non-empty string")
    return value
