"""``triggers``: evaluate every trigger rule over the leads in its scope; one task per episode.

Rules come from ``TRIGGER_RULES`` and ``TRIGGER_RULES_FILE`` (syntax in docs/jobs.md). A rule with a
syntax or reference error is logged, counted as failed and skipped; the other rules run.
"""

from __future__ import annotations

import logging

from amo_bridge.api.errors import AccountBlocked
from amo_bridge.errors import AmoBridgeError
from amo_bridge.triggers.engine import TriggerEngine
from amo_bridge.triggers.source import load_rules
from jobs.context import JobContext
from jobs.registry import job

log = logging.getLogger(__name__)


@job(
    "triggers",
    schedule="SCHEDULE_TRIGGERS",
    description="Trigger rules: a task for the right client at the right time, one per episode",
)
def triggers(ctx: JobContext) -> None:
    port = ctx.ports.need(ctx.ports.triggers, "the trigger adapter (TriggerPort)", ctx.job)
    if ctx.since is not None:
        log.info("triggers look at the leads as they are now; --since is ignored")
    loaded = load_rules(ctx.settings.jobs, port.catalog())
    for rule_error in loaded.errors:
        log.error("%s; the rule is skipped", rule_error)
        ctx.failed(str(rule_error))
    if not loaded.rules and not loaded.errors:
        log.info("no trigger rules configured (TRIGGER_RULES, TRIGGER_RULES_FILE)")
    engine = TriggerEngine(
        ctx.store,
        port,
        ctx.ports.pools,
        clock=ctx.clock,
        tz=ctx.settings.amo.timezone,
        hours=ctx.settings.jobs.working_time,
    )
    for rule in ctx.track(loaded.rules, "rules"):
        try:
            stats = engine.run_rule(
                rule, ctx.run_id, is_live=ctx.is_live, dry_run=ctx.dry_run, between_leads=ctx.check_lease
            )
        except AccountBlocked:
            raise  # a 403 block stops the whole run: every further call would be refused too
        except AmoBridgeError as exc:
            log.error("rule %s failed: %s", rule.name, exc)
            ctx.failed(f"rule {rule.name}: {exc}")
            continue
        ctx.saw(stats.seen)
        ctx.changed(stats.tasks_created)
        for error in stats.errors:
            ctx.failed(error)
        for line in stats.planned:
            ctx.plan(line)
        log.info(
            "rule %s: %d lead(s), %d task(s), %d episode(s) ended",
            rule.name,
            stats.seen,
            stats.tasks_created,
            stats.cleared,
        )
