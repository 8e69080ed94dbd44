"""amoCRM webhook events, I/O-free: form decoding, typed events, parsing, identity, routing.

Nothing in this package touches the network, the database or the clock: it is a set of pure
functions over bytes and plain data, so the receiver, the workers and the tests share one meaning
of "an event".
"""

from amo_bridge.events.dedupe import dedupe_key
from amo_bridge.events.kinds import KINDS, kind_for
from amo_bridge.events.model import (
    CompanyEvent,
    ContactEvent,
    CustomField,
    CustomFieldValue,
    Event,
    LeadEvent,
    MessageEvent,
    TalkEvent,
    TaskEvent,
    UnknownEvent,
    UnsortedEvent,
)
from amo_bridge.events.parse import ParsedDelivery, ParseError, build_event, parse_delivery
from amo_bridge.events.router import Router

__all__ = [
    "KINDS",
    "CompanyEvent",
    "ContactEvent",
    "CustomField",
    "CustomFieldValue",
    "Event",
    "LeadEvent",
    "MessageEvent",
    "ParseError",
    "ParsedDelivery",
    "Router",
    "TalkEvent",
    "TaskEvent",
    "UnknownEvent",
    "UnsortedEvent",
    "build_event",
    "dedupe_key",
    "kind_for",
    "parse_delivery",
]
