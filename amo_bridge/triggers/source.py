"""Where rules come from: ``TRIGGER_RULES`` (inline) and the file ``TRIGGER_RULES_FILE`` names."""

from __future__ import annotations

from pathlib import Path

from amo_bridge.config.settings import JobsSettings
from amo_bridge.triggers.parse import ParseResult, RuleError, check_rules
from amo_bridge.triggers.rules import Catalog


def rule_sources(jobs: JobsSettings) -> tuple[list[tuple[str, str]], list[RuleError]]:
    """(origin, text) pairs, and an error if the named file cannot be read."""
    sources: list[tuple[str, str]] = []
    errors: list[RuleError] = []
    if jobs.trigger_rules:
        sources.append(("TRIGGER_RULES", jobs.trigger_rules))
    if jobs.trigger_rules_file:
        path = Path(jobs.trigger_rules_file)
        try:
            sources.append((str(path), path.read_text(encoding="utf-8")))
        except OSError as exc:
            errors.append(
                RuleError("(all in file)", str(path), f"cannot read TRIGGER_RULES_FILE: {exc.strerror}")
            )
    return sources, errors


def load_rules(jobs: JobsSettings, catalog: Catalog | None = None) -> ParseResult:
    """Every usable rule from every source; an error for each unusable one. Names are unique overall."""
    sources, errors = rule_sources(jobs)
    rules = []
    names: set[str] = set()
    for origin, text in sources:
        parsed = check_rules(text, catalog, origin)
        errors += parsed.errors
        for rule in parsed.rules:
            if rule.name in names:
                errors.append(RuleError(rule.name, rule.source, "a rule with this name is already defined"))
                continue
            names.add(rule.name)
            rules.append(rule)
    return ParseResult(rules, errors)
