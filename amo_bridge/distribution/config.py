"""The compact configuration syntax of pools, rules and working time, and its validation.

Every ``parse_*`` function turns one variable's text into frozen data or raises ``ValueError`` whose
text completes "expected ..." (the configuration loader adds the variable's name), so a typo stops
start-up with exit status 2 naming the variable. :func:`check_references` checks the result against
the live account (users, pipelines, statuses) given as plain lists. The syntax is documented with
worked examples in ``docs/distribution.md``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from amo_bridge.distribution.calendar import DateRange, Interval, WeeklyHours
from amo_bridge.distribution.model import (
    DEFAULT_LANE,
    ON_DUTY_LANE,
    AfterHours,
    Condition,
    Member,
    Pool,
    Rule,
    Trigger,
    format_members,
)

_NAME = r"[A-Za-z][A-Za-z0-9_-]{0,39}"
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SWITCH = {
    "on": True,
    "yes": True,
    "true": True,
    "1": True,
    "off": False,
    "no": False,
    "false": False,
    "0": False,
}
POOL_OPTIONS = (
    "cap",
    "quota",
    "after_hours",
    "on_duty",
    "sticky",
    "sla",
    "sla_max",
    "first_task",
    "move_related",
)


@dataclass(frozen=True)
class PoolSpec:
    """One pool as written in ``DISTRIBUTION_POOLS``: options not given fall back to the defaults."""

    name: str
    trigger: Trigger
    members: tuple[Member, ...]
    options: Mapping[str, object] = field(default_factory=dict)

    def __str__(self) -> str:
        text = f"{self.name} = {self.trigger} : {format_members(self.members)}"
        if self.options:
            text += " : " + " ".join(f"{k}={_show(v)}" for k, v in self.options.items())
        return text


def _show(value: object) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, tuple):
        return ",".join(map(str, value))
    return str(value)


class PoolList(tuple[PoolSpec, ...]):
    """The pools of ``DISTRIBUTION_POOLS``; prints in the configuration syntax."""

    __slots__ = ()

    def __str__(self) -> str:
        return " ; ".join(map(str, self)) or "(none)"


class RuleList(tuple["RuleSpec", ...]):
    """Routing rules; prints in the configuration syntax."""

    __slots__ = ()

    def __str__(self) -> str:
        return " ; ".join(map(str, self)) or "(none)"


@dataclass(frozen=True)
class RuleSpec:
    """One routing rule and the pool it belongs to."""

    pool: str
    rule: Rule
    origin: str  # "DISTRIBUTION_RULES" or "file.rules:12", for messages

    def __str__(self) -> str:
        return f"{self.pool}.{self.rule}"


@dataclass(frozen=True)
class PoolDefaults:
    """Options of every pool unless the pool overrides them."""

    cap: int = 0
    daily_quota: int = 0
    after_hours: AfterHours = field(default_factory=AfterHours)
    sticky: bool = True
    sla_minutes: int = 0
    sla_max_reassign: int = 2
    first_task_minutes: int = 15
    move_related: bool = True


def split_items(text: str, separators: str = ";\n") -> list[str]:
    """Split on any of ``separators`` outside double quotes; drop empty items and ``#`` comments."""
    items: list[str] = []
    current: list[str] = []
    quoted = False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char in separators and not quoted:
            items.append("".join(current))
            current = []
        else:
            current.append(char)
    if quoted:
        raise ValueError("a closing double quote")
    items.append("".join(current))
    return [item.strip() for item in items if item.strip() and not item.strip().startswith("#")]


def parse_members(text: str) -> tuple[Member, ...]:
    """``101,102*2,103``: amoCRM user ids, each with an optional weight (a whole number 1..1000)."""
    members: list[Member] = []
    for raw in text.split(","):
        match = re.fullmatch(r"\s*(\d{1,12})\s*(?:\*\s*(\d{1,4}))?\s*", raw)
        if not match:
            raise ValueError(
                f"members as user ids with optional weights like 101,102*2 (not {raw.strip()!r})"
            )
        weight = int(match.group(2) or 1)
        if not 1 <= weight <= 1000:
            raise ValueError(f"a weight from 1 to 1000 (not {weight} for user {match.group(1)})")
        members.append(Member(int(match.group(1)), weight))
    ids = [m.user_id for m in members]
    if len(set(ids)) != len(ids):
        raise ValueError("each user at most once in a member list")
    return tuple(members)


