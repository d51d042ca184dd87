"""Exact counts of what hls4ml 1.3.0 instantiates for one dense-like kernel, and their cost.

Read from ``nnet_dense_latency.h``, ``nnet_dense_resource.h``,
``nnet_conv2d_latency.h`` and the ``multiplier_limit`` of
``core_templates.py``: products, the products that need no multiplier (zero
weights, ±2^k), the multipliers instantiated at this reuse factor by operand
widths, the adders of the accumulation at their exact widths, weight storage,
BRAM_18K blocks of the ``resource`` layout, the initiation interval.
Everything is vectorized over the kernel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..facts import MODE_BINARY, MODE_PO2, MODE_TERNARY, QFact
from .design import LEVELS_PER_CYCLE, Design, closest_reuse_factor
from .estimates import resource_latency, resource_model, resource_terms, shared_dsp_bits
from .figures import LayerHardware

def constant_widths(ints: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(needs a multiplier, the constant's trimmed signed width, its nonzero CSD digits).

    ``ints`` are the weights as integers on their grid.  A zero or ±2^k
    needs no multiplier.  The trimmed width is the signed width of the odd
    part (Vivado shifts trailing zeros out); the CSD (non-adjacent form)
    digit count is ``popcount(x XOR 3x)``.
    """
    a = np.abs(ints.astype(np.int64))
    low = a & -a
    odd = np.where(a > 0, a // np.maximum(low, 1), 0)
    need = odd > 1
    width = np.where(a > 0, np.frexp(odd.astype(np.float64))[1] + 1, 0)
    csd = np.bitwise_count(a ^ (3 * a)).astype(np.int64)
    return need, width.astype(np.int64), csd


def bram_18k(width_bits: int, depth: int) -> int:
    """18 Kb blocks for a ROM of ``depth`` words of ``width_bits`` (the widest port that fits)."""
    if width_bits <= 0 or depth <= 0:
        return 0
    for limit, port in ((512, 36), (1024, 18), (2048, 9), (4096, 4), (8192, 2), (16384, 1)):
        if depth <= limit:
            return -(-width_bits // port)
    return width_bits * -(-depth // 16384)


def _width(f: QFact) -> int | None:
    if f is None or f.is_float:
        return None
    return f.hls_type[0] if f.hls_type is not None else f.bits


@dataclass(frozen=True)
class Kernel2D:
    """A weight layer's kernel as hls4ml multiplies it: rows are the inputs of one output."""

    ints: np.ndarray          # (rows, cols) integers on the weight grid
    bias_nonzero: np.ndarray  # (cols,) bool: a bias to add
    positions: int            # output positions computed one after another


def layer_hardware(k: Kernel2D, data: QFact, weight: QFact, widths: np.ndarray,
                   type_width: int | None, design: Design, out_bits: int | None) -> LayerHardware:
    """The hardware of one weight layer.

    Args:
        k: the kernel, as integers on its grid.
        data: the input type (the data operand of every product).
        weight: the weight type.
        widths: (cols,) the exact accumulator width of every output.
        type_width: the accumulator width hls4ml infers (None: unknown).
        design: strategy and reuse factor.
        out_bits: the output type's width (for the output register), None: unknown.
    """
    notes: list[str] = []
    rows, cols = k.ints.shape
    kernel = rows * cols
    dw, ww = _width(data), _width(weight)
    need, cwidth, csd = constant_widths(k.ints)
    zero = k.ints == 0
    n_zero, n_need = int(zero.sum()), int(need.sum())
    n_shift = kernel - n_zero - n_need
    free_type = weight.mode in (MODE_PO2, MODE_BINARY, MODE_TERNARY)
    strategy, rf = design.strategy, design.reuse_factor
    if strategy == "resource":
        rf2 = closest_reuse_factor(rows, cols, rf)
        if rf2 != rf:
            notes.append(f"hls4ml's resource strategy takes reuse factor {rf2} here: {rf} is not "
                         f"valid for a {rows}×{cols} kernel")
        rf = rf2
    if strategy == "distributed_arithmetic":
        rf = 1
    positions = k.positions
    t = design.dsp_min_bits

    # the accumulation, per output: nonzero products + nonzero bias - 1 adds
    per_out = np.maximum((~zero).sum(axis=0) + k.bias_nonzero.astype(np.int64) - 1, 0)
    limit = -(-kernel // rf) - n_zero // rf  # hls4ml's multiplier_limit
    resource_rom = strategy == "resource" and rf > 1
    if strategy == "distributed_arithmetic":
        mults, by_width, lut_mul, dsp = 0, (), 0, 0
    elif resource_rom or (rf > 1 and n_need > limit):
        # shared multipliers of the declared widths: resource reads its weights from
        # ROM (only the data is multiplexed), latency multiplexes weights and data
        if resource_rom:
            mults, muxed = (0 if free_type else -(-kernel // rf)), dw
            per_out = None
        else:
            mults, muxed = limit, dw + ww
            notes.append(f"{n_need} products share {limit} multipliers (hls4ml's multiplier_limit "
                         f"at reuse factor {rf}): their weights are multiplexed, not constants")
        by_width = ((dw, ww, mults),) if mults else ()
        if resource_rom:   # a ROM-fed multiplier: its weight is as wide as the type
            t = shared_dsp_bits()
        dsp = mults if (dw >= t and ww >= t) else 0
        lut_mul = (mults - dsp) * (dw * ww // 2) + mults * muxed * -(-rf // 4)
    else:
        mults = n_need
        w = cwidth[need]
        vals, counts = np.unique(w, return_counts=True)
        by_width = tuple((dw, int(v), int(c)) for v, c in zip(vals, counts))
        on_dsp = need & (cwidth >= t) if dw >= t else np.zeros_like(need)
        dsp = int(on_dsp.sum())
        fabric = need & ~on_dsp
        lut_mul = int(((csd[fabric] - 1) * (dw + cwidth[fabric])).sum())

    if per_out is None:  # resource, RF > 1: one accumulating adder per multiplier
        n_add = -(-kernel // rf)
        wmax = int(widths.max())
        add_hist = ((wmax, n_add),)
        add_bits = n_add * wmax
        add_bits_type = n_add * type_width if type_width is not None else None
        levels = 1
    else:
        n_add = int(per_out.sum())
        vals = np.unique(widths)
        add_hist = tuple((int(v), int(per_out[widths == v].sum())) for v in vals
                         if per_out[widths == v].sum())
        add_bits = int((per_out * widths).sum())
        add_bits_type = int(per_out.sum()) * type_width if type_width is not None else None
        levels = int(math.ceil(math.log2(int(per_out.max()) + 1))) if per_out.size and per_out.max() else 0

    storage = kernel * (ww or 0)
    # a ROM no deeper than 64 words fits a LUT6 per bit: Vivado keeps it in fabric
    bram = bram_18k(-(-kernel // rf) * (ww or 0), rf) if resource_rom and rf > 64 else 0
    ii = rf * positions
    depth = (1 if mults else 0) + -(-levels // LEVELS_PER_CYCLE)
    latency = positions * rf - 1 + max(depth, 1)

    stages = max(depth, 1)
    out_reg = cols * positions * (out_bits or 0)
    ff = stages * int(widths.sum()) + out_reg
    ff_type = stages * cols * type_width + out_reg if type_width is not None else None
    # a convolution feeds its kernel hardware one window after another: a
    # positions-to-1 mux per kernel input bit (one LUT6 per 4 inputs)
    lut_mux = rows * dw * -(-positions // 4) if positions > 1 else 0
    lut = add_bits + lut_mul + lut_mux
    lut_type = add_bits_type + lut_mul + lut_mux if add_bits_type is not None else None
    if resource_rom:   # what Vivado builds of dense_resource: the fitted model (.estimates)
        per_layer, _ = resource_latency()
        latency = positions * rf + per_layer
        block = -(-kernel // rf)
        outs = cols * positions

        def model(acc: int) -> tuple[float, float]:
            return resource_model(resource_terms(rows, outs, rf, block, dw, ww or 0, acc,
                                                 out_bits or dw, on_dsp=dsp > 0))
        lut, ff = model(int(widths.max()))
        lut += lut_mux
        lut_type = ff_type = None
        if type_width is not None:
            lut_type, ff_type = model(type_width)
            lut_type += lut_mux
    if free_type:
        notes.append(f"{weight.config}: hls4ml uses its {_product_name(weight)} product, no multiplier")
    return LayerHardware(
        strategy=strategy, reuse_factor=rf, positions=positions,
        multiplications=kernel * positions, zero_products=n_zero * positions,
        shift_products=n_shift * positions, multiplier_products=n_need * positions,
        multipliers=mults, multipliers_by_width=by_width, adders=n_add, adders_by_width=add_hist,
        weight_storage_bits=storage, bram_18k=bram, initiation_interval=ii,
        latency_cycles=int(latency), dsp=int(dsp), lut=int(round(lut)), ff=int(round(ff)),
        lut_type=None if lut_type is None else int(round(lut_type)),
        ff_type=None if ff_type is None else int(round(ff_type)), notes=tuple(notes))


def _product_name(weight: QFact) -> str:
    return {MODE_PO2: "weight_exponential (shift)", MODE_BINARY: "weight_binary (negate)",
            MODE_TERNARY: "weight_ternary (negate or zero)"}[weight.mode]
