"""The model charts, drawn by Matplotlib: one row per layer.

A model chart has a row per layer (or per operation), its label on the
left and its bar or markers to the right, so a label never meets another
however many layers there are: rows are 10 pt apart for a small model and
close to 6.5 pt as the model grows; past ``MAX_ROWS`` rows, consecutive
layers are grouped (sums for counts, the widest for bit widths) and the
caption says so.  Labels are measured with the DejaVu Sans advance widths
and shortened in the middle when too long; the whole name stays in the
row's ``<title>``.  The figure's size and the axes' place are computed
here, in points, from the rows and the labels (a style cannot squeeze
them); colours, lines and the other type sizes are the style's.

Series are told apart by lightness and by their order, and markers by
shape, so the charts survive grayscale printing.  Each drawing function
takes the :class:`~.canvas.Canvas` first and returns {gid: full label}; a
:class:`~.mpl.Spec` names it, and :func:`.mpl.draw` runs it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .measure import nice_ticks, shorten, text_width, tick_label
from .mpl import colors

#: More rows than this and consecutive layers are grouped.
MAX_ROWS = 64
LABEL_SHARE = 0.42          # at most this share of the width for the labels


# ------------------------------------------------------------------ grouping

@dataclass(frozen=True)
class Rows:
    """The rows of a chart: a label, the full name(s) behind it, and which
    of the given items each row holds (consecutive runs)."""

    labels: tuple[str, ...]
    titles: tuple[str, ...]
    members: tuple[tuple[int, ...], ...]
    group: int                      # items per row (1: no grouping)

    @property
    def note(self) -> str:
        """What the caption adds when rows are groups ("" when they are not)."""
        n = sum(len(m) for m in self.members)
        if self.group == 1:
            return ""
        return f"{n} layers in {len(self.members)} rows of up to {self.group} consecutive layers"


def group_rows(names: list[str], max_rows: int = MAX_ROWS) -> Rows:
    """One row per name, or consecutive names grouped so that at most ``max_rows`` remain."""
    n = len(names)
    k = max(1, math.ceil(n / max_rows))
    members = tuple(tuple(range(i, min(i + k, n))) for i in range(0, n, k))
    if k == 1:
        return Rows(tuple(names), tuple(names), members, 1)
    labels = tuple(names[m[0]] if len(m) == 1 else f"{names[m[0]]} \u2013 {names[m[-1]]}"
                   for m in members)
    titles = tuple(", ".join(names[i] for i in m) for m in members)
    return Rows(labels, titles, members, k)


# ------------------------------------------------------------------ frame

def _pitch(rows: int) -> tuple[float, float]:
    """Row pitch and label size (points): roomy for a few rows, tighter for many."""
    pitch = max(6.5, min(10.0, 10.0 - (rows - 16) * 0.075))
    return pitch, min(7.0, pitch * 0.86)


def _legend_cols(names: list[str], size: float, width: float) -> tuple[int, int]:
    """(columns, rows) of a legend whose entries fit ``width`` points side by side."""
    if not names:
        return 0, 0
    cols, x = 0, 2.0
    for n in names:
        w = 12.0 + text_width(n, size) + 10.0
        if cols and x + w > width:
            break
        x, cols = x + w, cols + 1
    return cols, math.ceil(len(names) / cols)


def _frame(c, rows: Rows, width_in: float, legend: list[str]):
    """The canvas sized for the rows: labels left, rows from the top, the x axis below.
    Returns (axes width in points, label size, legend columns)."""
    w = width_in * 72.0
    pitch, font = _pitch(len(rows.labels))
    longest = max((text_width(s, font) for s in rows.labels), default=0.0)
    x0 = min(longest, w * LABEL_SHARE) + 6.0
    cols, lrows = _legend_cols(legend, c.params["legend.fontsize"], w)
    y0 = (lrows * 10.0 + 7.0 if lrows else 0.0) + 5.0
    h = y0 + len(rows.labels) * pitch + 27.0
    ax = c.begin(w, h, x0, y0, 12.0, 27.0)
    ax.set_ylim(len(rows.labels), 0)
    # row labels, shortened in the middle to fit; the full names as titles
    c.yticks([i + 0.5 for i in range(len(rows.labels))],
             [shorten(s, font, x0 - 6.0) for s in rows.labels], marks=False, size=font,
             gids=[f"qr-row-{i}" for i in range(len(rows.labels))])
    return w - x0 - 12.0, cols


def _x_axis(c, hi: float, ticks: list[float], xlabel: str) -> None:
    c.ax.set_xlim(0, hi)
    c.xticks(ticks, [tick_label(t) for t in ticks], grid=True)
    left, width = c.ax.get_position().x0 * c.w, c.ax.get_position().width * c.w
    c.text(left + width / 2, c.h - 6.0, xlabel, c.params["axes.labelsize"], ha="center")


def _titles(rows: Rows) -> dict[str, str]:
    return {f"qr-row-{i}": t for i, t in enumerate(rows.titles)}


# ------------------------------------------------------------------ charts

def stacked_by_layer(c, layers: list[str], segments: list[str], table: list[list[float]],
                     xlabel: str, width: float = 7.0) -> dict[str, str]:
    """Horizontal stacked bars, a row per layer and a segment per column of ``table``;
    grouped rows sum their layers' values."""
    from matplotlib.patches import Patch

    p = c.params
    rows = group_rows(layers)
    t = np.asarray(table, float).reshape(len(layers), len(segments))
    sums = np.array([t[list(m)].sum(0) for m in rows.members]).reshape(-1, len(segments))
    names = list(segments) if len(segments) > 1 else []
    axis_w, cols = _frame(c, rows, width, names)
    total = float(sums.sum(1).max()) if len(sums) else 0.0
    ticks = nice_ticks(0.0, total or 1.0, 5)
    hi = max(ticks[-1], total * 1.04) or 1.0      # the longest bar ends inside the axis
    _x_axis(c, hi, ticks, xlabel)
    fills = colors(p)
    edge, lw = p["patch.edgecolor"], p["patch.linewidth"]
    least = 0.3 * hi / axis_w                     # a nonzero bar is 0.3 pt wide at least
    left = np.cumsum(np.c_[np.zeros(len(sums)), sums[:, :-1]], 1)
    handles = []
    for j in range(len(segments)):
        fill = fills[j % len(fills)]
        rects = [(left[i, j], i + 0.14, max(sums[i, j], least), 0.72)
                 for i in np.flatnonzero(sums[:, j] > 0)]
        if rects:
            c.bars(rects, facecolor=fill, edgecolor=edge, linewidth=lw)
        handles.append(Patch(facecolor=fill, edgecolor=edge, linewidth=0.4))
    if names:
        c.legend(handles, names, cols)
    return _titles(rows)


