"""Accumulator widths (SPEC section 4): every method, in one place.

The accumulator holds Σ w·x + b for every output channel, with w the
quantized (BN-folded, unscaled) kernel and x free in [x_min, x_max].  For
each output position only the taps that meet a real input count (see
:mod:`.geometry`).  The bound is one numpy contraction per operation.

- ``bound``: the input type's whole range (:func:`bound_chain`);
- ``conservative``: the same over an observed input range;
- ``sampled``: the values observed (:func:`observed`);
- ``type``: hls4ml's rule from the operand types alone (:func:`type_accumulator`).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from .facts import FLOAT, AccRange, Accumulator, QFact
from .types import derived_range_fact
from .fixed import fixed_name, width_for_range, widths_for_ranges
from .geometry import Part


NO_WEIGHTS = "no weights: the bound needs the kernel's values (architecture only)"


@dataclass(frozen=True)
class Bound:
    """The bound of one operation: its range, per-channel extremes and grid.

    ``input`` is the type the operation reads (for a later part, the
    previous part's output with its scale applied).
    """

    range: AccRange
    lo: np.ndarray | None
    hi: np.ndarray | None
    frac: int | None
    input: QFact


def extreme_sums(kernel: np.ndarray, x_lo, x_hi, masks) -> tuple[np.ndarray, np.ndarray]:
    """Per-output-channel min and max of Σ w·x over positions and inputs.

    Args:
        kernel: (k_1, …, k_n, C_in_group, C_out) unscaled quantized kernel.
        x_lo, x_hi: input range, scalars or arrays of shape (C_in_group,).
        masks: one (P_d, k_d) boolean tap mask per spatial axis.

    Returns:
        (lo, hi): arrays of shape (C_out,), the extremes without bias.
    """
    x_lo = np.asarray(x_lo, dtype=np.float64)
    x_hi = np.asarray(x_hi, dtype=np.float64)
    if x_lo.ndim:
        x_lo, x_hi = x_lo[:, None], x_hi[:, None]
    w = kernel.astype(np.float64, copy=False)
    a, b = w * x_lo, w * x_hi
    s_hi = np.maximum(a, b).sum(axis=-2)  # (k…, C_out)
    s_lo = np.minimum(a, b).sum(axis=-2)
    del a, b
    for d, m in enumerate(masks):
        mf = m.astype(np.float64)
        s_hi = np.moveaxis(np.tensordot(mf, s_hi, axes=([1], [d])), 0, d)
        s_lo = np.moveaxis(np.tensordot(mf, s_lo, axes=([1], [d])), 0, d)
    c_out = kernel.shape[-1]
    return s_lo.reshape(-1, c_out).min(axis=0), s_hi.reshape(-1, c_out).max(axis=0)


def map_extremes(p: Part) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel extremes of Σ w·x when every input element has its own range (HGQ2).

    Exact: each output element's extremes (:func:`.einsum.extremes`, attained by
    the sign-built input over its own products) reduced over the channel's
    positions, the last axis being the channel.
    """
    lo, hi = p.element_bounds
    c = lo.shape[-1] if lo.ndim else 1
    return lo.reshape(-1, c).min(axis=0), hi.reshape(-1, c).max(axis=0)


def _with_bias(bounds, b: np.ndarray):
    lo, hi = (a + b for a in bounds)
    c = lo.shape[-1] if lo.ndim else 1
    return lo.reshape(-1, c).min(axis=0), hi.reshape(-1, c).max(axis=0)


def fixed_range(lo: float, hi: float, frac_bits: int | None, reason: str | None) -> AccRange:
    """An AccRange for [lo, hi]; width only when a grid (frac_bits) is known."""
    if frac_bits is None:
        ib = width_for_range(math.floor(lo), math.ceil(hi), 0).integer_bits
        return AccRange(float(lo), float(hi), ib, None, None, lo < 0, None, reason)
    return AccRange.from_fixed(width_for_range(float(lo), float(hi), frac_bits))


def channel_widths(lo: np.ndarray | None, hi: np.ndarray | None,
                   frac_bits: int | None) -> tuple[int, ...]:
    if lo is None or frac_bits is None:
        return ()
    return tuple(int(v) for v in widths_for_ranges(lo, hi, frac_bits))


def headroom(bound: AccRange | None, sampled: AccRange | None) -> int | None:
    if bound is None or sampled is None or bound.width is None or sampled.width is None:
        return None
    return bound.width - sampled.width


def _grid(p: Part, x: QFact) -> tuple[int | None, str | None]:
    """F of the accumulator's grid, or None with the reason there is none."""
    if p.w_frac is None:
        return None, "weights are not on a power-of-two grid"
    if x.fractional_bits is None:
        return None, f"input {x.config} is not on a power-of-two grid"
    if p.bias is not None and p.bias_frac is None:
        return None, ("bias is float (no bias_quantizer)" if p.bias_fact is None or p.bias_fact.is_float
                      else "bias / scale is not on a power-of-two grid")
    frac = p.w_frac + x.fractional_bits
    if p.element_bounds is not None and p.map_frac is not None:  # per-element formats: the live pairs' grid
        frac = p.map_frac
    return (max(frac, p.bias_frac) if p.bias is not None else frac), None


def bound_part(p: Part, x: QFact, x_lo=None, x_hi=None, layer_in=None) -> Bound:
    """The bound of part p reading type x, its values in [x_lo, x_hi].

    x_lo/x_hi default to the type's range; they may be narrower (an observed
    range) or per-input-channel arrays.  The grid is always the type's.  A
    part with a composite map (:class:`Part`) is bounded through it over the
    layer's own input range ``layer_in = (lo, hi)``, which is exact.
    """
    if p.weight.is_float:
        return Bound(AccRange.unknown("float weights: no fixed-point accumulator"), None, None, None, x)
    if not p.known:
        return Bound(AccRange.unknown(NO_WEIGHTS), None, None, None, x)
    if x.is_float and x_lo is None:
        return Bound(AccRange.unknown("float input: no fixed-point accumulator"), None, None, None, x)
    if p.composite is not None and layer_in is not None:
        lo, hi = extreme_sums(p.composite, *layer_in, p.composite_masks)
    elif p.element_bounds is not None and x_lo is None:
        lo, hi = map_extremes(p)
    else:
        lo, hi = extreme_sums(p.kernel, x.min if x_lo is None else x_lo,
                              x.max if x_hi is None else x_hi, p.masks)
    if p.bias is not None:
        b = np.asarray(p.bias)
        if p.element_bounds is not None and b.ndim > 1:   # a bias over other axes (einsum)
            lo, hi = _with_bias(p.element_bounds, b)
        else:
            lo, hi = lo + b, hi + b
    frac, reason = _grid(p, x)
    return Bound(fixed_range(float(lo.min()), float(hi.max()), frac, reason), lo, hi, frac, x)


def bound_chain(parts: list[Part], x: QFact, x_lo=None, x_hi=None, name: str = "layer") -> list[Bound]:
    """Bound every operation of a layer in order.

    The first part reads the layer's input (x, optionally narrowed to
    [x_lo, x_hi]); every later part reads the previous part's output with its
    per-channel scale applied, and is bounded exactly through its composite
    map over the layer's input range.
    """
    layer_in = (x.min if x_lo is None else x_lo, x.max if x_hi is None else x_hi)
    out: list[Bound] = []
    for i, p in enumerate(parts):
        if i == 0:
            out.append(bound_part(p, x, x_lo, x_hi))
            continue
        prev, b = parts[i - 1], out[-1]
        if b.lo is None:
            out.append(Bound(AccRange.unknown(f"{prev.part} accumulator has no fixed range"),
                             None, None, None, FLOAT))
            continue
        x_p = output_type(prev, b, f"{name} {prev.part} accumulator")
        lo_p, hi_p, _ = after_scale(prev, b.lo, b.hi, b.frac)
        out.append(bound_part(p, x_p, lo_p, hi_p, layer_in))
    return out


def after_scale(p: Part, lo: np.ndarray, hi: np.ndarray, frac: int | None):
    """A part's output per channel once its per-channel scale is applied: (lo, hi, F).

    This is what the next operation sees (the pointwise half of a separable
    layer, or the layer's output): with scale 2^e a channel's values move to
    the grid 2^-(F - e); a scale that is not a power of two leaves the grid.
    """
    if p.scale is None:
        return lo, hi, frac
    s = p.scale
    a, b = lo * s, hi * s
    e = np.log2(s)
    if frac is None or not np.all(e == np.round(e)):
        return np.minimum(a, b), np.maximum(a, b), None
    return np.minimum(a, b), np.maximum(a, b), frac - int(e.min())


def output_type(p: Part, b: Bound, config: str) -> QFact:
    """The type of a part's output (accumulator, per-channel scale applied)."""
    lo_o, hi_o, f_o = after_scale(p, b.lo, b.hi, b.frac)
    lsb = math.ldexp(1.0, -f_o) if f_o is not None else None
    return derived_range_fact(float(lo_o.min()), float(hi_o.max()), lsb,
                              config + (" × scale" if p.scale is not None else ""))


def accumulators(parts: list[Part], x: QFact, name: str) -> tuple[list[Accumulator], list[Bound]]:
    """The `bound` and `type` accumulators of every operation of a layer, and the bounds.

    The `type` method chains hls4ml's own types: a later part reads the
    previous part's `type` accumulator, not the bound's.
    """
    bounds = bound_chain(parts, x, name=name)
    out, prev_t = [], None
    for p, b in zip(parts, bounds):
        type_x = b.input
        if prev_t is not None and prev_t.width is not None:
            type_x = _type_fact(prev_t, f"{b.input.config} (hls4ml)")
        if p.weight.is_float or type_x.is_float:
            t = AccRange.unknown("float operand: hls4ml would use its default precision")
        else:
            t = type_accumulator(p.weight, type_x, p.bias_fact if p.bias is not None else None,
                                 p.terms)
        unscaled, scaled = _scale_sums(p, b)
        out.append(Accumulator(bound=b.range, type=t,
                               per_channel_width=channel_widths(b.lo, b.hi, b.frac),
                               scale=p.scale_note, unscaled_sum=unscaled, scaled_sum=scaled))
        prev_t = t
    return out, bounds


def _scale_sums(p: Part, b: Bound) -> tuple[AccRange | None, AccRange | None]:
    """(Σ w·x without the bias, Σ (s·w)·x + b) of a part with a per-channel scale.

    The first is on the grid F_w + F_x (no bias, so no bias grid); the
    second is the part's output, the scale applied (:func:`after_scale`).
    None for a part without a scale or without a bound.
    """
    if p.scale is None or b.lo is None:
        return None, None
    lo, hi = b.lo, b.hi
    if p.bias is not None:
        lo, hi = lo - p.bias, hi - p.bias
    frac = None
    if p.w_frac is not None and b.input.fractional_bits is not None:
        frac = p.w_frac + b.input.fractional_bits
    unscaled = fixed_range(float(lo.min()), float(hi.max()), frac,
                           None if frac is not None else b.range.reason)
    s_lo, s_hi, s_frac = after_scale(p, b.lo, b.hi, b.frac)
    scaled = fixed_range(float(s_lo.min()), float(s_hi.max()), s_frac,
                         None if s_frac is not None else "the scale is not a power of two")
    return unscaled, scaled


def observed(acc: Accumulator, conservative: Bound, seen_lo: np.ndarray,
             seen_hi: np.ndarray) -> Accumulator:
    """acc with the `conservative` bound and the `sampled` values observed on a sample."""
    sampled = fixed_range(float(seen_lo.min()), float(seen_hi.max()), acc.bound.fractional_bits,
                          acc.bound.reason)
    return dataclasses.replace(acc, conservative=conservative.range, sampled=sampled,
                               headroom=headroom(acc.bound, sampled))


def _type_fact(t: AccRange, config: str) -> QFact:
    return QFact(kind="derived", config=config, mode=0, bits=t.width, integer=t.integer_bits,
                 signed=bool(t.signed), min=None, max=None, lsb=None, fixed=t.fixed,
                 hls_type=(t.width, t.integer_bits, bool(t.signed)))


def type_accumulator(w: QFact, x: QFact, b: QFact | None, n_terms: int) -> AccRange:
    """The accumulator hls4ml infers from the operand types (its infer_precision).

    W = W_w + W_x + L, I = I_w + I_x + L with L = ceil(log2 N); then the bias
    step.  A missing bias counts as a 1-bit unsigned bias.
    """
    for role, f in (("weight", w), ("input", x), ("bias", b)):
        if f is not None and f.hls_type is None:
            return AccRange.unknown(f"{role} {f.config}: {f.hls_reason or 'no fixed-point type'}")
    ww, iw, sw = w.hls_type
    wx, ix, sx = x.hls_type
    wb, ib, sb = b.hls_type if b is not None else (1, 1, False)
    lg = math.ceil(math.log2(n_terms)) if n_terms > 1 else 0
    width, integer, signed = ww + wx + lg, iw + ix + lg, sw or sx
    frac = width - integer
    integer = max(integer + int(sb and not signed), ib + int(signed and not sb)) + 1
    width = integer + max(frac, wb - ib)
    signed = signed or sb
    return AccRange(None, None, integer, width - integer, width, signed,
                    fixed_name(width, integer, signed))
