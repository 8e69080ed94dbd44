"""Edge-triggering as a pure decision: one task per episode of a condition being true.

An episode starts when the condition becomes true (a task is created) and ends when it becomes false
(the rule re-arms). While it stays true nothing more happens as long as the task is open. If the task
was completed and the condition still holds, a new episode may start, but not before ``cooldown``
has passed since the last task. ``cooldown`` also spaces out episodes of a flapping condition.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Step(Enum):
    FIRE = "fire"  # start an episode: create the task
    RESUME = "resume"  # an episode whose task may or may not exist (a run stopped midway)
    CLEAR = "clear"  # the condition cleared: end the episode, re-arm
    WAIT = "wait"  # true, but within the cooldown of the last task
    NOTHING = "nothing"


@dataclass(frozen=True)
class Episode:
    state: str  # pending | active | cleared
    episodes: int
    fired_at: float | None
    task_id: int | None


def decide(
    episode: Episode | None, condition: bool, task_open: bool | None, now: float, cooldown: float
) -> Step:
    """``task_open`` is asked of amoCRM only for an active episode whose condition still holds."""
    if not condition:
        if episode is not None and episode.state in ("active", "pending"):
            return Step.CLEAR
        return Step.NOTHING
    if episode is None:
        return Step.FIRE
    cooled = episode.fired_at is None or now - episode.fired_at >= cooldown
    if episode.state == "pending":
        return Step.RESUME
    if episode.state == "cleared":
        return Step.FIRE if cooled else Step.WAIT
    # active
    if task_open is False and cooled:
        return Step.FIRE
    return Step.NOTHING


def needs_task_status(episode: Episode | None, condition: bool) -> bool:
    """Whether :func:`decide` needs to know if the episode's task is still open."""
    return condition and episode is not None and episode.state == "active" and episode.task_id is not None
