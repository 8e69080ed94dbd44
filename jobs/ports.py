"""The ports a job talks to amoCRM through, gathered in one object the runner hands to every run.

Each port is a small ``Protocol`` defined next to the pure core that uses it
(:mod:`amo_bridge.retention.port`, :mod:`amo_bridge.triggers.port`). Adapters over the amoCRM API
client implement them; tests pass in-memory fakes. A job asks for what it needs with
:meth:`Ports.need`, which fails with :class:`~amo_bridge.errors.NotBuiltYet` while an adapter is
missing, so a job never pretends to work.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from amo_bridge.errors import NotBuiltYet
from amo_bridge.retention.port import AccountManagerChooser, RetentionPort
from amo_bridge.triggers.port import PoolChooser, TriggerPort

T = TypeVar("T")


@dataclass(frozen=True)
class Ports:
    retention: RetentionPort | None = None
    account_managers: AccountManagerChooser | None = None
    triggers: TriggerPort | None = None
    pools: PoolChooser | None = None

    def need(self, port: T | None, what: str, job: str) -> T:
        if port is None:
            raise NotBuiltYet(f"{job}: {what} is not built yet (it plugs in over the amoCRM API client)")
        return port


def production_ports() -> Ports:
    """The adapters over the real amoCRM API client.

    Not built yet: they are thin classes over ``amo_bridge.api`` implementing the ports above. Until
    they exist every port is missing and the jobs that need one exit with "not built yet".
    """
    return Ports()
