"""HTML datasheet: facts -> plain view data -> Jinja2 template.

All formatting happens here; the template only lays out strings it is
given (coverage.py's split).  Every string from the model is escaped by
Jinja2's autoescape; the embedded JSON is escaped for a <script> block.
"""

from __future__ import annotations

import datetime
import json
import os
from dataclasses import dataclass, replace
from functools import lru_cache
from importlib import resources

from markupsafe import Markup

from ..analysis.facts import DEFAULT_INPUT, METHODS, LayerFacts, ModelFacts, QFact
from . import charts, svgplot
from . import text as T

MULTIPLIERS = {
    "mult": "{w}-bit × {x}-bit fixed-point multiplier",
    "barrel": "barrel shifter: a power-of-two operand turns the product into a shift",
    "mux": "multiplexer: a ternary/binary operand selects +x, −x or 0",
    "xor": "XOR gate: binary operands multiply by sign",
    "adder": "adder: power-of-two × power-of-two adds exponents",
    "fmult": "floating-point multiplier: an operand is float",
}
METHOD_NOTES = {
    "bound": "inputs free over their whole type range: provably safe",
    "conservative": "inputs over the range observed on the sample",
    "sampled": "accumulator values observed on the sample",
    "type": "from the types alone, as hls4ml infers it",
}


# ------------------------------------------------------------------ view data

class Charts:
    """Where chart SVGs go: inline (HTML) or into PDF assets served by the fetcher.

    WeasyPrint computes styles for every element of an inline SVG as part of
    the HTML tree; as an image (``qreport-asset:charts/N.svg``, served from
    memory by the sandboxed fetcher) a chart stays vector but is drawn once,
    outside the cascade: the PDF of a MobileNet renders twice as fast.
    """

    def __init__(self, inline: bool):
        self.inline = inline
        self.assets: dict[str, bytes] = {}

    def __call__(self, svg: str, alt: str) -> Markup:
        if self.inline:
            return Markup(svg)
        from .pdf import print_fonts

        svg = print_fonts(svg)
        name = f"charts/{len(self.assets)}.svg"
        self.assets[name] = svg.replace("<svg ", '<svg xmlns:xlink="http://www.w3.org/1999/xlink" ', 1) \
            .encode() if "xmlns:xlink" not in svg else svg.encode()
        return Markup('<img class="chart" src="qreport-asset:{}" alt="{}">').format(name, alt)


@dataclass(frozen=True)
class QuantizerRow:
    """One row of a sheet's quantizer table."""

    role: str
    kind: str
    config: str
    fixed: str
    range: str
    lsb: str
    bits: str
    signed: str
    scale: str
    notes: tuple[str, ...]


@dataclass(frozen=True)
class AccRow:
    """One accumulator method of an operation."""

    method: str
    note: str                   # what the method assumes
    min: str
    max: str
    integer: str                # I, sign bit included
    fractional: str             # F
    width: str                  # W = I + F
    fixed: str
    reason: str                 # why there is no width, when there is none
    default: bool               # the method shown first (bound)


@dataclass(frozen=True)
class OperationView:
    """One operation of a sheet: its multiplier and accumulator table."""

    part: str
    name: str
    type: str
    multiplier: str
    macs: str
    terms: str
    weight: str
    weight_fixed: str
    input: str
    input_fixed: str
    acc: tuple[AccRow, ...]
    scale: str
    headroom: str
    spread: str
    inferred: str   # the `type` accumulator: what hls4ml infers from the types alone
    bound: str      # the exact `bound` accumulator's type
    saved: str      # bits the bound saves over it ("" when either has no width)
    mac_energy: str  # what one MAC costs ("" without an energy estimate)


@dataclass(frozen=True)
class LayerView:
    """One layer's row in the layer table and, when ``sheet``, its sheet."""

    id: str
    number: str
    name: str
    class_name: str
    inputs: str
    input_shape: str
    output_shape: str
    quantizers: tuple[QuantizerRow, ...]
    operations: tuple[OperationView, ...]
    counts: tuple[tuple[str, str], ...]
    energy: tuple[tuple[str, str], ...]   # where the energy goes (empty: none or not estimated)
    energy_total: str                     # "" when not estimated
    warnings: tuple[str, ...]
    charts: tuple[Markup, ...]
    op_names: tuple[str, ...]   # one per operation (a separable layer has two)
    macs: str
    weights: str
    weight_bits: str
    acc: str
    inferred: str
    saved: str
    mac: bool
    sheet: bool


@dataclass(frozen=True)
class InputView:
    """One model input on the cover."""

    name: str
    shape: str
    config: str
    fixed: str
    range: str
    assumed: bool


@dataclass(frozen=True)
class ChartView:
    """A model chart and its title."""

    title: str
    svg: Markup
    half: bool = False   # half the width, beside the next half chart


