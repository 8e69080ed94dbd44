"""Handlers register for event kinds on a :class:`Router`; the worker asks it who handles an event.

    router: Router[HandlerContext] = Router()

    @router.on("lead.status_changed", status_id=142)        # won, in any pipeline
    def move_to_retention(event: LeadEvent, ctx: HandlerContext) -> None: ...

    @router.on("lead.*", pipeline_id={3001, 3002})          # any lead kind in two pipelines
    def watch(event: Event, ctx: HandlerContext) -> None: ...

A filter names a field of the event (or of its raw item) and gives a value (equal, numbers and
their text compare equal), a set/list/tuple (any of) or a predicate ``callable(value) -> bool``.
Handlers run in registration order; the first one that raises stops the rest, and the whole event
is retried later. **Handlers must therefore be idempotent**: an event may reach a handler twice
(redelivery, a retry after another handler failed, a worker killed after the effect but before
the row was marked done).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from amo_bridge.events.kinds import KINDS, matches
from amo_bridge.events.model import Event

C = TypeVar("C")
Handler = Callable[[Any, C], None]
F = TypeVar("F", bound=Callable[..., None])


@dataclass(frozen=True)
class Registration(Generic[C]):
    pattern: str
    handler: Handler[C]
    filters: tuple[tuple[str, Any], ...]
    name: str

    def accepts(self, event: Event) -> bool:
        if not matches(self.pattern, event.kind):
            return False
        return all(_accepts(expected, event.attribute(field)) for field, expected in self.filters)


def _equal(expected: Any, actual: Any) -> bool:
    if expected == actual:
        return True
    return actual is not None and not isinstance(expected, bool) and str(expected) == str(actual)


def _accepts(expected: Any, actual: Any) -> bool:
    if callable(expected):
        return bool(expected(actual))
    if isinstance(expected, Collection) and not isinstance(expected, (str, bytes)):
        return any(_equal(option, actual) for option in expected)
    return _equal(expected, actual)


def _valid_pattern(pattern: str) -> bool:
    if pattern == "*" or pattern in KINDS:
        return True
    if pattern.endswith(".*"):
        return True
    return pattern.startswith(("unknown.", "catalog."))


class Router(Generic[C]):
    """A registry of handlers by event kind and filters. Pure: it calls handlers, nothing else."""

    def __init__(self) -> None:
        self._registrations: list[Registration[C]] = []

    def on(self, pattern: str, *, name: str | None = None, **filters: Any) -> Callable[[F], F]:
        """Register the decorated function for events of kind ``pattern`` that pass ``filters``."""
        if not _valid_pattern(pattern):
            raise ValueError(f"unknown event kind {pattern!r}; see amo_bridge.events.kinds.KINDS")

        def decorate(handler: F) -> F:
            self.add(pattern, handler, name=name, **filters)
            return handler

        return decorate

    def add(self, pattern: str, handler: Handler[C], *, name: str | None = None, **filters: Any) -> None:
        if not _valid_pattern(pattern):
            raise ValueError(f"unknown event kind {pattern!r}; see amo_bridge.events.kinds.KINDS")
        label = name or f"{getattr(handler, '__module__', '?')}.{getattr(handler, '__qualname__', handler)}"
        self._registrations.append(Registration(pattern, handler, tuple(sorted(filters.items())), label))

    def include(self, other: Router[C]) -> None:
        """Add every registration of ``other`` (each feature keeps its own router and is included)."""
        self._registrations.extend(other._registrations)

    def handlers_for(self, event: Event) -> list[Registration[C]]:
        return [r for r in self._registrations if r.accepts(event)]

    def dispatch(self, event: Event, context: C) -> list[str]:
        """Run every matching handler in order; return their names. Exceptions propagate."""
        names: list[str] = []
        for registration in self.handlers_for(event):
            registration.handler(event, context)
            names.append(registration.name)
        return names

    def __len__(self) -> int:
        return len(self._registrations)

    def describe(self) -> list[str]:
        out = []
        for r in self._registrations:
            shown = ", ".join(f"{k}={v!r}" for k, v in r.filters)
            out.append(f"{r.pattern}{' [' + shown + ']' if shown else ''} -> {r.name}")
        return out
