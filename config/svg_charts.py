"""Charts for staff pages drawn on the server as inline SVG: no JavaScript, nothing fetched.

Each chart carries its exact figures too (a <title> per bar or point, shown on hover), and
the pages print the same figures in a table beside it.
"""

from dataclasses import dataclass
from math import ceil, log10

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH_PX = 720
HEIGHT_PX = 200
MARGIN_LEFT_PX = 44
MARGIN_RIGHT_PX = 8
MARGIN_TOP_PX = 26
MARGIN_BOTTOM_PX = 36
LEGEND_ROW_PX = 16
# At most this many x-axis labels are written; the others are left to the hover titles.
MAX_X_LABELS = 10
PALETTE = ("#417690", "#e0a030", "#ba2121", "#70bf2b", "#8a6fb5", "#5b9bd5")


@dataclass(frozen=True)
class Series:
    name: str
    values: list[float | None]
    color: str = ""


def _nice_max(value: float) -> float:
    """The axis top: `value` rounded up to 1, 2 or 5 times a power of ten."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** int(log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * magnitude:
            return float(step * magnitude)
    return float(ceil(value))


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def _frame(title: str, body: list[str], series: list[Series], top: float, unit: str) -> str:
    plot_h = HEIGHT_PX - MARGIN_TOP_PX - MARGIN_BOTTOM_PX
    legend_h = LEGEND_ROW_PX
    total_h = HEIGHT_PX + legend_h
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="atelier-chart" role="img" '
        f'width="{WIDTH_PX}" height="{total_h}" viewBox="0 0 {WIDTH_PX} {total_h}" '
        f'aria-label="{escape(title)}" style="max-width:100%;height:auto;font:11px sans-serif">',
        f"<title>{escape(title)}</title>",
        f'<text x="{MARGIN_LEFT_PX}" y="14" fill="#333" font-weight="bold">{escape(title)}</text>',
    ]
    for fraction in (0, 0.5, 1):
        y = MARGIN_TOP_PX + plot_h * (1 - fraction)
        parts.append(
            f'<line x1="{MARGIN_LEFT_PX}" x2="{WIDTH_PX - MARGIN_RIGHT_PX}" y1="{y:.1f}" '
            f'y2="{y:.1f}" stroke="#ddd"/>'
            f'<text x="{MARGIN_LEFT_PX - 4}" y="{y + 4:.1f}" text-anchor="end" fill="#666">'
            f"{escape(_number(top * fraction))}{escape(unit)}</text>"
        )
    parts += body
    x = MARGIN_LEFT_PX
    for index, line in enumerate(series):
        color = line.color or PALETTE[index % len(PALETTE)]
        y = HEIGHT_PX + 4
        parts.append(
            f'<rect x="{x}" y="{y}" width="10" height="10" fill="{color}"/>'
            f'<text x="{x + 14}" y="{y + 9}" fill="#333">{escape(line.name)}</text>'
        )
        x += 24 + 7 * len(line.name)
    parts.append("</svg>")
    return "".join(parts)


def _x_labels(labels: list[str], centers: list[float]) -> list[str]:
    every = max(1, ceil(len(labels) / MAX_X_LABELS))
    y = HEIGHT_PX - MARGIN_BOTTOM_PX + 14
    return [
        f'<text x="{x:.1f}" y="{y}" text-anchor="middle" fill="#666">{escape(label)}</text>'
        for n, (label, x) in enumerate(zip(labels, centers, strict=True))
        if n % every == 0
    ]


def bar_chart(
    labels: list[str],
    series: list[Series],
    *,
    title: str,
    unit: str = "",
    stacked: bool = True,
) -> SafeString:
    """Bars per label: the series stacked (or side by side), each bar titled with its
    label, series name and exact value."""
    plot_w = WIDTH_PX - MARGIN_LEFT_PX - MARGIN_RIGHT_PX
    plot_h = HEIGHT_PX - MARGIN_TOP_PX - MARGIN_BOTTOM_PX
    count = max(1, len(labels))
    if stacked:
        peak = max((sum(s.values[i] or 0 for s in series) for i in range(len(labels))), default=0)
    else:
        peak = max((v or 0 for s in series for v in s.values), default=0)
    top = _nice_max(peak)
    slot = plot_w / count
    bar_w = slot * 0.8 / (1 if stacked else max(1, len(series)))
    body, centers = [], []
    for i, label in enumerate(labels):
        left = MARGIN_LEFT_PX + slot * i + slot * 0.1
        centers.append(MARGIN_LEFT_PX + slot * (i + 0.5))
        base = 0.0
        for n, line in enumerate(series):
            value = line.values[i] or 0
            height = plot_h * value / top
            x = left if stacked else left + bar_w * n
            y = MARGIN_TOP_PX + plot_h - height - (plot_h * base / top if stacked else 0)
            color = line.color or PALETTE[n % len(PALETTE)]
            body.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(bar_w, 1):.1f}" '
                f'height="{height:.1f}" fill="{color}"><title>{escape(label)} · '
                f"{escape(line.name)}: {escape(_number(value))}{escape(unit)}</title></rect>"
            )
            if stacked:
                base += value
    body += _x_labels(labels, centers)
    return mark_safe(_frame(title, body, series, top, unit))  # noqa: S308 - escaped above


def line_chart(
    labels: list[str], series: list[Series], *, title: str, unit: str = ""
) -> SafeString:
    """A line per series over the labels; a None value breaks the line (no data)."""
    plot_w = WIDTH_PX - MARGIN_LEFT_PX - MARGIN_RIGHT_PX
    plot_h = HEIGHT_PX - MARGIN_TOP_PX - MARGIN_BOTTOM_PX
    count = max(1, len(labels))
    top = _nice_max(max((v for s in series for v in s.values if v is not None), default=0))
    step = plot_w / count
    centers = [MARGIN_LEFT_PX + step * (i + 0.5) for i in range(len(labels))]
    body = []
    for n, line in enumerate(series):
        color = line.color or PALETTE[n % len(PALETTE)]
        segments: list[list[str]] = [[]]
        for i, value in enumerate(line.values):
            if value is None:
                segments.append([])
                continue
            x, y = centers[i], MARGIN_TOP_PX + plot_h * (1 - value / top)
            segments[-1].append(f"{x:.1f},{y:.1f}")
            body.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{color}"><title>'
                f"{escape(labels[i])} · {escape(line.name)}: {escape(_number(value))}"
                f"{escape(unit)}</title></circle>"
            )
        body += [
            f'<polyline fill="none" stroke="{color}" stroke-width="1.5" '
            f'points="{" ".join(points)}"/>'
            for points in segments
            if len(points) > 1
        ]
    body += _x_labels(labels, centers)
    return mark_safe(_frame(title, body, series, top, unit))  # noqa: S308 - escaped above
