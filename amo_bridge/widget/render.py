"""Rendering the dashboard's HTML from its view model (Jinja2, autoescaped, templates packaged)."""

from __future__ import annotations

import functools

from jinja2 import Environment, PackageLoader, StrictUndefined

from amo_bridge.widget.i18n import t
from amo_bridge.widget.view import DashboardView


@functools.cache
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("amo_bridge.widget", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_dashboard(view: DashboardView) -> str:
    return _environment().get_template("dashboard.html").render(view=view)


def render_refused(lang: str) -> str:
    """The page a refused request gets: no data, only what to do."""
    template = _environment().get_template("refused.html")
    return template.render(lang=lang, title=t(lang, "refused_title"), message=t(lang, "refused"))
