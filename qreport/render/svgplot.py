"""Small bar charts written directly as SVG, for the per-layer sheets.

A report has two small charts per weight layer; a 300-layer model has
600.  Matplotlib spends 20-1200 ms on each (one Rectangle artist per bar;
a 1280-channel layer is 1280 artists), which made the HTML report of a
MobileNet-sized model take 4x the time of loading it.  These charts are
the same look (DejaVu Sans, the palette and sizes of charts.py) drawn as
one <path> for all bars: well under a millisecond each, a few KB, and
byte-for-byte deterministic.  The model-level charts (:mod:`.charts`) are
drawn the same way.
"""

from __future__ import annotations

from .charts import EDGE, FILLS, nice_ticks, text
from .charts import tick_label as _label

W, H = 245.0, 150.0            # points, like a 3.4 x 2.08 inch Matplotlib figure
LEFT, RIGHT, TOP, BOTTOM = 38.0, 8.0, 20.0, 32.0


def _y_grid(ticks, sy, pw: float) -> list[str]:
    """The horizontal grid lines and the y tick labels."""
    out = []
    for t in ticks:
        y = sy(t)
        out.append(f'<path d="M{LEFT:.2f} {y:.2f}H{LEFT + pw:.2f}" stroke="#e4e4e4" stroke-width="0.5"/>')
        out.append(text(LEFT - 4, y + 2.6, _label(t), 7.5, "end"))
    return out


def bar_chart(xs: list[float], heights: list[float], bar_width: float, *, title: str,
              xlabel: str, ylabel: str, hline: float | None = None, hline_label: str = "",
              integer_x: bool = False, fill: str = FILLS[0], css_class: str = "chart") -> str:
    """An inline SVG bar chart: bars centred on xs, from 0 up to heights."""
    n = len(xs)
    x_lo = min(xs) - bar_width / 2 if n else 0.0
    x_hi = max(xs) + bar_width / 2 if n else 1.0
    if x_hi - x_lo <= 0:
        x_lo, x_hi = x_lo - 0.5, x_hi + 0.5
    pad = (x_hi - x_lo) * 0.03
    x_lo, x_hi = x_lo - pad, x_hi + pad
    y_top = max([0.0, *heights, *([hline] if hline is not None else [])]) or 1.0
    yt = nice_ticks(0.0, y_top * 1.12, 5, integer=True)
    y_hi = max(yt[-1], y_top * 1.12)
    pw, ph = W - LEFT - RIGHT, H - TOP - BOTTOM

    def sx(v):
        return LEFT + (v - x_lo) / (x_hi - x_lo) * pw

    def sy(v):
        return TOP + ph - v / y_hi * ph

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="{css_class}" viewBox="0 0 {W:g} {H:g}">',
           f'<rect width="{W:g}" height="{H:g}" fill="#ffffff"/>']
    # grid + y ticks
    out += _y_grid(yt, sy, pw)
    # bars as one path
    d = []
    base = sy(0.0)
    for x, h in zip(xs, heights):
        if h <= 0:
            continue
        x0, x1 = sx(x - bar_width / 2), sx(x + bar_width / 2)
        d.append(f"M{x0:.2f} {base:.2f}V{sy(h):.2f}H{x1:.2f}V{base:.2f}Z")
    stroke = f' stroke="{EDGE}" stroke-width="0.3"' if n <= 96 else ""
    if d:
        out.append(f'<path d="{"".join(d)}" fill="{fill}"{stroke}/>')
    if hline is not None:
        y = sy(hline)
        out.append(f'<path d="M{LEFT:.2f} {y:.2f}H{LEFT + pw:.2f}" stroke="{EDGE}" stroke-width="0.8" stroke-dasharray="3 2"/>')
        out.append(text(LEFT + pw, y - 2.5, hline_label, 7, "end"))
    # axes
    out.append(f'<path d="M{LEFT:.2f} {TOP:.2f}V{TOP + ph:.2f}H{LEFT + pw:.2f}" fill="none" stroke="#444444" stroke-width="0.6"/>')
    xt = [t for t in nice_ticks(min(xs) if n else 0, max(xs) if n else 1, 6, integer=integer_x)
          if x_lo <= t <= x_hi]
    for t in xt:
        x = sx(t)
        out.append(f'<path d="M{x:.2f} {TOP + ph:.2f}v3" stroke="#444444" stroke-width="0.6"/>')
        out.append(text(x, TOP + ph + 11, _label(t), 7.5, "middle"))
    out.append(text(LEFT + pw / 2, H - 4, xlabel, 8, "middle"))
    out.append(text(0, 0, ylabel, 8, "middle", transform=f"translate(9 {TOP + ph / 2:.2f}) rotate(-90)"))
    out.append(text(LEFT, TOP - 7, title, 9))
    out.append("</svg>")
    return "".join(out)


