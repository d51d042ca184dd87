"""The glue: an analysed layer's facts and working part turned into its hardware figures."""

from __future__ import annotations

import dataclasses

import numpy as np

from ..facts import QFact
from .counts import Kernel2D, _width, layer_hardware
from .da import da_cost
from .design import LEVELS_PER_CYCLE, Design
from .figures import LayerHardware

#: Layer classes hls4ml 1.3.0 implements with the dense/conv kernels modelled here.
SUPPORTED = {"Dense", "QDense", "QDenseBatchnorm", "QBatchNormDense", "QEinsumDense",
             "QEinsumDenseBatchnorm", "Conv1D", "Conv2D", "QConv1D", "QConv2D",
             "QConv2DBatchnorm", "DepthwiseConv1D", "DepthwiseConv2D", "QDepthwiseConv2D",
             "QDepthwiseConv2DBatchnorm"}


#: hls4ml 1.3.0 builds an EinsumDense with the latency or DA strategy only (one dense per
#: free and in-place position, every one unrolled: ``nnet_einsum_dense.h``)
EINSUM = {"QEinsumDense", "QEinsumDenseBatchnorm"}
DA_CLASSES = {"QBatchNormDense", "Dense", "QDense", "QDenseBatchnorm", "Conv1D", "Conv2D", "QConv1D", "QConv2D",
              "QConv2DBatchnorm"}


