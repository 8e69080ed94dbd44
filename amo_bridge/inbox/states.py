"""The states of an inbox row.

received ──claim──> processing ──complete──> done
   ^                    │
   │                    ├─fail──> failed (retry at next_attempt_at) ──claim──> processing ...
   │                    ├─fail, attempts >= INBOX_MAX_ATTEMPTS──> dead
   │                    └─lease expired (worker died)──> failed, or dead when out of attempts
   └──────── replay (an operator: one id, or every dead row) ─────── dead / failed / done

unparseable: the body could not be read; kept with its raw delivery, answered 2xx, listed by
``amo-bridge inbox list --state unparseable``; ``replay`` parses it again.
"""

from __future__ import annotations

RECEIVED = "received"
PROCESSING = "processing"
DONE = "done"
FAILED = "failed"
DEAD = "dead"
UNPARSEABLE = "unparseable"

STATES = (RECEIVED, PROCESSING, DONE, FAILED, DEAD, UNPARSEABLE)
CLAIMABLE = (RECEIVED, FAILED)  # failed rows only once next_attempt_at has come
ACTIVE_STATES = (RECEIVED, PROCESSING, FAILED)  # not yet processed
REPLAYABLE = (DEAD, FAILED, DONE)
