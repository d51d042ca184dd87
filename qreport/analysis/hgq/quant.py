"""HGQ2's per-element fixed-point quantizers, as numbers: ranges, widths, quantized values.

Every weight, bias and data element has its own trained format (k, i, f).
Its range is HGQ2's: max = 2^i − 2^−f; min = −k·2^i, or −k·(2^i − 2^−f) under
SAT_SYM; an element of width ≤ 0 holds only 0.  Values are quantized with
the ``quantizers`` package's numpy ops, the arithmetic HGQ2 itself uses.
"""

from __future__ import annotations

import math

import numpy as np

from ...errors import AnalysisError
from ..facts import MODE_FIXED, BitWidths, QFact
from ..fixed import fractional_bits_of_step, pow2_grid_step, width_for_range

LIBRARY = "hgq2"
#: the fractional bits of an element that holds only 0 (no grid constraint)
NO_GRID = -(10 ** 6)


def broadcast(q, shape: tuple, what: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """q's k, i, f broadcast to ``shape`` (a per-element quantizer's leading 1 dropped)."""
    k, i, f = q.k, q.i, q.f
    if k.ndim == len(shape) + 1 and k.shape[0] == 1:
        k, i, f = k[0], i[0], f[0]
    try:
        return tuple(np.broadcast_to(a, shape) for a in (k, i, f))
    except ValueError:
        raise AnalysisError(f"{what}: its bit widths have shape {q.k.shape}, which does not fit "
                            f"the tensor's {shape}") from None


def element_range(q, k, i, f) -> tuple[np.ndarray, np.ndarray]:
    """Per-element (min, max) a quantizer can output; (0, 0) where its width is ≤ 0."""
    top = np.ldexp(1.0, i) - np.ldexp(1.0, -f)
    low = -k * top if q.overflow_mode == "SAT_SYM" else -k * np.ldexp(1.0, i)
    dead = (k + i + f) <= 0
    return np.where(dead, 0.0, low), np.where(dead, 0.0, top)


def widths(lo: np.ndarray, hi: np.ndarray, k, i, f) -> np.ndarray:
    """Stored width per element: k + i + f, and 0 for an element that holds only 0 (pruned)."""
    return np.where((lo == 0) & (hi == 0), 0, np.maximum(k + i + f, 0)).astype(np.int64)


def _round(x: np.ndarray, f, mode: str) -> np.ndarray:
    s = np.ldexp(1.0, f)
    if mode == "TRN":
        return np.floor(x * s) / s
    if mode in ("RND_CONV", "S_RND_CONV"):
        return np.round(x * s) / s
    return np.floor(x * s + 0.5) / s


def quantize(q, x: np.ndarray, k, i, f) -> np.ndarray:
    """q(x) as the HGQ2 layer computes it at inference (float32 in, exact float64 out)."""
    from quantizers.fixed_point.fixed_point_ops_np import get_fixed_quantizer_np

    x = np.asarray(x, dtype=np.float32).astype(np.float64)
    if q.rounds_only:  # HGQ2's weight path: a trainable WRAP weight is only rounded
        return _round(x, f, q.round_mode)
    fn = get_fixed_quantizer_np(q.round_mode.removeprefix("S_"), q.overflow_mode)
    with np.errstate(over="ignore", invalid="ignore"):
        out = fn(x, k.astype(np.float64), i.astype(np.float64), f.astype(np.float64))
    return np.where(k + i + f > 0, out, 0.0)


def bit_widths(role: str, q, k, i, f, lo, hi, channel_axis: int | None = None) -> BitWidths:
    """The distribution of one quantizer's trained widths."""
    w = widths(lo, hi, k, i, f)
    vals, counts = np.unique(w, return_counts=True)
    live = w > 0
    pruned_ch = None
    if channel_axis is not None and w.ndim:
        per = np.moveaxis(live, channel_axis, -1).reshape(-1, w.shape[channel_axis])
        pruned_ch = int(np.count_nonzero(~per.any(axis=0)))
    wide = narrow = None
    if live.any():
        wl, wi = w[live], (k + i)[live]
        a, b = int(np.argmax(wl)), int(np.argmin(wl))
        wide = f"{'' if k[live][a] else 'u'}fixed<{wl[a]},{wi[a]}>"
        narrow = f"{'' if k[live][b] else 'u'}fixed<{wl[b]},{wi[b]}>"
    return BitWidths(role=role, q_type=q.q_type, round_mode=q.round_mode,
                     overflow_mode=q.overflow_mode, widths=tuple(int(v) for v in vals),
                     counts=tuple(int(c) for c in counts), elements=int(w.size),
                     pruned=int(np.count_nonzero(~live)), pruned_channels=pruned_ch,
                     widest=wide, narrowest=narrow, total_bits=int(w.sum()))


def range_fact(lo: np.ndarray, hi: np.ndarray, f: np.ndarray, config: str) -> QFact:
    """One QFact for per-element ranges: the union of the elements' ranges on the finest grid.

    ``f`` holds each element's fractional bits (:data:`NO_GRID` for an element
    that holds only 0; NaN where an element has no power-of-two grid).
    """
    live = ~((lo == 0) & (hi == 0))
    if not live.any():
        return QFact(kind=LIBRARY, config=config, mode=MODE_FIXED, bits=0, integer=0, signed=False,
                     min=0.0, max=0.0, lsb=1.0, fixed=None, hls_reason="every element is 0")
    fl = np.asarray(f, dtype=np.float64)[live]
    if np.isnan(fl).any():
        from ..types import derived_range_fact

        return derived_range_fact(float(lo.min()), float(hi.max()), None, config)
    fb = int(fl.max())
    ft = width_for_range(float(lo.min()), float(hi.max()), fb)
    return QFact(kind=LIBRARY, config=config, mode=MODE_FIXED, bits=ft.width,
                 integer=ft.integer_bits, signed=ft.signed, min=ft.min, max=ft.max,
                 lsb=math.ldexp(1.0, -fb), fixed=ft.fixed,
                 hls_type=(ft.width, ft.integer_bits, ft.signed))


def values_fact(values: np.ndarray, config: str) -> tuple[QFact, int | None]:
    """The exact type of constant values (weights, a bias): their range on their own grid."""
    step = pow2_grid_step(values)
    if step is None:
        raise AnalysisError(f"{config}: quantized values off every power-of-two grid")
    fb = fractional_bits_of_step(step)
    lo, hi = float(values.min(initial=0.0)), float(values.max(initial=0.0))
    ft = width_for_range(min(lo, 0.0), max(hi, 0.0), fb)
    return (QFact(kind=LIBRARY, config=config, mode=MODE_FIXED, bits=ft.width,
                  integer=ft.integer_bits, signed=ft.signed, min=lo, max=hi,
                  lsb=step, fixed=ft.fixed, hls_type=(ft.width, ft.integer_bits, ft.signed)), fb)


def describe(q, what: str) -> str:
    return f"HGQ2 {q.q_type} per {what} ({q.round_mode}, {q.overflow_mode})"


def minimal_f(a: np.ndarray) -> np.ndarray:
    """hls4ml's minimal fractional bits of constants (−31 for 0), by its own bisection."""
    a = np.asarray(a, dtype=np.float64)
    low, high = np.full(a.shape, -32), np.full(a.shape, 32)
    while np.any(low < high - 1):
        mid = (low + high) // 2
        s = a * np.ldexp(1.0, mid)
        mask = s != np.trunc(s)
        low, high = np.where(mask, mid, low), np.where(mask, high, mid)
    return high
