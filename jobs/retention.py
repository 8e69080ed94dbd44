"""``won_to_retention``: won deals (status 142) of the source pipelines into the retention pipeline.

Finds deals closed since the job's watermark (kv ``jobs.won_to_retention.watermark``, unix seconds;
``--since`` overrides it for one run) and hands each off through
:class:`~amo_bridge.retention.service.RetentionService`. The watermark only moves past a deal once
that deal is done, so a deal that failed or was busy is looked at again next run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from amo_bridge.api.errors import AccountBlocked
from amo_bridge.errors import AmoBridgeError, ConfigError, ConfigProblem
from amo_bridge.retention.ledger import ClaimLost
from amo_bridge.retention.model import RetentionRule
from amo_bridge.retention.plan import next_watermark
from amo_bridge.retention.service import Outcome, RetentionService
from jobs.context import JobContext
from jobs.registry import job

log = logging.getLogger(__name__)

WATERMARK_KEY = "jobs.won_to_retention.watermark"
# Deals closed a little before the watermark are looked at again: amoCRM's closed_at and our clock
# differ by seconds, and a deal already handed off costs one ledger read.
OVERLAP_SECONDS = 600

# Test hook for crash injection: called with (won lead id, retention lead id) right after the lead
# is created in amoCRM and before the hand-off is recorded.
AfterLeadCreated = Callable[[int, int], None]
after_lead_created: AfterLeadCreated | None = None


def rule_from_settings(ctx: JobContext) -> RetentionRule:
    jobs = ctx.settings.jobs
    if jobs.retention_pipeline_id is None:
        raise ConfigError([ConfigProblem("RETENTION_PIPELINE_ID", None, "the retention pipeline's id")])
    if not jobs.retention_source_pipelines:
        raise ConfigError(
            [
                ConfigProblem(
                    "RETENTION_SOURCE_PIPELINES", None, "the pipelines whose won deals go to retention"
                )
            ]
        )
    if jobs.retention_pipeline_id in jobs.retention_source_pipelines:
        # Its won deals are repeat purchases of existing clients: handing them off would make a
        # retention lead per purchase.
        raise ConfigError(
            [
                ConfigProblem(
                    "RETENTION_SOURCE_PIPELINES",
                    ",".join(map(str, jobs.retention_source_pipelines)),
                    "pipelines other than the retention pipeline (RETENTION_PIPELINE_ID)",
                )
            ]
        )
    return RetentionRule(
        pipeline_id=jobs.retention_pipeline_id,
        source_pipeline_ids=jobs.retention_source_pipelines,
        mode=jobs.retention_mode,
        stage_id=jobs.retention_stage_id,
        copy_field_ids=jobs.retention_copy_fields,
        reference_field_id=jobs.retention_reference_field_id,
        tag=jobs.retention_tag,
        name_template=jobs.retention_name_template,
        default_manager_id=jobs.retention_default_manager_id,
        give_client=jobs.retention_give_client,
        first_call_delay=jobs.retention_first_call_delay,
        first_call_text=jobs.retention_first_call_text,
        first_call_task_type=jobs.retention_first_call_task_type,
        working_hours=jobs.working_time,
    )


@job(
    "won_to_retention",
    schedule="SCHEDULE_WON_TO_RETENTION",
    description="Won deals into the retention pipeline, with an account manager and a first call",
)
def won_to_retention(ctx: JobContext) -> None:
    port = ctx.ports.need(ctx.ports.retention, "the retention adapter (RetentionPort)", ctx.job)
    rule = rule_from_settings(ctx)
    service = RetentionService(
        ctx.store,
        port,
        ctx.ports.account_managers,
        rule,
        clock=ctx.clock,
        tz=ctx.settings.amo.timezone,
        claim_seconds=ctx.settings.jobs.retention_claim_seconds,
        after_lead_created=after_lead_created,
    )
    now = int(ctx.clock.now())
    watermark: int | None = ctx.store.kv.get(WATERMARK_KEY)
    if ctx.since is not None:
        closed_from = int(ctx.since)
    elif watermark is not None:
        closed_from = watermark - OVERLAP_SECONDS
    else:
        closed_from = now - ctx.settings.jobs.retention_lookback_days * 86400
    deals = list(port.won_deals(rule.source_pipeline_ids, closed_from, now))
    log.info(
        "%d won deal(s) closed since %d in pipelines %s", len(deals), closed_from, rule.source_pipeline_ids
    )

    unfinished: list[int] = []
    for deal in ctx.track(deals, "won deals"):
        ctx.saw()
        try:
            result = service.hand_off(deal, ctx.run_id, is_live=ctx.is_live, dry_run=ctx.dry_run)
        except (ClaimLost, AccountBlocked):
            raise  # a 403 block stops the whole run: every further call would be refused too
        except AmoBridgeError as exc:
            unfinished.append(deal.closed_at)
            ctx.failed(f"won deal #{deal.lead_id}: {exc}")
            log.error("won deal #%s not handed off: %s", deal.lead_id, exc)
            continue
        if result.outcome is Outcome.PLANNED and result.plan is not None:
            ctx.plan(result.plan.describe())
        elif result.outcome is Outcome.DONE:
            ctx.changed()
        elif result.outcome is Outcome.BUSY:
            unfinished.append(deal.closed_at)

    if not ctx.dry_run and ctx.since is None:
        ctx.store.kv.set(WATERMARK_KEY, next_watermark(now, unfinished, watermark))