#: Marker of each bit-width series, drawn in this order: (shape, fill: an index of the
#: style's colours, or "face" for the axes' face colour).
MARKERS = {
    "weight bits": ("s", "face"),
    "input bits": ("^", 1),
    "accumulator (type)": ("D", "face"),
    "accumulator (sampled)": ("v", 4),
    "accumulator (bound)": ("o", 0),
}


def bit_profile(c, labels: list[str], series: dict[str, list], width: float = 7.0) -> dict[str, str]:
    """Bit widths per operation: a row each, a marker per series at its width (None: none);
    a grouped row shows the widest of its operations."""
    from matplotlib.lines import Line2D

    p = c.params
    rows = group_rows(labels)
    order = list(MARKERS)
    shown = [(name, vals) for name, vals in sorted(series.items(), key=lambda kv: order.index(kv[0]))
             if any(v is not None for v in vals)]
    _, cols = _frame(c, rows, width, [n for n, _ in shown])
    widest = [[max((vals[i] for i in m if vals[i] is not None), default=None) for m in rows.members]
              for _, vals in shown]
    top = max((v for col in widest for v in col if v is not None), default=1)
    ticks = nice_ticks(0.0, top, 6, integer=True)
    hi = max(ticks[-1], top * 1.05) or 1.0        # the widest marker stays inside the axis
    _x_axis(c, hi, ticks, "width (bits)")
    # a faint guide per row, so a marker is read against its label
    c.lines([((0, i + 0.5), (hi, i + 0.5)) for i in range(len(rows.labels))],
            color=p["grid.color"], linewidth=0.4, zorder=0.5)
    fills = colors(p)
    size = p["lines.markersize"] * min(1.0, _pitch(len(rows.labels))[0] / 8.0)
    handles = []
    for (name, _), col in zip(shown, widest):
        shape, fill = MARKERS[name]
        face = p["axes.facecolor"] if fill == "face" else fills[fill % len(fills)]
        pts = [(v, i + 0.5) for i, v in enumerate(col) if v is not None]
        style = dict(linestyle="none", marker=shape, markerfacecolor=face,
                     markeredgecolor=p["lines.markeredgecolor"], markeredgewidth=0.6)
        if pts:
            c.add(c.ax.plot(*zip(*pts), markersize=size, clip_on=False, **style)[0])
        handles.append(Line2D([], [], markersize=p["lines.markersize"], **style))
    if shown:
        c.legend(handles, [n for n, _ in shown], cols)
    return _titles(rows)
