"""The identity of an event, for deduplication: section, entity id, kind and modification time.

amoCRM delivers at least once: the same event can arrive twice, in the same body or another one.
Two items with the same identity are the same event, and the inbox keeps one of them.

When amoCRM sends no modification time (deletions, some unsorted and message items), the time is
replaced by a digest of the item itself, so that a lead deleted, restored and deleted again is three
events, while a redelivery of the same item is still one.
"""

from __future__ import annotations

import hashlib
import json

from amo_bridge.events.model import Event

MAX_KEY_LENGTH = 200


def item_digest(event: Event) -> str:
    canonical = json.dumps(event.item, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:20]


def dedupe_key(event: Event) -> str:
    """``leads:123:lead.status_changed:1700000000`` (or ``...:h=<digest>`` without a time)."""
    moment = str(event.modified_at) if event.modified_at is not None else f"h={item_digest(event)}"
    key = f"{event.section}:{event.identity_id}:{event.kind}:{moment}"
    if len(key) > MAX_KEY_LENGTH:
        return "sha256:" + hashlib.sha256(key.encode()).hexdigest()
    return key
