"""The small charts of a layer sheet, and the comparison's scatter, drawn by Matplotlib.

A report has two small charts per weight layer; a 300-layer model has 600.
Each is a figure of fixed size whose bars are one compound path (a
1,280-channel layer is one SVG element, not 1,280 patches), drawn on the
process's reused :class:`~.canvas.Canvas` where the page is laid out
(:mod:`.mpl`).  Every drawing function takes the canvas first and returns
{gid: full text} (none here: no string is shortened).
"""

from __future__ import annotations

from .measure import nice_ticks, text_width, tick_label
from .mpl import colors

W, H = 245.0, 150.0            # points: a 3.4 x 2.08 inch figure
LEFT, RIGHT, TOP, BOTTOM = 38.0, 8.0, 20.0, 32.0


def _axes(c, w: float, h: float, top: float, right: float, xlim, ylim, xt, yt) -> None:
    """The axes box, its limits, and the ticks (y with grid lines)."""
    c.begin(w, h, LEFT, top, right, BOTTOM)
    c.ax.set_xlim(*xlim)
    c.ax.set_ylim(*ylim)
    c.yticks(yt, [tick_label(t) for t in yt], grid=True)
    c.xticks(xt, [tick_label(t) for t in xt])


def _texts(c, title: str, xlabel: str, ylabel: str, top: float, right: float) -> None:
    """Title above the axes' left edge, axis titles centred below and left (at set places,
    so every sheet chart lines up with the next)."""
    p = c.params
    c.text(LEFT, top - 7, title, p["axes.titlesize"])
    mid_x = LEFT + (c.w - LEFT - right) / 2
    c.text(mid_x, c.h - 4, xlabel, p["axes.labelsize"], ha="center")
    mid_y = top + (c.h - top - BOTTOM) / 2
    c.text(9 + 0.35 * p["axes.labelsize"], mid_y, ylabel, p["axes.labelsize"], ha="center",
           rotation=90, rotation_mode="anchor")


def _merged(xs: list[float], heights: list[float], width: float) -> list[tuple]:
    """Bars without edges as rectangles, a run of touching bars of one height as one:
    the same picture, one rectangle where 512 channels of one width drew 512."""
    out: list[list[float]] = []
    for x, h in sorted(zip(xs, heights)):
        if h <= 0:
            continue
        left = x - width / 2
        last = out[-1] if out else None
        if last is not None and last[3] == h and left <= last[0] + last[2] + 1e-9 * width:
            last[2] = left + width - last[0]
        else:
            out.append([left, 0.0, width, h])
    return [tuple(r) for r in out]


def bar_chart(c, xs: list[float], heights: list[float], bar_width: float, *, title: str,
              xlabel: str, ylabel: str, hline: float | None = None, hline_label: str = "",
              integer_x: bool = False, fill: int = 0) -> dict:
    """Bars centred on xs, from 0 up to heights (fill: an index of the style's colours)."""
    p = c.params
    n = len(xs)
    x_lo = min(xs) - bar_width / 2 if n else 0.0
    x_hi = max(xs) + bar_width / 2 if n else 1.0
    if x_hi - x_lo <= 0:
        x_lo, x_hi = x_lo - 0.5, x_hi + 0.5
    pad = (x_hi - x_lo) * 0.03
    x_lo, x_hi = x_lo - pad, x_hi + pad
    y_top = max([0.0, *heights, *([hline] if hline is not None else [])]) or 1.0
    yt = nice_ticks(0.0, y_top * 1.12, 5, integer=True)
    xt = [t for t in nice_ticks(min(xs) if n else 0, max(xs) if n else 1, 6, integer=integer_x)
          if x_lo <= t <= x_hi]
    _axes(c, W, H, TOP, RIGHT, (x_lo, x_hi), (0, max(yt[-1], y_top * 1.12)), xt, yt)
    edges = n <= 96   # edges only while bars are wide enough to show them
    rects = _merged(xs, heights, bar_width) if not edges else \
        [(x - bar_width / 2, 0.0, bar_width, h) for x, h in zip(xs, heights) if h > 0]
    fills = colors(p)
    if rects:
        c.bars(rects, facecolor=fills[fill % len(fills)],
               edgecolor=p["patch.edgecolor"] if edges else "none",
               linewidth=p["patch.linewidth"] if edges else 0)
    if hline is not None:
        c.lines([((x_lo, hline), (x_hi, hline))], color=p["patch.edgecolor"], linewidth=0.8,
                linestyle=(0, (3, 2)))
        c.add(c.ax.annotate(hline_label, (1, hline), xycoords=("axes fraction", "data"),
                            xytext=(0, 2.5), textcoords="offset points", ha="right", fontsize=7))
    _texts(c, title, xlabel, ylabel, TOP, RIGHT)
    return {}


