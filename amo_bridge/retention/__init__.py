"""Won deals into the retention pipeline ("Сопровождение").

- :mod:`.model`: the plain data (``WonDeal``, ``RetentionRule``, ``HandoffPlan``);
- :mod:`.plan`: the pure decision (what to create, who is the account manager, when the first call is);
- :mod:`.port`: what the hand-off needs from amoCRM (a ``Protocol``; adapters live over the API client);
- :mod:`.ledger`: the ``retention_handoffs`` table (intent before create, outcome after);
- :mod:`.service`: one hand-off end to end, safe to crash and re-run.
"""
