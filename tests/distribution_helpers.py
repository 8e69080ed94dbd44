"""Builders shared by the distribution tests."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from amo_bridge.clock import FakeClock
from amo_bridge.distribution.calendar import WorkCalendar
from amo_bridge.distribution.fake import FakeAmo, FakeLead
from amo_bridge.distribution.model import Arrival, Member, Pool, Trigger
from amo_bridge.distribution.service import DistributionService
from amo_bridge.store import Store

UNSORTED_PIPELINE = 7001
UTC = ZoneInfo("UTC")


def l1_pool(*user_ids: int, **options: object) -> Pool:
    members = tuple(Member(u, 1) for u in user_ids)
    return Pool("L1", Trigger("unsorted", UNSORTED_PIPELINE), members, **options)  # type: ignore[arg-type]


def unsorted_arrival(n: int, **extra: object) -> Arrival:
    return Arrival("unsorted", f"uid-{n}", UNSORTED_PIPELINE, lead_id=100_000 + n, **extra)  # type: ignore[arg-type]


def seed_unsorted(amo: FakeAmo, n: int, *, contacts: tuple[int, ...] = ()) -> None:
    amo.add_unsorted(f"uid-{n}", FakeLead(100_000 + n, pipeline_id=UNSORTED_PIPELINE, contact_ids=contacts))


def make_service(
    store: Store,
    pools: list[Pool],
    *,
    amo: FakeAmo | None = None,
    clock: FakeClock | None = None,
    calendar: WorkCalendar | None = None,
    max_attempts: int = 3,
) -> tuple[DistributionService, FakeAmo, FakeClock]:
    amo = amo or FakeAmo()
    clock = clock or FakeClock()
    service = DistributionService(
        store=store,
        pools=pools,
        calendar=calendar or WorkCalendar(UTC),
        port=amo,
        clock=clock,
        max_attempts=max_attempts,
    )
    return service, amo, clock
