"""The model charts: one row per layer, written directly as SVG.

A model chart has a row per layer (or per operation), its label on the
left and its bar or markers to the right, so a label never meets another
however many layers there are: rows are 10 pt apart for a small model and
close to 6.5 pt as the model grows; past ``MAX_ROWS`` rows, consecutive
layers are grouped (sums for counts, the widest for bit widths) and the
caption says so.  Labels are measured with the DejaVu Sans advance widths
(:func:`text_width`) and shortened in the middle when too long; the whole
name stays in the row's ``<title>``.

The SVG is deterministic text (no ids, no dates), a few KB however many
layers, and drawn in well under a millisecond.  Series are told apart by
gray level and by their order, and markers by shape, so the charts survive
grayscale printing.  Every string from the model is escaped.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from html import escape

from .text import MINUS, si

# Distinct in grayscale: lightness steps, drawn in this order left to right.
FILLS = ["#1d3557", "#8fa8c8", "#e0e6ef", "#4a4a4a", "#b0b0b0", "#ffffff"]
EDGE = "#1d1d1d"
FONT = "font-family:'DejaVu Sans';"

#: More rows than this and consecutive layers are grouped.
MAX_ROWS = 64
LABEL_SHARE = 0.42          # at most this share of the width for the labels
TICK, AXIS_LABEL, LEGEND = 7.0, 7.5, 7.0


@lru_cache(maxsize=1)
def _advances() -> tuple[dict[int, float], float]:
    """DejaVu Sans advance widths in em, by code point, and a fallback."""
    from fontTools.ttLib import TTFont

    from .media import font_dir

    font = TTFont(os.path.join(font_dir(), "DejaVuSans.ttf"), lazy=True)
    upem = font["head"].unitsPerEm
    hmtx = font["hmtx"]
    adv = {cp: hmtx[g][0] / upem for cp, g in font.getBestCmap().items() if cp < 0x3000}
    return adv, 0.65


def text_width(s: str, size: float) -> float:
    """The width of ``s`` set in DejaVu Sans at ``size`` (same unit as size)."""
    adv, other = _advances()
    return sum(adv.get(ord(c), other) for c in s) * size


def shorten(s: str, size: float, room: float) -> str:
    """``s``, or its start and end joined by an ellipsis, fitting ``room`` at ``size``."""
    if text_width(s, size) <= room:
        return s
    keep = len(s)
    while keep > 2:
        keep -= 1
        head, tail = s[:(keep + 1) // 2], s[len(s) - keep // 2:]
        out = head + "\u2026" + tail
        if text_width(out, size) <= room:
            return out
    return s[:1] + "\u2026"


def text(x: float, y: float, s: str, size: float, anchor: str = "start", title: str | None = None,
         transform: str = "") -> str:
    """An SVG ``<text>`` of the (escaped) string ``s``.

    Anchored text (``end``, ``middle``) also carries its start, ``data-x0``,
    from the DejaVu Sans advance widths: a browser anchors it itself, and
    for print :func:`unanchor` moves the text to that start (WeasyPrint
    wraps every anchored text in a transparency group of its own, which
    made a PDF page carry ~20 extra objects and drawing work per chart).
    """
    tf = f' transform="{transform}"' if transform else ""
    inner = (f"<title>{escape(title)}</title>" if title is not None else "") + escape(s)
    style = f'style="{FONT}font-size:{_n(size)}px"'
    if anchor == "start":
        return f'<text{tf} x="{_n(x)}" y="{_n(y)}" {style}>{inner}</text>'
    w = text_width(s, size)
    x0 = x - w if anchor == "end" else x - w / 2
    return f'<text{tf} x="{_n(x)}" data-x0="{_n(x0)}" y="{_n(y)}" text-anchor="{anchor}" {style}>{inner}</text>'


_ANCHORED = re.compile(r' x="[^"]*" data-x0="([^"]*)"( y="[^"]*") text-anchor="(?:end|middle)"')


def unanchor(svg: str) -> str:
    """A chart for print: every anchored text set at its measured start instead."""
    return _ANCHORED.sub(r' x="\1"\2', svg)


def for_print(svg: str) -> str:
    """A chart as the PDF draws it: the PDF's own font family, text at its measured start."""
    from .media import print_fonts

    return unanchor(print_fonts(svg))