def weight_histogram(c, values, counts, lsb, title) -> dict:
    width = lsb * 0.8 if lsb else ((max(values) - min(values)) / max(len(values), 1) * 0.9
                                   if len(values) > 1 else 0.8)
    return bar_chart(c, list(values), list(counts), width or 0.8, title=title,
                     xlabel="quantized value" + (f" (grid step {lsb:g})" if lsb else ""),
                     ylabel="count")


def channel_widths(c, widths, layer_width, title) -> dict:
    n = len(widths)
    return bar_chart(c, list(range(n)), list(widths), 0.85 if n < 200 else 1.0, title=title,
                     xlabel="output channel", ylabel="width (bits)", hline=layer_width,
                     hline_label=f"layer: {layer_width} bits" if layer_width is not None else "",
                     integer_x=True, fill=1)


#: Where a point's label may go, in points from the point (right of it, or left near the
#: right edge): above, then below, farther out each time, the first free of the others.
_SLOTS = (-3.5, 9.0, -11.0, 16.5, -18.5, 24.0, -26.0, 31.5)


def scatter(c, points: list[tuple[float, float, str, bool]], *, title: str, xlabel: str,
            ylabel: str) -> dict:
    """Points (x, y, label, on the front), the front joined by a step line."""
    p = c.params
    w, h, top, right = 2 * W, 1.4 * H, TOP + 8, RIGHT + 10
    pw, ph = w - LEFT - right, h - top - BOTTOM
    xs, ys = [q[0] for q in points] or [0.0], [q[1] for q in points] or [0.0]
    xt = nice_ticks(min(0.0, min(xs)), max(xs) * 1.15 or 1.0, 6)
    yt = nice_ticks(min(0.0, min(ys)), max(ys) * 1.15 or 1.0, 5)
    x_lo, x_hi, y_lo, y_hi = xt[0], max(xt[-1], max(xs)), yt[0], max(yt[-1], max(ys))
    _axes(c, w, h, top, right, (x_lo, x_hi), (y_lo, y_hi), xt, yt)

    def sx(v):   # points from the figure's left edge
        return LEFT + (v - x_lo) / ((x_hi - x_lo) or 1.0) * pw

    def sy(v):   # points from the figure's top edge
        return top + ph - (v - y_lo) / ((y_hi - y_lo) or 1.0) * ph

    edge = p["patch.edgecolor"]
    front = sorted((q for q in points if q[3]), key=lambda q: (q[0], q[1]))
    if len(front) > 1:
        c.add(c.ax.plot([q[0] for q in front], [q[1] for q in front], drawstyle="steps-post",
                        color=edge, linewidth=0.8, linestyle=(0, (3, 2)), clip_on=False)[0])
    fills = colors(p)
    for on in (False, True):
        pts = [(x, y) for x, y, _, o in points if o == on]
        if pts:
            c.add(c.ax.plot(*zip(*pts), linestyle="none", marker="o", markersize=6, clip_on=False,
                            markerfacecolor=fills[1 % len(fills)] if on else p["axes.facecolor"],
                            markeredgecolor=edge, markeredgewidth=0.7)[0])
    placed: list[tuple[float, float]] = []
    for x, y, label, _ in points:
        at_right = sx(x) + 4.5 + text_width(label, 6.5) > w - 2   # no room: set it left
        lx = sx(x) - 4.5 if at_right else sx(x) + 4.5
        ly = next((sy(y) + d for d in _SLOTS
                   if not any(abs(lx - a) < 60 and abs(sy(y) + d - b) < 7 for a, b in placed)),
                  sy(y) + _SLOTS[0])
        placed.append((lx, ly))
        c.text(lx, ly, label, 6.5, ha="right" if at_right else "left")
    _texts(c, title, xlabel, ylabel, top, right)
    return {}
