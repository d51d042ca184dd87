"""Matplotlib, the chart engine: the house style, a team's style on top, and SVG out.

Every chart is a Matplotlib ``Figure`` drawn by the SVG backend (no pyplot,
no global state touched: the style is in force while a chart draws, and the
caller's rc, backend included, is as it was afterwards).
The look is ``templates/qreport.mplstyle``; a team's ``.mplstyle``
(``--chart-style``, ``chart_style=``) goes on top of it, and then qreport
sets :data:`OVERRIDES` itself (README "Chart style").

Matplotlib is imported only by the process that draws: the PDF workers draw
the charts of the parts they lay out (:class:`Spec` travels, not SVG), and
an HTML build draws in its own process.

The SVG is made deterministic and self-contained here (:func:`finish`): ids
from ``svg.hashsalt`` (one salt per chart, so two inline charts never share
an id), no metadata, no stylesheet, text as text in DejaVu Sans (the faces
the PDF embeds), and each shortened label's full name as a ``<title>``.
"""

from __future__ import annotations

import os
import re
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from html import escape, unescape

from ..errors import QReportError
from .measure import advances, text_width

#: What qreport sets after any style, and why (README "Chart style").
OVERRIDES = {
    "svg.fonttype": "none",          # text stays text, set in the report's own fonts
    "font.family": ["DejaVu Sans"],  # the only face a PDF embeds (bundled with Matplotlib)
    "figure.dpi": 72,                # one pixel is one point: sizes are computed in points
    "savefig.dpi": 72,
    "savefig.bbox": None,            # the figure's size is computed for its rows
    "savefig.pad_inches": 0,
    "savefig.transparent": False,
    "svg.image_inline": True,
    "svg.id": None,
}
#: Style keys qreport replaces or computes per chart (a style setting them has no effect).
COMPUTED = ("figure.figsize", "figure.autolayout", "figure.constrained_layout.use", "svg.hashsalt")


@dataclass(frozen=True)
class Spec:
    """A chart to draw: a drawing function of :mod:`.charts` or :mod:`.sheetcharts` by name,
    its arguments, and the style: picklable, so a PDF worker draws it."""

    module: str
    func: str
    args: tuple
    kwargs: tuple = ()
    style: tuple = ()             # (key, value) pairs of a team's style, in file order
    salt: str = "0"               # the ids' salt: unique per chart of a document
    css_class: str = "chart"


# ------------------------------------------------------------------ style

