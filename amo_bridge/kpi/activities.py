"""KPI configuration as data: levels, targets, activity mapping, reported fields.

Each parser turns one environment value into a frozen value or raises ``ValueError`` whose text
completes "expected ..." (the config loader names the variable). No I/O here.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class FrozenMap(Mapping[K, V], Generic[K, V]):
    """A read-only, hashable mapping: a valid default for a frozen settings field."""

    def __init__(self, items: Mapping[K, V] | Iterable[tuple[K, V]] = ()) -> None:
        self._data: dict[K, V] = dict(items)

    def __getitem__(self, key: K) -> V:
        return self._data[key]

    def __iter__(self) -> Iterator[K]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __hash__(self) -> int:
        return hash(tuple(sorted(((repr(k), repr(v)) for k, v in self._data.items()))))

    def __repr__(self) -> str:
        return f"FrozenMap({self._data!r})"


# Metric names: the columns of reports, the keys of targets and the fields of the amoCRM catalog.
METRICS: tuple[str, ...] = (
    "calls",
    "calls_in",
    "calls_out",
    "active_days",
    "calls_per_day",
    "leads_taken",
    "qualified",
    "conversion_qualified",
    "sales",
    "revenue",
    "avg_check",
    "upsells",
    "churned",
    "proposal",
    "invoice",
    "contract",
    "payment",
    "feedback_call",
    "repeat_call",
    "first_response_median",
    "sla_misses",
    "tasks_overdue",
)

# Activities that configuration maps onto amoCRM data (KPI_ACTIVITIES).
ACTIVITIES: tuple[str, ...] = ("proposal", "invoice", "contract", "payment", "feedback_call", "repeat_call")

# Numbers an employee may report by hand in a custom field (KPI_REPORTED_FIELDS).
REPORTABLE: tuple[str, ...] = ("calls", *ACTIVITIES, "sales")

MATCHER_KINDS = ("task", "status", "note", "call")


@dataclass(frozen=True)
class Matcher:
    """One way an activity shows in the history.

    ``task:<type id>`` a completed task of that type; ``status:<status id>`` a move into that stage;
    ``note:<note type>`` a note of that type; ``call:in|out|any`` a call; ``call:repeat`` an outgoing
    call on a lead that already had a call before.
    """

    kind: str
    value: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"


@dataclass(frozen=True)
class LevelMembers:
    """Who belongs to a level: amoCRM group ids and/or explicit user ids."""

    groups: frozenset[int] = frozenset()
    users: frozenset[int] = frozenset()

    def contains(self, user_id: int, group_id: int | None) -> bool:
        return user_id in self.users or (group_id is not None and group_id in self.groups)


@dataclass(frozen=True)
class ActivityMap:
    """Which amoCRM data mean which activity (``KPI_ACTIVITIES``)."""

    matchers: FrozenMap[str, tuple[Matcher, ...]] = field(default_factory=FrozenMap)

    def of(self, activity: str) -> tuple[Matcher, ...]:
        return self.matchers.get(activity, ())


def _pairs(value: str, what: str) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for chunk in value.split(";"):
        chunk = chunk.strip()
        if not chunk:
            continue
        name, sep, rest = chunk.partition("=")
        if not sep or not name.strip() or not rest.strip():
            raise ValueError(what)
        pairs.append((name.strip().lower(), rest.strip()))
    if not pairs:
        raise ValueError(what)
    return pairs


def _ids(text: str, what: str) -> frozenset[int]:
    try:
        ids = frozenset(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise ValueError(what) from None
    if not ids or min(ids) <= 0:
        raise ValueError(what)
    return ids


def parse_levels(value: str) -> FrozenMap[str, LevelMembers]:
    """``l1=group:101;l2=group:102,103;l3=users:7,8`` (``group:`` and ``users:`` may be combined
    with ``+``: ``l3=group:104+users:9``)."""
    what = "levels like l1=group:101;l2=group:102;l3=users:7,8"
    levels: dict[str, LevelMembers] = {}
    for name, rest in _pairs(value, what):
        if not name.replace("_", "").isalnum():
            raise ValueError(what)
        groups: frozenset[int] = frozenset()
        users: frozenset[int] = frozenset()
        for part in rest.split("+"):
            kind, sep, ids = part.strip().partition(":")
            if not sep:
                raise ValueError(what)
            if kind in ("group", "groups"):
                groups |= _ids(ids, what)
            elif kind in ("user", "users"):
                users |= _ids(ids, what)
            else:
                raise ValueError(what)
        if name in levels:
            raise ValueError(what + f" (level {name} given twice)")
        levels[name] = LevelMembers(groups, users)
    return FrozenMap(levels)


def parse_targets(value: str) -> FrozenMap[tuple[str, str], float]:
    """``l1.calls_per_day=40;l2.sales=20`` -> {(level, metric): target}."""
    what = "targets like l1.calls_per_day=40;l2.sales=20 (metrics: " + ", ".join(METRICS) + ")"
    targets: dict[tuple[str, str], float] = {}
    for name, rest in _pairs(value, what):
        level, dot, metric = name.partition(".")
        if not dot or not level or metric not in METRICS:
            raise ValueError(what)
        try:
            target = float(rest)
        except ValueError:
            raise ValueError(what) from None
        if not target > 0 or target == float("inf"):
            raise ValueError(what + " with targets greater than 0")
        targets[(level, metric)] = target
    return FrozenMap(targets)


def parse_activities(value: str) -> ActivityMap:
    """``proposal=task:3,note:proposal;invoice=status:555;repeat_call=call:repeat``."""
    what = (
        "activities like proposal=task:3,note:proposal;payment=status:142 (activities: "
        + ", ".join(ACTIVITIES)
        + "; matchers: task:<type id>, status:<status id>, note:<type>, call:in|out|any|repeat)"
    )
    matchers: dict[str, tuple[Matcher, ...]] = {}
    for name, rest in _pairs(value, what):
        if name not in ACTIVITIES:
            raise ValueError(what)
        found: list[Matcher] = []
        for part in rest.split(","):
            kind, sep, arg = part.strip().partition(":")
            kind, arg = kind.strip().lower(), arg.strip()
            if not sep or kind not in MATCHER_KINDS or not arg:
                raise ValueError(what)
            if kind in ("task", "status") and not (arg.isdigit() and int(arg) > 0):
                raise ValueError(what)
            if kind == "call" and arg not in ("in", "out", "any", "repeat"):
                raise ValueError(what)
            found.append(Matcher(kind, arg))
        matchers[name] = matchers.get(name, ()) + tuple(found)
    return ActivityMap(FrozenMap(matchers))


def parse_reported_fields(value: str) -> FrozenMap[int, str]:
    """``calls=512301;proposal=512302`` -> {custom field id: reported number}."""
    what = "reported fields like calls=512301;proposal=512302 (numbers: " + ", ".join(REPORTABLE) + ")"
    fields: dict[int, str] = {}
    for name, rest in _pairs(value, what):
        if name not in REPORTABLE or not rest.isdigit() or int(rest) <= 0:
            raise ValueError(what)
        fields[int(rest)] = name
    return FrozenMap(fields)


def parse_id_set(value: str) -> frozenset[int]:
    return _ids(value, "comma-separated amoCRM ids greater than 0, e.g. 555,556")
