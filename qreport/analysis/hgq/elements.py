"""Per-element ranges through an HGQ2 graph: every tensor element's exact [min, max] and grid.

HGQ2 quantizes per element, so one range per tensor would lose what each
layer knows.  An :class:`ElementMap` holds, for one sample, each element's
min, max and fractional bits (:data:`.quant.NO_GRID` for an element that
can only be 0; NaN where the values leave every power-of-two grid).  Shape
operations move elements, merges combine them, quantizers clip or wrap
them; what a layer reads without its own input quantizer (``enable_iq``
off) is the map of the tensor that reaches it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...errors import AnalysisError
from ..facts import QFact
from .quant import NO_GRID, broadcast, element_range, quantize, range_fact


@dataclass(frozen=True)
class ElementMap:
    lo: np.ndarray
    hi: np.ndarray
    f: np.ndarray

    @property
    def shape(self) -> tuple:
        return self.lo.shape

    def fact(self, config: str) -> QFact:
        return range_fact(self.lo, self.hi, self.f, config)

    def apply(self, fn) -> ElementMap:
        return ElementMap(fn(self.lo), fn(self.hi), fn(self.f))


def declared(q, shape: tuple, what: str) -> ElementMap:
    """What a quantizer can output, element by element (its declared ranges)."""
    k, i, f = broadcast(q, shape, what)
    lo, hi = element_range(q, k, i, f)
    return ElementMap(lo, hi, np.where((lo == 0) & (hi == 0), NO_GRID, f).astype(np.float64))


def quantized(q, m: ElementMap | None, shape: tuple, what: str) -> tuple[ElementMap, int]:
    """q applied to what reaches it: [q(lo), q(hi)] where no element can wrap, else q's range.

    Returns the map and how many elements can wrap (a WRAP quantizer narrower
    than the range reaching it; a SAT quantizer clips instead and never wraps).
    """
    full = declared(q, shape, what)
    if m is None:
        return full, 0
    k, i, f = broadcast(q, shape, what)
    qlo, qhi = quantize(q, m.lo, k, i, f), quantize(q, m.hi, k, i, f)
    if q.rounds_only:
        return ElementMap(qlo, qhi, full.f), 0
    inside = (m.lo >= full.lo) & (m.hi <= full.hi)
    wraps = 0 if q.overflow_mode != "WRAP" else int(np.count_nonzero(~inside))
    if q.overflow_mode == "WRAP":
        qlo, qhi = np.where(inside, qlo, full.lo), np.where(inside, qhi, full.hi)
    dead = (k + i + f) <= 0
    qlo, qhi = np.where(dead, 0.0, qlo), np.where(dead, 0.0, qhi)
    return ElementMap(qlo, qhi, np.where((qlo == 0) & (qhi == 0), NO_GRID, full.f)), wraps


def relu(m: ElementMap) -> ElementMap:
    lo, hi = np.maximum(m.lo, 0.0), np.maximum(m.hi, 0.0)
    return ElementMap(lo, hi, np.where((lo == 0) & (hi == 0), NO_GRID, m.f))


def merge(op: str, maps: list[ElementMap], scale: float | None = None) -> ElementMap:
    """add, subtract, multiply, maximum, minimum, average of element maps (same shape)."""
    if op in ("add", "average"):
        lo, hi = sum(m.lo for m in maps), sum(m.hi for m in maps)
        f = np.maximum.reduce([m.f for m in maps])
        if op == "average":
            s = scale if scale is not None else 1.0 / len(maps)
            lo, hi = lo * s, hi * s
            e = np.log2(s)
            f = f - e if e == round(e) else np.full_like(f, np.nan)
    elif op == "subtract":
        lo, hi = maps[0].lo - maps[1].hi, maps[0].hi - maps[1].lo
        f = np.maximum(maps[0].f, maps[1].f)
    elif op in ("maximum", "minimum"):
        red = np.maximum if op == "maximum" else np.minimum
        lo, hi = red.reduce([m.lo for m in maps]), red.reduce([m.hi for m in maps])
        f = np.maximum.reduce([m.f for m in maps])
    elif op == "multiply":
        lo, hi, f = maps[0].lo, maps[0].hi, maps[0].f
        for m in maps[1:]:
            c = np.stack([lo * m.lo, lo * m.hi, hi * m.lo, hi * m.hi])
            lo, hi, f = c.min(axis=0), c.max(axis=0), f + m.f
    else:
        raise AnalysisError(f"merge {op!r} is not read")
    return ElementMap(lo, hi, np.where((lo == 0) & (hi == 0), NO_GRID, f))


def concatenate(maps: list[ElementMap], axis: int) -> ElementMap:
    return ElementMap(*(np.concatenate([getattr(m, a) for m in maps], axis=axis)
                        for a in ("lo", "hi", "f")))


def getitem(m: ElementMap, key) -> ElementMap:
    """A slice of a batch tensor (``x[:, 2:5]``): the key's first entry is the batch's."""
    key = key if isinstance(key, (tuple, list)) else (key,)
    if not key or key[0] != slice(None):
        raise AnalysisError("a slice across the batch axis is not read")
    rest = tuple(key[1:])
    for k in rest:
        if not (isinstance(k, (int, slice)) or k is Ellipsis) or isinstance(k, bool):
            raise AnalysisError(f"a slice key {k!r} is not read (ints, slices and ... only)")
    return m.apply(lambda a: np.asarray(a[rest]))


def reduce_sum(m: ElementMap, axes: tuple[int, ...], keepdims: bool, scale: float) -> ElementMap:
    """Σ over ``axes`` (per-sample axes), times a power-of-two ``scale``."""
    lo = m.lo.sum(axis=axes, keepdims=keepdims) * scale
    hi = m.hi.sum(axis=axes, keepdims=keepdims) * scale
    f = m.f.max(axis=axes, keepdims=keepdims) - np.log2(scale)
    return ElementMap(lo, hi, np.where((lo == 0) & (hi == 0), NO_GRID, f))


def pool(m: ElementMap, mode: str, size: tuple, strides: tuple, padding: str,
         global_: bool, keepdims: bool = False) -> ElementMap:
    """Max or average pooling (channels last) of each window's elements."""
    n = m.lo.ndim - 1
    if global_:
        axes = tuple(range(n))
        if mode == "max":
            return ElementMap(m.lo.max(axis=axes, keepdims=keepdims),
                              m.hi.max(axis=axes, keepdims=keepdims),
                              m.f.max(axis=axes, keepdims=keepdims))
        area = int(np.prod(m.lo.shape[:n]))
        return reduce_sum(m, axes, keepdims, 1.0 / area) if _pow2(area) else \
            _off_grid(reduce_sum(m, axes, keepdims, 1.0), 1.0 / area)
    if padding != "valid":
        raise AnalysisError(f"pooling with padding {padding!r} is not read (valid only)")
    from numpy.lib.stride_tricks import sliding_window_view

    def win(a):
        w = sliding_window_view(a, size, axis=tuple(range(n)))
        return w[tuple(slice(None, None, s) for s in strides)]
    red = tuple(range(-n, 0))
    if mode == "max":
        return ElementMap(win(m.lo).max(axis=red), win(m.hi).max(axis=red), win(m.f).max(axis=red))
    area = int(np.prod(size))
    lo, hi = win(m.lo).sum(axis=red) / area, win(m.hi).sum(axis=red) / area
    f = win(m.f).max(axis=red) + np.log2(area) if _pow2(area) else np.full(lo.shape, np.nan)
    return ElementMap(lo, hi, np.where((lo == 0) & (hi == 0), NO_GRID, f))


