"""Fault injection, set by ``--faults`` or ``POST /_sandbox/faults``: 5xx rate, added latency, dropped
connections, forced 429s, webhook duplicates and reordering, automatic IP block."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any


@dataclass
class Faults:
    error_rate: float = 0.0  # share of API requests answered with a 5xx
    latency: float = 0.0  # seconds added to every API response
    drop_rate: float = 0.0  # share of API requests whose connection is closed without an answer
    force_429: int = 0  # the next N API requests get 429 whatever the rate
    webhook_duplicate_rate: float = 0.0  # share of webhook deliveries sent twice
    webhook_reorder: bool = False  # deliver due webhooks in shuffled order, some held back
    webhook_fail_rate: float = 0.0  # share of webhook attempts treated as failed before sending
    block_after: int = 0  # automatic IP block after this many 429s within a minute (0: never)
    html_429_rate: float = 0.0  # share of 429 answers whose body is an HTML page, not JSON

    def update(self, values: dict[str, Any]) -> None:
        names = {f.name: f for f in dataclasses.fields(self)}
        for key, value in values.items():
            if key not in names:
                raise ValueError(f"unknown fault {key!r}; known: {', '.join(sorted(names))}")
            current = getattr(self, key)
            if isinstance(current, bool):
                parsed: Any = (
                    value if isinstance(value, bool) else str(value).lower() in {"1", "true", "yes", "on"}
                )
            elif isinstance(current, int):
                parsed = int(value)
            else:
                parsed = float(value)
            if isinstance(parsed, float) and key.endswith("rate") and not 0.0 <= parsed <= 1.0:
                raise ValueError(f"{key} must be between 0 and 1")
            if isinstance(parsed, int | float) and not isinstance(parsed, bool) and parsed < 0:
                raise ValueError(f"{key} must not be negative")
            setattr(self, key, parsed)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def parse_faults(text: str) -> dict[str, str]:
    """``"error_rate=0.05,latency=0.2"`` -> ``{"error_rate": "0.05", "latency": "0.2"}``."""
    out: dict[str, str] = {}
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        if "=" not in part:
            out[part] = "1"
            continue
        key, value = part.split("=", 1)
        out[key.strip()] = value.strip()
    Faults().update(out)  # validate
    return out
