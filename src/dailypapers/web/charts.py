"""Charts as SVG drawn on the server by pygal, inline in the page: no JavaScript, readable at a glance.

pygal lays the chart out (scales, ticks, bars, lines); what it adds for its own JavaScript tooltips (a
config script, the tooltip group's inline style) and its inline stylesheet go, because the site's
Content-Security-Policy allows neither inline scripts nor inline styles: site CSS (trends.css) colours the
chart by its classes, for light and dark alike. Each chart is `role="img"` named by its title; the numbers
are in a table next to it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import date

import pygal
from markupsafe import Markup, escape

_DEFS = re.compile(r"<defs>.*?</defs>", re.S)
_SCRIPT = re.compile(r"<script\b.*?</script>", re.S)
_COMMENT = re.compile(r"<!--.*?-->", re.S)
_STYLE_ATTR = re.compile(r'\sstyle="[^"]*"')
_ID = re.compile(r'\sid="chart-[0-9a-f-]+"')


def _clean(svg: str, title: str, css_class: str) -> Markup:
    svg = _SCRIPT.sub("", _DEFS.sub("", _COMMENT.sub("", svg)))
    svg = _ID.sub("", _STYLE_ATTR.sub("", svg))
    label = escape(title)
    svg = svg.replace("<svg ", f'<svg role="img" aria-label="{label}" focusable="false" ', 1)
    svg = svg.replace('class="pygal-chart', f'class="pygal-chart {css_class}', 1)
    return Markup(svg)


def _ticks(top: float) -> list[float]:
    """Whole-number ticks from 0 to past `top`, about five of them."""
    if top <= 0:
        return [0, 1]
    raw = top / 4
    magnitude = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    step = max(1, int(step))
    return list(range(0, int(math.ceil(top / step)) * step + step, step))


def weekly(
    title: str,
    weeks: Sequence[date],
    values: Sequence[float],
    *,
    width: int = 640,
    height: int = 220,
    highlight: tuple[int, int] | None = None,
    label_every: int = 4,
) -> Markup:
    """Bars, one a week, labelled by the week's Monday every `label_every` weeks; the bars with indexes in
    [start, stop) of `highlight` (the window of a trend) in the accent colour."""
    chart = pygal.Bar(
        js=[],
        disable_xml_declaration=True,
        show_legend=False,
        width=width,
        height=height,
        title=None,
        margin=8,
        spacing=4,
        x_label_rotation=0,
        show_minor_x_labels=False,
        x_labels_major_every=label_every,
        truncate_label=-1,
        y_labels=_ticks(max(values, default=0)),
        print_values=False,
        show_y_guides=True,
        show_x_guides=False,
    )
    chart.x_labels = [w.strftime("%b %-d") for w in weeks]
    start, stop = highlight or (len(values), len(values))
    chart.add("other weeks", [None if start <= i < stop else v for i, v in enumerate(values)])
    chart.add("the window", [v if start <= i < stop else None for i, v in enumerate(values)])
    return _clean(chart.render(is_unicode=True), title, "weekly-chart")


def sparkline(title: str, values: Sequence[float], *, width: int = 132, height: int = 28) -> Markup:
    """A line with no axes, for a row of a list."""
    chart = pygal.Line(
        js=[], disable_xml_declaration=True, show_legend=False, fill=True, show_dots=False, stroke=True
    )
    chart.add("series", list(values) or [0])
    svg = chart.render_sparkline(width=width, height=height, is_unicode=True)
    return _clean(svg, title, "sparkline")
