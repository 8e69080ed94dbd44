"""Trigger rules: "when this is true of a lead, give someone a task", edge-triggered.

- :mod:`.rules`: the plain data of a rule (scope, condition, action, cooldown);
- :mod:`.parse`: the TOML rule syntax -> rules, each rule parsed on its own so one bad rule never
  hides the others; :func:`check_rules` reports syntax and reference errors (``check-config``);
- :mod:`.evaluate`: conditions, task text templates and deadlines over :class:`LeadFacts` (pure);
- :mod:`.episodes`: the edge-triggering decision (pure);
- :mod:`.port`: what the trigger job needs from amoCRM; :mod:`.ledger`: the ``trigger_episodes`` table.
"""

from amo_bridge.triggers.parse import RuleError, check_rules, parse_rules

__all__ = ["RuleError", "check_rules", "parse_rules"]
