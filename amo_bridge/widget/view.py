"""The dashboard as a view model: everything the template shows, computed from a data source.

Pure: it reads a :class:`DashboardData`, formats numbers for the language and draws the SVG charts.
The template only places what is here. The JSON endpoints use :func:`section_json`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode

from markupsafe import Markup

from amo_bridge.widget import charts
from amo_bridge.widget.i18n import amount, month_label, number, percent, t
from amo_bridge.widget.model import (
    LEVELS,
    DashboardData,
    DistributionShare,
    EmployeeRow,
    KpiCard,
    Period,
)


@dataclass(frozen=True)
class CardView:
    name: str
    fact: str
    plan: str
    completion: str
    bar_percent: int  # 0..100, the width of the progress bar
    state: str  # "good" (>= 100 %), "warn" (>= 80 %), "bad", "none"


@dataclass(frozen=True)
class LevelView:
    level: str
    title: str
    cards: tuple[CardView, ...]


@dataclass(frozen=True)
class EmployeeView:
    user_id: int
    name: str
    level: str
    handled: str
    succeeded: str
    conversion: str
    revenue: str
    plan_completion: str
    plan_state: str
    status: str
    paused: bool


@dataclass(frozen=True)
class TrendView:
    title: str
    total: str
    chart: Markup


@dataclass(frozen=True)
class DashboardView:
    lang: str
    words: Mapping[str, str]
    period_label: str
    previous_href: str
    next_href: str
    lang_links: tuple[tuple[str, str, bool], ...]  # (code, href, current)
    levels: tuple[LevelView, ...]
    employees: tuple[EmployeeView, ...]
    funnel_chart: Markup
    weakest_stage: str | None
    distribution: tuple[tuple[str, Markup], ...]  # (level title, chart)
    trends: tuple[TrendView, ...]
    notice: str | None = None  # a banner (translated), e.g. for demonstration data


def _state(ratio: float | None) -> str:
    if ratio is None:
        return "none"
    if ratio >= 1.0:
        return "good"
    return "warn" if ratio >= 0.8 else "bad"


def card_view(card: KpiCard, lang: str) -> CardView:
    ratio = card.completion
    return CardView(
        name=t(lang, card.name),
        fact=amount(lang, card.fact, card.unit),
        plan=amount(lang, card.plan, card.unit) if card.plan is not None else t(lang, "no_plan"),
        completion=percent(lang, ratio),
        bar_percent=0 if ratio is None else max(0, min(100, round(ratio * 100))),
        state=_state(ratio),
    )


def employee_view(row: EmployeeRow, lang: str) -> EmployeeView:
    return EmployeeView(
        user_id=row.user_id,
        name=row.name,
        level=row.level,
        handled=number(lang, row.handled),
        succeeded=number(lang, row.succeeded),
        conversion=percent(lang, row.conversion),
        revenue=amount(lang, row.revenue, "RUB") if row.revenue else "—",
        plan_completion=percent(lang, row.plan_completion),
        plan_state=_state(row.plan_completion),
        status=t(lang, "paused" if row.paused else "active"),
        paused=row.paused,
    )


def distribution_charts(shares: Sequence[DistributionShare], lang: str) -> tuple[tuple[str, Markup], ...]:
    """One chart per level: each member's actual share of the level's leads, the target as a tick."""
    result = []
    for level in LEVELS:
        members = [share for share in shares if share.level == level]
        if not members:
            continue
        total = sum(share.assigned for share in members)
        shares_of = [share.assigned / total if total else None for share in members]
        bars = [
            charts.Bar(
                label=share.member + (f" ({t(lang, 'paused')})" if share.paused else ""),
                value=actual or 0.0,
                text=f"{percent(lang, actual)} · {number(lang, share.assigned)}",
                note=f"{t(lang, 'target')}: {percent(lang, share.target_share)}",
                marker=share.target_share,
                highlight=share.paused,
            )
            for share, actual in zip(members, shares_of, strict=True)
        ]
        # Shares are drawn on a 0..100 % scale so that the target tick sits where it belongs.
        result.append((t(lang, level), charts.bars(bars, scale=1.0)))
    return tuple(result)


def build_dashboard(
    data: DashboardData,
    period: Period,
    lang: str,
    *,
    keep: Mapping[str, str] | None = None,
    notice: str | None = None,
) -> DashboardView:
    """The whole page for ``period`` in ``lang``. ``keep``: query parameters every link must carry
    (the signed link's ``exp`` and ``sig``)."""
    keep = dict(keep or {})

    def href(period_key: str, code: str) -> str:
        return "?" + urlencode({**keep, "period": period_key, "lang": code})

    cards = list(data.kpis(period))
    levels = tuple(
        LevelView(level, t(lang, level), tuple(card_view(c, lang) for c in cards if c.level == level))
        for level in LEVELS
        if any(c.level == level for c in cards)
    )
    stages = list(data.funnel(period))
    funnel = charts.bars(
        [
            charts.Bar(
                label=t(lang, stage.name),
                value=float(stage.count),
                text=number(lang, stage.count),
                note=(
                    f"{percent(lang, stage.conversion)}"
                    + (f" · {t(lang, 'weakest')}" if stage.weakest else "")
                    if stage.conversion is not None
                    else ""
                ),
                highlight=stage.weakest,
            )
            for stage in stages
        ]
    )
    weakest = next((t(lang, stage.name) for stage in stages if stage.weakest), None)
    trends = []
    for series in data.trend(period):
        values = [point.value for point in series.points]
        if not values:
            continue
        trends.append(
            TrendView(
                title=t(lang, series.name),
                total=amount(lang, sum(values), series.unit),
                chart=charts.line(
                    values,
                    first_label=_day(series.points[0].day, lang),
                    last_label=_day(series.points[-1].day, lang),
                ),
            )
        )
    return DashboardView(
        lang=lang,
        words=_Words(lang),
        period_label=month_label(lang, period.start),
        previous_href=href(period.previous().key, lang),
        next_href=href(period.next().key, lang),
        lang_links=tuple((code, href(period.key, code), code == lang) for code in ("ru", "en")),
        levels=levels,
        employees=tuple(employee_view(row, lang) for row in data.employees(period)),
        funnel_chart=funnel,
        weakest_stage=weakest,
        distribution=distribution_charts(list(data.distribution(period)), lang),
        trends=tuple(trends),
        notice=t(lang, notice) if notice else None,
    )


class _Words(Mapping[str, str]):
    """``words.title`` in the template: the page's vocabulary in one language."""

    def __init__(self, lang: str) -> None:
        self._lang = lang

    def __getitem__(self, key: str) -> str:
        return t(self._lang, key)

    def __iter__(self) -> Any:
        from amo_bridge.widget.i18n import TEXT

        return iter(TEXT[self._lang])

    def __len__(self) -> int:
        from amo_bridge.widget.i18n import TEXT

        return len(TEXT[self._lang])


def _day(day: date, lang: str) -> str:
    return day.strftime("%d.%m") if lang == "ru" else day.strftime("%b %d").replace(" 0", " ")


SECTIONS = ("kpis", "employees", "funnel", "distribution", "trend")


def section_json(data: DashboardData, section: str, period: Period) -> dict[str, Any]:
    """One section as JSON: ``{"period": {...}, "items": [...]}``; ``KeyError`` for an unknown one."""
    if section not in SECTIONS:
        raise KeyError(section)
    items = getattr(data, section)(period)
    return {
        "period": {"key": period.key, "start": period.start.isoformat(), "end": period.end.isoformat()},
        "items": [_plain(item) for item in items],
    }


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    if isinstance(value, date):
        return value.isoformat()
    return value
