"""Running one trigger rule over the leads in its scope: evaluate, decide, act, record.

Per lead: evaluate the condition (pure), read the episode, ask amoCRM whether the episode's task is
still open only when that matters, decide (pure), then act. A failure on one lead is counted and the
rule goes on; a failure of the rule (its leads could not be listed) is reported by the caller.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from amo_bridge.api.errors import AccountBlocked
from amo_bridge.clock import Clock
from amo_bridge.errors import AmoBridgeError
from amo_bridge.store import Store
from amo_bridge.triggers.episodes import Episode, Step, decide, needs_task_status
from amo_bridge.triggers.evaluate import LeadFacts, due_at, holds, render
from amo_bridge.triggers.ledger import EpisodeLedger, EpisodeRow
from amo_bridge.triggers.port import PoolChooser, TriggerPort, TriggerTask
from amo_bridge.triggers.rules import Rule
from amo_bridge.workhours import WorkingHours

log = logging.getLogger(__name__)


class NoResponsible(AmoBridgeError):
    """The rule's pool offered nobody for this lead."""


@dataclass
class RuleStats:
    seen: int = 0
    tasks_created: int = 0
    cleared: int = 0
    errors: list[str] = field(default_factory=list)
    planned: list[str] = field(default_factory=list)


class TriggerEngine:
    def __init__(
        self,
        store: Store,
        port: TriggerPort,
        pools: PoolChooser | None,
        *,
        clock: Clock,
        tz: ZoneInfo,
        hours: WorkingHours | None,
    ) -> None:
        self.port = port
        self.pools = pools
        self.clock = clock
        self.tz = tz
        self.hours = hours
        self.ledger = EpisodeLedger(store)

    def run_rule(
        self,
        rule: Rule,
        run_id: str,
        *,
        is_live: Callable[[str], bool],
        dry_run: bool = False,
        between_leads: Callable[[], None] = lambda: None,
    ) -> RuleStats:
        stats = RuleStats()
        episodes = self.ledger.all_for(rule.name)
        seen_leads: set[int] = set()
        for facts in self.port.leads(rule.pipeline_id, rule.stage_ids):
            between_leads()
            stats.seen += 1
            seen_leads.add(facts.lead_id)
            try:
                self._one(rule, facts, episodes.get(facts.lead_id), run_id, is_live, dry_run, stats)
            except AccountBlocked:
                raise
            except AmoBridgeError as exc:
                stats.errors.append(f"rule {rule.name}, lead #{facts.lead_id}: {exc}")
                log.error("rule %s, lead #%s: %s", rule.name, facts.lead_id, exc)
        # A lead that left the scope (another stage, closed, deleted) no longer meets the condition.
        for lead_id, row in episodes.items():
            if lead_id not in seen_leads and row.episode.state in ("active", "pending"):
                if dry_run:
                    stats.planned.append(f"rule {rule.name}: lead #{lead_id} left the scope; episode ends")
                elif self.ledger.clear(rule.name, lead_id, row.episode, self.clock.now()):
                    stats.cleared += 1
        return stats

    def _one(
        self,
        rule: Rule,
        facts: LeadFacts,
        row: EpisodeRow | None,
        run_id: str,
        is_live: Callable[[str], bool],
        dry_run: bool,
        stats: RuleStats,
    ) -> None:
        now = self.clock.now()
        condition = holds(rule, facts, now, self.tz)
        episode = row.episode if row is not None else None
        task_open: bool | None = None
        if needs_task_status(episode, condition):
            assert episode is not None
            assert episode.task_id is not None
            task_open = self.port.task_is_open(episode.task_id)
        step = decide(episode, condition, task_open, now, rule.cooldown_seconds)

        if step is Step.CLEAR:
            assert episode is not None
            if dry_run:
                stats.planned.append(f"rule {rule.name}: lead #{facts.lead_id} no longer matches; re-armed")
            elif self.ledger.clear(rule.name, facts.lead_id, episode, now):
                stats.cleared += 1
        elif step is Step.FIRE:
            self._fire(rule, facts, episode, run_id, dry_run, stats)
        elif step is Step.RESUME:
            assert row is not None
            self._resume(rule, facts, row, run_id, is_live, dry_run, stats)

    def _task(self, rule: Rule, facts: LeadFacts, text: str, episode: int) -> TriggerTask:
        """The task of the rule's ``episode`` (its number) on the lead; a pool decides once per episode."""
        pool = rule.action.pool
        if pool is None:
            responsible = facts.responsible_user_id
        else:
            key = f"{rule.name}:{facts.lead_id}:{episode}"
            chosen = self.pools.choose_from_pool(pool, facts, key) if self.pools is not None else None
            if chosen is None:
                raise NoResponsible(f"pool {pool!r} offered nobody")
            responsible = chosen
        return TriggerTask(
            lead_id=facts.lead_id,
            text=text,
            task_type_id=rule.action.task_type_id,
            complete_till=due_at(rule.action.deadline, self.clock.now(), self.tz, self.hours),
            responsible_user_id=responsible,
        )

    def _fire(
        self,
        rule: Rule,
        facts: LeadFacts,
        episode: Episode | None,
        run_id: str,
        dry_run: bool,
        stats: RuleStats,
    ) -> None:
        now = self.clock.now()
        text = render(rule.action.task_text, rule, facts, now, self.tz)
        if dry_run:
            stats.planned.append(f"rule {rule.name}: task on lead #{facts.lead_id}: {text!r}")
            return
        task = self._task(rule, facts, text, episode.episodes + 1 if episode is not None else 1)
        if not self.ledger.open_episode(rule.name, facts.lead_id, episode, run_id, text, now):
            log.info("rule %s, lead #%s: another run started this episode", rule.name, facts.lead_id)
            return
        task_id = self.port.create_task(task)
        stats.tasks_created += 1
        self._side_actions(rule, facts, with_note=True)
        self.ledger.activate(rule.name, facts.lead_id, run_id, task_id, self.clock.now())
        log.info(
            "rule %s: task #%s on lead #%s for user %s",
            rule.name,
            task_id,
            facts.lead_id,
            task.responsible_user_id,
        )

    def _resume(
        self,
        rule: Rule,
        facts: LeadFacts,
        row: EpisodeRow,
        run_id: str,
        is_live: Callable[[str], bool],
        dry_run: bool,
        stats: RuleStats,
    ) -> None:
        if row.claimed_by != run_id and row.claimed_by is not None and is_live(row.claimed_by):
            return  # a live run is creating this task
        if dry_run:
            stats.planned.append(
                f"rule {rule.name}: finish the episode of lead #{facts.lead_id} left by a stopped run"
            )
            return
        now = self.clock.now()
        if not self.ledger.take_over(rule.name, facts.lead_id, row.claimed_by, run_id, now):
            return
        text = row.task_text or render(rule.action.task_text, rule, facts, now, self.tz)
        fired_at = int(row.episode.fired_at or now)
        task_id = self.port.find_task(facts.lead_id, text, fired_at)
        if task_id is None:
            task_id = self.port.create_task(self._task(rule, facts, text, row.episode.episodes))
            stats.tasks_created += 1
            self._side_actions(rule, facts, with_note=True)
        else:
            # The task exists; tag and move are idempotent, the note may have been written already.
            self._side_actions(rule, facts, with_note=False)
        self.ledger.activate(rule.name, facts.lead_id, run_id, task_id, self.clock.now())

    def _side_actions(self, rule: Rule, facts: LeadFacts, *, with_note: bool) -> None:
        action = rule.action
        if action.tag:
            self.port.add_tag(facts.lead_id, action.tag)
        if with_note and action.note:
            self.port.add_note(facts.lead_id, render(action.note, rule, facts, self.clock.now(), self.tz))
        if action.move_to_stage_id is not None and action.move_to_stage_id != facts.status_id:
            self.port.move_lead(facts.lead_id, rule.pipeline_id, action.move_to_stage_id)
