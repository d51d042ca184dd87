"""An HGQ2 model read into the seam's :class:`..read.LayerData`, element by element.

One pass in graph order keeps, for every tensor, its per-element map
(:class:`.elements.ElementMap`; None for a float tensor): a layer with its
own input quantizer reads that quantizer's declared per-element ranges, a
layer without one (``enable_iq`` off) the exact map that reaches it.  Each
layer's output map gives its output type; weight layers also give their
accumulator's extremes per output element (:mod:`.weights`).
"""

from __future__ import annotations

import numpy as np

from ...errors import AnalysisError
from .. import kernels as kq
from ..facts import FLOAT, InputFacts, float_fact
from ..read import LayerData
from . import elements as el
from . import units
from .quant import LIBRARY, bit_widths, broadcast, describe, element_range
from .weights import weight_layer

WEIGHTS = ("dense", "conv", "einsum", "batchnorm")


def read_layers(model) -> tuple[list[InputFacts], tuple[int, ...], list[LayerData]]:
    """(input facts, input keys, layer data in graph order) of a RawModel."""
    keys: dict[tuple, int] = {}
    shapes: dict[int, tuple] = {}
    maps: dict[int, el.ElementMap | None] = {}
    inputs, in_keys = [], []
    for n, shape in model.inputs:
        key = keys.setdefault((n, 0, 0), len(keys))
        shapes[key], maps[key] = shape, None
        in_keys.append(key)
        inputs.append(InputFacts(n, shape, FLOAT, False))
    data = []
    for raw in model.layers:
        ks = []
        for r in raw.inbound:
            h = (r.layer, r.node, r.index)
            if h not in keys:
                raise AnalysisError(f"{raw.name}: its input {r.layer!r} is not produced before it "
                                    "(a damaged or unsupported graph)")
            ks.append(keys[h])
        if not ks:
            raise AnalysisError(f"{raw.name}: the layer has no input")
        okey = keys.setdefault((raw.name, 0, 0), len(keys))
        d, out_map = layer_data(raw, ks, [okey], [shapes[k] for k in ks], [maps[k] for k in ks])
        shapes[okey], maps[okey] = d.out_shape, out_map
        data.append(d)
    return inputs, tuple(in_keys), data


def _inputs(raw, in_shapes, in_maps):
    """Each input as the layer reads it: (map, fact, width distribution or None, notes)."""
    out, notes = [], []
    n = len(in_shapes)
    for j, (shape, up) in enumerate(zip(in_shapes, in_maps)):
        q = raw.quantizers.get("iq") if n == 1 else raw.quantizers.get(f"iq{j}")
        which = "input quantizer" if n == 1 else f"input quantizer {j}"
        s = tuple(shape[1:])
        if q is None:
            fact = up.fact("the tensor reaching it, per element") if up is not None else FLOAT
            out.append((up, fact, None))
            continue
        m = el.declared(q, s, f"{raw.name} {which}")
        k, i, f = broadcast(q, s, raw.name)
        dist = bit_widths("input" if n == 1 else f"input {j}", q, k, i, f, m.lo, m.hi)
        out.append((m, m.fact(describe(q, "input element")), dist))
        notes += wrap_notes(raw.name, which, q, up, s)
        if dist.pruned:
            notes.append(f"{raw.name}: {which}: {dist.pruned} of {dist.elements} elements have "
                         "width 0 (pruned inputs: they pass 0)")
    return out, notes


def wrap_notes(name: str, which: str, q, up, shape) -> list[str]:
    """What a reviewer must know of a WRAP quantizer: its integer bits come from a calibration."""
    if q.overflow_mode != "WRAP" or q.rounds_only:
        return []
    if up is None:
        return [f"{name}: {which} is WRAP, its integer bits calibrated (trace_minmax): an input "
                "outside the calibrated range wraps silently"]
    _, wraps = el.quantized(q, up, shape, name)
    if not wraps:
        return []
    return [f"{name}: {which} is WRAP, its integer bits calibrated (trace_minmax): {wraps} of "
            f"{up.lo.size} elements are narrower than the exact range reaching them "
            f"[{float(up.lo.min()):g}, {float(up.hi.max()):g}], and a value outside wraps silently"]


def _activation(raw):
    act = raw.config.get("activation")
    name = act.get("config") if isinstance(act, dict) else act
    if raw.config["_kind"] not in WEIGHTS and raw.class_name not in ("Activation", "ReLU"):
        return None
    return float_fact("linear" if name in (None, "linear") else str(name))