@dataclass(frozen=True)
class Page:
    """Everything the template shows, as strings (and a few flags)."""

    title: str
    meta: dict
    media: str
    paper: str
    date: str | None
    default_input: str
    inputs: tuple[InputView, ...]
    summary: T.Summary
    warnings: tuple[str, ...]
    layers: tuple[LayerView, ...]
    sheets: tuple[LayerView, ...]
    sheets_note: str
    charts: tuple[ChartView, ...]
    toc_class: str
    json: Markup | None
    front: bool = True
    last: bool = True
    energy_caveat: str = T.ENERGY_CAVEAT
    kind: str = "datasheet"


def _qrow(role: str, f: QFact) -> QuantizerRow:
    return QuantizerRow(role=role, kind=f.kind, config=f.config, fixed=f.fixed or "—",
                        range=T.interval(f.min, f.max), lsb=T.pow2(f.lsb), bits=str(f.bits),
                        signed="signed" if f.signed else "unsigned", scale=f.scale or "",
                        notes=tuple(f.notes))


def _acc_rows(a) -> tuple[AccRow, ...]:
    rows = []
    for m in METHODS:
        r = getattr(a, m)
        if r is None:
            continue
        rows.append(AccRow(method=m, note=METHOD_NOTES[m], min=T.num(r.min), max=T.num(r.max),
                           integer=T.integer(r.integer_bits), fractional=T.integer(r.fractional_bits),
                           width=T.integer(r.width), fixed=r.fixed or "—", reason=r.reason or "",
                           default=m == "bound"))
    return tuple(rows)


def _op_view(o, mac) -> OperationView:
    a = o.accumulator
    pcw = a.per_channel_width
    return OperationView(
        part=o.part, name=o.name, type=o.type,
        multiplier=MULTIPLIERS[o.type].format(w=o.weight.bits, x=o.input.bits),
        macs=T.integer(o.macs), terms=T.integer(o.terms),
        weight=o.weight.config, weight_fixed=o.weight.fixed or "float",
        input=o.input.config, input_fixed=o.input.fixed or ("float" if o.input.is_float else "—"),
        acc=_acc_rows(a), scale=a.scale or "",
        headroom="" if a.headroom is None else f"{a.headroom} bits",
        spread=f"{min(pcw)}–{max(pcw)} bits over {len(pcw)} channels" if pcw else "",
        inferred=a.type.fixed or "" if a.type is not None else "",
        bound=a.bound.fixed or "" if a.bound is not None else "",
        saved="" if o.bits_saved is None else T.bits(o.bits_saved),
        mac_energy=T.mac_energy(mac) if mac is not None else "")


def _layer_charts(l: LayerFacts, chart) -> tuple[Markup, ...]:
    out = []
    for h in l.histograms:
        q = l.quantizer(h.role)
        title = "quantized " + ("kernel" if h.part == "main" else f"{h.part} kernel") + \
                (" (unscaled)" if q is not None and (q.scale or "").startswith("per-channel") else "")
        out.append(chart(svgplot.weight_histogram(
            h.values, h.counts, q.lsb if q is not None else None, title), title))
    for o in l.operations:
        a = o.accumulator
        if a.per_channel_width:
            t = "accumulator width per channel" + (f" ({o.part})" if o.part != "main" else "")
            out.append(chart(svgplot.channel_widths(a.per_channel_width, a.bound.width, t), t))
    return tuple(out)


def _layer_view(i: int, l: LayerFacts, chart, sheet: bool) -> LayerView:
    c = l.counts
    counts = ()
    if c is not None:
        counts = (("MACs", T.integer(c.macs)), ("weights", T.integer(c.weights)),
                  ("bias", T.integer(c.bias)), ("weight bits", T.integer(c.weight_bits)),
                  ("bias bits", T.integer(c.bias_bits)),
                  ("zero weights", f"{T.integer(c.zero_weights)} ({T.percent(c.sparsity) or 'no weights'})"),
                  ("BOPs", T.integer(c.bops)))
    row = T.counts_cells(l)
    macs = dict((m.part, m) for m in l.energy.per_mac) if l.energy is not None else {}
    return LayerView(
        id=f"layer-{i}", number=str(i + 1), name=l.name, class_name=l.class_name,
        inputs=", ".join(l.inputs) or "—", input_shape=T.shape(l.input_shape),
        output_shape=T.shape(l.output_shape),
        quantizers=tuple(_qrow(role, f) for role, f in l.quantizers),
        operations=tuple(_op_view(o, macs.get(o.part)) for o in l.operations),
        counts=counts, energy=T.energy_parts(l.energy),
        energy_total=T.energy(l.energy.total) if l.energy is not None else "", warnings=tuple(l.warnings),
        charts=_layer_charts(l, chart) if chart is not None and sheet else (),
        op_names=tuple(o.name for o in l.operations),
        macs=row[0], weights=row[1], weight_bits=row[2],
        acc=T.accumulator_cell(l), inferred=T.inferred_cell(l),
        saved=T.saved_cell(l),
        mac=bool(l.operations), sheet=sheet)


