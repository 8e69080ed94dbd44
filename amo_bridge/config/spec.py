"""Declaring settings as data: each field of a settings section names its environment variable.

A section is a frozen dataclass whose fields are made with :func:`env`. The loader walks the fields,
so adding a variable is one line in one section, and ``check-config``, the example-file test and the
error messages all follow from that line.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from amo_bridge.errors import ConfigProblem
from amo_bridge.secrets import Secret, mask


@dataclass(frozen=True)
class EnvVar:
    """How one environment variable maps onto one settings field."""

    name: str
    parse: Callable[[str], Any]
    help: str
    secret: bool = False

    def show(self, raw: str) -> str:
        """The raw text as it may appear in messages: masked when the variable is a secret."""
        return mask(raw) if self.secret else raw


def env(
    name: str,
    *,
    parse: Callable[[str], Any],
    default: Any,
    help: str,
    secret: bool = False,
) -> Any:
    """A dataclass field read from environment variable ``name`` (``default`` when unset or empty)."""
    return dataclasses.field(default=default, metadata={"env": EnvVar(name, parse, help, secret)})


def env_fields(section: type) -> Iterator[tuple[str, EnvVar]]:
    for f in dataclasses.fields(section):
        var = f.metadata.get("env")
        if isinstance(var, EnvVar):
            yield f.name, var


T = TypeVar("T")


def load_section(section: type[T], source: Mapping[str, str]) -> tuple[T | None, list[ConfigProblem]]:
    """Parse every variable of ``section`` from ``source``; return the section or the problems."""
    values: dict[str, Any] = {}
    problems: list[ConfigProblem] = []
    for field_name, var in env_fields(section):
        raw = source.get(var.name)
        if raw is None or raw.strip() == "":
            continue  # the dataclass default applies
        try:
            values[field_name] = var.parse(raw)
        except ValueError as exc:
            problems.append(ConfigProblem(var.name, var.show(raw), str(exc)))
    if problems:
        return None, problems
    return section(**values), []


def describe(value: object) -> str:
    """A settings value as ``check-config`` prints it (secrets masked, unset shown as such)."""
    if value is None:
        return "(not set)"
    if isinstance(value, Secret):
        return str(value) if value else "(not set)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return ",".join(str(item) for item in value) or "(none)"
    if isinstance(value, str) and "\n" in value:
        return f"({len(value.splitlines())} lines)"
    if value == "":
        return "(empty)"
    key = getattr(value, "key", None)  # ZoneInfo
    if isinstance(key, str):
        return key
    return str(value)
