"""Fair lead distribution: pools, availability, routing, stickiness and a weighted virtual-time rotation.

The core (:mod:`.model`, :mod:`.fairness`, :mod:`.calendar`, :mod:`.routing`, :mod:`.engine`,
:mod:`.config`) is pure: no SQL, no HTTP, no clock. :mod:`.repository` persists it, :mod:`.service`
runs it against amoCRM through the port in :mod:`.ports`.
"""

from amo_bridge.distribution.engine import decide
from amo_bridge.distribution.model import (
    AfterHours,
    Arrival,
    Candidate,
    Decision,
    Member,
    MemberStatus,
    Pool,
    Rule,
    Trigger,
)

__all__ = [
    "AfterHours",
    "Arrival",
    "Candidate",
    "Decision",
    "Member",
    "MemberStatus",
    "Pool",
    "Rule",
    "Trigger",
    "decide",
]
