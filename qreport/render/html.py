"""HTML datasheet: facts -> plain view data -> Jinja2 template.

All formatting happens here; the template only lays out strings it is
given (coverage.py's split).  Every string from the model is escaped by
Jinja2's autoescape; the embedded JSON is escaped for a <script> block.
"""

from __future__ import annotations

import datetime
import json
import math
import os
from functools import lru_cache
from importlib import resources

from markupsafe import Markup

from ..analysis.facts import LayerFacts, ModelFacts, QFact
from . import charts, svgplot

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


# ------------------------------------------------------------------ formatting

def num(v) -> str:
    """Exact, shortest decimal for a float on a binary grid; integers without '.0'."""
    if v is None:
        return "—"
    v = float(v)
    if v == 0:
        return "0"
    if v.is_integer() and abs(v) < 1e15:
        return f"{int(v):,}".replace(",", "\u2009").replace("-", "\u2212")
    return repr(v).replace("-", "\u2212")


def integer(v) -> str:
    return "—" if v is None else f"{int(v):,}"


_SUP = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def pow2(v) -> str:
    """A grid step as 2ⁿ, with its decimal value when that is short."""
    if v is None:
        return "—"
    e = math.log2(v)
    if e.is_integer():
        p = "2" + str(int(e)).translate(_SUP)
        d = num(v)
        return p if len(d) > 10 or e == 0 else f"{p} = {d}"
    return num(v)


def rng(f: QFact) -> str:
    if f.min is None:
        return "—"
    return f"[{num(f.min)}, {num(f.max)}]"


def shape(s) -> str:
    return "(" + ", ".join("N" if d is None else str(d) for d in s) + ")"


def kib(bits: int) -> str:
    return f"{bits / 8192:,.2f} KiB"


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


def _qrow(role: str, f: QFact) -> dict:
    return {"role": role, "kind": f.kind, "config": f.config, "fixed": f.fixed or "—",
            "range": rng(f), "lsb": pow2(f.lsb), "bits": str(f.bits),
            "signed": "signed" if f.signed else "unsigned", "scale": f.scale or "",
            "notes": list(f.notes)}


def _acc_rows(a) -> list[dict]:
    rows = []
    for m in ("bound", "conservative", "sampled", "type"):
        r = getattr(a, m)
        if r is None:
            continue
        rows.append({"method": m, "note": METHOD_NOTES[m], "min": num(r.min), "max": num(r.max),
                     "integer": integer(r.integer_bits), "fractional": integer(r.fractional_bits),
                     "width": integer(r.width), "fixed": r.fixed or "—",
                     "reason": r.reason or "", "default": m == "bound"})
    return rows


def _op_view(o) -> dict:
    a = o.accumulator
    pcw = a.per_channel_width
    return {
        "part": o.part, "name": o.name, "type": o.type,
        "multiplier": MULTIPLIERS[o.type].format(w=o.weight.bits, x=o.input.bits),
        "macs": integer(o.macs), "terms": integer(o.terms),
        "weight": o.weight.config, "weight_fixed": o.weight.fixed or "float",
        "input": o.input.config, "input_fixed": o.input.fixed or ("float" if o.input.is_float else "—"),
        "acc": _acc_rows(a), "scale": a.scale or "",
        "headroom": None if a.headroom is None else f"{a.headroom} bits",
        "spread": (f"{min(pcw)}–{max(pcw)} bits over {len(pcw)} channels" if pcw else ""),
    }


def _layer_view(i: int, l: LayerFacts, chart) -> dict:
    c = l.counts
    counts = []
    if c is not None:
        counts = [("MACs", integer(c.macs)), ("weights", integer(c.weights)),
                  ("bias", integer(c.bias)), ("weight bits", integer(c.weight_bits)),
                  ("bias bits", integer(c.bias_bits)),
                  ("zero weights", f"{integer(c.zero_weights)} "
                                   f"({(c.zero_weights / c.weights if c.weights else 0):.1%})"),
                  ("BOPs", integer(c.bops))]
    view = {
        "id": f"layer-{i}", "index": i, "name": l.name, "class": l.class_name,
        "inputs": list(l.inputs), "input_shape": shape(l.input_shape),
        "output_shape": shape(l.output_shape),
        "quantizers": [_qrow(role, f) for role, f in l.quantizers],
        "operations": [_op_view(o) for o in l.operations],
        "counts": counts, "warnings": list(l.warnings), "charts": [],
        "acc": (l.accumulator.bound.fixed if l.accumulator and l.accumulator.bound.fixed
                else ("float" if l.operations else "")),
        "op_names": " + ".join(o.name for o in l.operations),
        "row_counts": c,
        "mac": bool(l.operations),
        "sheet": True,
    }
    if chart is not None:
        for h in l.histograms:
            q = l.quantizer(h.role)
            title = "quantized " + ("kernel" if h.part == "main" else f"{h.part} kernel") + \
                    (" (unscaled)" if q is not None and (q.scale or "").startswith("per-channel") else "")
            view["charts"].append(chart(svgplot.weight_histogram(
                h.values, h.counts, q.lsb if q is not None else None, title), title))
        for o in l.operations:
            a = o.accumulator
            if a.per_channel_width:
                t = "accumulator width per channel" + (f" ({o.part})" if o.part != "main" else "")
                view["charts"].append(chart(svgplot.channel_widths(
                    a.per_channel_width, a.bound.width, t), t))
    return view


