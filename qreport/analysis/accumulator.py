"""Accumulator widths (SPEC section 4).

The accumulator holds Σ w·x + b for every output channel, with w the
quantized (BN-folded, unscaled) kernel and x free in [x_min, x_max].  For
each output position only the taps that meet a real input count (zero
padding contributes 0; in a strided transposed convolution each output is
reached by only some taps).  Along one spatial axis the set of live taps
of an output position is a row of a small boolean "tap mask"; positions
share few distinct rows (the borders and the interior), so the bound is a
contraction of per-tap extreme sums with those masks: one numpy
expression per layer, no loop over channels or weights.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .fixed import FixedType, width_for_range, widths_for_ranges
from .quantizers import QFact

METHODS = ("bound", "conservative", "sampled", "type")


@dataclass(frozen=True)
class AccRange:
    """One method's accumulator: exact range and the fixed-point type holding it.

    ``width``/``fractional_bits``/``fixed`` are None with a ``reason`` when
    no fixed width exists (float operands, values off a power-of-two grid).
    """

    min: float | None
    max: float | None
    integer_bits: int | None
    fractional_bits: int | None
    width: int | None
    signed: bool | None
    fixed: str | None
    reason: str | None = None

    def to_json(self) -> dict:
        d = {k: getattr(self, k) for k in
             ("min", "max", "integer_bits", "fractional_bits", "width", "signed", "fixed")}
        if self.reason:
            d["reason"] = self.reason
        return d

    @classmethod
    def from_fixed(cls, ft: FixedType) -> AccRange:
        return cls(ft.min, ft.max, ft.integer_bits, ft.fractional_bits, ft.width,
                   ft.signed, ft.fixed)

    @classmethod
    def unknown(cls, reason: str) -> AccRange:
        return cls(None, None, None, None, None, None, None, reason)


@dataclass(frozen=True)
class Accumulator:
    """All methods for one operation; ``per_channel_width`` is the bound's."""

    bound: AccRange | None
    type: AccRange | None
    conservative: AccRange | None = None
    sampled: AccRange | None = None
    per_channel_width: tuple[int, ...] = ()
    headroom: int | None = None
    scale: str | None = None

    def to_json(self) -> dict:
        d = {m: (getattr(self, m).to_json() if getattr(self, m) is not None else None)
             for m in METHODS}
        d["per_channel_width"] = list(self.per_channel_width)
        d["headroom"] = self.headroom
        d["scale"] = self.scale
        return d


# --------------------------------------------------------------------------
# Tap masks

def conv_masks(in_len: int, out_len: int, k: int, stride: int, dilation: int,
               padding: str) -> np.ndarray:
    """Distinct live-tap rows of a forward convolution along one axis.

    Output position p reads input p*stride + t*dilation - pad_left for tap t;
    a tap is live when that index lies inside the input.
    """
    if padding == "valid":
        pad_left = 0
    elif padding == "causal":
        pad_left = (k - 1) * dilation
    else:  # "same": TF/Keras put the odd extra pad on the right
        total = max((out_len - 1) * stride + (k - 1) * dilation + 1 - in_len, 0)
        pad_left = total // 2
    p = np.arange(out_len)[:, None]
    t = np.arange(k)[None, :]
    idx = p * stride + t * dilation - pad_left
    return np.unique((idx >= 0) & (idx < in_len), axis=0)


def transpose_masks(in_len: int, out_len: int, k: int, stride: int, dilation: int,
                    padding: str) -> np.ndarray:
    """Distinct live-tap rows of a transposed convolution along one axis.

    The transposed convolution is the adjoint of a forward convolution from
    the output (length out_len) to the input (length in_len): output o gets
    tap t from input i when i*stride + t*dilation - pad_left == o.
    """
    if padding == "valid":
        pad_left = 0
    else:
        total = max((in_len - 1) * stride + (k - 1) * dilation + 1 - out_len, 0)
        pad_left = total // 2
    o = np.arange(out_len)[:, None]
    t = np.arange(k)[None, :]
    num = o + pad_left - t * dilation
    live = (num % stride == 0) & (num >= 0) & (num // stride < in_len)
    return np.unique(live, axis=0)


# --------------------------------------------------------------------------
# The bound

def extreme_sums(kernel: np.ndarray, x_lo, x_hi, masks: list[np.ndarray]):
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


def fixed_range(lo: float, hi: float, frac_bits: int | None, reason: str | None) -> AccRange:
    """An AccRange for [lo, hi]; width only when a grid (frac_bits) is known."""
    if frac_bits is None:
        ib = _integer_bits_only(lo, hi)
        return AccRange(float(lo), float(hi), ib, None, None, lo < 0, None, reason)
    return AccRange.from_fixed(width_for_range(float(lo), float(hi), frac_bits))


def _integer_bits_only(lo: float, hi: float) -> int:
    return width_for_range(math.floor(lo), math.ceil(hi), 0).integer_bits


def channel_widths(lo: np.ndarray, hi: np.ndarray, frac_bits: int | None) -> tuple[int, ...]:
    if frac_bits is None:
        return ()
    return tuple(int(v) for v in widths_for_ranges(lo, hi, frac_bits))


def headroom(bound: AccRange | None, sampled: AccRange | None) -> int | None:
    if bound is None or sampled is None or bound.width is None or sampled.width is None:
        return None
    return bound.width - sampled.width


# --------------------------------------------------------------------------
# The `type` method: hls4ml's precision inference from types alone

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
                    f"ap_{'' if signed else 'u'}fixed<{width},{integer}>")
