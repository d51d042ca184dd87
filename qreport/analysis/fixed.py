"""Exact fixed-point arithmetic on value ranges.

A fixed-point type here is the smallest two's-complement (or unsigned)
container that holds every value of a closed range on a grid of step
``2**-F``.  ``I`` counts the sign bit, as hls4ml and Vivado/Vitis HLS do:
``ap_fixed<W,I>`` holds ``[-2**(I-1), 2**(I-1) - 2**-F]``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class FixedType:
    """A fixed-point container for a range of values.

    Attributes:
        min: smallest value that must be held (exact, on the grid).
        max: largest value that must be held (exact, on the grid).
        integer_bits: I, sign bit included when ``signed``.
        fractional_bits: F; the grid step is ``2**-F`` (F may be negative).
        width: W = I + F.
        signed: whether ``min < 0``.
    """

    min: float
    max: float
    integer_bits: int
    fractional_bits: int
    width: int
    signed: bool

    @property
    def fixed(self) -> str:
        return fixed_name(self.width, self.integer_bits, self.signed)


def fixed_name(width: int, integer_bits: int, signed: bool) -> str:
    """``ap_fixed<W,I>`` or ``ap_ufixed<W,I>``."""
    return f"ap_{'' if signed else 'u'}fixed<{width},{integer_bits}>"


def _bit_length(n: int) -> int:
    return int(n).bit_length()


def fractional_bits_of_step(step: float) -> int:
    """F such that ``step == 2**-F``; ValueError if step is not a power of two."""
    if not step > 0 or not math.isfinite(step):
        raise ValueError(f"grid step {step!r} is not a positive power of two")
    m, e = math.frexp(step)
    if m != 0.5:
        raise ValueError(f"grid step {step!r} is not a power of two")
    return -(e - 1)


def width_for_range(lo: float, hi: float, frac_bits: int) -> FixedType:
    """Smallest fixed-point type on the grid ``2**-frac_bits`` holding ``[lo, hi]``.

    ``lo`` and ``hi`` are rounded outwards onto the grid first, so the
    result is safe even when they are not exactly on it.
    """
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo > hi:
        raise ValueError(f"range [{lo}, {hi}] is not a finite interval")
    kmin = math.floor(math.ldexp(lo, frac_bits))
    kmax = math.ceil(math.ldexp(hi, frac_bits))
    signed = kmin < 0
    if signed:
        w = 1 + max(_bit_length(max(kmax, 0)), _bit_length(-kmin - 1))
    else:
        w = max(_bit_length(kmax), 1)
    return FixedType(
        min=math.ldexp(kmin, -frac_bits),
        max=math.ldexp(kmax, -frac_bits),
        integer_bits=w - frac_bits,
        fractional_bits=frac_bits,
        width=w,
        signed=signed,
    )


def widths_for_ranges(lo: np.ndarray, hi: np.ndarray, frac_bits: int) -> np.ndarray:
    """Vectorized :func:`width_for_range`, width only, one per element.

    Each range is sized on its own (its own sign); used for per-channel widths.
    """
    kmin = np.floor(np.ldexp(np.asarray(lo, dtype=np.float64), frac_bits))
    kmax = np.ceil(np.ldexp(np.asarray(hi, dtype=np.float64), frac_bits))
    # bit_length(n) for integral n >= 0 is frexp's exponent (0 for n == 0).
    bl_pos = np.frexp(np.maximum(kmax, 0.0))[1]
    bl_neg = np.frexp(np.maximum(-kmin - 1.0, 0.0))[1]
    signed_w = 1 + np.maximum(bl_pos, bl_neg)
    unsigned_w = np.maximum(bl_pos, 1)
    return np.where(kmin < 0, signed_w, unsigned_w).astype(np.int64)


def pow2_grid_step(values: np.ndarray, max_frac_bits: int = 256) -> float | None:
    """Largest power of two dividing every value (the grid step), or None.

    Zero values are ignored; all-zero input gives 1.0.  Returns None when the
    values are not dyadic within ``max_frac_bits`` fractional bits.
    """
    v = np.abs(np.asarray(values, dtype=np.float64).ravel())
    v = v[v != 0]
    if v.size == 0:
        return 1.0
    if not np.all(np.isfinite(v)):
        return None
    v = np.unique(v)
    # frexp: v = m * 2**e with m in [0.5, 1); the mantissa's trailing zeros
    # give the lowest set bit.  Scale the mantissa to a 53-bit integer.
    m, e = np.frexp(v)
    mi = np.ldexp(m, 53).astype(np.int64)
    tz = _trailing_zeros(mi)
    low = e - 53 + tz  # exponent of the lowest set bit
    step_exp = int(low.min())
    if step_exp < -max_frac_bits:
        return None
    return math.ldexp(1.0, step_exp)


def _trailing_zeros(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.int64)
    low = x & -x  # lowest set bit, a power of two
    return np.frexp(low.astype(np.float64))[1] - 1
