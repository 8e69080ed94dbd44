"""The app's handler registry: every feature registers its handlers on one router.

The worker (``amo-bridge worker``) loads :func:`build_router`. Each feature keeps its handlers
next to its code, in a ``Router`` of its own, and is included here; features that are not built
yet are simply absent. Handlers must be idempotent (see :mod:`amo_bridge.events.router`).

The journal handler runs for every kind: it journals each processed event (``event_journal``).
The distributor's and the hand-offs' flows follow (:mod:`webhooks.flows`).
"""

from __future__ import annotations

from amo_bridge.app_services import ServicesProvider, from_environment
from amo_bridge.events.model import Event
from amo_bridge.events.router import Router
from amo_bridge.inbox.context import HandlerContext
from amo_bridge.inbox.journal import record_processed

journal_router: Router[HandlerContext] = Router()


@journal_router.on("*", name="journal")
def journal(event: Event, ctx: HandlerContext) -> None:
    if not record_processed(
        ctx.store, event, dedupe_key=ctx.dedupe_key, inbox_id=ctx.inbox_id, now=ctx.clock.now()
    ):
        ctx.log.info("event %s was journalled before (a redelivery or a retry)", ctx.dedupe_key)


def build_router(services: ServicesProvider | None = None) -> Router[HandlerContext]:
    """The router the workers run: the journal first, then each feature's handlers.

    ``services`` builds the distributor and the hand-offs once per process (default: from the
    environment and the env file, on first use)."""
    from webhooks.flows import flows_router

    router: Router[HandlerContext] = Router()
    router.include(journal_router)
    router.include(flows_router(services or from_environment()))
    router.include(__import__("webhooks.kpi_flow", fromlist=["make_router"]).make_router())
    return router
