"""From a loaded Keras model to facts: the layer walk (SPEC sections 2-4)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import accumulator as acc
from .errors import AnalysisError
from . import graph as g
from . import operations as ops
from .quantizers import (FLOAT, QFact, QuantizerError, derived_range_fact, float_fact,
                         parse_quantizer, quantizer_fact, QUANTIZER_KINDS)

DEFAULT_INPUT = "quantized_relu(8,0)"

PASS_THROUGH = {
    "Flatten", "Reshape", "Permute", "Dropout", "SpatialDropout1D", "SpatialDropout2D",
    "SpatialDropout3D", "AlphaDropout", "GaussianDropout", "GaussianNoise",
    "ActivityRegularization", "MaxPooling1D", "MaxPooling2D", "MaxPooling3D",
    "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D", "Cropping1D",
    "Cropping2D", "Cropping3D", "UpSampling1D", "UpSampling2D", "UpSampling3D",
    "RepeatVector", "Identity", "Masking",
}
ZERO_PADDING = {"ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D"}
AVERAGE_POOL = {"AveragePooling1D", "AveragePooling2D", "AveragePooling3D",
                "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAveragePooling3D",
                "QAveragePooling2D", "QGlobalAveragePooling2D"}
MERGES = {"Add", "Subtract", "Multiply", "Concatenate", "Average", "Maximum", "Minimum"}
ACTIVATIONS = {"QActivation", "QAdaptiveActivation"}


@dataclass(frozen=True)
class LayerFacts:
    """Everything the report says about one layer call."""

    name: str
    class_name: str
    inputs: tuple[str, ...]
    input_shape: tuple
    output_shape: tuple
    quantizers: tuple[tuple[str, QFact], ...]
    operations: tuple[ops.Operation, ...]
    counts: ops.Counts | None
    output_type: QFact
    histograms: tuple[ops.Histogram, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def accumulator(self) -> acc.Accumulator | None:
        return self.operations[-1].accumulator if self.operations else None

    def quantizer(self, role: str) -> QFact | None:
        return dict(self.quantizers).get(role)


@dataclass(frozen=True)
class InputFacts:
    name: str
    shape: tuple
    type: QFact
    assumed: bool  # True when the default quantized_relu(8,0) was assumed


@dataclass(frozen=True)
class Totals:
    macs: int
    macs_by_operation: tuple[tuple[str, int], ...]
    weights: int
    bias: int
    weight_bits: int
    bias_bits: int
    zero_weights: int
    sparsity: float
    bops: int

    @property
    def float32_bits(self) -> int:
        return 32 * (self.weights + self.bias)

    @property
    def compression(self) -> float | None:
        bits = self.weight_bits + self.bias_bits
        return self.float32_bits / bits if bits else None


@dataclass(frozen=True)
class ModelFacts:
    name: str
    inputs: tuple[InputFacts, ...]
    layers: tuple[LayerFacts, ...]
    totals: Totals
    warnings: tuple[str, ...]
    sample: str | None = None


# --------------------------------------------------------------------------

def _input_types(graph: g.FlatGraph, input_quantizers) -> list[InputFacts]:
    """Model inputs' types: by name (``name=quantizer``) or in order."""
    names = graph.input_names
    given: dict[str, str] = {}
    ordered: list[str] = []
    for spec in input_quantizers or ():
        if isinstance(spec, str) and "=" in spec.split("(")[0]:
            k, v = spec.split("=", 1)
            if k.strip() not in names:
                raise AnalysisError(f"--input-quantizer names {k.strip()!r}; model inputs are {', '.join(names)}")
            given[k.strip()] = v
        else:
            ordered.append(spec)
    if len(ordered) > len(names):
        raise AnalysisError(f"{len(ordered)} input quantizers given, the model has {len(names)} inputs")
    for n, spec in zip(names, ordered):
        given.setdefault(n, spec)
    out, qs = [], []
    for n, shape in zip(names, graph.input_shapes):
        spec = given.get(n)
        q = spec if spec is not None and not isinstance(spec, str) else parse_quantizer(spec or DEFAULT_INPUT)
        out.append(InputFacts(n, shape, quantizer_fact(q), spec is None))
        qs.append(q)
    return out, qs