def read_style(path: str) -> tuple[tuple[str, str], ...]:
    """A ``.mplstyle`` file's (key, value) pairs, checked by Matplotlib (one clear error)."""
    try:
        with open(os.fspath(path), encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise QReportError(f"chart style {path}: cannot read it ({exc.__class__.__name__})") from None
    pairs = []
    for n, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        key, sep, value = line.partition(":")
        if not sep:
            raise QReportError(f"chart style {path}, line {n}: not 'key : value'")
        pairs.append((key.strip(), value.strip().strip('"')))
    check_style(tuple(pairs), f"chart style {path}")
    return tuple(pairs)


def check_style(pairs: tuple, where: str = "chart style") -> None:
    import matplotlib

    for key, value in pairs:
        try:
            matplotlib.RcParams({key: value})
        except (KeyError, ValueError) as exc:
            msg = "unknown key" if isinstance(exc, KeyError) else str(exc).splitlines()[0]
            raise QReportError(f"{where}: {key}: {msg}") from None


def overridden(pairs: tuple) -> list[str]:
    """The keys a style sets that qreport sets itself."""
    return [k for k, _ in pairs if k in OVERRIDES or k in COMPUTED or k.startswith("savefig.")]


@lru_cache(maxsize=4)
def rc(style: tuple = ()) -> dict:
    """The whole rc of a chart: Matplotlib's defaults, the house style, the team's, qreport's."""
    import matplotlib
    from importlib import resources

    house = resources.files("qreport.templates").joinpath("qreport.mplstyle")
    with resources.as_file(house) as p:
        params = dict(matplotlib.rc_params_from_file(str(p), use_default_template=True))
    params.update(matplotlib.RcParams(dict(style)))
    params.update(matplotlib.RcParams(OVERRIDES))
    params.pop("backend", None)     # the caller's backend is not the chart's business
    return params


@contextmanager
def _rc(params: dict):
    """``params`` (validated, by :func:`rc`) in force, the caller's rc restored after.

    ``matplotlib.rc_context`` would validate all ~340 values again on every chart
    (~1.2 ms of a chart's ~7); these were validated once, when the style was read.
    """
    import matplotlib

    live = matplotlib.rcParams
    saved = [(k, live._get(k)) for k in params]
    try:
        for k, v in params.items():
            live._set(k, v)
        yield
    finally:
        for k, v in saved:
            live._set(k, v)


def colors(params: dict) -> list[str]:
    return [c for c in params["axes.prop_cycle"].by_key().get("color", ["#1d3557"])]


# ------------------------------------------------------------------ drawing

def warm() -> None:
    """Import Matplotlib's SVG backend and read the house style (a PDF worker's start-up)."""
    advances()
    draw(Spec("sheetcharts", "weight_histogram", ((0.0, 1.0), (1, 2), 1.0, "qreport")))
    draw(Spec("charts", "stacked_by_layer", (["a", "b"], ["x", "y"], [[1, 2], [3, 4]], "x")))


_CANVASES: dict = {}


def draw(spec: Spec) -> str:
    """The chart's finished SVG (``<svg …>…</svg>``, no XML prolog)."""
    import importlib
    import io

    from matplotlib.backends.backend_svg import FigureCanvasSVG

    from .canvas import Canvas

    fn = getattr(importlib.import_module(f"qreport.render.{spec.module}"), spec.func)
    params = rc(spec.style)
    with _rc({**params, "svg.hashsalt": f"qreport-{spec.salt}"}):
        canvas = _CANVASES.get(spec.style)
        if canvas is None:
            canvas = _CANVASES[spec.style] = Canvas(params)
        try:
            titles = fn(canvas, *spec.args, **dict(spec.kwargs))
            buf = io.StringIO()
            FigureCanvasSVG(canvas.fig).print_svg(buf, metadata={"Date": None, "Creator": None,
                                                                 "Format": None, "Type": None})
        finally:
            canvas.clear()
    return finish(buf.getvalue(), spec.css_class, titles)


_PROLOG = re.compile(r"^.*?(?=<svg )", re.S)
_SIZE = re.compile(r' width="[0-9.]+pt" height="[0-9.]+pt"')
_STYLE = re.compile(r"<defs>\s*<style[^<]*</style>\s*</defs>")
_NOROT = re.compile(r' transform="rotate\(-?0 [^"]*\)"')
_PATH = re.compile(r' d="([^"]*)"')
_GAP = re.compile(r">\s+<")
_GID = re.compile(r'<g id="([^"]*)"(/?)>')


def finish(svg: str, css_class: str, titles: dict) -> str:
    """Matplotlib's SVG as a report carries it: sized by CSS, compact, titled, ids only where used."""
    svg = _PROLOG.sub("", svg, count=1)
    svg = _SIZE.sub("", svg, count=1).replace("<svg ", f'<svg class="{css_class}" ', 1)
    svg = _STYLE.sub("", svg, count=1)
    svg = _NOROT.sub("", svg)
    svg = _PATH.sub(lambda m: ' d="' + " ".join(m.group(1).split()) + '"', svg)
    svg = _GAP.sub("><", svg)
    used = set(re.findall(r'#([^")\s]+)', svg))

    def group(m):
        gid, empty = m.groups()
        if empty:
            return ""
        if gid in titles:
            return f"<g class=\"label\"><title>{escape(titles[gid])}</title>"
        return m.group(0) if gid in used else "<g>"

    return _unwrap(_GID.sub(group, svg)).strip()


_GTAG = re.compile(r"<g>|<g [^>]*>|</g>")


def _unwrap(svg: str) -> str:
    """Bare ``<g>`` groups dropped, their children kept: a group costs WeasyPrint a layer."""
    out, stack, at = [], [], 0
    for m in _GTAG.finditer(svg):
        out.append(svg[at:m.start()])
        tag = m.group(0)
        if tag == "</g>":
            if stack.pop():
                out.append(tag)
        else:
            keep = tag != "<g>"
            stack.append(keep)
            if keep:
                out.append(tag)
        at = m.end()
    out.append(svg[at:])
    return "".join(out)


_TEXT = re.compile(r'<text style="([^"]*)" x="([-0-9.e]+)"([^>]*)>([^<]*)</text>')
_ANCHOR = re.compile(r"; text-anchor: (start|end|middle)")
_FSIZE = re.compile(r"font-size: ([0-9.]+)px")


def for_print(svg: str) -> str:
    """A chart as the PDF draws it: the PDF's own font family, each anchored text set at
    its measured start (WeasyPrint draws anchored text in a transparency group of its own,
    which cost ~20 objects a chart)."""
    from .media import print_fonts

    def start(m):
        style, x, rest, content = m.groups()
        anchor = _ANCHOR.search(style)
        if anchor is None:
            return m.group(0)
        size = _FSIZE.search(style)
        w = text_width(unescape(content), float(size.group(1)) if size else 10.0)
        x0 = float(x) - {"start": 0.0, "end": w, "middle": w / 2}[anchor.group(1)]
        return f'<text style="{_ANCHOR.sub("", style)}" x="{x0:.3f}"{rest}>{content}</text>'

    return print_fonts(_TEXT.sub(start, svg))