def _model_charts(facts: ModelFacts, chart) -> tuple[ChartView, ...]:
    ops_layers = [l for l in facts.layers if l.operations]
    if not ops_layers:
        return ()
    names = [l.name for l in ops_layers]
    op_names = [k for k, _ in facts.totals.macs_by_operation]
    table = [[sum(o.macs for o in l.operations if o.name == k) for k in op_names] for l in ops_layers]
    t1, t2 = "MACs per layer, by operation type", "Parameter memory per layer"
    spent = [l for l in facts.layers if l.energy is not None and l.energy.total > 0]
    parts = [p for p in T.ENERGY_PARTS if any(getattr(l.energy, p[1]) for l in spent)]
    t4 = "Energy per layer (estimate)"
    # two by two: the work (MACs, energy), then the storage (memory, bit widths)
    out = [ChartView(t1, chart(charts.macs_by_layer(names, op_names, table, "m1", width=HALF), t1),
                     half=True),
           ChartView(t4, chart(charts.stacked_by_layer(
               [l.name for l in spent], [p[0] for p in parts],
               [[getattr(l.energy, p[1]) for p in parts] for l in spent],
               "energy per inference (pJ)", "m4", width=HALF), t4), half=True),
           ChartView(t2, chart(charts.memory_by_layer(
               names, [l.counts.weight_bits for l in ops_layers],
               [l.counts.bias_bits for l in ops_layers], "m2", width=HALF), t2), half=True)]
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
    t3 = "Bit widths per operation"
    out.append(ChartView(t3, chart(charts.bit_profile(labels, series, "m3", width=HALF), t3),
                         half=True))
    return tuple(out)


SHEETS = ("all", "mac", "none")
#: Inches of a model chart, each half the page's width (two side by side).
HALF = 3.45


def source_datetime() -> datetime.datetime | None:
    """SOURCE_DATE_EPOCH as a UTC datetime, or None: reports carry a date only
    when it asks for one (the HTML cover and the PDF metadata read this)."""
    sde = os.environ.get("SOURCE_DATE_EPOCH")
    if sde and sde.isdigit():
        return datetime.datetime.fromtimestamp(int(sde), datetime.timezone.utc)
    return None


def sheets_note(facts: ModelFacts, sheets: str) -> str:
    """The cover's statement of which layer sheets the document carries."""
    n = len(facts.layers)
    mac = sum(1 for l in facts.layers if l.operations)
    if sheets == "none":
        return f"none (summary only, --sheets none); {n} layers in the table below"
    if sheets == "mac":
        return (f"{mac} layers with MACs; {n - mac} layers without arithmetic left out "
                f"(--sheets mac)")
    return f"all {n} layers: {mac} with MACs (full sheets), {n - mac} without (compact sheets)"


def page_data(facts: ModelFacts, meta: dict, data: dict | None, media: str = "screen",
              paper: str = "a4", chart: Charts | None = None, sheets: str = "all") -> Page:
    """Everything the template shows, as a :class:`Page` of strings.

    Args:
        facts: the analysis.
        meta: the model block (name, file, sha256, versions, sample).
        data: the JSON report to embed (None: no embedded JSON, for the PDF).
        media: ``screen`` or ``pdf``.
        paper: ``a4`` or ``letter``.
        chart: places chart SVGs (None: no charts).
        sheets: the layer sheets: ``all``, ``mac`` (layers with MACs) or ``none``.

    Raises:
        ValueError: ``sheets`` is none of those.
    """
    if sheets not in SHEETS:
        raise ValueError(f"sheets must be one of {', '.join(SHEETS)}")
    layers = tuple(_layer_view(i, l, chart, sheets == "all" or (sheets == "mac" and bool(l.operations)))
                   for i, l in enumerate(facts.layers))
    when = source_datetime()
    shown = tuple(v for v in layers if v.sheet)
    return Page(
        title=meta["name"], meta=meta, media=media, paper=paper,
        date=when.strftime("%Y-%m-%d %H:%M UTC") if when is not None else None,
        default_input=DEFAULT_INPUT,
        inputs=tuple(InputView(i.name, T.shape(i.shape), i.type.config, i.type.fixed or "float",
                               T.interval(i.type.min, i.type.max), i.assumed) for i in facts.inputs),
        summary=T.summary(facts), warnings=tuple(facts.warnings), layers=layers, sheets=shown,
        sheets_note=sheets_note(facts, sheets),
        charts=_model_charts(facts, chart) if chart is not None else (),
        # a short contents shares the cover's page instead of starting one
        toc_class="short" if len(shown) <= 20 else "",
        json=Markup(_script_json(data)) if data is not None else None)