def _merge(cls: str, ts: list[QFact], name: str) -> QFact:
    if any(t.is_float or t.min is None for t in ts):
        return float_fact(f"{name}: float input")
    lsbs = [t.lsb for t in ts]
    fine = min(lsbs) if all(l is not None for l in lsbs) else None
    if cls == "Add":
        lo, hi = sum(t.min for t in ts), sum(t.max for t in ts)
    elif cls == "Subtract":
        lo, hi = ts[0].min - ts[1].max, ts[0].max - ts[1].min
    elif cls in ("Concatenate", "Maximum", "Minimum"):
        lo, hi = min(t.min for t in ts), max(t.max for t in ts)
    elif cls == "Average":
        n = len(ts)
        lo, hi = sum(t.min for t in ts) / n, sum(t.max for t in ts) / n
        fine = fine / n if fine is not None and (n & (n - 1)) == 0 else None
    else:  # Multiply
        lo, hi = ts[0].min, ts[0].max
        fine = ts[0].lsb
        for t in ts[1:]:
            c = (lo * t.min, lo * t.max, hi * t.min, hi * t.max)
            lo, hi = min(c), max(c)
            fine = fine * t.lsb if fine is not None and t.lsb is not None else None
    return derived_range_fact(lo, hi, fine, f"{cls.lower()} of {len(ts)} inputs")


def _activation_fact(q, name: str, warnings: list[str]) -> QFact:
    if q is not None and not callable(q) and type(q).__name__ not in QUANTIZER_KINDS:
        raise AnalysisError(f"{name}: the activation is a {type(q).__name__}, not a quantizer "
                            "(a damaged model config?)")
    f = quantizer_fact(q)
    if f.is_float and f.config not in ("float", "linear"):
        warnings.append(f"{name}: activation {f.config!r} is not a quantizer: output treated as float")
    return f


def _avg_pool(layer, cls: str, x: QFact, in_shape, name: str, warnings: list[str]) -> QFact:
    act = getattr(layer, "activation", None) if cls.startswith("Q") else None
    if act is not None and type(act).__name__ in QUANTIZER_KINDS:
        return quantizer_fact(act)
    if x.is_float or x.min is None:
        return float_fact(f"{name}: float input")
    df = getattr(layer, "data_format", "channels_last")
    if cls.startswith(("Global", "QGlobal")):
        area = int(np.prod(ops._spatial(in_shape, df), dtype=np.int64))
    else:
        area = int(np.prod(ops._tup(layer.pool_size, len(ops._spatial(in_shape, df)))))
    aq = getattr(layer, "average_quantizer_internal", None)
    if aq is not None:
        f, _ = ops.quantize(aq, np.array([1.0 / area]))
        factor = float(f[0])
        lo, hi = x.min * area * factor, x.max * area * factor
        from .fixed import pow2_grid_step

        step = pow2_grid_step([factor])
        lsb = x.lsb * step if (x.lsb is not None and step) else None
        return derived_range_fact(min(lo, hi), max(lo, hi), lsb, f"{name}: sum × q(1/{area})")
    if getattr(layer, "padding", "valid") == "same" and not cls.startswith(("Global", "QGlobal")):
        warnings.append(f"{name}: 'same' average pooling divides border windows by fewer inputs")
    lsb = x.lsb / area if x.lsb is not None and (area & (area - 1)) == 0 else None
    if lsb is None and x.lsb is not None:
        warnings.append(f"{name}: averaging over {area} inputs leaves the power-of-two grid")
    return derived_range_fact(x.min, x.max, lsb, f"average of {area} inputs")


def analyse(model, input_quantizers=None, sample=None, batch_size: int = 256) -> ModelFacts:
    """Analyse a built Keras model.

    Args:
        model: a functional or Sequential Keras 3 model (QKeras layers or plain).
        input_quantizers: quantizer strings/objects for the model inputs, in
            order or as ``"name=quantized_bits(8,0,1)"``; default
            ``quantized_relu(8,0)`` for every input.
        sample: optional list of arrays, one per model input, for the
            ``conservative`` and ``sampled`` accumulator methods.
        batch_size: sample rows run at once.

    Returns:
        ModelFacts.

    Raises:
        AnalysisError, graph.GraphError, QuantizerError: the model or options
        cannot be analysed; the message says why.
    """
    return analyse_internals(model, input_quantizers, sample, batch_size)[0]


