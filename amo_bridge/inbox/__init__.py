"""The durable webhook inbox: store first, process later, never lose an event.

Store-level: it knows the event model (``amo_bridge.events``) and the database, nothing of Flask.
"""

from amo_bridge.inbox.backoff import Backoff
from amo_bridge.inbox.context import HandlerContext
from amo_bridge.inbox.queue import Claimed, Inbox, InboxRow, QueueStats, Recorded
from amo_bridge.inbox.states import ACTIVE_STATES, STATES

__all__ = [
    "ACTIVE_STATES",
    "STATES",
    "Backoff",
    "Claimed",
    "HandlerContext",
    "Inbox",
    "InboxRow",
    "QueueStats",
    "Recorded",
]
