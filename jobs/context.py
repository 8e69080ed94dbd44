"""What a job receives: the run's identity, its dependencies, its counters and its output."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TextIO, TypeVar

from amo_bridge.clock import Clock
from amo_bridge.config import Settings
from amo_bridge.errors import AmoBridgeError
from amo_bridge.store import Store

if TYPE_CHECKING:
    from jobs.ports import Ports

T = TypeVar("T")


class LeaseLost(AmoBridgeError):
    """The run's lease passed to another process: stop before doing work twice."""

    retryable = True


@dataclass
class Counters:
    seen: int = 0
    changed: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


class Progress:
    """A progress line on a terminal (``job: 40/120``); silent when stderr is not a terminal."""

    def __init__(self, label: str, total: int | None, stream: TextIO | None = None) -> None:
        self.label = label
        self.total = total
        self.done = 0
        self._stream = stream if stream is not None else sys.stderr
        self._enabled = stream is not None or self._stream.isatty()
        self._last = -1.0

    def step(self, clock_now: float) -> None:
        self.done += 1
        if self._enabled and (clock_now - self._last >= 0.2 or self.done == self.total):
            self._last = clock_now
            total = f"/{self.total}" if self.total is not None else ""
            self._stream.write(f"\r{self.label}: {self.done}{total}")
            self._stream.flush()

    def close(self) -> None:
        if self._enabled and self.done:
            self._stream.write("\n")
            self._stream.flush()


@dataclass
class JobContext:
    """One run of one job. Jobs count what they see, change and fail; they never print directly."""

    job: str
    run_id: str
    store: Store
    settings: Settings
    clock: Clock
    ports: Ports
    dry_run: bool = False
    since: float | None = None
    # Whether the run with this id still holds the job's lease (a live run's claims are respected).
    is_live: Callable[[str], bool] = lambda _run_id: False
    # Raises LeaseLost when this run's lease has gone to another process.
    check_lease: Callable[[], None] = lambda: None
    echo: Callable[[str], None] = lambda _line: None
    progress_stream: TextIO | None = None
    counters: Counters = field(default_factory=Counters)
    planned: list[str] = field(default_factory=list)

    def plan(self, line: str) -> None:
        """A change a dry run would make (printed, never written)."""
        self.planned.append(line)
        self.echo(f"[dry-run] {line}")

    def saw(self, n: int = 1) -> None:
        self.counters.seen += n

    def changed(self, n: int = 1) -> None:
        self.counters.changed += n

    def failed(self, error: str) -> None:
        self.counters.failed += 1
        self.counters.errors.append(error)

    def track(self, items: Iterable[T], label: str, total: int | None = None) -> Iterator[T]:
        """Iterate ``items`` showing progress on a terminal, checking the lease between items."""
        if total is None and hasattr(items, "__len__"):
            total = len(items)  # type: ignore[arg-type]
        progress = Progress(f"{self.job} {label}", total, self.progress_stream)
        try:
            for item in items:
                self.check_lease()
                yield item
                progress.step(self.clock.monotonic())
        finally:
            progress.close()