def _summary(facts: ModelFacts, meta: dict) -> dict:
    t = facts.totals
    widest, where = None, ""
    for l in facts.layers:
        for o in l.operations:
            w = o.accumulator.bound.width if o.accumulator.bound else None
            if w is not None and (widest is None or w > widest):
                widest, where = w, l.name + (f" ({o.part})" if o.part != "main" else "")
    param_bits = t.weight_bits + t.bias_bits
    return {
        "macs": integer(t.macs), "bops": integer(t.bops),
        "macs_by_operation": [(k, integer(v), f"{v / t.macs:.1%}" if t.macs else "")
                              for k, v in t.macs_by_operation],
        "weights": integer(t.weights), "bias": integer(t.bias),
        "params": integer(t.weights + t.bias),
        "weight_bits": integer(t.weight_bits), "bias_bits": integer(t.bias_bits),
        "memory": kib(param_bits), "memory_bits": integer(param_bits),
        "float_memory": kib(t.float32_bits),
        "compression": f"{t.compression:.1f}×" if t.compression else "—",
        "zero_weights": integer(t.zero_weights), "sparsity": f"{t.sparsity:.1%}",
        "widest": f"{widest} bits" if widest is not None else "—", "widest_where": where,
    }


def _model_charts(facts: ModelFacts, chart) -> list[dict]:
    ops_layers = [l for l in facts.layers if l.operations]
    if not ops_layers:
        return []
    names = [l.name for l in ops_layers]
    op_names = [k for k, _ in facts.totals.macs_by_operation]
    table = [[sum(o.macs for o in l.operations if o.name == k) for k in op_names] for l in ops_layers]
    t1, t2 = "MACs per layer, by operation type", "Parameter memory per layer"
    out = [{"title": t1, "svg": chart(charts.macs_by_layer(names, op_names, table, "m1"), t1)},
           {"title": t2, "svg": chart(charts.memory_by_layer(
               names, [l.counts.weight_bits for l in ops_layers],
               [l.counts.bias_bits for l in ops_layers], "m2"), t2)}]
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
    out.append({"title": t3, "svg": chart(charts.bit_profile(labels, series, "m3"), t3)})
    return out


SHEETS = ("all", "mac", "none")


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
              paper: str = "a4", chart: Charts | None = None, sheets: str = "all") -> dict:
    """Everything the template shows, as strings and lists.

    ``data`` is the JSON report to embed (None: no embedded JSON, for the PDF);
    ``chart`` places chart SVGs (None: no charts); ``sheets`` picks the
    layer sheets: ``all``, ``mac`` (layers with MACs only) or ``none``.
    """
    if sheets not in SHEETS:
        raise ValueError(f"sheets must be one of {', '.join(SHEETS)}")
    layers = []
    for i, l in enumerate(facts.layers):
        keep = sheets == "all" or (sheets == "mac" and bool(l.operations))
        view = _layer_view(i, l, chart if keep else None)
        view["sheet"] = keep
        layers.append(view)
    when = source_datetime()
    date = when.strftime("%Y-%m-%d %H:%M UTC") if when is not None else None
    return {
        "title": meta["name"], "meta": meta, "media": media, "paper": paper, "date": date,
        "inputs": [{"name": i.name, "shape": shape(i.shape), "config": i.type.config,
                    "fixed": i.type.fixed or "float", "range": rng(i.type), "assumed": i.assumed}
                   for i in facts.inputs],
        "summary": _summary(facts, meta),
        "warnings": list(facts.warnings),
        "layers": layers,
        "sheets": [v for v in layers if v["sheet"]],
        "sheets_note": sheets_note(facts, sheets),
        "front": True, "last": True,
        "charts": _model_charts(facts, chart) if chart is not None else [],
        # a short contents shares the cover's page instead of starting one
        "toc_class": "short" if sum(v["sheet"] for v in layers) <= 20 else "",
        "json": Markup(_script_json(data)) if data is not None else None,
    }


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
    # Read through importlib.resources: works for the wheel and for the
    # editable install, where templates/ is mapped into qreport.templates.
    return resources.files("qreport.templates").joinpath(name).read_text(encoding="utf-8")


def _css(name: str) -> str:
    return resources.files("qreport.templates").joinpath(name).read_text(encoding="utf-8")


def render_html(facts: ModelFacts, meta: dict, data: dict, media: str = "screen",
                paper: str = "a4", sheets: str = "all") -> str:
    """The whole self-contained HTML document (screen: charts and JSON inline)."""
    return render_document(facts, meta, data, media, paper, sheets)[0]


def _page_css(media: str, paper: str) -> Markup:
    css = _css("report.css")
    if media == "pdf":
        from .pdf import font_css, page_css

        css = font_css() + "\n" + page_css(paper) + "\n" + css + _css("print.css")
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


def plan_parts(sheets: list[dict], part_cost: float = PART_COST) -> list[list[dict]]:
    """Consecutive runs of sheets, each starting with a full (MAC) sheet.

    A full sheet always starts a new page, so cutting the document only in
    front of one changes no page break: the parts laid out separately give
    the same pages as the whole document would.  Compact sheets flow after
    the sheet before them and are never the first of a part (unless the
    document starts with them).
    """
    parts: list[list[dict]] = []
    cost = 0.0
    for v in sheets:
        if parts and not (v["mac"] and cost >= part_cost):
            parts[-1].append(v)
            cost += 1.0 if v["mac"] else COMPACT_COST
            continue
        parts.append([v])
        cost = 1.0 if v["mac"] else COMPACT_COST
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
    css = _page_css("pdf", paper)
    tpl = _env().get_template("report.html")
    runs = plan_parts(page["sheets"], part_cost)
    out = [tpl.render(page={**page, "sheets": [], "last": not runs}, css=css)]
    for k, run in enumerate(runs):
        out.append(tpl.render(page={**page, "sheets": run, "front": False,
                                    "last": k == len(runs) - 1}, css=css))
    return out, chart.assets