def parse_trigger(text: str) -> Trigger:
    """``unsorted 7001`` | ``status 7001/41002`` | ``pipeline 7003``."""
    match = re.fullmatch(r"\s*(unsorted|pipeline)\s+(\d+)\s*|\s*status\s+(\d+)\s*/\s*(\d+)\s*", text)
    if not match:
        raise ValueError(
            f"a trigger: unsorted PIPELINE, status PIPELINE/STATUS or pipeline PIPELINE (not {text!r})"
        )
    if match.group(1):
        if match.group(1) == "unsorted":
            return Trigger("unsorted", int(match.group(2)))
        return Trigger("pipeline", int(match.group(2)))
    return Trigger("status", int(match.group(3)), int(match.group(4)))


def _switch(key: str, value: str) -> bool:
    if value.lower() not in _SWITCH:
        raise ValueError(f"{key}=on or {key}=off (not {value!r})")
    return _SWITCH[value.lower()]


def _count(key: str, value: str) -> int:
    if not re.fullmatch(r"\d{1,6}", value):
        raise ValueError(f"{key}= a whole number, 0 or more (not {value!r})")
    return int(value)


def parse_option(key: str, value: str) -> object:
    if key in ("cap", "quota", "sla", "sla_max", "first_task"):
        return _count(key, value)
    if key in ("sticky", "move_related"):
        return _switch(key, value)
    if key == "after_hours":
        if value not in ("hold", "assign", "on_duty"):
            raise ValueError(f"after_hours=hold, assign or on_duty (not {value!r})")
        return value
    if key == "on_duty":
        return tuple(m.user_id for m in parse_members(value))
    raise ValueError(f"a pool option among {', '.join(POOL_OPTIONS)} (not {key!r})")


def parse_pool_name(text: str) -> str:
    """One pool's name, as in ``DISTRIBUTION_POOLS`` (whether such a pool exists is checked apart)."""
    name = text.strip()
    if not re.fullmatch(_NAME, name):
        raise ValueError(f"a pool name: a letter, then letters, digits, _ or - (not {text!r})")
    return name


def parse_pools(text: str) -> tuple[PoolSpec, ...]:
    """``NAME = TRIGGER : MEMBERS [: OPTIONS]``, pools separated by ``;`` or new lines."""
    specs: list[PoolSpec] = []
    for item in split_items(text):
        parts = [part.strip() for part in item.split(":")]
        head = re.fullmatch(rf"({_NAME})\s*=\s*(.+)", parts[0])
        if not head or len(parts) not in (2, 3):
            raise ValueError(f"pools as NAME = TRIGGER : MEMBERS [: OPTIONS] separated by ';' (not {item!r})")
        name = head.group(1)
        try:
            trigger = parse_trigger(head.group(2))
            members = parse_members(parts[1])
            options: dict[str, object] = {}
            for token in parts[2].split() if len(parts) == 3 else []:
                key, sep, value = token.partition("=")
                if not sep:
                    raise ValueError(f"options as key=value (not {token!r})")
                options[key] = parse_option(key, value)
        except ValueError as exc:
            raise ValueError(f"{exc} in pool {name}") from None
        if options.get("after_hours") == "on_duty" and not options.get("on_duty"):
            raise ValueError(f"on_duty=USER,... with after_hours=on_duty in pool {name}")
        if any(spec.name == name for spec in specs):
            raise ValueError(f"each pool name once (pool {name} appears twice)")
        specs.append(PoolSpec(name, trigger, members, options))
    return PoolList(specs)


_CONDITION = re.compile(
    r'\s*(?:(source|category|tag)\s*=\s*(?:"([^"]*)"|([^\s"]+))'
    r'|field\s+(\d+)\s*=\s*(?:"([^"]*)"|([^\s"]+)))\s*'
)


def parse_condition(text: str) -> Condition:
    match = _CONDITION.fullmatch(text)
    if not match:
        raise ValueError(
            "a condition source=NAME, category=forms|sip|chats|mail, tag=NAME or field ID=VALUE"
            f" (not {text.strip()!r})"
        )
    if match.group(1):
        value = match.group(2) if match.group(2) is not None else match.group(3)
        return Condition(match.group(1), value)  # type: ignore[arg-type]
    value = match.group(5) if match.group(5) is not None else match.group(6)
    return Condition("field", value, int(match.group(4)))