def nice_ticks(lo: float, hi: float, n: int = 5, integer: bool = False) -> list[float]:
    """Round tick values covering [lo, hi] (the usual 1-2-5 steps)."""
    if hi <= lo:
        hi = lo + 1.0
    raw = (hi - lo) / max(n - 1, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    if integer:
        step = max(1.0, math.ceil(step))
    first = math.ceil(lo / step - 1e-9) * step
    ticks, t = [], first
    while t <= hi + step * 1e-9:
        ticks.append(0.0 if abs(t) < step * 1e-9 else t)
        t += step
    return ticks


def _n(v: float) -> str:
    s = f"{v:.2f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def tick_label(v: float) -> str:
    """An axis tick: ``250``, ``−5``, ``20k``, ``1.5M`` (SI from 10k: wider labels run into the axis title)."""
    if v == int(v) and abs(v) < 1e4:
        return f"{int(v)}".replace("-", MINUS)
    return si(v).replace("-", MINUS)


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

@dataclass(frozen=True)
class _Frame:
    """Where things go (points): labels left of ``x0``, rows from ``y0`` down."""

    width: float
    x0: float
    x1: float
    y0: float
    pitch: float
    font: float
    rows: int

    @property
    def y1(self) -> float:
        return self.y0 + self.rows * self.pitch

    @property
    def height(self) -> float:
        return self.y1 + 27.0

    def row_y(self, i: int) -> float:
        """The centre line of row i."""
        return self.y0 + (i + 0.5) * self.pitch


def _pitch(rows: int) -> tuple[float, float]:
    """Row pitch and label size (points): roomy for a few rows, tighter for many."""
    pitch = max(6.5, min(10.0, 10.0 - (rows - 16) * 0.075))
    return pitch, min(7.0, pitch * 0.86)


def _legend(items: list[tuple[str, str]], width: float) -> tuple[list[str], float]:
    """Legend entries (swatch markup, name) in rows that fit ``width``: (SVG, height)."""
    out, x, y = [], 2.0, 9.0
    for swatch, name in items:
        w = 12.0 + text_width(name, LEGEND) + 10.0
        if x > 2.0 and x + w > width:
            x, y = 2.0, y + 10.0
        out.append(swatch.format(x=x, y=y))
        out.append(text(x + 12, y + 2.5, name, LEGEND))
        x += w
    return out, (y + 7.0 if items else 0.0)


def _frame(rows: Rows, width_in: float, legend_h: float) -> _Frame:
    width = width_in * 72.0
    pitch, font = _pitch(len(rows.labels))
    longest = max((text_width(s, font) for s in rows.labels), default=0.0)
    label_w = min(longest, width * LABEL_SHARE)
    return _Frame(width, label_w + 6.0, width - 12.0, legend_h + 5.0, pitch, font, len(rows.labels))


def _open(f: _Frame) -> list[str]:
    return [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart rows" '
            f'viewBox="0 0 {_n(f.width)} {_n(f.height)}">',
            f'<rect width="{_n(f.width)}" height="{_n(f.height)}" fill="#ffffff"/>']


def _labels(f: _Frame, rows: Rows) -> list[str]:
    room = f.x0 - 6.0
    out = []
    for i, (label, title) in enumerate(zip(rows.labels, rows.titles)):
        y = f.row_y(i) + f.font * 0.35
        out.append(text(f.x0 - 3, y, shorten(label, f.font, room), f.font, "end", title=title))
    return out


def _x_axis(f: _Frame, ticks: list[float], hi: float, xlabel: str) -> list[str]:
    def sx(v):
        return f.x0 + v / hi * (f.x1 - f.x0)

    out = []
    for t in ticks:
        x = sx(t)
        out.append(f'<path d="M{_n(x)} {_n(f.y0)}V{_n(f.y1)}" stroke="#e4e4e4" stroke-width="0.5"/>')
        out.append(f'<path d="M{_n(x)} {_n(f.y1)}v2.5" stroke="#444444" stroke-width="0.6"/>')
        out.append(text(x, f.y1 + 10, tick_label(t), TICK, "middle"))
    out.append(f'<path d="M{_n(f.x0)} {_n(f.y0)}V{_n(f.y1)}H{_n(f.x1)}" fill="none" '
               f'stroke="#444444" stroke-width="0.6"/>')
    out.append(text((f.x0 + f.x1) / 2, f.y1 + 21, xlabel, AXIS_LABEL, "middle"))
    return out


# ------------------------------------------------------------------ charts

def stacked_by_layer(layers: list[str], segments: list[str], table: list[list[float]],
                     xlabel: str, width: float = 7.0) -> tuple[str, str]:
    """Horizontal stacked bars, a row per layer and a segment per column of ``table``.

    Returns (SVG, grouping note): grouped rows sum their layers' values.
    """
    rows = group_rows(layers)
    sums = [[sum(table[i][j] for i in m) for j in range(len(segments))] for m in rows.members]
    swatch = '<rect x="{x}" y="{y}" width="9" height="5" fill="%s" stroke="%s" stroke-width="0.4"/>'
    legend, lh = _legend([(swatch % (FILLS[j % 6], EDGE), s) for j, s in enumerate(segments)]
                         if len(segments) > 1 else [], width * 72.0)
    f = _frame(rows, width, lh)
    total = max((sum(r) for r in sums), default=0.0)
    ticks = nice_ticks(0.0, total or 1.0, 5)
    hi = max(ticks[-1], total * 1.04) or 1.0      # the longest bar ends inside the axis
    scale = (f.x1 - f.x0) / hi
    out = _open(f) + legend + _x_axis(f, ticks, hi, xlabel)
    bar = f.pitch * 0.72
    paths = [[] for _ in segments]
    for i, r in enumerate(sums):
        left = 0.0
        y = f.row_y(i) - bar / 2
        for j, v in enumerate(r):
            if v > 0:
                paths[j].append(f"M{_n(f.x0 + left * scale)} {_n(y)}h{_n(max(v * scale, 0.3))}"
                                f"v{_n(bar)}h{_n(-max(v * scale, 0.3))}Z")
            left += v
    for j, d in enumerate(paths):
        if d:
            out.append(f'<path d="{"".join(d)}" fill="{FILLS[j % 6]}" stroke="{EDGE}" '
                       f'stroke-width="0.3"/>')
    out += _labels(f, rows)
    out.append("</svg>")
    return "".join(out), rows.note


#: Marker of each bit-width series, drawn in this order: (a path relative to
#: its centre, for a size s, and its fill).
MARKERS = {
    "weight bits": (lambda s: f"m{_n(-2.2 * s)} {_n(-2.2 * s)}h{_n(4.4 * s)}v{_n(4.4 * s)}h{_n(-4.4 * s)}z",
                    "#ffffff"),
    "input bits": (lambda s: f"m0 {_n(-2.8 * s)}l{_n(2.6 * s)} {_n(4.8 * s)}h{_n(-5.2 * s)}z", "#8fa8c8"),
    "accumulator (type)": (lambda s: f"m0 {_n(-3 * s)}l{_n(3 * s)} {_n(3 * s)}l{_n(-3 * s)} {_n(3 * s)}"
                                     f"l{_n(-3 * s)} {_n(-3 * s)}z", "#ffffff"),
    "accumulator (sampled)": (lambda s: f"m0 {_n(2.8 * s)}l{_n(2.6 * s)} {_n(-4.8 * s)}h{_n(-5.2 * s)}z",
                              "#b0b0b0"),
    "accumulator (bound)": (lambda s: f"m{_n(-2.4 * s)} 0a{_n(2.4 * s)} {_n(2.4 * s)} 0 1 0 {_n(4.8 * s)} 0"
                                      f"a{_n(2.4 * s)} {_n(2.4 * s)} 0 1 0 {_n(-4.8 * s)} 0z", "#1d3557"),
}


def bit_profile(labels: list[str], series: dict[str, list], width: float = 7.0) -> tuple[str, str]:
    """Bit widths per operation: a row each, a marker per series at its width (None: none).

    Returns (SVG, grouping note): a grouped row shows the widest of its operations.
    """
    rows = group_rows(labels)
    order = list(MARKERS)
    shown = [(name, vals) for name, vals in sorted(series.items(), key=lambda kv: order.index(kv[0]))
             if any(v is not None for v in vals)]
    items = [(f'<path d="M{{x}} {{y}}m4.5 0{MARKERS[n][0](1.0)}" fill="{MARKERS[n][1]}" '
              f'stroke="{EDGE}" stroke-width="0.6"/>', n) for n, _ in shown]
    legend, lh = _legend(items, width * 72.0)
    f = _frame(rows, width, lh)
    widest = [[max((vals[i] for i in m if vals[i] is not None), default=None) for m in rows.members]
              for _, vals in shown]
    top = max((v for col in widest for v in col if v is not None), default=1)
    ticks = nice_ticks(0.0, top, 6, integer=True)
    hi = max(ticks[-1], top * 1.05) or 1.0        # the widest marker stays inside the axis
    out = _open(f) + legend + _x_axis(f, ticks, hi, "width (bits)")
    # a faint guide per row, so a marker is read against its label
    guides = "".join(f"M{_n(f.x0)} {_n(f.row_y(i))}H{_n(f.x1)}" for i in range(len(rows.labels)))
    out.append(f'<path d="{guides}" stroke="#ececec" stroke-width="0.4"/>')
    scale = (f.x1 - f.x0) / hi
    size = min(1.0, f.pitch / 8.0)
    for (name, _), col in zip(shown, widest):
        shape, fill = MARKERS[name]
        m = shape(size)
        d = "".join(f"M{_n(f.x0 + v * scale)} {_n(f.row_y(i))}{m}" for i, v in enumerate(col) if v is not None)
        if d:
            out.append(f'<path d="{d}" fill="{fill}" stroke="{EDGE}" stroke-width="0.6"/>')
    out += _labels(f, rows)
    out.append("</svg>")
    return "".join(out), rows.note
