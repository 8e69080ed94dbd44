"""The webhook flows of the distributor and the hand-offs (edge: events in, services called).

- ``unsorted.added``, and ``lead.added`` in a pool's trigger stage: the hand-off duplicate check
  first (client keys from the entry's contacts, read fresh from the API), then, if the client has no
  live deal, the distributor.
- ``lead.status_changed``: the outcome rule of the stage the lead is in *now* (a stale event whose
  stage the lead has left is not acted on), then the episodes of pools the lead has left are closed
  (won, lost, another pipeline), the lead is distributed if it now sits in a pool's trigger, and a
  stage change in the warm-up pipeline may bring the lead back.
- notes, completed tasks and messages: the assignee acting stops the SLA clock
  (``record_activity``); an incoming call or message from a warm-up client brings the lead back.

Every handler is idempotent (the services dedupe by episode and by hand-off key, and the writes
are idempotent) and reads the entity from the API before deciding, because webhooks are stale and
arrive out of order. Without configuration the handlers do nothing (``Services.missing``).

An arrival is the hot path (the goal is an assigned lead within a second, under amoCRM's 7
requests/second), so its handlers spend calls sparingly: they run inside the client's
``read_cache`` (the duplicate check and the distributor's stickiness share one read of the
contacts with their leads), a new client's own lead is not read back, the accepted entry's links
come from the entry, and a ``lead.added`` in a stage no pool takes is dropped unread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from amo_bridge.api.errors import NotFound
from amo_bridge.api.models import Lead, Pipeline
from amo_bridge.app_services import Services, ServicesProvider
from amo_bridge.distribution.amocrm import UNSORTED_KEY
from amo_bridge.distribution.arrivals import arrival_from_lead, arrival_from_unsorted
from amo_bridge.distribution.model import Arrival
from amo_bridge.events.model import LeadEvent, MessageEvent, TalkEvent, TaskEvent, UnsortedEvent
from amo_bridge.events.router import Router
from amo_bridge.handoff.model import Activity, ActivityKind, ClientKeys, NewEntry, StageChange
from amo_bridge.inbox.context import HandlerContext

WON, LOST = 142, 143
INCOMING_CALL_NOTE = 10
OUTGOING_CALL_NOTE = 11


class Flows:
    """The handlers' logic over :class:`Services` (one instance per process)."""

    def __init__(self, provider: ServicesProvider) -> None:
        self._provider = provider
        self._pipelines: dict[int, Pipeline] = {}
        self._lock = threading.Lock()

    @property
    def services(self) -> Services:
        return self._provider.get()

    # -- reads --------------------------------------------------------------------------------

    def _lead(self, services: Services, lead_id: int) -> Lead | None:
        assert services.client is not None
        try:
            lead = services.client.leads.get(lead_id, with_=("contacts",))
        except NotFound:
            return None
        return None if lead.is_deleted or lead.id == 0 else lead

    def _is_unsorted_stage(self, services: Services, pipeline_id: int, status_id: int) -> bool:
        assert services.client is not None
        with self._lock:
            if pipeline_id not in self._pipelines:
                self._pipelines = {p.id: p for p in services.client.pipelines.list()}
            pipeline = self._pipelines.get(pipeline_id)
        status = pipeline.status(status_id) if pipeline else None
        return bool(status and status.is_unsorted)

    def _keys(
        self, services: Services, contact_ids: tuple[int, ...], company_ids: tuple[int, ...]
    ) -> ClientKeys:
        assert services.client is not None
        assert services.handoff_port is not None
        company_id = company_ids[0] if company_ids else None
        phones: set[str] = set()
        emails: set[str] = set()
        if contact_ids:
            # With their leads: the distributor's stickiness asks the same (answered by read_cache).
            for contact in services.client.contacts.list(ids=contact_ids, with_=("leads",)):
                keys = services.handoff_port.keys_of(contact)
                phones |= keys.phones
                emails |= keys.emails
        return ClientKeys(frozenset(phones), frozenset(emails), company_id)

    # -- arrivals -----------------------------------------------------------------------------

    def unsorted_added(self, event: UnsortedEvent, ctx: HandlerContext) -> None:
        services = self.services
        if services.client is None or event.entity_id is None:
            return
        with services.client.read_cache():
            self._unsorted_added(services, str(event.entity_id), ctx)

    def _unsorted_added(self, services: Services, uid: str, ctx: HandlerContext) -> None:
        assert services.client is not None
        try:
            entry = services.client.unsorted.get(uid)
        except NotFound:
            ctx.log.info("unsorted %s is already handled in amoCRM", uid)
            return
        if not entry.uid:
            return
        if entry.lead_ids:  # the assignment port needs the lead inside to answer a repeated accept
            services.store.kv.set(UNSORTED_KEY.format(uid=uid), int(entry.lead_ids[0]))
        if services.handoff is not None:
            keys = self._keys(services, entry.contact_ids, entry.company_ids)
            at = float(entry.created_at or ctx.clock.now())
            own = entry.lead_ids[0] if entry.lead_ids else None
            result = services.handoff.on_new_entry(NewEntry(keys, at, uid=uid, lead_id=own))
            if result is not None:
                ctx.log.info("unsorted %s is a duplicate: %s", uid, result.plan.reason)
                return
        if services.distribution is not None:
            services.distribution.handle(arrival_from_unsorted(entry.raw))

    def lead_added(self, event: LeadEvent, ctx: HandlerContext) -> None:
        services = self.services
        if services.client is None or services.distribution is None or event.entity_id is None:
            return
        if event.pipeline_id is not None:
            where = Arrival("lead", str(event.entity_id), int(event.pipeline_id), event.status_id)
            if not services.distribution.pools_for(where):
                return  # added where no pool takes it (if it moves into one, status_changed takes it)
        with services.client.read_cache():
            self._lead_added(services, int(event.entity_id), ctx)

    def _lead_added(self, services: Services, lead_id: int, ctx: HandlerContext) -> None:
        assert services.distribution is not None
        lead = self._lead(services, lead_id)
        if lead is None or self._is_unsorted_stage(services, lead.pipeline_id, lead.status_id):
            return  # gone, or inside an unsorted entry (``unsorted.added`` takes it)
        arrival = arrival_from_lead(lead.raw)
        if not services.distribution.pools_for(arrival):
            return
        if services.handoff is not None:
            keys = self._keys(services, lead.contact_ids, lead.company_ids)
            at = float(lead.created_at or ctx.clock.now())
            result = services.handoff.on_new_entry(NewEntry(keys, at, lead_id=lead.id))
            if result is not None:
                ctx.log.info("lead %s is a duplicate: %s", lead.id, result.plan.reason)
                return
        services.distribution.handle(arrival)

    # -- stage changes ------------------------------------------------------------------------

    def status_changed(self, event: LeadEvent, ctx: HandlerContext) -> None:
        services = self.services
        if services.client is None or event.entity_id is None:
            return
        lead_id = int(event.entity_id)
        dist = services.distribution
        at = float(event.modified_at or ctx.clock.now())
        if dist is not None and event.modified_user_id:
            dist.record_activity(lead_id, event.modified_user_id, at)
        if not self._stage_matters(services, event, lead_id):
            return
        lead = self._lead(services, lead_id)
        if lead is None:
            if dist is not None:
                dist.close_lead(lead_id)
            return
        current = (lead.pipeline_id, lead.status_id) == (event.pipeline_id, event.status_id)
        if services.handoff is not None and current and event.status_id and event.pipeline_id:
            change = StageChange(
                lead_id,
                int(event.pipeline_id),
                int(event.status_id),
                event.old_pipeline_id,
                event.old_status_id,
                lead.responsible_user_id,
                at,
            )
            result = services.handoff.on_stage_change(change)
            if result is not None and result.outcome == "done":
                lead = self._lead(services, lead_id)  # the hand-off moved it: decide on where it is now
                if lead is None:
                    return
        if dist is not None:
            left = [
                pool.name
                for pool in dist.pools
                if lead.status_id in (WON, LOST) or pool.trigger.pipeline_id != lead.pipeline_id
            ]
            if left:
                dist.close_lead(lead_id, at, pools=left)
            arrival = arrival_from_lead(lead.raw)
            if dist.pools_for(arrival):
                dist.handle(arrival)
        self._activity(services, "stage", lead, at)

    def _stage_matters(self, services: Services, event: LeadEvent, lead_id: int) -> bool:
        """Whether the stage the event names can lead to any action, decided without an API call.

        A stage with no outcome rule, no pool trigger and no warm-up return, in the pipeline of every
        pool the lead is live in, needs nothing: an accepted unsorted entry's first stage, say. If
        the lead has moved on since, the event of that move is acted on instead."""
        pipeline_id, status_id = event.pipeline_id, event.status_id
        if pipeline_id is None or status_id is None or status_id in (WON, LOST):
            return True
        rules = services.settings.handoff.rules if services.handoff is not None else None
        if rules is not None:
            warmup = rules.warmup_return
            if rules.outcome_for(pipeline_id, status_id) is not None:
                return True
            if warmup is not None and warmup.pipeline_id == pipeline_id and "stage" in warmup.on:
                return True
        dist = services.distribution
        if dist is None:
            return False
        if dist.pools_for(Arrival("lead", str(lead_id), pipeline_id, status_id)):
            return True
        pipelines = {pool.name: pool.trigger.pipeline_id for pool in dist.pools}
        live = dist.live_pools(lead_id)
        return any(name in pipelines and pipelines[name] != pipeline_id for name in live)

    # -- activity -----------------------------------------------------------------------------

    def _activity(self, services: Services, kind: ActivityKind, lead: Lead, at: float) -> None:
        handoff = services.handoff
        if handoff is None or services.settings.handoff.rules is None:
            return
        if services.settings.handoff.rules.warmup_return is None:
            return
        activity = Activity(kind, lead.id, lead.pipeline_id, lead.status_id, lead.responsible_user_id, at)
        handoff.on_activity(activity)

    def _client_activity(
        self, kind: ActivityKind, lead_id: int | None, ctx: HandlerContext, at: float | None
    ) -> None:
        services = self.services
        if services.client is None or lead_id is None:
            return
        rules = services.settings.handoff.rules
        if services.handoff is None or rules is None or rules.warmup_return is None:
            return
        lead = self._lead(services, lead_id)
        if lead is not None:
            self._activity(services, kind, lead, float(at or ctx.clock.now()))

    def note_added(self, event: LeadEvent, ctx: HandlerContext) -> None:
        if event.entity_id is None:
            return
        lead_id = int(event.entity_id)
        if event.note_type == INCOMING_CALL_NOTE:
            self._client_activity("incoming_call", lead_id, ctx, event.modified_at)
            return
        dist = self.services.distribution
        user = event.modified_user_id or event.responsible_user_id
        if dist is not None and user:
            dist.record_activity(lead_id, int(user), float(event.modified_at or ctx.clock.now()))

    def task_updated(self, event: TaskEvent, ctx: HandlerContext) -> None:
        dist = self.services.distribution
        if dist is None or not event.is_completed or event.element_type != "lead" or event.element_id is None:
            return
        user = event.modified_user_id or event.responsible_user_id
        dist.record_activity(int(event.element_id), int(user) if user else None, ctx.clock.now())

    def message_added(self, event: MessageEvent, ctx: HandlerContext) -> None:
        if event.element_type != "lead" or event.element_id is None:
            return
        if (event.author_type or "").lower() == "user":
            dist = self.services.distribution
            user = event.modified_user_id or event.responsible_user_id
            if dist is not None and user:
                dist.record_activity(int(event.element_id), int(user), ctx.clock.now())
            return
        self._client_activity("message", int(event.element_id), ctx, event.created_at)

    def talk_added(self, event: TalkEvent, ctx: HandlerContext) -> None:
        self._client_activity("message", event.lead_id, ctx, event.created_at)


def flows_router(provider: ServicesProvider) -> Router[HandlerContext]:
    """The distributor's and the hand-offs' handlers, over services built once by ``provider``."""
    flows = Flows(provider)
    router: Router[HandlerContext] = Router()
    table: list[tuple[str, str, Callable[..., None]]] = [
        ("unsorted.added", "flows.unsorted_added", flows.unsorted_added),
        ("lead.added", "flows.lead_added", flows.lead_added),
        ("lead.status_changed", "flows.status_changed", flows.status_changed),
        ("lead.note_added", "flows.note_added", flows.note_added),
        ("task.updated", "flows.task_updated", flows.task_updated),
        ("message.added", "flows.message_added", flows.message_added),
        ("talk.added", "flows.talk_added", flows.talk_added),
    ]
    for pattern, name, handler in table:
        router.add(pattern, handler, name=name)
    return router
