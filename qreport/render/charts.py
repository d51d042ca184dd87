"""Matplotlib charts as deterministic inline SVG.

No pyplot (no global state): each chart is a Figure on the SVG canvas.
Ids are made stable (fixed hash salt) and unique per chart (a prefix), no
date goes into the metadata, text stays text (searchable, small), and
every series is told apart by hatch and gray level, not by colour alone,
so the charts survive grayscale printing.
"""

from __future__ import annotations

import io
import re

import matplotlib

matplotlib.use("svg", force=False)
import matplotlib.ticker  # noqa: E402
from matplotlib.backends.backend_svg import FigureCanvasSVG  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from .text import si  # noqa: E402

RC = {
    "svg.hashsalt": "qreport",
    "svg.fonttype": "none",
    "font.family": "DejaVu Sans",
    "font.size": 8,
    "axes.titlesize": 9,
    "axes.labelsize": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.edgecolor": "#444444",
    "axes.linewidth": 0.6,
    "xtick.major.width": 0.6,
    "ytick.major.width": 0.6,
    "hatch.linewidth": 0.5,
    "legend.frameon": False,
    "legend.fontsize": 7,
    "path.simplify": False,
}
# Distinct in grayscale: lightness steps plus hatches.
FILLS = ["#1d3557", "#8fa8c8", "#e0e6ef", "#4a4a4a", "#b0b0b0", "#ffffff"]
HATCHES = ["", "///", "\\\\\\", "xxx", "---", "|||"]  # lines only: dot hatches bloat the SVG
EDGE = "#1d1d1d"

_ID = re.compile(r'\bid="([^"]+)"')


def _svg(fig: Figure, prefix: str) -> str:
    buf = io.StringIO()
    with matplotlib.rc_context(RC):
        FigureCanvasSVG(fig).print_svg(buf, metadata={"Date": None, "Creator": None})
    s = buf.getvalue()
    s = s[s.index("<svg"):]  # drop the XML declaration and doctype: inline SVG
    ids = set(_ID.findall(s))
    for i in sorted(ids, key=len, reverse=True):
        s = s.replace(f'id="{i}"', f'id="{prefix}-{i}"').replace(f"#{i})", f"#{prefix}-{i})") \
             .replace(f'"#{i}"', f'"#{prefix}-{i}"')
    s = re.sub(r'width="[\d.]+pt" height="[\d.]+pt"', 'class="chart"', s, count=1)
    return s


def _fig(w: float, h: float) -> Figure:
    with matplotlib.rc_context(RC):
        return Figure(figsize=(w, h), dpi=72)


def _ax(fig, **kw):
    with matplotlib.rc_context(RC):
        return fig.add_subplot(1, 1, 1, **kw)


def _bars_height(n: int, width: float) -> float:
    """Inches of a bar chart of n layers: a half-width chart packs its bars tighter."""
    return 1.0 + 0.22 * max(n, 3) if width >= 6 else 1.0 + 0.16 * max(n, 3)


def macs_by_layer(layers: list[str], ops: list[str], table: list[list[int]], prefix: str,
                  width: float = 7.0) -> str:
    """Horizontal stacked bars: MACs per layer, one segment per operation type."""
    return stacked_by_layer(layers, ops, table, "multiply-accumulates per inference (MACs)", prefix,
                            width)


def stacked_by_layer(layers: list[str], segments: list[str], table: list[list[float]],
                     xlabel: str, prefix: str, width: float = 7.0) -> str:
    """Horizontal stacked bars: one bar per layer, one segment per column of ``table``."""
    fig = _fig(width, _bars_height(len(layers), width))
    with matplotlib.rc_context(RC):
        ax = _ax(fig)
        y = list(range(len(layers)))
        left = [0] * len(layers)
        for j, name in enumerate(segments):
            vals = [row[j] for row in table]
            ax.barh(y, vals, left=left, color=FILLS[j % 6], hatch=HATCHES[j % 6],
                    edgecolor=EDGE, linewidth=0.4, label=name, height=0.7)
            left = [a + b for a, b in zip(left, vals)]
        ax.set_yticks(y, layers)
        ax.invert_yaxis()
        ax.set_xlabel(xlabel)
        ax.ticklabel_format(axis="x", style="plain")
        ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(si))
        ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncols=min(len(segments), 4 if width >= 6 else 2),
                  borderaxespad=0.2)
        fig.tight_layout(pad=0.4)
    return _svg(fig, prefix)


def memory_by_layer(layers: list[str], weight_bits: list[int], bias_bits: list[int],
                    prefix: str, width: float = 7.0) -> str:
    """Horizontal stacked bars: weight and bias memory per layer, in bits."""
    return stacked_by_layer(layers, ["weights", "bias"], [list(r) for r in zip(weight_bits, bias_bits)],
                            "parameter memory (bits)", prefix, width)


def bit_profile(labels: list[str], series: dict[str, list], prefix: str,
                width: float = 7.0) -> str:
    """Bit widths per operation: one marker style per series (None = unknown)."""
    fig = _fig(width, 2.8 if width >= 6 else 2.5)
    markers = {"weight bits": ("s", "-"), "input bits": ("^", ":"),
               "accumulator (bound)": ("o", "-"), "accumulator (type)": ("D", "--"),
               "accumulator (sampled)": ("v", "-.")}
    fills = {"weight bits": "#ffffff", "input bits": "#8fa8c8", "accumulator (bound)": "#1d3557",
             "accumulator (type)": "#ffffff", "accumulator (sampled)": "#b0b0b0"}
    with matplotlib.rc_context(RC):
        ax = _ax(fig)
        x = list(range(len(labels)))
        for name, vals in series.items():
            pts = [(i, v) for i, v in zip(x, vals) if v is not None]
            if not pts:
                continue
            m, ls = markers.get(name, ("o", "-"))
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker=m, linestyle=ls, color=EDGE,
                    markerfacecolor=fills.get(name, "#ffffff"), markeredgecolor=EDGE,
                    linewidth=0.8, markersize=5, label=name)
        ax.set_xticks(x, labels, rotation=35 if len(labels) > 4 else 0, ha="right" if len(labels) > 4 else "center")
        ax.set_ylabel("width (bits)")
        ax.set_ylim(bottom=0)
        ax.grid(axis="y", color="#dddddd", linewidth=0.5)
        ax.set_axisbelow(True)
        ax.legend(loc="upper left", ncols=3 if width >= 6 else 2,
                  bbox_to_anchor=(0, 1.18 if width >= 6 else 1.3))
        fig.tight_layout(pad=0.4)
    return _svg(fig, prefix)