def parse_rule(text: str, index: int, origin: str) -> RuleSpec:
    """``POOL[.LANE]: CONDITION [and CONDITION ...] -> MEMBERS``."""
    match = re.fullmatch(rf"\s*({_NAME})(?:\.({_NAME}))?\s*:(.*)->(.*)", text, flags=re.DOTALL)
    if not match:
        raise ValueError(f"a rule POOL[.NAME]: CONDITION [and CONDITION] -> MEMBERS (not {text.strip()!r})")
    lane = match.group(2) or f"rule{index}"
    if lane in (DEFAULT_LANE, ON_DUTY_LANE):
        raise ValueError(f"a rule name other than {DEFAULT_LANE!r} and {ON_DUTY_LANE!r}")
    conditions = tuple(parse_condition(part) for part in re.split(r"\s+and\s+", match.group(3).strip()))
    return RuleSpec(match.group(1), Rule(lane, conditions, parse_members(match.group(4))), origin)


def _number_rules(items: Iterable[tuple[str, str]]) -> RuleList:
    counters: dict[str, int] = {}
    specs: list[RuleSpec] = []
    for text, origin in items:
        pool = text.split(":", 1)[0].split(".", 1)[0].strip()
        counters[pool] = counters.get(pool, 0) + 1
        try:
            specs.append(parse_rule(text, counters[pool], origin))
        except ValueError as exc:
            raise ValueError(f"{exc} at {origin}") from None
    return RuleList(specs)


def parse_rules(text: str) -> tuple[RuleSpec, ...]:
    """Rules separated by ``;`` or new lines (checked in order; the first match wins)."""
    return _number_rules((item, "DISTRIBUTION_RULES") for item in split_items(text))


def parse_rules_file(text: str) -> tuple[RuleSpec, ...]:
    """A file with one rule per line (``#`` starts a comment line): for long rule lists."""
    path = Path(text.strip())
    try:
        content = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"a readable rules file ({exc.strerror or exc.__class__.__name__})") from None
    lines = [
        (line.strip(), f"{path.name}:{number}")
        for number, line in enumerate(content.splitlines(), start=1)
        if line.strip() and not line.strip().startswith("#")
    ]
    return _number_rules(lines)


def _minute(text: str) -> int:
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", text)
    if not match or int(match.group(2)) > 59 or int(match.group(1)) > 24:
        raise ValueError(f"a time HH:MM (not {text!r})")
    minute = int(match.group(1)) * 60 + int(match.group(2))
    if minute > 1440:
        raise ValueError(f"a time up to 24:00 (not {text!r})")
    return minute


def _days(text: str) -> list[int]:
    text = text.lower()
    if text in ("daily", "*"):
        return list(range(7))
    first, _, last = text.partition("-")
    if first not in _DAYS or (last and last not in _DAYS):
        raise ValueError(f"days like mon, mon-fri or daily (not {text!r})")
    start = _DAYS.index(first)
    end = _DAYS.index(last) if last else start
    return list(range(start, end + 1)) if start <= end else [*range(start, 7), *range(0, end + 1)]


def parse_hours(text: str) -> WeeklyHours:
    """``mon-fri 09:00-18:00, sat 10:00-14:00``: intervals in the account's time zone."""
    hours: dict[int, list[Interval]] = {day: [] for day in range(7)}
    for item in split_items(text, ","):
        match = re.fullmatch(r"(\S+)\s+(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})", item)
        if not match:
            raise ValueError(f"hours like mon-fri 09:00-18:00, sat 10:00-14:00 (not {item!r})")
        start, end = _minute(match.group(2)), _minute(match.group(3))
        if start >= end:
            raise ValueError(
                f"an interval that ends after it starts (not {item!r}; split overnight shifts in two)"
            )
        for day in _days(match.group(1)):
            hours[day].append((start, end))
    return Hours(tuple(sorted(hours[day])) for day in range(7))


class Hours(tuple[tuple[Interval, ...], ...]):
    """Weekly hours (Monday first); prints as ``mon-fri 09:00-18:00, sat 10:00-14:00``."""

    __slots__ = ()

    def __str__(self) -> str:
        return format_hours(self)


def format_hours(hours: WeeklyHours) -> str:
    parts: list[str] = []
    day = 0
    while day < 7:
        last = day
        while last + 1 < 7 and hours[last + 1] == hours[day]:
            last += 1
        days = _DAYS[day] if last == day else f"{_DAYS[day]}-{_DAYS[last]}"
        parts += [
            f"{days} {start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}"
            for start, end in hours[day]
        ]
        day = last + 1
    return ", ".join(parts) or "(never)"


