"""The dashboard's pure parts: periods, funnel arithmetic, KPI completion, formatting, charts, HTML."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import pytest

from amo_bridge.widget import charts
from amo_bridge.widget.fixture import FixtureDashboard
from amo_bridge.widget.i18n import amount, number, percent, pick_lang
from amo_bridge.widget.model import (
    DistributionShare,
    KpiCard,
    Period,
    TrendSeries,
    funnel_from_counts,
)
from amo_bridge.widget.render import render_dashboard, render_refused
from amo_bridge.widget.view import build_dashboard, distribution_charts, section_json


def test_period_parsing_and_navigation() -> None:
    november = Period.parse("2026-11")
    assert (november.start, november.end) == (date(2026, 11, 1), date(2026, 12, 1))
    assert november.previous().key == "2026-10"
    assert november.next().key == "2026-12"
    assert Period.parse("2026-12").next().key == "2027-01"
    assert Period.parse("2024-02").end == date(2024, 3, 1)
    for bad in ("2026-13", "26-11", "2026-1", "junk", "1999-01"):
        with pytest.raises(ValueError, match="YYYY-MM"):
            Period.parse(bad)


def test_period_containing_uses_the_account_time_zone() -> None:
    # 2026-10-31T22:30Z is already November 1st in Moscow (UTC+3).
    moment = 1_793_485_800.0
    assert Period.containing(moment, ZoneInfo("Europe/Moscow")).key == "2026-11"
    assert Period.containing(moment, ZoneInfo("UTC")).key == "2026-10"


def test_funnel_conversions_and_the_weakest_step() -> None:
    stages = funnel_from_counts([("in", 200), ("qualified", 100), ("meeting", 80), ("won", 20)])
    assert [s.conversion for s in stages] == [None, 0.5, 0.8, 0.25]
    assert [s.name for s in stages if s.weakest] == ["won"]
    empty_step = funnel_from_counts([("in", 0), ("qualified", 0)])
    assert [s.weakest for s in empty_step] == [False, True]
    assert funnel_from_counts([("only", 5)])[0].weakest is False


def test_kpi_completion_respects_direction() -> None:
    assert KpiCard("L1", "x", 184, 200).completion == pytest.approx(0.92)
    assert KpiCard("L1", "t", 12, 10, "min", higher_is_better=False).completion == pytest.approx(10 / 12)
    assert KpiCard("L2", "x", 5, None).completion is None
    assert KpiCard("L2", "x", 5, 0).completion is None


def test_number_formats() -> None:
    assert number("ru", 3_150_000) == "3\u202f150\u202f000"
    assert number("en", 3_150_000) == "3,150,000"
    assert percent("ru", 0.92) == "92\u00a0%"
    assert percent("en", None) == "—"
    assert amount("ru", 3_150_000, "RUB") == "3\u202f150\u202f000\u00a0₽"
    assert amount("en", 0.91, "%") == "91\u00a0%"
    assert pick_lang("en-US") == "en"
    assert pick_lang(None, "de", "ru-RU") == "ru"
    assert pick_lang("fr") == "ru"


def test_chart_text_is_escaped() -> None:
    svg = str(charts.bars([charts.Bar(label="<script>alert(1)</script>", value=1, text="1 & 2")]))
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg
    assert "1 &amp; 2" in svg
    assert str(charts.bars([])) == ""
    assert "<polyline" in str(charts.line([1, 3, 2], first_label="a", last_label="<b>"))


def test_distribution_shares_are_drawn_on_a_percent_scale() -> None:
    shares = [
        DistributionShare(1, "A", "L1", 30, 0.5),
        DistributionShare(2, "B", "L1", 10, 0.5, paused=True),
    ]
    ((title, svg),) = distribution_charts(shares, "en")
    assert title == "L1 · Lead managers"
    assert "75\u00a0% · 30" in svg
    assert "B (paused)" in svg
    assert 'class="bar weak"' in svg  # paused members are marked


class Hostile(FixtureDashboard):
    """A data source whose names try to inject markup into the page."""

    def trend(self, period: Period) -> list[TrendSeries]:
        return []

    def kpis(self, period: Period) -> list[KpiCard]:
        return [KpiCard("L1", '"><img src=x onerror=alert(1)>', 1, 2)]


def test_page_escapes_data_and_handles_empty_sections() -> None:
    view = build_dashboard(Hostile(), Period.parse("2026-11"), "en")
    html = render_dashboard(view)
    assert "<img src=x" not in html
    assert "&lt;img src=x" in html
    assert "No data for this period" in html  # the empty trend


def test_view_links_keep_the_signature() -> None:
    view = build_dashboard(FixtureDashboard(), Period.parse("2026-11"), "ru", keep={"exp": "1", "sig": "abc"})
    assert view.previous_href == "?exp=1&sig=abc&period=2026-10&lang=ru"
    assert view.lang_links[1] == ("en", "?exp=1&sig=abc&period=2026-11&lang=en", False)


def test_section_json_and_refused_page() -> None:
    body = section_json(FixtureDashboard(), "trend", Period.parse("2026-11"))
    assert body["items"][0]["points"][0] == {"day": "2026-11-01", "value": 3.0}
    with pytest.raises(KeyError):
        section_json(FixtureDashboard(), "secrets", Period.parse("2026-11"))
    refused = render_refused("en")
    assert "Access denied" in refused