def _pow2(n: int) -> bool:
    return n > 0 and (n & (n - 1)) == 0


def _off_grid(m: ElementMap, scale: float) -> ElementMap:
    return ElementMap(m.lo * scale, m.hi * scale, np.full(m.f.shape, np.nan))


def constant(m: ElementMap, op: str, c: float, reverse: bool = False) -> ElementMap:
    """A tensor combined with a constant: ``x + c``, ``x − c`` (``c − x``), ``x · c``."""
    from ..fixed import fractional_bits_of_step, pow2_grid_step

    step = pow2_grid_step(np.asarray([c], dtype=np.float64))
    fc = np.nan if step is None else (NO_GRID if c == 0 else fractional_bits_of_step(step))
    if op == "Add":
        lo, hi, f = m.lo + c, m.hi + c, np.maximum(m.f, fc)
    elif op == "Subtract":
        lo, hi = (c - m.hi, c - m.lo) if reverse else (m.lo - c, m.hi - c)
        f = np.maximum(m.f, fc)
    elif op == "Multiply":
        a, b = m.lo * c, m.hi * c
        lo, hi, f = np.minimum(a, b), np.maximum(a, b), m.f + (0 if step is None else fc)
        if step is None:
            f = np.full(m.f.shape, np.nan)
    else:
        raise AnalysisError(f"the operation {op!r} with a constant is not read")
    return ElementMap(lo, hi, np.where((lo == 0) & (hi == 0), NO_GRID, f))