def _script_json(data: dict) -> str:
    """JSON safe inside <script>: no '<', '>' or '&' that could close the block."""
    s = json.dumps(data, indent=None, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return s.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e") \
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


@lru_cache(maxsize=1)
def _env():
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(_template_source),
        autoescape=True, trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    return env


def _template_source(name: str) -> str:
    """A file of templates/: read through importlib.resources, which works for
    the wheel and for the editable install (templates/ mapped into qreport.templates)."""
    return resources.files("qreport.templates").joinpath(name).read_text(encoding="utf-8")


def render_html(facts: ModelFacts, meta: dict, data: dict, media: str = "screen",
                paper: str = "a4", sheets: str = "all") -> str:
    """The whole self-contained HTML document.

    Args:
        facts: the analysis.
        meta: the model block (name, file, sha256, versions, sample).
        data: the JSON report to embed (``jsonreport.report_dict``).
        media: ``screen`` (charts and JSON inline) or ``pdf``.
        paper: ``a4`` or ``letter`` (print media).
        sheets: ``all``, ``mac`` or ``none``.

    Returns:
        The HTML text; every string from the model is escaped.

    Raises:
        ValueError: an unknown ``sheets`` value.
    """
    return render_document(facts, meta, data, media, paper, sheets)[0]


def _page_css(media: str, paper: str) -> Markup:
    css = _template_source("report.css")
    if media == "pdf":
        from .pdf import font_css, page_css

        css = font_css() + "\n" + page_css(paper) + "\n" + css + _template_source("print.css")
    return Markup(css)


def render_document(facts: ModelFacts, meta: dict, data: dict | None, media: str = "screen",
                    paper: str = "a4", sheets: str = "all") -> tuple[str, dict[str, bytes]]:
    """(HTML, assets): for media "pdf" the charts are assets and no JSON is embedded.

    For media "pdf" this is the whole document in one piece (what
    :func:`render_parts` splits); the PDF renderer uses the parts.
    """
    chart = Charts(inline=media != "pdf")
    page = page_data(facts, meta, data if media != "pdf" else None, media, paper, chart, sheets)
    return _env().get_template("report.html").render(page=page, css=_page_css(media, paper)), chart.assets


#: Parts are cut so that each carries about this much layout work, counted
#: in full sheets (a compact sheet counts COMPACT_COST): small enough that a
#: part's memory stays bounded and two cores share the work, large enough
#: that the per-part start-up (fonts, styles) stays small.
PART_COST = 6.0
COMPACT_COST = 0.2


def plan_parts(sheets: list[LayerView], part_cost: float = PART_COST) -> list[list[LayerView]]:
    """Consecutive runs of sheets, each starting with a full (MAC) sheet.

    A full sheet always starts a new page, so cutting the document only in
    front of one changes no page break: the parts laid out separately give
    the same pages as the whole document would.  Compact sheets flow after
    the sheet before them and are never the first of a part (unless the
    document starts with them).
    """
    parts: list[list[LayerView]] = []
    cost = 0.0
    for v in sheets:
        if parts and not (v.mac and cost >= part_cost):
            parts[-1].append(v)
            cost += 1.0 if v.mac else COMPACT_COST
            continue
        parts.append([v])
        cost = 1.0 if v.mac else COMPACT_COST
    return parts


def render_parts(facts: ModelFacts, meta: dict, paper: str = "a4", sheets: str = "all",
                 part_cost: float = PART_COST) -> tuple[list[str], dict[str, bytes]]:
    """The PDF's print HTML cut into parts: (parts, chart assets).

    Part 0 is the front matter (cover, totals, contents, layer table, model
    charts); each further part is a run of layer sheets (:func:`plan_parts`).
    Every part is a complete HTML document with the same stylesheet, so
    each can be laid out on its own, in its own process.
    """
    chart = Charts(inline=False)
    page = page_data(facts, meta, None, "pdf", paper, chart, sheets)
    return split_parts("report.html", page, paper, part_cost), chart.assets


def split_parts(template: str, page, paper: str, part_cost: float = PART_COST) -> list[str]:
    """A print page (with ``sheets``, ``front``, ``last``) rendered as parts: the front
    matter, then each run of sheets (:func:`plan_parts`), every part a whole document."""
    css = _page_css("pdf", paper)
    tpl = _env().get_template(template)
    runs = plan_parts(list(page.sheets), part_cost)
    out = [tpl.render(page=replace(page, sheets=(), last=not runs), css=css)]
    for k, run in enumerate(runs):
        out.append(tpl.render(page=replace(page, sheets=tuple(run), front=False,
                                           last=k == len(runs) - 1), css=css))
    return out
