"""History rows: the plain data every source is translated into before it reaches the store."""

from __future__ import annotations

from dataclasses import dataclass, field

# Kinds of history rows.
LEAD_CREATED = "lead_created"
STATUS_CHANGED = "status_changed"  # won = into 142, lost = into 143 (with price when known)
RESPONSIBLE_CHANGED = "responsible_changed"
CALL_IN = "call_in"
CALL_OUT = "call_out"
TASK_CREATED = "task_created"
TASK_COMPLETED = "task_completed"
NOTE_ADDED = "note_added"
REPORTED = "reported"  # a number an employee entered in a configured custom field

KINDS = (
    LEAD_CREATED,
    STATUS_CHANGED,
    RESPONSIBLE_CHANGED,
    CALL_IN,
    CALL_OUT,
    TASK_CREATED,
    TASK_COMPLETED,
    NOTE_ADDED,
    REPORTED,
)

WON = 142
LOST = 143

# Sources, as bits of ``kpi_events.sources``; lower value = more authoritative time.
EVENTS = "events"  # /api/v4/events (amoCRM's own event id)
WEBHOOK = "webhook"  # parsed webhook deliveries
LEADS = "leads"  # lead snapshots (reconciliation)
SOURCE_BITS = {EVENTS: 1, WEBHOOK: 2, LEADS: 4}

# Two reports of a change that carries no unique id of its own (a status move, a change of the
# responsible user, a reported number) are the same change when their times differ by at most this.
TWIN_WINDOW_SECONDS = 300

# Columns a row may fill; ``None`` means "this source does not know".
DATA_COLUMNS = (
    "lead_id",
    "entity_id",
    "user_id",
    "actor_id",
    "old_user_id",
    "pipeline_id",
    "status_id",
    "old_pipeline_id",
    "old_status_id",
    "price",
    "duration",
    "call_result",
    "task_type_id",
    "due_at",
    "note_type",
    "field_id",
    "value",
    "client_id",
)


@dataclass(frozen=True)
class HistoryRow:
    """One change as one source saw it.

    ``key`` is the source's natural key (unique per source and change); ``match_key`` names the
    change independently of the source, so that a second source's report of the same change merges
    into the first one's row; ``window`` is how far apart in time two reports with the same
    ``match_key`` may be (``None``: any distance, the match key alone identifies the change).
    ``authoritative`` names columns this source overwrites on merge (others only fill blanks).
    """

    kind: str
    occurred_at: int
    key: str
    source: str
    match_key: str
    window: int | None = None
    lead_id: int | None = None
    entity_id: int | None = None
    user_id: int | None = None
    actor_id: int | None = None
    old_user_id: int | None = None
    pipeline_id: int | None = None
    status_id: int | None = None
    old_pipeline_id: int | None = None
    old_status_id: int | None = None
    price: float | None = None
    duration: int | None = None
    call_result: str | None = None
    task_type_id: int | None = None
    due_at: int | None = None
    note_type: str | None = None
    field_id: int | None = None
    value: float | None = None
    client_id: int | None = None
    authoritative: tuple[str, ...] = field(default=())

    def data(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in DATA_COLUMNS}


def status_match_key(lead_id: int, old_status_id: int | None, status_id: int) -> str:
    """Closing moves (won/lost) match whatever the old stage: lead snapshots do not know it."""
    if status_id in (WON, LOST):
        return f"closed:{lead_id}:{status_id}"
    return f"status:{lead_id}:{old_status_id}:{status_id}"