def weight_histogram(values, counts, lsb, title) -> str:
    width = lsb * 0.8 if lsb else ((max(values) - min(values)) / max(len(values), 1) * 0.9 if len(values) > 1 else 0.8)
    return bar_chart(list(values), list(counts), width or 0.8, title=title,
                     xlabel="quantized value" + (f" (grid step {lsb:g})" if lsb else ""),
                     ylabel="count")


def channel_widths(widths, layer_width, title) -> str:
    n = len(widths)
    return bar_chart(list(range(n)), list(widths), 0.85 if n < 200 else 1.0, title=title,
                     xlabel="output channel", ylabel="width (bits)", hline=layer_width,
                     hline_label=f"layer: {layer_width} bits" if layer_width is not None else "",
                     integer_x=True, fill=FILLS[1])


def scatter(points: list[tuple[float, float, str, bool]], *, title: str, xlabel: str,
            ylabel: str) -> str:
    """Points (x, y, label, on the front), the front joined by a step line, as inline SVG."""
    w, h = 2 * W, 1.4 * H
    top = TOP + 8
    pw, ph = w - LEFT - RIGHT - 10, h - top - BOTTOM
    xs, ys = [p[0] for p in points] or [0.0], [p[1] for p in points] or [0.0]
    xt = nice_ticks(min(0.0, min(xs)), max(xs) * 1.15 or 1.0, 6)
    yt = nice_ticks(min(0.0, min(ys)), max(ys) * 1.15 or 1.0, 5)
    x_lo, x_hi, y_lo, y_hi = xt[0], max(xt[-1], max(xs)), yt[0], max(yt[-1], max(ys))

    def sx(v):
        return LEFT + (v - x_lo) / ((x_hi - x_lo) or 1.0) * pw

    def sy(v):
        return top + ph - (v - y_lo) / ((y_hi - y_lo) or 1.0) * ph

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart wide" viewBox="0 0 {w:g} {h:g}">',
           f'<rect width="{w:g}" height="{h:g}" fill="#ffffff"/>']
    out += _y_grid(yt, sy, pw)
    for t in xt:
        x = sx(t)
        out.append(f'<path d="M{x:.2f} {top + ph:.2f}v3" stroke="#444444" stroke-width="0.6"/>')
        out.append(text(x, top + ph + 11, _label(t), 7.5, "middle"))
    front = sorted((p for p in points if p[3]), key=lambda p: (p[0], p[1]))
    if len(front) > 1:
        d = f"M{sx(front[0][0]):.2f} {sy(front[0][1]):.2f}" + "".join(
            f"H{sx(b[0]):.2f}V{sy(b[1]):.2f}" for b in front[1:])
        out.append(f'<path d="{d}" fill="none" stroke="{EDGE}" stroke-width="0.8" stroke-dasharray="3 2"/>')
    placed: list[tuple[float, float]] = []
    for x, y, label, on in points:
        fill = FILLS[1] if on else "#ffffff"
        out.append(f'<circle cx="{sx(x):.2f}" cy="{sy(y):.2f}" r="3" fill="{fill}" stroke="{EDGE}" stroke-width="0.7"/>')
        right = sx(x) + 4.5 + 3.6 * len(label) > w - 2   # no room on the right: set it left
        lx = sx(x) - 4.5 if right else sx(x) + 4.5
        # the first line, above then below the point, free of the labels placed so far
        ly = next(sy(y) + d for d in (-3.5, 9.0, -11.0, 16.5, -18.5, 24.0, -26.0, 31.5)
                  if not any(abs(lx - a) < 60 and abs(sy(y) + d - b) < 7 for a, b in placed))
        placed.append((lx, ly))
        out.append(text(lx, ly, label, 6.5, "end" if right else "start"))
    out.append(f'<path d="M{LEFT:.2f} {top:.2f}V{top + ph:.2f}H{LEFT + pw:.2f}" fill="none" stroke="#444444" stroke-width="0.6"/>')
    out.append(text(LEFT + pw / 2, h - 4, xlabel, 8, "middle"))
    out.append(text(0, 0, ylabel, 8, "middle", transform=f"translate(9 {top + ph / 2:.2f}) rotate(-90)"))
    out.append(text(LEFT, TOP - 7, title, 9))
    out.append("</svg>")
    return "".join(out)