class MemberHours(tuple[tuple[int, WeeklyHours], ...]):
    __slots__ = ()

    def __str__(self) -> str:
        return "; ".join(f"{user}: {format_hours(hours)}" for user, hours in self) or "(none)"


class Vacations(tuple[tuple[int, tuple[DateRange, ...]], ...]):
    __slots__ = ()

    def __str__(self) -> str:
        return "; ".join(f"{user}: {format_ranges(ranges)}" for user, ranges in self) or "(none)"


class DaysOff(frozenset[dt.date]):
    __slots__ = ()

    def __str__(self) -> str:
        days = sorted(self)
        ranges: list[DateRange] = []
        for day in days:
            if ranges and day == ranges[-1][1] + dt.timedelta(days=1):
                ranges[-1] = (ranges[-1][0], day)
            else:
                ranges.append((day, day))
        return format_ranges(tuple(ranges)) or "(none)"


def format_ranges(ranges: tuple[DateRange, ...]) -> str:
    return ", ".join(str(a) if a == b else f"{a}..{b}" for a, b in ranges)


def _per_member(text: str, what: str) -> list[tuple[int, str]]:
    result: list[tuple[int, str]] = []
    for item in split_items(text):
        match = re.fullmatch(r"(\d{1,12})\s*:\s*(.+)", item, flags=re.DOTALL)
        if not match:
            raise ValueError(f"USER: {what} entries separated by ';' (not {item!r})")
        result.append((int(match.group(1)), match.group(2)))
    return result


def parse_member_hours(text: str) -> MemberHours:
    """``101: mon-thu 10:00-19:00; 102: sat-sun 09:00-21:00``: members' own hours."""
    result: dict[int, WeeklyHours] = {}
    for user_id, hours in _per_member(text, "hours"):
        try:
            result[user_id] = parse_hours(hours)
        except ValueError as exc:
            raise ValueError(f"{exc} for user {user_id}") from None
    return MemberHours(sorted(result.items()))


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"dates as YYYY-MM-DD (not {text.strip()!r})") from None


def parse_date_ranges(text: str) -> tuple[DateRange, ...]:
    """``2026-01-01..2026-01-08, 2026-03-09``: single dates or inclusive ranges."""
    ranges: list[DateRange] = []
    for item in split_items(text, ",;\n"):
        first, sep, last = item.partition("..")
        start = _date(first)
        end = _date(last) if sep else start
        if end < start:
            raise ValueError(f"a range that ends on or after its start (not {item!r})")
        ranges.append((start, end))
    return tuple(ranges)


def parse_days_off(text: str) -> DaysOff:
    days: set[dt.date] = set()
    for start, end in parse_date_ranges(text):
        days |= {start + dt.timedelta(days=n) for n in range((end - start).days + 1)}
    return DaysOff(days)


def parse_vacations(text: str) -> Vacations:
    """``101: 2026-07-01..2026-07-14; 102: 2026-08-03``."""
    result: dict[int, tuple[DateRange, ...]] = {}
    for user_id, dates in _per_member(text, "dates"):
        try:
            result[user_id] = result.get(user_id, ()) + parse_date_ranges(dates)
        except ValueError as exc:
            raise ValueError(f"{exc} for user {user_id}") from None
    return Vacations(sorted(result.items()))


def parse_after_hours(text: str) -> AfterHours:
    """``hold`` | ``assign`` | ``on_duty:101,102``."""
    policy, _, users = text.strip().partition(":")
    if policy == "on_duty" and users:
        return AfterHours("on_duty", tuple(m.user_id for m in parse_members(users)))
    if policy in ("hold", "assign") and not users:
        return AfterHours(policy)  # type: ignore[arg-type]
    raise ValueError("hold, assign or on_duty:USER,USER")


