"""Webhook events into the KPI event history (:mod:`amo_bridge.kpi.history`).

Recorded kinds: ``lead.added``, ``lead.status_changed``, ``lead.responsible_changed``,
``lead.updated`` / ``contact.updated`` / ``company.updated`` (numbers typed into the fields of
``KPI_REPORTED_FIELDS``), ``*.note_added``, ``task.added`` and ``task.updated``. Each webhook has a
deterministic history key, so a redelivery or a retried inbox row adds nothing; the
``events_sync`` job's copy of the same change merges with it (docs/kpi.md, "Natural keys and dedupe").
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from amo_bridge.events.model import Event
from amo_bridge.events.router import Router
from amo_bridge.inbox.context import HandlerContext
from amo_bridge.kpi.history import record_webhook_event
from amo_bridge.kpi.mapping import WebhookEvent

KINDS: tuple[str, ...] = (
    "lead.added",
    "lead.status_changed",
    "lead.responsible_changed",
    "lead.updated",
    "contact.updated",
    "company.updated",
    "lead.note_added",
    "contact.note_added",
    "company.note_added",
    "task.added",
    "task.updated",
)


def _cli_fields() -> Mapping[int, str] | None:
    """``KPI_REPORTED_FIELDS`` of the running ``amo-bridge`` command (its ``--env-file`` included)."""
    import click

    ctx = click.get_current_context(silent=True)
    settings = getattr(getattr(ctx.find_root(), "obj", None), "settings", None) if ctx else None
    kpi = getattr(settings, "kpi", None)
    return dict(kpi.reported_fields) if kpi is not None else None


@functools.cache
def _configured_fields() -> Mapping[int, str]:
    """``KPI_REPORTED_FIELDS`` from the environment and the env file (``AMO_BRIDGE_ENV_FILE``, else
    ``.env``), as the command line reads them."""
    from amo_bridge.config import load_settings

    env_file = Path(os.environ.get("AMO_BRIDGE_ENV_FILE") or ".env")
    return dict(load_settings(env_file=env_file).kpi.reported_fields)


def to_webhook_event(event: Event, received_at: float) -> WebhookEvent | None:
    """The KPI mapping's view of a parsed webhook item (``None`` without a numeric id).

    For notes the parser's ``entity_id`` is the entity the note is attached to; the mapping wants the
    note itself: its id and its own fields (``leads[note][0][note][...]`` nests them).
    """
    data: Mapping[str, Any] = event.item
    raw_id: Any = event.entity_id
    if event.kind.endswith(".note_added"):
        nested = data.get("note")
        if isinstance(nested, Mapping):
            data = nested
        raw_id = event.attribute("note_id") or data.get("id")
    try:
        entity_id = int(str(raw_id))
    except ValueError:
        return None
    return WebhookEvent(event.kind, entity_id, dict(data), int(received_at))


def make_router(reported_fields: Mapping[int, str] | None = None) -> Router[HandlerContext]:
    """The KPI handlers; ``reported_fields`` defaults to the ``KPI_REPORTED_FIELDS`` of the running
    command (``amo-bridge worker``), else of the environment and env file, read at the first event."""
    router: Router[HandlerContext] = Router()
    if reported_fields is None:
        reported_fields = _cli_fields()  # built inside ``amo-bridge worker``: its settings
    known = reported_fields
    fields: Callable[[], Mapping[int, str]] = (lambda: known) if known is not None else _configured_fields

    def kpi_history(event: Event, ctx: HandlerContext) -> None:
        now = ctx.clock.now()
        parsed = to_webhook_event(event, event.modified_at or event.created_at or now)
        if parsed is None:
            return
        with ctx.store.begin() as conn:
            result = record_webhook_event(conn, parsed, dict(fields()), now=now)
        if result.duplicates and not (result.inserted or result.merged):
            ctx.log.debug("kpi history: %s was recorded before", ctx.dedupe_key)

    for kind in KINDS:
        router.add(kind, kpi_history, name=f"kpi_history:{kind}")
    return router
