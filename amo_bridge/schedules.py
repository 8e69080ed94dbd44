"""Job schedules as data: a cron expression, a fixed interval, or ``off``.

Pure parsing (the scheduler at the edge turns a :class:`Schedule` into an APScheduler trigger).
Accepted forms, as an operator writes them in the env file:

- ``*/15 8-20 * * mon-fri``: a 5-field crontab line (minute hour day month weekday), in AMO_TIMEZONE;
- ``every 10m``: a fixed interval (``s``, ``m``, ``h``, ``d``; fractions allowed: ``every 0.5s``);
- ``off``: the job is registered but the scheduler does not run it (``amo-bridge run`` still can).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")

EXPECTED = (
    "a 5-field cron expression ('*/15 8-20 * * mon-fri'), an interval ('every 10m', 'every 2h') or 'off'"
)


@dataclass(frozen=True)
class Schedule:
    kind: str  # "cron" | "interval" | "off"
    cron: str = ""
    seconds: float = 0.0

    def __str__(self) -> str:
        if self.kind == "cron":
            return self.cron
        if self.kind == "interval":
            return f"every {format_duration(self.seconds)}"
        return "off"


def parse_duration(text: str) -> float:
    """``"90s"``, ``"10m"``, ``"2h"``, ``"14d"`` -> seconds; ``ValueError`` otherwise."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError("a duration such as 30s, 10m, 2h or 14d")
    return float(match.group(1)) * _UNITS[match.group(2)]


def format_duration(seconds: float) -> str:
    for unit in ("d", "h", "m"):
        size = _UNITS[unit]
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def parse_schedule(text: str) -> Schedule:
    """Parse one schedule; ``ValueError`` (completing "expected ...") on anything else."""
    value = " ".join(text.strip().split())
    lowered = value.lower()
    if lowered in {"off", "never", "disabled"}:
        return Schedule("off")
    if lowered.startswith("every "):
        try:
            seconds = parse_duration(lowered[len("every ") :])
        except ValueError:
            raise ValueError(EXPECTED) from None
        if seconds <= 0:
            raise ValueError(EXPECTED)
        return Schedule("interval", seconds=seconds)
    if len(value.split(" ")) != 5:
        raise ValueError(EXPECTED)
    # Validate with the same code that will run it, so a schedule that loads is one APScheduler accepts.
    from apscheduler.triggers.cron import CronTrigger

    try:
        CronTrigger.from_crontab(value, timezone="UTC")
    except (ValueError, TypeError, KeyError):
        raise ValueError(EXPECTED) from None
    return Schedule("cron", cron=value)
