"""The analysis, end to end: a built Keras model in, :class:`ModelFacts` out.

    read (the Keras seam)  ->  propagate (types, operations, counts)
                           ->  sampling (optional: conservative, sampled)
"""

from __future__ import annotations

import dataclasses

from ..errors import AnalysisError
from ..options import spelling
from .facts import LayerFacts, ModelFacts
from .floattype import FixedCast
from .hardware import Design, da_traced, layer_design, totals as hardware_totals
from .propagate import propagate, totals
from .read import input_types, read_model

__all__ = ["analyse", "analyse_internals", "AnalysisError", "LayerFacts", "ModelFacts"]


def analyse(model, input_quantizers=None, sample=None, batch_size: int = 256,
            weights: bool = True, progress=None, design: Design = Design(),
            float_type: str | None = None) -> ModelFacts:
    """Analyse a built Keras model.

    The model is read, never changed: kernels are quantized by fresh copies
    of their quantizers, and a sample run restores every quantizer's state.

    Args:
        model: a functional or Sequential Keras 3 model (QKeras layers or plain).
        input_quantizers: quantizer strings/objects for the model inputs, in
            order or as ``"name=quantized_bits(8,0,1)"``; default
            ``quantized_relu(8,0)`` (:data:`.facts.DEFAULT_INPUT`) for every input.
        sample: optional list of arrays, one per model input, for the
            ``conservative`` and ``sampled`` accumulator methods.
        batch_size: at most this many sample rows run at once (fewer when
            their tensors would not fit the sampling's memory budget).
        weights: False when the model's weights are not real (an architecture
            loaded without its weights file): counts, operation types,
            quantizer facts and the `type` accumulator only.
        progress: if given, told how many sample images (and da4ml layers) have run.
        design: hls4ml's strategy and reuse factor, for the hardware figures
            (:class:`.hardware.Design`; default latency, reuse factor 1).
        float_type: the type hls4ml gives float tensors and weights (``"ap_fixed<16,6>"``,
            its default): float kernels, biases, outputs and unstated inputs take it,
            truncated and wrapped as hls4ml does.  None: they stay float.

    Returns:
        ModelFacts: every layer worth reporting, the totals and the warnings.

    Raises:
        AnalysisError: the model, its quantizers or the options cannot be
            analysed; the message says why and ``option`` names the argument
            at fault (GraphError and QuantizerError are AnalysisErrors).
    """
    return analyse_internals(model, input_quantizers, sample, batch_size, weights, progress,
                             design=design, float_type=float_type)[0]


def analyse_internals(model, input_quantizers=None, sample=None, batch_size: int = 256,
                      weights: bool = True, progress=None, extremes=None,
                      design: Design = Design(), float_type: str | None = None):
    """analyse(), plus {layer name: WeightLayer} (the parts, for the drop-in API).

    Args, Raises: as :func:`analyse`; ``extremes``: the sample's merged
    :class:`.sampling.Extremes` (from :func:`sample_extremes` over its shards),
    so that the sample is not run again.

    Returns:
        (ModelFacts, {layer name: propagate.WeightLayer}).
    """
    if sample is not None and not weights:
        raise AnalysisError("a sample needs the model's weights (this model has none)",
                            option="sample")
    graph, data, inputs, input_qs, (layers, warnings, work) = _typed_graph(
        model, weights, input_quantizers, float_type)
    warnings = _input_warnings(inputs) + warnings
    if not weights:
        warnings.insert(0, "no weights: architecture only. Counts, operation types, quantizers "
                           "and the `type` accumulator are given; the `bound` accumulator, zero "
                           "weights and weight histograms need the weights file")
    if sample is not None:
        from .sampling import with_samples

        layers = with_samples(graph, data, layers, work, input_qs, sample, batch_size, progress,
                              extremes)
    layers, hw = with_hardware(layers, work, design, progress)
    facts = ModelFacts(name=model.name, inputs=tuple(inputs), every_layer=tuple(layers),
                       totals=dataclasses.replace(totals(layers), hardware=hw),
                       warnings=tuple(warnings))
    return facts, work


def with_hardware(layers, work, design: Design, progress=None):
    """The layers with their hardware figures, and the design's totals."""
    tick = None
    n = sum(1 for l in layers if l.reported and l.name in work and da_traced(l, design))
    if n and progress is not None:
        done = [0]

        def tick():
            done[0] += 1
            progress(f"da4ml {done[0]}/{n} layers")

        progress(f"da4ml 0/{n} layers")
    out, per, missing = [], [], []
    for l in layers:
        if not (l.reported and l.operations and l.name in work):
            out.append(l)
            continue
        h = layer_design(l, work[l.name].parts[0], design, tick)
        if isinstance(h, str):
            missing.append(l.name)
            out.append(dataclasses.replace(l, hardware_note=h))
        else:
            per.append(h)
            out.append(dataclasses.replace(l, hardware=h))
    return out, hardware_totals(per, design, tuple(missing))


