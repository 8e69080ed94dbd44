"""One hand-off into retention, end to end, safe to crash at any point and run again.

The order makes "exactly one retention lead per won deal" hold:

1. claim the deal in ``retention_handoffs`` (committed before anything is created in amoCRM);
2. decide the account manager once and store it with the claim, so a re-run reuses it;
3. copy mode: look the retention lead up by its reference (a crash may have left one), create it
   only if absent, then record its id (``lead_ready``); move mode: move the won deal (idempotent);
4. give the client's contacts and company to the account manager (``RETENTION_GIVE_CLIENT``; only
   what someone else owns, so a re-run changes nothing);
5. look the first-call task up by its text, create it only if absent, record ``done``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from zoneinfo import ZoneInfo

from amo_bridge.clock import Clock
from amo_bridge.retention.ledger import ClaimLost, Handoff, HandoffLedger
from amo_bridge.retention.model import HandoffPlan, ManagerChoice, RetentionRule, TaskDraft, WonDeal
from amo_bridge.retention.plan import choose_manager, plan_handoff
from amo_bridge.retention.port import AccountManagerChooser, RetentionPort
from amo_bridge.store import Store

__all__ = ["ClaimLost", "Outcome", "RetentionService"]

log = logging.getLogger(__name__)


class Outcome(Enum):
    DONE = "done"  # handed off by this call
    ALREADY = "already"  # handed off before
    BUSY = "busy"  # a live run holds the claim; it will finish the deal
    PLANNED = "planned"  # dry run


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    plan: HandoffPlan | None = None
    created_lead: bool = False
    created_task: bool = False


class RetentionService:
    def __init__(
        self,
        store: Store,
        port: RetentionPort,
        chooser: AccountManagerChooser | None,
        rule: RetentionRule,
        *,
        clock: Clock,
        tz: ZoneInfo,
        claim_seconds: float = 300.0,
        after_lead_created: Callable[[int, int], None] | None = None,
    ) -> None:
        self.store = store
        self.port = port
        self.chooser = chooser
        self.rule = rule
        self.clock = clock
        self.tz = tz
        self.claim_seconds = claim_seconds
        self.ledger = HandoffLedger(store)
        self._stage_id: int | None = rule.stage_id
        # Test hook: called between "lead created in amoCRM" and "lead recorded" (crash injection).
        self._after_lead_created = after_lead_created

    def stage_id(self) -> int:
        if self._stage_id is None:
            self._stage_id = self.port.first_stage(self.rule.pipeline_id)
        return self._stage_id

    def _manager(self, deal: WonDeal, *, dry_run: bool) -> ManagerChoice:
        existing = self.port.client_account_manager(deal.contact_ids, deal.company_id)
        pooled = None
        if existing is None and self.chooser is not None and not dry_run:
            pooled = self.chooser.choose_account_manager(deal)
        if dry_run and existing is None and self.chooser is not None:
            return ManagerChoice(0, "pool, chosen when run for real")
        return choose_manager(existing, pooled, self.rule.default_manager_id)

    def plan(self, deal: WonDeal, manager: ManagerChoice) -> HandoffPlan:
        return plan_handoff(
            deal, self.rule, manager=manager, stage_id=self.stage_id(), now=self.clock.now(), tz=self.tz
        )

    def hand_off(
        self, deal: WonDeal, run_id: str, *, is_live: Callable[[str], bool], dry_run: bool = False
    ) -> Result:
        existing = self.ledger.get(deal.lead_id)
        if existing is not None and existing.state == "done":
            return Result(Outcome.ALREADY)
        if dry_run:
            return Result(Outcome.PLANNED, self.plan(deal, self._manager(deal, dry_run=True)))

        claim = self.ledger.claim(
            deal.lead_id,
            run_id,
            mode=self.rule.mode,
            closed_at=deal.closed_at,
            now=self.clock.now(),
            claim_seconds=self.claim_seconds,
            is_live=is_live,
        )
        if claim is None:
            again = self.ledger.get(deal.lead_id)
            return Result(Outcome.ALREADY if again and again.state == "done" else Outcome.BUSY)
        if claim.state != "claimed" or claim.account_manager_id is not None:
            log.info("won deal #%s: resuming a hand-off left %s by an earlier run", deal.lead_id, claim.state)
        return self._finish(deal, claim, run_id)

    def _finish(self, deal: WonDeal, claim: Handoff, run_id: str) -> Result:
        if claim.account_manager_id is not None:
            manager = ManagerChoice(claim.account_manager_id, "recorded")
        else:
            manager = self._manager(deal, dry_run=False)
            self.ledger.set_manager(
                deal.lead_id, run_id, manager.user_id, self.rule.first_call_text, self.clock.now()
            )
        plan = self.plan(deal, manager)

        created_lead = False
        lead_id = claim.retention_lead_id
        if lead_id is None:
            if self.rule.mode == "move":
                self.port.move_lead(deal.lead_id, self.rule.pipeline_id, plan.stage_id, manager.user_id)
                lead_id = deal.lead_id
            else:
                assert plan.lead is not None
                lead_id = self.port.find_retention_lead(deal.lead_id, self.rule.pipeline_id)
                if lead_id is None:
                    lead_id = self.port.create_lead(plan.lead)
                    created_lead = True
                    if self._after_lead_created is not None:
                        self._after_lead_created(deal.lead_id, lead_id)
                else:
                    log.info(
                        "won deal #%s: retention lead #%s already exists; recording it", deal.lead_id, lead_id
                    )
            self.ledger.lead_ready(deal.lead_id, run_id, lead_id, self.clock.now())
        if self.rule.give_client and (deal.contact_ids or deal.company_id is not None):
            # Before the task: a re-run after a crash repeats it, and it changes nothing the second time.
            given = self.port.give_client(deal.contact_ids, deal.company_id, manager.user_id)
            if given:
                log.info(
                    "won deal #%s: %d contact(s)/company given to %s", deal.lead_id, given, manager.user_id
                )
        if self.chooser is not None:
            self.chooser.lead_created(deal, lead_id)  # each run: a crash may have come between the two

        text = claim.task_text or plan.first_call_text
        created_task = False
        task_id = self.port.find_task(lead_id, text)
        if task_id is None:
            task_id = self.port.create_task(
                TaskDraft(
                    lead_id=lead_id,
                    text=text,
                    task_type_id=plan.first_call_type,
                    complete_till=plan.first_call_due,
                    responsible_user_id=manager.user_id,
                )
            )
            created_task = True
        self.ledger.done(deal.lead_id, run_id, task_id, self.clock.now())
        log.info(
            "won deal #%s -> retention lead #%s, account manager %s (%s), first call task #%s",
            deal.lead_id,
            lead_id,
            manager.user_id,
            manager.source,
            task_id,
        )
        return Result(Outcome.DONE, plan, created_lead, created_task)
