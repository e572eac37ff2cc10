"""Charts of the dashboards, drawn on the server as SVG (issue 15 § 1): no script, so the content
security policy stays as it is, and they print like the rest of the page.

Each chart is an ``<svg role="img">`` named by its ``<title>`` and described by its ``<desc>`` (read
by screen readers instead of the shapes); the numbers themselves are always in a table beside the
chart (the templates), never only in the drawing. Colours come from the stylesheet (classes), so the
print stylesheet and high-contrast modes apply.
"""

from __future__ import annotations

import itertools

from django.utils.formats import number_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

BAR_HEIGHT = 22
GAP = 8
LABEL_WIDTH = 190
BAR_WIDTH = 360
VALUE_WIDTH = 70

_ids = itertools.count(1)


def bar_chart(*, title: str, description: str, bars: list[tuple[str, float | None]], unit: str = "") -> SafeString:
    """A horizontal bar chart of ``bars`` (label, value; None draws no bar and says "–"). Values are
    scaled to the largest one; a value is also written at the end of its bar."""
    number = next(_ids)
    title_id, desc_id = f"chart-{number}-title", f"chart-{number}-desc"
    largest = max([v for _label, v in bars if v] or [1])
    height = len(bars) * (BAR_HEIGHT + GAP) + GAP
    width = LABEL_WIDTH + BAR_WIDTH + VALUE_WIDTH
    rows = []
    for index, (label, value) in enumerate(bars):
        y = GAP + index * (BAR_HEIGHT + GAP)
        length = 0 if not value else max(1, round(BAR_WIDTH * value / largest))
        shown = "–" if value is None else f"{_number(value)}{unit}"
        rows.append((y + BAR_HEIGHT * 0.7, label, LABEL_WIDTH, y, length, BAR_HEIGHT, LABEL_WIDTH + length + 6, shown))
    body = format_html_join(
        "",
        '<text class="chart__label" x="0" y="{}">{}</text>'
        '<rect class="chart__bar" x="{}" y="{}" width="{}" height="{}"></rect>'
        '<text class="chart__value" x="{}" y="{}">{}</text>',
        ((ty, label, x, y, length, h, vx, ty, shown) for ty, label, x, y, length, h, vx, shown in rows),
    )
    return format_html(
        '<svg class="chart" role="img" aria-labelledby="{} {}" viewBox="0 0 {} {}" width="100%" '
        'preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">'
        '<title id="{}">{}</title><desc id="{}">{}</desc>{}</svg>',
        title_id,
        desc_id,
        width,
        height,
        title_id,
        title,
        desc_id,
        description,
        body,
    )


def _number(value: float) -> str:
    """In the active language's format (a decimal comma in German)."""
    if isinstance(value, float) and not value.is_integer():
        return number_format(value, 1)
    return str(int(value))