def products(eq, a: ElementMap, b: ElementMap) -> ElementMap:
    """``einsum(a, b)`` of two variable tensors: per output, Σ of each product's extremes.

    Exact when no element appears twice in one output's sum (an attention's
    two einsums); the grid is the finest product summed.
    """
    from ..einsum import CHUNK, _expand, max_plus

    full = "".join(dict.fromkeys(eq.y + eq.x + eq.w))
    shape = tuple(eq.sizes[c] for c in full)
    n_out = len(eq.y)
    ex = {k: _expand(getattr(a, k), eq.x, full) for k in ("lo", "hi")}
    ew = {k: _expand(getattr(b, k), eq.w, full) for k in ("lo", "hi")}
    lead = shape[0] if n_out else 1
    step = max(1, CHUNK // max(1, int(np.prod(shape[1:]))))
    los, his = [], []
    for s in range(0, lead, step):
        sl = (slice(s, s + step),) if n_out else (Ellipsis,)
        c = [x[sl] * w[sl] for x in (ex["lo"], ex["hi"]) for w in (ew["lo"], ew["hi"])]
        tgt = ((min(step, lead - s),) + shape[1:]) if n_out else shape
        c = [np.broadcast_to(v, tgt) for v in c]
        lo = np.minimum.reduce(c).reshape(tgt[:n_out] + (-1,)).sum(axis=-1)
        hi = np.maximum.reduce(c).reshape(tgt[:n_out] + (-1,)).sum(axis=-1)
        los.append(lo)
        his.append(hi)
    lo = np.concatenate(los) if n_out else los[0]
    hi = np.concatenate(his) if n_out else his[0]
    if np.isnan(a.f).any() or np.isnan(b.f).any():
        f = np.full(lo.shape, np.nan)
    else:
        f = max_plus(eq, np.where(a.f == NO_GRID, -np.inf, a.f), np.where(b.f == NO_GRID, -np.inf, b.f))
    return ElementMap(lo, hi, np.where((lo == 0) & (hi == 0), NO_GRID, f))


def element_widths(m: ElementMap) -> np.ndarray:
    """Bits each element needs on its own grid (0 for an element that is only 0)."""
    live = ~((m.lo == 0) & (m.hi == 0)) & np.isfinite(m.f)
    f = np.where(live, m.f, 0.0)
    lo = np.where(live, m.lo * np.ldexp(1.0, f.astype(np.int64)), 0.0)
    hi = np.where(live, m.hi * np.ldexp(1.0, f.astype(np.int64)), 0.0)
    bits_hi = np.ceil(np.log2(np.maximum(hi, 0) + 1))
    neg = lo < 0
    bits_lo = np.ceil(np.log2(np.maximum(-lo, 1)))
    w = np.where(neg, np.maximum(bits_hi, bits_lo) + 1, bits_hi)
    return np.where(live, w, 0).astype(np.int64)