def kernel_2d(part, op) -> Kernel2D | str:
    """The part's kernel as hls4ml multiplies it, or why there is none."""
    if not part.known:
        return "needs the weights (architecture only)"
    if part.w_frac is None:
        return "the kernel is not on a fixed-point grid (float or a non-power-of-two scale)"
    kern = np.asarray(part.kernel, dtype=np.float64)
    rows, cols = int(np.prod(kern.shape[:-1], dtype=np.int64)), int(kern.shape[-1])
    ints = np.rint(kern.reshape(rows, cols) * 2.0 ** part.w_frac).astype(np.int64)
    bias = np.zeros(cols, dtype=bool)
    if part.bias is not None:
        bias = np.asarray(part.bias, dtype=np.float64).reshape(-1)[:cols] != 0
    positions = max(op.macs // max(rows * cols, 1), 1)
    return Kernel2D(ints=ints, bias_nonzero=bias, positions=positions)


def einsum_kernel_2d(layer, part) -> tuple[Kernel2D, np.ndarray] | str:
    """An EinsumDense as hls4ml unrolls it, and each output's exact accumulator width.

    hls4ml transposes the input to (in-place I, free L0, contracted C) and runs
    a C-to-L1 dense for every (i, l0), all unrolled: the kernel's C×L1 slice of
    in-place index i, once per l0.  Here that is one C × (L0·I·L1) kernel whose
    columns are the outputs, each with its own width (its exact extremes).
    """
    from ..einsum import coefficients, parse
    from ..fixed import widths_for_ranges

    if part.w_frac is None or part.element_bounds is None:
        return "the kernel or its input is not on a fixed-point grid"
    e = parse(part.equation, layer.input_shape[1:], part.native.shape)
    e, w = coefficients(e, part.native)
    C = [c for c in e.w if c in e.x and c not in e.y]
    I = [c for c in e.y if c in e.x and c in e.w]
    L0 = [c for c in e.y if c in e.x and c not in e.w]
    L1 = [c for c in e.y if c in e.w and c not in e.x]
    n = lambda idx: int(np.prod([e.sizes[c] for c in idx], dtype=np.int64))  # noqa: E731
    kt = np.transpose(np.asarray(w, np.float64), [e.w.index(c) for c in C + I + L1])
    k2 = kt.reshape(n(C), n(I) * n(L1))
    ints = np.rint(np.tile(k2, (1, n(L0))) * 2.0 ** part.w_frac).astype(np.int64)
    order = [e.y.index(c) for c in L0 + I + L1]
    lo, hi = part.element_bounds
    b = np.zeros(lo.shape) if part.bias is None else np.broadcast_to(part.bias, lo.shape)
    frac = part.map_frac if part.map_frac is not None else part.w_frac
    if part.bias_frac is not None:
        frac = max(frac, part.bias_frac)
    widths = widths_for_ranges(np.transpose(lo + b, order).reshape(-1),
                               np.transpose(hi + b, order).reshape(-1), frac)
    bias = np.transpose(b, order).reshape(-1) != 0
    return Kernel2D(ints=ints, bias_nonzero=bias, positions=1), np.asarray(widths, np.int64)


def _exact_widths(acc, cols: int) -> np.ndarray | None:
    if acc.unscaled_sum is not None and acc.unscaled_sum.width is not None:
        return np.full(cols, acc.unscaled_sum.width, dtype=np.int64)
    if len(acc.per_channel_width) == cols:
        return np.asarray(acc.per_channel_width, dtype=np.int64)
    if acc.bound is not None and acc.bound.width is not None:
        return np.full(cols, acc.bound.width, dtype=np.int64)
    return None


def _kif(f: QFact) -> tuple[int, int, int]:
    w, i, s = f.hls_type
    k = int(bool(s))
    return k, i - k, w - i


def da_traced(layer, design: Design) -> bool:
    """Whether da4ml traces this layer for the design: a Dense/Conv kernel within the limit."""
    return (design.strategy == "distributed_arithmetic" and layer.class_name in DA_CLASSES
            and len(layer.operations) == 1 and layer.counts is not None
            and layer.counts.weights <= design.da_limit)


def layer_design(layer, part, design: Design, progress=None) -> LayerHardware | str:
    """The hardware of one analysed weight layer (its facts and its working part), or why not."""
    if layer.class_name not in SUPPORTED:
        return f"{layer.class_name}: hls4ml's implementation of it is not modelled"
    if len(layer.operations) != 1:
        return "a layer of several operations is not modelled"
    op = layer.operations[0]
    data, weight = layer.quantizer("input"), op.weight
    if data is None or _width(data) is None or data.hls_type is None:
        return "the input is float: hls4ml would use its default precision"
    if _width(weight) is None:
        return "the kernel is float"
    pre: list[str] = []
    if layer.class_name in EINSUM:
        if design.strategy == "resource":
            return ("hls4ml 1.3.0 builds an EinsumDense with the latency or distributed "
                    "arithmetic strategy only (its resource template asserts)")
        if design.reuse_factor > 1:
            design = dataclasses.replace(design, reuse_factor=1)
            pre.append("hls4ml 1.3.0 unrolls an EinsumDense whatever the reuse factor: "
                       "counted at reuse factor 1")
        got = einsum_kernel_2d(layer, part)
        if isinstance(got, str):
            return got
        k, widths = got
    else:
        k = kernel_2d(part, op)
        if isinstance(k, str):
            return k
        widths = _exact_widths(op.accumulator, k.ints.shape[1])
    if widths is None:
        return "the accumulator has no exact fixed-point width"
    t = op.accumulator.type
    type_width = t.width if t is not None else None
    notes = pre
    da = da_traced(layer, design)
    if design.strategy == "distributed_arithmetic" and not da:
        if layer.class_name in EINSUM:
            notes.append("qreport runs da4ml on Dense and Conv kernels only: this EinsumDense "
                         "is estimated as the latency strategy")
        elif layer.class_name not in DA_CLASSES:
            notes.append(f"hls4ml 1.3.0's DA pass does not take a {layer.class_name} (it raises); "
                         "estimated as the latency strategy")
        else:
            notes.append(f"too large to unroll for da4ml here ({k.ints.size:,} products > the "
                         f"limit {design.da_limit:,}); estimated as the latency strategy")
        design = dataclasses.replace(design, strategy="latency")
    out_bits = _width(layer.output_type)
    h = layer_hardware(k, data, weight, widths, type_width, design, out_bits)
    if da:
        kern = k.ints.astype(np.float64) * 2.0 ** -part.w_frac
        bias = None
        if part.bias is not None and part.scale is None:
            bias = np.asarray(part.bias, dtype=np.float64).reshape(-1)
        cost, depth, adders = da_cost(kern, bias, _kif(data))
        if progress is not None:
            progress()
        stages = max(-(-depth // LEVELS_PER_CYCLE), 1)
        out_reg = k.ints.shape[1] * k.positions * (out_bits or 0)
        h = dataclasses.replace(h, adders=adders, adders_by_width=(), lut=int(round(cost)),
                                lut_type=None, ff_type=None,
                                ff=stages * int(widths.sum()) + out_reg,
                                latency_cycles=k.positions - 1 + stages, da_cost=cost,
                                da_depth=depth)
    return dataclasses.replace(h, notes=tuple(notes) + h.notes) if notes else h
