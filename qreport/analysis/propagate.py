"""Types through the graph (SPEC section 2): from the inputs' types to every layer's facts.

Works on the plain data of the seam (:class:`.read.LayerData`), in graph
order: each layer's family (:mod:`.layers`) gives its output type; weight
layers get their operations, accumulators and counts on the way.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass


from . import operations as ops
from .energy import layer_energy
from .accumulator import Bound, output_type
from .facts import FLOAT, InputFacts, LayerFacts, QFact, Totals, Widest, float_fact
from .geometry import Part, with_bias
from .layers import is_linear, is_quantizer


@dataclass(frozen=True)
class WeightLayer:
    """A weight layer's working parts and bounds, kept for the sample pass."""

    parts: tuple[Part, ...]
    bounds: tuple[Bound, ...]


def propagate(layers, input_keys, inputs: list[InputFacts], cast_fact: QFact | None = None):
    """Facts of every layer call, the model's warnings, and the weight layers' parts.

    With ``cast_fact`` (the fact of ``--float-type``), a layer whose output would
    be float outputs that type instead, as hls4ml gives it its default precision.

    Returns:
        (layer facts, each marked ``reported`` or not, warnings, {layer name: WeightLayer}).
    """
    types: dict[int, QFact] = {k: i.type for k, i in zip(input_keys, inputs)}
    facts: list[LayerFacts] = []
    work: dict[str, WeightLayer] = {}
    warnings: list[str] = []
    for d in layers:
        xs = [types.get(k, FLOAT) for k in d.in_keys]
        start = len(warnings)
        if d.input_facts:  # the layer's inputs as it reads them, element by element (HGQ2)
            xs = list(d.input_facts)
        f, w = _layer(d, xs, warnings)
        if cast_fact is not None and f.output_type.is_float:
            f = _typed(f, cast_fact)
            warnings[start:] = [_retyped(m, cast_fact) for m in warnings[start:]]
        f = dataclasses.replace(f, energy=layer_energy(f, d))
        for k in d.out_keys:
            types[k] = f.output_type
        if w is not None:
            work[d.name] = w
        # a layer that changes nothing and costs nothing (a Flatten, a Dropout) is not reported
        if not (w is not None or f.output_type != (xs[0] if xs else FLOAT) or f.warnings
                or len(xs) > 1 or (f.energy is not None and f.energy.total > 0) or f.tables
                or f.ebops):
            f = dataclasses.replace(f, reported=False)
        facts.append(f)
    if not any(f.operations for f in facts):
        warnings.append("the model has no multiply-accumulate layers (Dense/Conv): nothing to size")
    return facts, warnings, work


def _typed(f: LayerFacts, t: QFact) -> LayerFacts:
    """A layer's float output given the --float-type type."""
    quants = tuple((r, t if r == "output" else q) for r, q in f.quantizers)
    return dataclasses.replace(f, output_type=t, quantizers=quants,
                               warnings=tuple(_retyped(m, t) for m in f.warnings))


def _retyped(message: str, t: QFact) -> str:
    for said in ("output treated as float", "output is float"):
        message = message.replace(said, f"output typed {t.config} (--float-type)")
    return message


def _layer(d, xs: list[QFact], warnings: list[str]):
    x = xs[0] if xs else FLOAT
    warns: list[str] = []
    quants = [("input", x)] if len(xs) == 1 else [(f"input {i}", t) for i, t in enumerate(xs)]
    fam = d.kind.family
    opl, counts, hists, work = [], None, (), None
    if fam.has_weights:
        out_t, opl, counts, hists, work = _weight_layer(d, x, warns)
        quants += [(p.role, p.weight) for p in work.parts]
        if work.parts[-1].bias_fact is not None:
            quants.append(("bias", work.parts[-1].bias_fact))
    else:
        out_t = fam.rule(d, xs, warns)
        if out_t is not x and out_t.is_float and not x.is_float and not any("float" in w for w in warns):
            warns.append(f"{d.name}: output is float")
    warnings.extend(warns)
    return LayerFacts(name=d.name, class_name=d.class_name, inputs=d.inputs, input_shape=d.in_shape,
                      output_shape=d.out_shape, quantizers=tuple(quants + [("output", out_t)]),
                      operations=tuple(opl), counts=counts, output_type=out_t,
                      histograms=tuple(hists), warnings=tuple(warns),
                      activation=d.activation, bit_widths=tuple(d.bit_widths),
                      ebops=d.ebops, tables=tuple(d.tables)), work


