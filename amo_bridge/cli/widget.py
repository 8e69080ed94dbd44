"""``amo-bridge widget``: the amoCRM widget archive."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import click

from amo_bridge.widget.package import (
    WidgetPackageError,
    build,
    default_source,
    placeholder_support,
    validate,
)


@click.group()
def widget() -> None:
    """The amoCRM widget: check its sources and build the zip to upload."""


@widget.command("build")
@click.option(
    "--src",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Widget sources (default: widget/ of the source checkout).",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("build/amo-bridge-widget.zip"),
    show_default=True,
    help="Where to write the archive.",
)
@click.option("--support-email", default=None, help="Support e-mail amoCRM shows for the widget.")
@click.option("--support-link", default=None, help="Support page amoCRM shows for the widget.")
def build_cmd(src: Path | None, out: Path, support_email: str | None, support_link: str | None) -> None:
    """Validate manifest.json, texts and logos, then write the zip amoCRM accepts."""
    source = src or default_source()
    if not (source / "manifest.json").exists():
        raise click.UsageError(f"no widget sources in {source} (pass --src PATH)")
    support = {key: value for key, value in (("email", support_email), ("link", support_link)) if value}
    try:
        names = build(source, out, support=support)
    except WidgetPackageError as error:
        click.echo(f"amo-bridge widget build: {error}", err=True)
        raise SystemExit(1) from None
    click.echo(f"{out}: {len(names)} files ({', '.join(names)})")
    with zipfile.ZipFile(out) as archive:
        if placeholder_support(json.loads(archive.read("manifest.json"))):
            click.echo(
                "note: the support contact is still the example one; "
                "pass --support-email and --support-link for a widget others will install",
                err=True,
            )


@widget.command("check")
@click.option("--src", type=click.Path(file_okay=False, path_type=Path), default=None)
def check_cmd(src: Path | None) -> None:
    """Validate the widget sources without building the archive."""
    problems = validate(src or default_source())
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        raise SystemExit(1)
    click.echo("widget sources are valid")