def analyse_internals(model, input_quantizers=None, sample=None, batch_size: int = 256):
    """analyse(), plus the per-layer working parts (for the drop-in API)."""
    graph = g.flatten(model)
    inputs, input_qs = _input_types(graph, input_quantizers)
    types: dict[int, QFact] = {k: i.type for k, i in zip(graph.input_keys, inputs)}
    layers: list[LayerFacts] = []
    parts_of: dict[str, list[ops.Part]] = {}
    warnings_all: list[str] = []
    for node in graph.nodes:
        try:
            _analyse_node(node, types, layers, parts_of, warnings_all)
        except QuantizerError as exc:
            raise AnalysisError(f"{node.name}: {exc}") from None
    if sample is not None:
        layers = _with_samples(graph, layers, parts_of, input_qs, sample, batch_size)
    if not any(l.operations for l in layers):
        warnings_all.append("the model has no multiply-accumulate layers (Dense/Conv): "
                            "nothing to size")
    facts = ModelFacts(name=model.name, inputs=tuple(inputs), layers=tuple(layers),
                       totals=_totals(layers), warnings=tuple(warnings_all))
    return facts, parts_of


def _analyse_node(node, types, layers, parts_of, warnings_all) -> None:
    """Type, facts and (for weight layers) parts of one layer call."""
    layer, cls, name = node.layer, type(node.layer).__name__, node.name
    in_types = [types.get(k, FLOAT) for k in node.in_keys]
    x = in_types[0] if in_types else FLOAT
    warns: list[str] = []
    ops_list: list[ops.Operation] = []
    quants: list[tuple[str, QFact]] = [("input", x)] if len(in_types) == 1 else [
        (f"input {i}", t) for i, t in enumerate(in_types)]
    counts, hists = None, ()
    in_shape = node.in_shapes[0] if node.in_shapes else ()
    out_shape = node.out_shapes[0] if node.out_shapes else ()
    if cls in ops.WEIGHT_LAYERS:
        out_t, ops_list, counts, hists, parts = _weight_layer(node, cls, x, warns)
        parts_of[name] = parts
        for p in parts:
            quants.append(("kernel" if p.part == "main" else p.part, p.weight))
        if parts[-1].bias_fact is not None:
            quants.append(("bias", parts[-1].bias_fact))
    elif cls in ACTIVATIONS:
        q = getattr(layer, "quantizer", None) if cls == "QAdaptiveActivation" else None
        out_t = _activation_fact(q if q is not None else layer.activation, name, warns)
    elif cls in PASS_THROUGH or (cls == "Activation" and getattr(layer.activation, "__name__", "") == "linear"):
        out_t = x
    elif cls in ZERO_PADDING:
        out_t = x if (x.is_float or x.min is None or x.min <= 0 <= x.max) else \
            derived_range_fact(min(x.min, 0.0), max(x.max, 0.0), x.lsb, "zero-padded")
    elif cls in MERGES:
        out_t = _merge(cls, in_types, name)
    elif cls in AVERAGE_POOL:
        out_t = _avg_pool(layer, cls, x, in_shape, name, warns)
    else:
        out_t = FLOAT
        n_par = int(sum(int(np.prod(w.shape)) for w in layer.weights))
        what = f"; its {n_par} parameters are not counted" if n_par else ""
        warns.append(f"{name}: {cls} is not a quantized operation qreport analyses: "
                     f"output treated as float{what}")
    if out_t is not x and out_t.is_float and not x.is_float and cls not in ops.WEIGHT_LAYERS \
            and not any("float" in w for w in warns):
        warns.append(f"{name}: output is float")
    for k in node.out_keys:
        types[k] = out_t
    keep = cls in ops.WEIGHT_LAYERS or out_t != x or warns or len(in_types) > 1
    if keep:
        quants.append(("output", out_t))
        layers.append(LayerFacts(
            name=name, class_name=cls, inputs=node.inbound, input_shape=in_shape,
            output_shape=out_shape, quantizers=tuple(quants), operations=tuple(ops_list),
            counts=counts, output_type=out_t, histograms=tuple(hists), warnings=tuple(warns)))
    warnings_all.extend(warns)