def layer_data(raw, in_keys, out_keys, in_shapes, in_maps):
    """(LayerData, output map) of one layer call."""
    kind = raw.config["_kind"]
    common = dict(name=raw.name, class_name=raw.class_name,
                  inputs=tuple(r.layer for r in raw.inbound), in_keys=tuple(in_keys),
                  out_keys=tuple(out_keys), in_shapes=tuple(in_shapes), library=LIBRARY,
                  ebops=raw.ebops, activation=_activation(raw))
    if kind in WEIGHTS:
        return _weights(raw, in_shapes, in_maps, common)
    ins, notes = ([], []) if kind == "quantizer" else _inputs(raw, in_shapes, in_maps)
    maps = [m for m, _, _ in ins] or list(in_maps)
    dists = [b for _, _, b in ins if b is not None]
    r = units.compute(raw, kind, maps, in_shapes)
    notes += r.notes
    dists += r.dists
    out_shape = (None,) + tuple(r.out.shape) if r.out is not None else r.out_shape
    extra = {}
    if r.bounds is not None:   # an einsum of two tensors: an operation with its own bound
        extra = dict(element_bounds=r.bounds, map_frac=r.map_frac, bops=r.bops,
                     family="einsum2", config={"equation": raw.config["equation"]})
    fact = r.out.fact(r.config) if r.out is not None else None
    facts = tuple(f for _, f, _ in ins) if any(b is not None for _, _, b in ins) or r.bounds \
        is not None else ()
    d = LayerData(**common, out_shapes=(out_shape,), family=extra.pop("family", "computed"),
                  input_facts=facts, bit_widths=tuple(dists), output_fact=fact,
                  notes=tuple(notes), tables=tuple(r.tables),
                  input_maps=tuple((m.lo, m.hi, m.f) for m, _, b in ins if m is not None),
                  **extra)
    return d, r.out


def _weights(raw, in_shapes, in_maps, common):
    """A Dense, Conv, EinsumDense or BatchNormalization call as LayerData."""
    if len(in_shapes) != 1:
        raise AnalysisError(f"{raw.name}: a weight layer with {len(in_shapes)} inputs")
    s = tuple(in_shapes[0][1:])
    w = weight_layer(raw, s, in_maps[0])
    kind = raw.config["_kind"]
    values, config = w.kernel, dict(w.geometry)
    if kind == "batchnorm":
        if raw.config.get("axis", -1) not in (-1, len(in_shapes[0]) - 1, [-1]):
            raise AnalysisError(f"{raw.name}: a batch normalization over axis "
                                f"{raw.config.get('axis')} (not the last) is not supported")
        values = values.reshape((1,) * (len(in_shapes[0]) - 2) + (values.shape[0], 1))
        config = {"strides": 1, "padding": "valid", "dilation_rate": 1}
    elif kind == "einsum":
        config = {"equation": raw.config["equation"]}
    kern = kq.Kernel(part="main", role="kernel", weight=w.weight, values=values, scale=None,
                     scale_note=None, w_frac=w.w_frac, zeros=int(np.count_nonzero(w.kernel == 0)),
                     histogram=kq.histogram("main", "kernel", w.kernel, w.weight.lsb))
    notes = list(w.notes)
    ins, in_notes = _inputs(raw, in_shapes, in_maps)
    notes = in_notes + notes
    out_map, wraps = w.out if w.out is not None else (None, 0)
    dists = list(w.dists)
    if "oq" in raw.quantizers:
        q = raw.quantizers["oq"]
        k, i, f = broadcast(q, tuple(w.out_shape[1:]), raw.name)
        lo, hi = element_range(q, k, i, f)
        dists.append(bit_widths("output", q, k, i, f, lo, hi))
        if wraps:
            notes.append(f"{raw.name}: its output quantizer is WRAP and narrower than the exact "
                         f"output in {wraps} elements: a value outside wraps silently")
    elif w.out is not None and out_map is None:
        notes.append(f"{raw.name}: activation {raw.config.get('activation')!r} is not a "
                     "quantizer: output treated as float")
    grid = w.grid
    map_frac = None
    if grid is not None:
        finite = grid[np.isfinite(grid)]
        map_frac = int(finite.max()) if finite.size else None
    facts = (w.input_fact,) if w.input_fact is not None else ()
    fact = out_map.fact(f"{raw.name} output, per element") if out_map is not None else None
    xmap = w.input_map
    return LayerData(**common, out_shapes=(w.out_shape,), family=kind, config=config,
                     kernels=(kern,), bias=w.bias, params=sum(int(v.size) for v in raw.weights.values()),
                     notes=tuple(notes), input_facts=facts, bit_widths=tuple(dists), bops=w.bops,
                     input_maps=((xmap.lo, xmap.hi, xmap.f),) if xmap is not None else (),
                     element_bounds=w.acc, map_frac=map_frac, output_fact=fact), out_map
