"""``amo-bridge check-config``: validate and print the effective configuration, secrets masked."""

from __future__ import annotations

import dataclasses

import click

from amo_bridge.cli.context import CONFIG_EXIT_CODE, AppContext, pass_app
from amo_bridge.config import Settings, section_types
from amo_bridge.config.spec import describe, env_fields
from amo_bridge.errors import ConfigProblem

REQUIREMENTS = ("api", "serve", "triggers")


@click.command("check-config")
@click.option(
    "--require",
    "required",
    type=click.Choice(REQUIREMENTS),
    multiple=True,
    help="Also fail (exit 2) unless ready for this: api (calling amoCRM), serve (receiving webhooks), "
    "triggers (every trigger rule usable).",
)
@pass_app
def check_config(app: AppContext, required: tuple[str, ...]) -> None:
    """Validate the configuration and print it, secrets masked.

    Exit status: 0 valid, 2 invalid (each bad variable is named with what was expected).
    """
    settings = app.settings  # exits 2 on an invalid value
    state = "loaded" if app.env_file.exists() else "not found, using the environment only"
    click.echo(f"env file: {app.env_file} ({state})")
    for attribute, section_type in section_types():
        section = getattr(settings, attribute)
        click.echo(f"\n[{attribute}] {(section_type.__doc__ or '').strip().splitlines()[0]}")
        for field_name, var in env_fields(section_type):
            value = getattr(section, field_name)
            if attribute == "store" and field_name == "database_url":
                value = settings.store.safe_database_url
            default = dataclasses.fields(section_type)
            is_default = any(f.name == field_name and f.default == value for f in default)
            note = "  (default)" if is_default and value is not None else ""
            click.echo(f"  {var.name:<26} = {describe(value)}{note}")

    for warning in settings.warnings:
        click.echo(f"\nwarning: {warning}", err=True)

    readiness: dict[str, list[ConfigProblem]] = {
        "api": settings.amo.api_problems(),
        "serve": settings.webhooks.serve_problems(),
        "triggers": trigger_rule_problems(settings),
    }
    if "api" in required and not readiness["api"] and settings.distribution.pool_specs:
        readiness["api"] = distribution_reference_problems(app)
    click.echo("")
    for name, problems in readiness.items():
        verdict = "ready" if not problems else "not ready"
        click.echo(f"{name}: {verdict}")
        for problem in problems:
            click.echo(f"  - {problem}")
    missing = [problem for name in required for problem in readiness[name]]
    if missing:
        raise SystemExit(CONFIG_EXIT_CODE)


class RuleProblem(ConfigProblem):
    """A trigger rule that the job will skip, printed as the rule's own error."""

    __slots__ = ("text",)

    def __init__(self, variable: str, text: str) -> None:
        super().__init__(variable, None, "usable trigger rules")
        self.text = text

    def __str__(self) -> str:
        return self.text


def trigger_rule_problems(settings: Settings) -> list[ConfigProblem]:
    """Syntax errors of the trigger rules; a bad rule is skipped by the job, and reported here.

    References to pipelines, stages, fields and pools are checked by the job against the account.
    """
    from amo_bridge.triggers.source import load_rules

    problems: list[ConfigProblem] = []
    for error in load_rules(settings.jobs).errors:
        variable = "TRIGGER_RULES" if error.source.startswith("TRIGGER_RULES") else "TRIGGER_RULES_FILE"
        problems.append(RuleProblem(variable, str(error)))
    return problems


def distribution_reference_problems(app: AppContext) -> list[ConfigProblem]:
    """The pools' users, pipelines and stages checked against the live account (``--require api``)."""
    from amo_bridge.api import AmoClient
    from amo_bridge.distribution.config import (
        AccountPipeline,
        AccountStatus,
        AccountUser,
        check_references,
    )

    settings = app.settings
    client = AmoClient.from_settings(settings, app.open_store())
    try:
        users = [AccountUser(u.id, u.name, u.is_active) for u in client.users.list()]
        pipelines = [
            AccountPipeline(p.id, p.name, tuple(AccountStatus(s.id, s.name, s.type) for s in p.statuses))
            for p in client.pipelines.list()
        ]
    finally:
        client.close()
    texts = check_references(settings.distribution.pools(), users, pipelines)
    return [RuleProblem("DISTRIBUTION_POOLS", f"DISTRIBUTION_POOLS: {text}") for text in texts]