def _weight_layer(node, cls, x: QFact, warns: list[str]):
    layer, name = node.layer, node.name
    parts = ops.analyse_weight_layer(layer, cls, node.in_shapes[0], node.out_shapes[0], x, name)
    for p in parts:
        warns.extend(p.notes)
        if p.weight.is_float:
            warns.append(f"{name}: {p.part if p.part != 'main' else 'kernel'} is not quantized (float)")
    if parts[-1].bias is not None and parts[-1].bias_fact is not None and parts[-1].bias_fact.is_float:
        warns.append(f"{name}: bias is not quantized (float)")
    if x.is_float:
        warns.append(f"{name}: input is float")
    if cls == "QConv1D" and getattr(layer, "padding", "") == "causal":
        warns.append(f"{name}: qkeras-v3 QConv1D cannot run padding='causal' (keras.ops.conv "
                     "rejects it at call time); counts and bound assume causal zero padding")
    ops_list = []
    chain = ops.bound_chain(parts, x, name=name)
    prev_t = None  # the `type` method chains hls4ml's own types, not the bound's
    for p, (bound, lo_c, hi_c, frac, x_part) in zip(parts, chain):
        type_x = x_part
        if prev_t is not None and prev_t.width is not None:
            type_x = _type_fact(prev_t, f"{x_part.config} (hls4ml)")
        b_fact = p.bias_fact if p.bias is not None else None
        if p.weight.is_float or type_x.is_float:
            t = acc.AccRange.unknown("float operand: hls4ml would use its default precision")
        else:
            t = acc.type_accumulator(p.weight, type_x, b_fact, p.terms)
        pcw = acc.channel_widths(lo_c, hi_c, frac) if lo_c is not None else ()
        accum = acc.Accumulator(bound=bound, type=t, per_channel_width=pcw,
                                scale=p.scale_note)
        ops_list.append(ops.Operation(
            part=p.part, type=ops.operation_type(p.weight, x_part),
            name=ops.operation_name(p.weight, x_part), macs=p.macs, terms=p.terms,
            weight=p.weight, input=x_part, accumulator=accum))
        p.bound_lo, p.bound_hi, p.frac = lo_c, hi_c, frac  # kept for the sample pass
        prev_t = t
    last = parts[-1]
    act = getattr(layer, "activation", None)
    act_name = getattr(act, "__name__", type(act).__name__)
    if act is not None and not callable(act) and type(act).__name__ not in QUANTIZER_KINDS:
        raise AnalysisError(f"{name}: the activation is a {type(act).__name__}, not a quantizer "
                            "(a damaged model config?)")
    if act is not None and type(act).__name__ in QUANTIZER_KINDS:
        out_t = quantizer_fact(act)
    elif act is None or act_name == "linear":
        if last.bound_lo is not None:
            out_t = ops.output_type(last, last.bound_lo, last.bound_hi, last.frac,
                                    f"{name} accumulator")
        else:
            out_t = FLOAT
    else:
        out_t = float_fact(act_name)
        warns.append(f"{name}: activation {act_name!r} is not a quantizer: output treated as float")
    counts = ops.counts_for(parts, ops_list)
    hists = tuple(p.hist for p in parts if p.hist is not None)
    return out_t, ops_list, counts, hists, parts


def _type_fact(t: acc.AccRange, config: str) -> QFact:
    return QFact(kind="derived", config=config, mode=0, bits=t.width, integer=t.integer_bits,
                 signed=bool(t.signed), min=None, max=None, lsb=None, fixed=t.fixed,
                 hls_type=(t.width, t.integer_bits, bool(t.signed)))


def _totals(layers: list[LayerFacts]) -> Totals:
    by_op: dict[str, int] = {}
    for l in layers:
        for o in l.operations:
            by_op[o.name] = by_op.get(o.name, 0) + o.macs
    cs = [l.counts for l in layers if l.counts is not None]
    s = lambda f: sum(getattr(c, f) for c in cs)  # noqa: E731
    weights = s("weights")
    return Totals(macs=s("macs"), macs_by_operation=tuple(sorted(by_op.items())),
                  weights=weights, bias=s("bias"), weight_bits=s("weight_bits"),
                  bias_bits=s("bias_bits"), zero_weights=s("zero_weights"),
                  sparsity=(s("zero_weights") / weights) if weights else 0.0, bops=s("bops"))


from .sampling import _with_samples  # noqa: E402  (sampling uses the dataclasses above)
