"""Small SVG charts rendered on the server: pure functions from numbers to markup.

No JavaScript and nothing fetched at run time: the page is complete when it arrives. Every text
that comes from data is escaped. Colours come from CSS classes of the page (``bar``, ``weak``...).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    text: str  # the value as shown next to the bar
    note: str = ""  # a second line (conversion, target...)
    highlight: bool = False
    marker: float | None = None  # 0..1 of the full width: a target tick


def _fmt(number: float) -> str:
    return f"{number:.1f}".rstrip("0").rstrip(".")


def bars(
    items: Sequence[Bar],
    *,
    scale: float | None = None,
    width: int = 560,
    row: int = 34,
    label_width: int = 170,
) -> Markup:
    """Horizontal bars scaled to ``scale`` (default: the largest value); ``highlight`` bars get the
    ``weak`` class."""
    if not items:
        return Markup("")
    top = scale or max((item.value for item in items), default=0.0) or 1.0
    track = width - label_width - 90
    height = row * len(items) + 4
    parts = [
        f'<svg class="chart bars" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'xmlns="http://www.w3.org/2000/svg">'
    ]
    for index, item in enumerate(items):
        y = index * row + 2
        length = max(track * min(item.value / top, 1.0), 2.0) if item.value > 0 else 0.0
        css = "bar weak" if item.highlight else "bar"
        parts.append(f'<g class="{css}" data-label="{escape(item.label)}">')
        parts.append(
            f'<text class="label" x="0" y="{y + 14}">{escape(item.label)}</text>'
            + (f'<text class="note" x="0" y="{y + 28}">{escape(item.note)}</text>' if item.note else "")
        )
        parts.append(
            f'<rect class="track" x="{label_width}" y="{y + 4}" width="{track}" height="18" rx="3"/>'
        )
        parts.append(
            f'<rect class="fill" x="{label_width}" y="{y + 4}" width="{_fmt(length)}" height="18" rx="3"/>'
        )
        if item.marker is not None:
            mx = label_width + track * min(max(item.marker, 0.0), 1.0)
            parts.append(f'<line class="target" x1="{_fmt(mx)}" x2="{_fmt(mx)}" y1="{y}" y2="{y + 26}"/>')
        parts.append(
            f'<text class="value" x="{label_width + track + 8}" y="{y + 18}">{escape(item.text)}</text>'
        )
        parts.append("</g>")
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every data text above is escaped


def line(
    values: Sequence[float],
    *,
    first_label: str,
    last_label: str,
    width: int = 560,
    height: int = 150,
) -> Markup:
    """A line over the days of the period with its maximum marked; no axes to read, just the shape."""
    if not values:
        return Markup("")
    pad_x, pad_top, pad_bottom = 8, 14, 20
    top = max(values) or 1.0
    inner_w, inner_h = width - 2 * pad_x, height - pad_top - pad_bottom
    step = inner_w / max(len(values) - 1, 1)
    points = [
        (pad_x + index * step, pad_top + inner_h * (1 - value / top)) for index, value in enumerate(values)
    ]
    path = " ".join(f"{_fmt(x)},{_fmt(y)}" for x, y in points)
    area = f"{_fmt(pad_x)},{pad_top + inner_h} {path} {_fmt(points[-1][0])},{pad_top + inner_h}"
    peak = values.index(max(values))
    px, py = points[peak]
    axis_y = pad_top + inner_h
    return Markup(  # noqa: S704 - every data text below is escaped
        f'<svg class="chart line" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'xmlns="http://www.w3.org/2000/svg">'
        f'<line class="axis" x1="{pad_x}" x2="{width - pad_x}" y1="{axis_y}" y2="{axis_y}"/>'
        f'<polygon class="area" points="{area}"/>'
        f'<polyline class="stroke" fill="none" points="{path}"/>'
        f'<circle class="peak" cx="{_fmt(px)}" cy="{_fmt(py)}" r="3"/>'
        f'<text class="peak-label" x="{_fmt(px)}" y="{_fmt(max(py - 5, 10))}" text-anchor="middle">'
        f"{escape(_fmt(values[peak]))}</text>"
        f'<text class="tick" x="{pad_x}" y="{height - 4}">{escape(first_label)}</text>'
        f'<text class="tick" x="{width - pad_x}" y="{height - 4}" text-anchor="end">'
        f"{escape(last_label)}</text>"
        "</svg>"
    )
