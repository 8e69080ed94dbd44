"""Building :class:`Settings` from the process environment and an env file."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dotenv import dotenv_values

from amo_bridge.config.settings import Settings
from amo_bridge.config.spec import env_fields, load_section
from amo_bridge.errors import ConfigError, ConfigProblem

# Prefixes of variables that belong to amo-bridge: an unknown one is most likely a typo.
OWN_PREFIXES = (
    "AMO_",
    "WEBHOOK_",
    "INBOX_",
    "WORKER_",
    "SERVE_",
    "LOG_",
    "DISTRIBUTION_",
    "RETENTION_",
    "TRIGGER",
    "KPI_",
    "SCHEDULE_",
    "WIDGET_",
    "DASHBOARD_",
    "SANDBOX_",
)


def section_types() -> list[tuple[str, type[Any]]]:
    """The settings sections in declaration order, as (attribute name, section class)."""
    return [
        (f.name, f.type if isinstance(f.type, type) else _resolve(f.type))
        for f in dataclasses.fields(Settings)
        if f.name != "warnings"
    ]


def _resolve(annotation: str) -> type[Any]:
    from amo_bridge.config import settings as module

    resolved = getattr(module, annotation)
    assert isinstance(resolved, type)
    return resolved


def known_variables() -> dict[str, str]:
    """Every variable amo-bridge reads, mapped to its help text."""
    return {var.name: var.help for _, section in section_types() for _, var in env_fields(section)}


def read_env_file(path: Path, *, required: bool) -> dict[str, str]:
    if not path.exists():
        if required:
            raise ConfigError([ConfigProblem("--env-file", str(path), "an existing env file")])
        return {}
    if not path.is_file():
        raise ConfigError([ConfigProblem("--env-file", str(path), "a regular file")])
    return {key: value for key, value in dotenv_values(path).items() if value is not None}


def load_settings(
    environ: Mapping[str, str] | None = None,
    env_file: Path | None = None,
    *,
    env_file_required: bool = False,
) -> Settings:
    """Read, parse and validate every variable; raise one :class:`ConfigError` listing all problems.

    The process environment wins over the env file, so an operator can override one value for one
    run (``AMO_RATE_LIMIT=3 amo-bridge run triggers``).
    """
    process_env = dict(os.environ if environ is None else environ)
    file_env = read_env_file(env_file, required=env_file_required) if env_file else {}
    source = {**file_env, **process_env}

    problems: list[ConfigProblem] = []
    sections: dict[str, object] = {}
    for attribute, section_type in section_types():
        section, section_problems = load_section(section_type, source)
        problems += section_problems
        if section is not None:
            check = getattr(section, "problems", None)
            if callable(check):
                problems += check()
            sections[attribute] = section
    if problems:
        raise ConfigError(problems)

    known = known_variables()
    candidates = set(file_env) | {k for k in process_env if k.startswith("AMO_")}
    warnings = tuple(
        f"{name} is not a variable amo-bridge knows (typo?)"
        for name in sorted(candidates)
        if name not in known and name.startswith(OWN_PREFIXES) and name != "AMO_BRIDGE_ENV_FILE"
    )
    settings = Settings(**sections, warnings=warnings)  # type: ignore[arg-type]
    if settings.problems():
        raise ConfigError(settings.problems())
    return settings
