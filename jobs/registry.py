"""The job registry: every job is a function registered with :func:`job`, never dispatched by hand.

    @job("won_to_retention", schedule="SCHEDULE_WON_TO_RETENTION", description="...")
    def won_to_retention(ctx: JobContext) -> None: ...

A job declares its name, the settings variable that holds its schedule (a cron line, an interval or
``off``; see :mod:`amo_bridge.schedules`) and its options. The scheduler and ``amo-bridge run`` both
read the same registry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from amo_bridge.errors import AmoBridgeError

if TYPE_CHECKING:
    from jobs.context import JobContext

JobFunc = Callable[["JobContext"], None]


class UnknownJob(AmoBridgeError):
    """No job is registered under that name."""


@dataclass(frozen=True)
class JobSpec:
    name: str
    func: JobFunc
    schedule_variable: str
    description: str
    # Take the job's lease (``job:<name>``) so that one run at a time exists across hosts.
    exclusive: bool = True
    # Lease of a run (renewed every third of it while the run lasts).
    lease_seconds: float = 60.0

    @property
    def lock_name(self) -> str:
        return f"job:{self.name}"


class Registry:
    def __init__(self) -> None:
        self._jobs: dict[str, JobSpec] = {}

    def job(
        self,
        name: str,
        *,
        schedule: str,
        description: str,
        exclusive: bool = True,
        lease_seconds: float = 60.0,
    ) -> Callable[[JobFunc], JobFunc]:
        def register(func: JobFunc) -> JobFunc:
            if name in self._jobs and self._jobs[name].func is not func:
                raise ValueError(f"job {name!r} is registered twice")
            self._jobs[name] = JobSpec(name, func, schedule, description, exclusive, lease_seconds)
            return func

        return register

    def get(self, name: str) -> JobSpec:
        try:
            return self._jobs[name]
        except KeyError:
            known = ", ".join(sorted(self._jobs)) or "(none)"
            raise UnknownJob(f"no job named {name!r}; known jobs: {known}") from None

    def names(self) -> list[str]:
        return sorted(self._jobs)

    def __iter__(self) -> Iterator[JobSpec]:
        return iter(sorted(self._jobs.values(), key=lambda spec: spec.name))

    def __contains__(self, name: object) -> bool:
        return name in self._jobs


REGISTRY = Registry()
job = REGISTRY.job


def load_builtin_jobs() -> Registry:
    """Import the modules that register amo-bridge's own jobs; return the registry."""
    import jobs.distribution_jobs
    import jobs.kpi
    import jobs.retention
    import jobs.triggers  # noqa: F401

    return REGISTRY
