"""Secret values that cannot leak by accident.

A :class:`Secret` wraps a string so that ``str()``, ``repr()``, f-strings, logging and exception text
show a mask. The real value is read only through :meth:`Secret.reveal`, which makes each use greppable.
Every secret created is also registered with the log redactor (:mod:`amo_bridge.logs`), so a value that
escapes through some other path (a URL, a response body) is still masked in log output.
"""

from __future__ import annotations

import hmac
import threading
from collections.abc import Iterable

_MASK = "***"
_registry_lock = threading.Lock()
_registered: set[str] = set()

# Values shorter than this are not registered for free-text redaction: masking every "1" or "ab"
# in log lines would destroy them and protects nothing a short value could leak.
_MIN_REDACT_LENGTH = 6


def mask(value: str) -> str:
    """Show a secret the way amo-bridge prints it anywhere: ``***`` plus, if long, the last 4 chars."""
    if len(value) >= 24:
        return f"{_MASK}{value[-4:]}"
    return _MASK


class Secret:
    """A string that prints masked. Compare with ``==`` (constant time) or read with ``reveal()``."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value
        register_secret(value)

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __len__(self) -> int:
        return len(self._value)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Secret):
            other = other._value
        if not isinstance(other, str):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other.encode())

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __str__(self) -> str:
        return mask(self._value)

    def __repr__(self) -> str:
        return f"Secret({mask(self._value)!r})"

    def __reduce__(self) -> tuple[type[Secret], tuple[str]]:
        # Picklable for multiprocessing; the child registers the value with its own redactor.
        return (Secret, (self._value,))


def register_secret(value: str) -> None:
    """Ask the log redactor to mask ``value`` wherever it appears (tokens learned at run time)."""
    if len(value) >= _MIN_REDACT_LENGTH:
        with _registry_lock:
            _registered.add(value)


def registered_secrets() -> Iterable[str]:
    with _registry_lock:
        # Longest first, so a secret that contains another is masked whole.
        return sorted(_registered, key=len, reverse=True)