def _weight_layer(d, x: QFact, warns: list[str]):
    name = d.name
    parts = d.kind.family.parts(d)
    parts[0] = dataclasses.replace(parts[0], notes=parts[0].notes + d.notes)
    parts = with_bias(parts, d.bias, name)
    for p in parts:
        warns.extend(p.notes)
        if p.weight.is_float:
            warns.append(f"{name}: {p.part if p.part != 'main' else 'kernel'} is not quantized (float)")
    if d.bias is not None and d.bias.fact.is_float:
        warns.append(f"{name}: bias is not quantized (float)")
    if x.is_float:
        warns.append(f"{name}: input is float")
    if d.class_name == "QConv1D" and d.config.get("padding") == "causal":
        warns.append(f"{name}: qkeras-v3 QConv1D cannot run padding='causal' (keras.ops.conv "
                     "rejects it at call time); counts and bound assume causal zero padding")
    if d.element_bounds is not None:  # every input element has its own range (HGQ2)
        parts[0] = dataclasses.replace(parts[0], element_bounds=d.element_bounds,
                                       map_frac=d.map_frac)
    opl, bounds = ops.operations(parts, x, name)
    a = d.activation
    if d.library == "hgq2":   # its output, element by element (activation, output quantizer)
        out_t = d.output_fact if d.output_fact is not None else FLOAT
    elif is_quantizer(a):
        out_t = a
    elif is_linear(a):
        last = bounds[-1]
        out_t = output_type(parts[-1], last, f"{name} accumulator") if last.lo is not None else FLOAT
    else:
        out_t = float_fact(a.config)
        warns.append(f"{name}: activation {a.config!r} is not a quantizer: output treated as float")
    hists = tuple(k.histogram for k in d.kernels if k.histogram is not None)
    counts = ops.counts(parts, opl)
    if d.library == "hgq2":  # per-element widths: their own sums
        stored = {b.role: b.total_bits for b in d.bit_widths}
        counts = dataclasses.replace(counts, bops=d.bops if d.bops is not None else counts.bops,
                                     weight_bits=stored.get("kernel", 0),
                                     bias_bits=stored.get("bias", 0))
    return out_t, opl, counts, hists, WeightLayer(tuple(parts), tuple(bounds))


def totals(layers: list[LayerFacts]) -> Totals:
    """Model totals: sums of the reported layers' counts, MACs per operation, the widest accumulator."""
    layers = [f for f in layers if f.reported]
    by_op: dict[str, int] = {}
    widest = None
    saved = [o.bits_saved for f in layers for o in f.operations if o.bits_saved is not None]
    for f in layers:
        for o in f.operations:
            by_op[o.name] = by_op.get(o.name, 0) + o.macs
            b = o.accumulator.bound
            if b is not None and b.width is not None and (widest is None or b.width > widest.width):
                widest = Widest(f.name, o.part, b.width, b.fixed)
    cs = [f.counts for f in layers if f.counts is not None]
    s = lambda k: sum(getattr(c, k) for c in cs)  # noqa: E731
    zeros = None if any(c.zero_weights is None for c in cs) else s("zero_weights")
    stored = [f.ebops for f in layers if f.ebops is not None]
    return Totals(macs=s("macs"), macs_by_operation=tuple(sorted(by_op.items())),
                  weights=s("weights"), bias=s("bias"), weight_bits=s("weight_bits"),
                  bias_bits=s("bias_bits"), zero_weights=zeros, bops=s("bops"),
                  widest_accumulator=widest, bits_saved=sum(saved) if saved else None,
                  energy_pj=sum(f.energy.total for f in layers if f.energy is not None),
                  ebops=sum(stored) if stored else None,
                  table_bits=sum(t.bits for f in layers for t in f.tables))