def build_pools(
    specs: Sequence[PoolSpec], rules: Sequence[RuleSpec], defaults: PoolDefaults
) -> tuple[Pool, ...]:
    """Pools with their rules and every option resolved (pool option, else the default)."""
    pools: list[Pool] = []
    for spec in specs:
        opts = spec.options
        after_hours = defaults.after_hours
        if "after_hours" in opts or "on_duty" in opts:
            policy = str(opts.get("after_hours", after_hours.policy))
            on_duty = opts.get("on_duty", after_hours.on_duty)
            assert isinstance(on_duty, tuple)
            after_hours = replace(after_hours, policy=policy, on_duty=on_duty)  # type: ignore[arg-type]
        pools.append(
            Pool(
                name=spec.name,
                trigger=spec.trigger,
                members=spec.members,
                rules=tuple(r.rule for r in rules if r.pool == spec.name),
                cap=_int(opts.get("cap", defaults.cap)),
                daily_quota=_int(opts.get("quota", defaults.daily_quota)),
                after_hours=after_hours,
                sticky=bool(opts.get("sticky", defaults.sticky)),
                sla_minutes=_int(opts.get("sla", defaults.sla_minutes)),
                sla_max_reassign=_int(opts.get("sla_max", defaults.sla_max_reassign)),
                first_task_minutes=_int(opts.get("first_task", defaults.first_task_minutes)),
                move_related=bool(opts.get("move_related", defaults.move_related)),
            )
        )
    return tuple(pools)


def _int(value: object) -> int:
    assert isinstance(value, int)
    return value


def cross_problems(specs: Sequence[PoolSpec], rules: Sequence[RuleSpec]) -> list[tuple[str, str]]:
    """Problems between variables: (variable, what was expected)."""
    problems: list[tuple[str, str]] = []
    names = {spec.name for spec in specs}
    seen: set[tuple[str, str]] = set()
    for spec in rules:
        variable = "DISTRIBUTION_RULES" if spec.origin == "DISTRIBUTION_RULES" else "DISTRIBUTION_RULES_FILE"
        if spec.pool not in names:
            problems.append(
                (variable, f"a pool named in DISTRIBUTION_POOLS (rule {spec.rule} at {spec.origin})")
            )
        key = (spec.pool, spec.rule.lane)
        if key in seen:
            problems.append((variable, f"each rule name once per pool ({spec.pool}.{spec.rule.lane} twice)"))
        seen.add(key)
    for first in specs:
        for second in specs:
            if first.name < second.name and first.trigger == second.trigger:
                problems.append(
                    ("DISTRIBUTION_POOLS", f"one pool per trigger ({first.name} and {second.name} share one)")
                )
    return problems


# ---------------------------------------------------------------------------------------------
# Checking the configuration against the live account (fed by the API client's lists)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AccountUser:
    id: int
    name: str = ""
    is_active: bool = True


@dataclass(frozen=True)
class AccountStatus:
    id: int
    name: str = ""
    type: int = 0  # 1 = the unsorted stage


@dataclass(frozen=True)
class AccountPipeline:
    id: int
    name: str = ""
    statuses: tuple[AccountStatus, ...] = ()


def check_references(
    pools: Sequence[Pool], users: Sequence[AccountUser], pipelines: Sequence[AccountPipeline]
) -> list[str]:
    """Every reference to a user, pipeline or status the account does not have (or that is unusable)."""
    problems: list[str] = []
    by_user = {u.id: u for u in users}
    by_pipeline = {p.id: p for p in pipelines}
    for pool in pools:
        where = f"pool {pool.name}"
        pipeline = by_pipeline.get(pool.trigger.pipeline_id)
        if pipeline is None:
            problems.append(f"{where}: unknown pipeline {pool.trigger.pipeline_id}")
        elif pool.trigger.kind == "status":
            status = next((s for s in pipeline.statuses if s.id == pool.trigger.status_id), None)
            if status is None:
                problems.append(
                    f"{where}: pipeline {pipeline.id} ({pipeline.name})"
                    f" has no status {pool.trigger.status_id}"
                )
            elif status.type == 1:
                problems.append(
                    f"{where}: status {status.id} is the unsorted stage; use 'unsorted {pipeline.id}'"
                )
            elif status.id in (142, 143):
                problems.append(
                    f"{where}: status {status.id} is a closed stage; leads there are not distributed"
                )
        elif pool.trigger.kind == "unsorted" and not any(s.type == 1 for s in pipeline.statuses):
            problems.append(f"{where}: pipeline {pipeline.id} ({pipeline.name}) has no unsorted stage")
        for user_id in sorted(pool.user_ids):
            user = by_user.get(user_id)
            if user is None:
                problems.append(f"{where}: unknown user {user_id}")
            elif not user.is_active:
                problems.append(f"{where}: user {user_id} ({user.name}) is inactive in amoCRM")
    return problems
