"""The app's handler registry: every feature registers its handlers on one router.

The worker (``amo-bridge worker``) loads :func:`build_router`. Each feature keeps its handlers
next to its code, in a ``Router`` of its own, and is included here; features that are not built
yet are simply absent. Handlers must be idempotent (see :mod:`amo_bridge.events.router`).

For now one handler is registered for every kind: it journals each processed event
(``event_journal``), so the pipeline receive -> inbox -> worker -> handler -> effect runs end to
end and shows what was processed.
"""

from __future__ import annotations

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


def build_router() -> Router[HandlerContext]:
    """The router the workers run: the journal first, then each feature's handlers."""
    router: Router[HandlerContext] = Router()
    router.include(journal_router)
    router.include(__import__("webhooks.kpi_flow", fromlist=["make_router"]).make_router())
    # Features register here as they land, e.g. (distribution, jobs, kpi):
    #   from amo_bridge.distribution.handlers import router as distribution_router
    #   router.include(distribution_router)
    return router
