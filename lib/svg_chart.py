"""Small bar charts rendered on the server as inline SVG: no JavaScript, nothing from a CDN."""

from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe


@dataclass(frozen=True)
class Bar:
    value: float
    label: str  # the tooltip
    colour: str = "#417690"


def bar_chart(bars: list[Bar], *, title: str, unit: str, width: int = 360, height: int = 90) -> SafeString:
    """Return an SVG bar chart of the bars, oldest left, with the largest value written at the top."""
    if not bars:
        return mark_safe(f'<p class="quiet">{escape(title)}: no runs yet</p>')
    top = max(bar.value for bar in bars) or 1.0
    slot = min(width / len(bars), 24.0)  # a few runs make narrow bars, not one wide block
    gap = min(2.0, slot * 0.2)
    parts = [
        f'<svg class="js-chart" role="img" aria-label="{escape(title)}" width="{width}" height="{height + 16}" '
        f'viewBox="0 0 {width} {height + 16}" xmlns="http://www.w3.org/2000/svg">',
        f'<text x="0" y="11" font-size="11" fill="currentColor">{escape(title)} (max {top:,.1f} {escape(unit)})</text>',
        f'<line x1="0" y1="{height + 15.5}" x2="{width}" y2="{height + 15.5}" stroke="#999" stroke-width="1"/>',
    ]
    for index, bar in enumerate(bars):
        bar_height = max(1.0, (bar.value / top) * (height - 4))
        x = index * slot + gap / 2
        y = height + 16 - bar_height
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{slot - gap:.1f}" height="{bar_height:.1f}" fill="{bar.colour}">'
            f"<title>{escape(bar.label)}: {bar.value:,.1f} {escape(unit)}</title></rect>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))
