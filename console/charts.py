"""Small SVG charts drawn on the server (no script, no library): values in, shapes out."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    value: int
    series: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: tuple[Bar, ...]
    labels: tuple[tuple[float, str], ...]   # x centre, text
    peak: int


def bar_chart(days: list[tuple[str, int, int]], *, width: int = 560, height: int = 160) -> Chart:
    """Paired bars per day: (label, sent, received) → positioned rectangles scaled to the peak."""
    peak = max([1] + [max(s, r) for _, s, r in days])
    plot_h = height - 24
    slot = width / max(1, len(days))
    bar_w = slot * 0.34
    bars = []
    labels = []
    for i, (label, sent, received) in enumerate(days):
        x0 = i * slot + slot * 0.14
        for j, (value, series) in enumerate(((sent, "sent"), (received, "received"))):
            h = plot_h * value / peak
            bars.append(Bar(round(x0 + j * bar_w, 1), round(plot_h - h, 1), round(bar_w - 2, 1), round(h, 1),
                            value, series))
        labels.append((round(i * slot + slot / 2, 1), label))
    return Chart(width, height, tuple(bars), tuple(labels), peak)
