"""The project's one error hierarchy.

Every error raised on purpose by amo-bridge derives from :class:`AmoBridgeError`. Each error knows
whether retrying the same operation later may succeed (``retryable``); callers and retry policies
decide on that flag, never on message text. Messages never contain secrets: values are masked by the
code that raises (see :mod:`amo_bridge.secrets`).
"""

from __future__ import annotations


class AmoBridgeError(Exception):
    """Root of every error amo-bridge raises on purpose."""

    retryable: bool = False

    def __init__(self, message: str, *, retryable: bool | None = None) -> None:
        super().__init__(message)
        if retryable is not None:
            self.retryable = retryable

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


class ConfigError(AmoBridgeError):
    """The configuration is invalid. Raised at start-up; the CLI exits with status 2."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = list(problems)
        lines = [f"invalid configuration ({len(self.problems)} problem(s)):"]
        lines += [f"  - {p}" for p in self.problems]
        super().__init__("\n".join(lines))


class ConfigProblem:
    """One bad or missing variable: its name, the value as it may be shown, and what was expected."""

    __slots__ = ("expected", "shown_value", "variable")

    def __init__(self, variable: str, shown_value: str | None, expected: str) -> None:
        self.variable = variable
        self.shown_value = shown_value
        self.expected = expected

    def __str__(self) -> str:
        if self.shown_value is None:
            return f"{self.variable} is not set: expected {self.expected}"
        return f"{self.variable}={self.shown_value!r}: expected {self.expected}"

    def __repr__(self) -> str:
        return f"ConfigProblem({self!s})"


class StoreError(AmoBridgeError):
    """The database could not do what was asked."""


class LockNotAcquired(StoreError):
    """A named lock stayed held by another owner until the caller's timeout ran out."""

    retryable = True


class NotBuiltYet(AmoBridgeError):
    """A command or feature that exists in the interface but has no implementation yet."""
