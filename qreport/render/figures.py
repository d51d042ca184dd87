"""The charts a page carries, and where their SVG goes.

A layer sheet has its weight histograms and per-channel accumulator
widths (:mod:`.sheetcharts`); the model has its charts by layer
(:mod:`.charts`).  Each is a :class:`~.mpl.Spec`; :class:`Charts` draws it
inline (HTML) or leaves it as an asset of the PDF, which the worker laying
out that part draws.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from markupsafe import Markup

from ..analysis.facts import LayerFacts, ModelFacts
from . import text as T
from .charts import group_rows
from .hardware import design
from .mpl import Spec, draw

#: Inches of a model chart, each half the page's width (two side by side).
HALF = 3.45


class Charts:
    """Where charts go: drawn inline (HTML), or PDF assets (``qreport-asset:charts/N.svg``)
    that the PDF worker laying out the part draws and serves from memory.

    As an image a chart stays vector but is drawn once, outside WeasyPrint's
    cascade (the PDF of a MobileNet renders twice as fast), and the drawing
    runs in the workers in parallel.  Each chart gets its own id salt, the
    count of charts before it: two inline charts never share an id.
    """

    def __init__(self, inline: bool, style: tuple = ()):
        self.inline = inline
        self.style = tuple(style)
        self.assets: dict[str, Spec | bytes] = {}
        self.count = 0

    def __call__(self, spec: Spec, alt: str) -> Markup:
        spec = replace(spec, style=self.style, salt=str(self.count))
        self.count += 1
        if self.inline:
            return Markup(draw(spec))
        name = f"charts/{len(self.assets)}.svg"
        self.assets[name] = spec
        return Markup('<img class="chart" src="qreport-asset:{}" alt="{}">').format(name, alt)


def _sheet(func: str, *args, **kwargs) -> Spec:
    return Spec("sheetcharts", func, args, tuple(sorted(kwargs.items())))


def _rows(func: str, *args, **kwargs) -> Spec:
    return Spec("charts", func, args, tuple(sorted(kwargs.items())), css_class="chart rows")


@dataclass(frozen=True)
class ChartView:
    """A model chart and its title."""

    title: str
    svg: Markup
    half: bool = False   # half the width, beside the next half chart


def layer_charts(l: LayerFacts, chart) -> tuple[Markup, ...]:
    out = []
    for h in l.histograms:
        q = l.quantizer(h.role)
        title = "quantized " + ("kernel" if h.part == "main" else f"{h.part} kernel") + \
                (" (unscaled)" if q is not None and (q.scale or "").startswith("per-channel") else "")
        out.append(chart(_sheet("weight_histogram", tuple(h.values), tuple(h.counts),
                                q.lsb if q is not None else None, title), title))
    for b in l.bit_widths:
        title = f"trained {b.role} widths ({b.q_type}, {b.overflow_mode})"
        out.append(chart(_sheet(
            "bar_chart", tuple(b.widths), tuple(b.counts), 0.8, title=title,
            xlabel="stored width k+i+f (bits; 0 = pruned)", ylabel="elements", integer_x=True,
            fill=2), title))
    for o in l.operations:
        a = o.accumulator
        if a.per_channel_width:
            t = "accumulator width per channel" + (f" ({o.part})" if o.part != "main" else "")
            out.append(chart(_sheet("channel_widths", tuple(a.per_channel_width), a.bound.width, t),
                             t))
    return tuple(out)


def _view(title: str, spec: Spec, chart) -> ChartView:
    """A model chart with its caption: the title, and how its rows are grouped if they are."""
    note = group_rows(list(spec.args[0])).note
    caption = f"{title} ({note})" if note else title
    return ChartView(caption, chart(spec, title), half=True)


def model_charts(facts: ModelFacts, chart) -> tuple[ChartView, ...]:
    ops_layers = [l for l in facts.layers if l.operations]
    if not ops_layers:
        return ()
    names = [l.name for l in ops_layers]
    op_names = [k for k, _ in facts.totals.macs_by_operation]
    table = [[sum(o.macs for o in l.operations if o.name == k) for k in op_names] for l in ops_layers]
    spent = [l for l in facts.layers if l.energy is not None and l.energy.total > 0]
    parts = [p for p in T.ENERGY_PARTS if any(getattr(l.energy, p[1]) for l in spent)]
    # two by two: the work (MACs, energy), then the storage (memory, bit widths)
    out = [_view("MACs per layer, by operation type", _rows("stacked_by_layer",
               names, op_names, table, "multiply-accumulates per inference (MACs)", width=HALF), chart),
           *([_view("Energy per layer (estimate)", _rows("stacked_by_layer",
               [l.name for l in spent], [p[0] for p in parts],
               [[getattr(l.energy, p[1]) for p in parts] for l in spent],
               "energy per inference (pJ)", width=HALF), chart)] if spent else []),
           _view("Parameter memory per layer", _rows("stacked_by_layer",
               names, ["weights", "bias"],
               [[l.counts.weight_bits, l.counts.bias_bits] for l in ops_layers],
               "parameter memory (bits)", width=HALF), chart)]
    labels, series = [], {"weight bits": [], "input bits": [], "accumulator (bound)": [],
                          "accumulator (type)": [], "accumulator (sampled)": []}
    for l in ops_layers:
        for o in l.operations:
            labels.append(l.name + {"main": "", "depthwise": " (dw)", "pointwise": " (pw)"}[o.part])
            a = o.accumulator
            series["weight bits"].append(None if o.weight.is_float else o.weight.bits)
            series["input bits"].append(None if o.input.is_float else o.input.bits)
            series["accumulator (bound)"].append(a.bound.width if a.bound else None)
            series["accumulator (type)"].append(a.type.width if a.type else None)
            series["accumulator (sampled)"].append(a.sampled.width if a.sampled else None)
    out.append(_view("Bit widths per operation", _rows("bit_profile", labels, series, width=HALF), chart))
    return tuple(out)


def hardware_chart(facts: ModelFacts, chart) -> ChartView | None:
    """LUTs per layer, the exact widths' and what they save: the hardware section's chart."""
    hw = [l for l in facts.layers if l.hardware is not None]
    if not hw or facts.totals.hardware is None:
        return None
    title = f"LUTs per layer (estimate, {design(facts.totals.hardware)})"
    parts = ["exact widths"] + (["saved over hls4ml's types"]
                                if any(l.hardware.lut_saved for l in hw) else [])
    rows = [[l.hardware.lut] + ([max(l.hardware.lut_saved or 0, 0)] if len(parts) > 1 else [])
            for l in hw]
    return _view(title, _rows("stacked_by_layer", [l.name for l in hw], parts, rows, "LUTs (estimate)",
                                                width=HALF), chart)