#: bits of a float32 significand: a wider sum HGQ2's float32 forward pass can round
FLOAT32_SIGNIFICAND = 24


def analyse_hgq2(raw, design: Design = Design(), progress=None) -> ModelFacts:
    """Analyse an HGQ2 model read directly (:func:`qreport.read.hgq2.read_hgq2`).

    Each layer's input quantizer gives its input type, element by element;
    the `type` accumulator of a weight layer is what hls4ml's BitExact pass
    derives (:func:`.hgq.hls4ml_accumulators`), which hls4ml builds instead
    of its usual type rule.
    """
    from .hgq import hls4ml_accumulators, read_layers

    inputs, input_keys, data = read_layers(raw)
    layers, warnings, work = propagate(data, input_keys, inputs)
    derived = hls4ml_accumulators(data, raw.layers)
    out = []
    for l in layers:
        t = derived.get(l.name)
        if t is not None and l.operations:
            ops = list(l.operations)
            acc = ops[-1].accumulator
            ops[-1] = dataclasses.replace(ops[-1], accumulator=dataclasses.replace(
                acc, type=_bitexact_range(t)))
            l = dataclasses.replace(l, operations=tuple(ops), hls4ml_type=t)
        elif t is not None:
            l = dataclasses.replace(l, hls4ml_type=t)
        b = l.quantizer("bias")
        if t == "ufixed<2,32>" or (b is not None and b.min == 0 and b.max == 0):
            what = "accumulator" if t == "ufixed<2,32>" else "bias"
            l = dataclasses.replace(l, warnings=l.warnings + (
                f"{l.name}: its {what} is all 0, and hls4ml writes its type as the degenerate "
                "type ufixed<2,32>",))
        acc = l.accumulator.bound if l.operations else None
        if acc is not None and acc.width is not None and acc.width > FLOAT32_SIGNIFICAND:
            l = dataclasses.replace(l, warnings=l.warnings + (
                f"{l.name}: its exact accumulator needs {acc.width} bits, more than float32's "
                f"{FLOAT32_SIGNIFICAND}-bit significand: HGQ2's own forward pass (float32) can "
                "round these sums, so its outputs here may differ from the hardware's",))
        out.append(l)
    warnings = list(warnings) + [w for l in out for w in l.warnings
                                 if "ufixed<2,32>" in w or "float32's" in w]
    warnings += [f"{l.name}: {b.pruned_channels} output channel(s) with every weight pruned "
                 "(zero-width channels)" for l in out for b in l.bit_widths
                 if b.role == "kernel" and b.pruned_channels]
    layers, hw = with_hardware(out, work, design, progress)
    return ModelFacts(name=raw.name, inputs=tuple(inputs), every_layer=tuple(layers),
                      totals=dataclasses.replace(totals(layers), hardware=hw),
                      warnings=tuple(warnings), library="hgq2")


def _bitexact_range(t: str):
    """An AccRange for an hls4ml type name (``fixed<15,6>``): its width, nothing of its range."""
    import re

    from .facts import AccRange
    from .fixed import fixed_name

    m = re.match(r"(u?)fixed<(\d+),(-?\d+)>", t)
    signed, w, i = m.group(1) != "u", int(m.group(2)), int(m.group(3))
    return AccRange(None, None, i, w - i, w, signed, fixed_name(w, i, signed))


def sample_extremes(model, input_quantizers, sample, rows: tuple[int, int],
                    batch_size: int = 256, float_type: str | None = None):
    """The :class:`.sampling.Extremes` of the sample's rows ``(start, stop)``: one shard of a
    sample run on several workers; the shards' extremes merge exactly."""
    from .sampling import observe

    graph, data, _, input_qs, (layers, _, work) = _typed_graph(model, True, input_quantizers,
                                                               float_type)
    return observe(graph, data, layers, work, input_qs, sample, batch_size, rows=rows)


def _typed_graph(model, weights, input_quantizers, float_type):
    """(graph, layer data, input facts, input quantizers, propagate's result): the model read
    and its types propagated, float layers cast to ``float_type`` when it is given."""
    cast = FixedCast(float_type) if float_type else None
    graph, data = read_model(model, weights, cast)
    inputs, input_qs = input_types(graph.input_names, graph.input_shapes, input_quantizers, cast)
    return graph, data, inputs, input_qs, propagate(
        data, graph.input_keys, inputs, cast.fact() if cast is not None else None)


def _input_warnings(inputs) -> list[str]:
    """A model warning per input whose type was assumed: every bound downstream depends on it."""
    return [f"input {i.name!r}: type assumed to be {i.type.config}, and the first accumulators "
            f"are sized for it; state the real type, e.g. {spelling('input_quantizers', cli=True)} "
            f"'{i.name}=quantized_bits(8,0,1)' ({spelling('input_quantizers', cli=False)} in Python)"
            for i in inputs if i.assumed]
