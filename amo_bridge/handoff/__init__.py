"""Hand-offs between the levels: qualification outcomes, duplicates, warm-up and return.

Pure planning (``rules``, ``duplicates``, ``planner``) decides what should happen to a lead; the
:class:`~amo_bridge.handoff.service.HandoffService` records each hand-off once and carries it out in
amoCRM through a :class:`~amo_bridge.handoff.ports.HandoffPort`.
"""
