"""Einsums with a constant kernel: the general form of Dense and Conv, bounded exactly.

``y = einsum(eq, x, w)`` with ``x`` free element by element in ``[lo, hi]``
is a linear map ``y_o = Σ_j A_oj x_j``.  Its coefficient ``A_oj`` is one
kernel element once the kernel is summed over the indices that appear only
in it (and not in the output): then every (output, input) pair meets one
coefficient, and each output's extremes are attained by the sign-built
input, ``Σ_j max(A_oj lo_j, A_oj hi_j)``.  Two einsums of the split kernel
``A⁺, A⁻`` give that for every output element at once.

Equations are Keras's (``EinsumDense``): the first input index is the batch
when it also leads the output and is not in the kernel; ``...`` stands for
the axes the input has beyond its letters.  Nothing here loops over weights.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod

import numpy as np

from ..errors import AnalysisError

_FREE = "ZYXWVUTSRQPONMLKJIHGFEDCBA"


@dataclass(frozen=True)
class Einsum:
    """A parsed equation over one sample (the batch index removed), with its sizes."""

    x: str            # input indices, per sample
    w: str            # kernel indices
    y: str            # output indices, per sample
    sizes: dict

    @property
    def equation(self) -> str:
        return f"{self.x},{self.w}->{self.y}"

    @property
    def out_shape(self) -> tuple[int, ...]:
        return tuple(self.sizes[c] for c in self.y)

    @property
    def kernel_only(self) -> str:
        """Indices summed over the kernel alone (in neither the input nor the output)."""
        return "".join(c for c in self.w if c not in self.x and c not in self.y)

    @property
    def contracted(self) -> str:
        """Indices summed over: in an operand, not in the output."""
        return "".join(sorted(set(self.x + self.w) - set(self.y)))

    @property
    def macs(self) -> int:
        """Products computed per sample: one per assignment of every index."""
        return int(prod(self.sizes[c] for c in set(self.x + self.w + self.y)))

    @property
    def terms(self) -> int:
        """Products summed into one output element."""
        return int(prod(self.sizes[c] for c in self.contracted))

    @property
    def inplace(self) -> str:
        """Indices in the input, the kernel and the output (hls4ml's ``n_inplace``)."""
        return "".join(c for c in self.y if c in self.x and c in self.w)

    def size(self, idx: str) -> int:
        return int(prod(self.sizes[c] for c in idx))


def parse(equation: str, in_shape: tuple, kernel_shape: tuple, batch: bool | str = True) -> Einsum:
    """An ``EinsumDense`` equation over a batch input of shape ``(None,) + in_shape``.

    Raises:
        AnalysisError: the equation does not fit the shapes, repeats an index in
            one operand, or names an output index found in no operand.
    """
    eq = equation.replace(" ", "")
    try:
        lhs, y = eq.split("->")
        x, w = lhs.split(",")
    except ValueError:
        raise AnalysisError(f"{equation!r} is not an einsum of one input and one kernel") from None
    rank = len(in_shape) + (1 if batch else 0)
    both = batch == "both"   # an einsum of two batch tensors: the batch leads both
    if "..." in x:
        n = rank - (len(x) - 3)
        if n < 0:
            raise AnalysisError(f"{equation!r}: the input has only {rank} axes")
        fill = "".join(c for c in _FREE if c not in eq)[:n]
        x, y, w = x.replace("...", fill), y.replace("...", fill), w.replace("...", fill)
    if "." in x + y + w or not (x + y + w).isalpha():
        raise AnalysisError(f"{equation!r}: only letters and one '...' are read")
    for part, s in (("input", x), ("kernel", w), ("output", y)):
        if len(set(s)) != len(s):
            raise AnalysisError(f"{equation!r}: the {part} repeats an index")
    if both:
        if not x or not y or not w or not x[0] == w[0] == y[0]:
            raise AnalysisError(f"{equation!r}: the first index must be the batch of both "
                                "inputs and of the output")
        x, w, y = x[1:], w[1:], y[1:]
    elif batch:
        if not x or not y or x[0] != y[0] or x[0] in w:
            raise AnalysisError(f"{equation!r}: the first index must be the batch, in the input "
                                "and the output and not in the kernel")
        x, y = x[1:], y[1:]
    if len(x) != len(in_shape) or len(w) != len(kernel_shape):
        raise AnalysisError(f"{equation!r} does not fit an input of shape {tuple(in_shape)} and "
                            f"a kernel of shape {tuple(kernel_shape)}")
    sizes: dict[str, int] = {}
    for s, shape in ((x, in_shape), (w, kernel_shape)):
        for c, n in zip(s, shape):
            if sizes.setdefault(c, int(n)) != int(n):
                raise AnalysisError(f"{equation!r}: index {c!r} has sizes {sizes[c]} and {n}")
    if set(y) - set(x + w):
        raise AnalysisError(f"{equation!r}: an output index is in no operand")
    return Einsum(x, w, y, sizes)


def coefficients(e: Einsum, kernel: np.ndarray) -> tuple[Einsum, np.ndarray]:
    """The equation and kernel with the kernel-only indices summed away (one coefficient per pair)."""
    k = e.kernel_only
    if not k:
        return e, kernel
    axes = tuple(e.w.index(c) for c in k)
    w = "".join(c for c in e.w if c not in k)
    return Einsum(e.x, w, e.y, e.sizes), np.asarray(kernel, dtype=np.float64).sum(axis=axes)


def extremes(e: Einsum, lo: np.ndarray, hi: np.ndarray, kernel: np.ndarray):
    """Per output element, (min, max) of ``einsum(x, kernel)`` over x in ``[lo, hi]`` (exact)."""
    e, w = coefficients(e, kernel)
    w = np.asarray(w, dtype=np.float64)
    wp, wn = np.maximum(w, 0.0), np.minimum(w, 0.0)
    lo = np.asarray(lo, dtype=np.float64)
    hi = np.asarray(hi, dtype=np.float64)
    eq = e.equation
    top = np.einsum(eq, hi, wp, optimize=True) + np.einsum(eq, lo, wn, optimize=True)
    bottom = np.einsum(eq, lo, wp, optimize=True) + np.einsum(eq, hi, wn, optimize=True)
    return bottom, top


def products(e: Einsum, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``einsum(x, w -> )``: Σ over every product computed of a[x] · b[w] (e.g. bit operations)."""
    return np.asarray(np.einsum(f"{e.x},{e.w}->", np.asarray(a, np.float64),
                                np.asarray(b, np.float64), optimize=True))


#: elements of the broadcast the max-plus reductions materialise at once
CHUNK = 1 << 24


def max_plus(e: Einsum, a: np.ndarray, b: np.ndarray, per_output: bool = True):
    """max over the pairs each output element multiplies of ``a[x] + b[w]``.

    Used for grids: with ``a`` and ``b`` the fractional bits of the input
    elements and of the weights (−∞ where a weight is 0), the finest product
    an output element sums.  ``per_output=False`` gives the maximum over the
    whole operation, cheaply (each operand first reduced over its own indices).
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if not per_output:
        shared = "".join(c for c in e.x if c in e.w)
        ra = _reduce_to(a, e.x, shared)
        rb = _reduce_to(b, e.w, shared)
        return float((ra + rb).max()) if ra.size and rb.size else -np.inf
    full = "".join(dict.fromkeys(e.y + e.x + e.w))
    out_n = len(e.y)
    A = _expand(a, e.x, full)
    B = _expand(b, e.w, full)
    shape = tuple(e.sizes[c] for c in full)
    lead = shape[0] if out_n else 1
    step = max(1, CHUNK // max(1, int(prod(shape[1:]))))
    parts = []
    for s in range(0, lead, step):
        sl = (slice(s, s + step),) if out_n else ()
        blk = np.broadcast_to(A[sl] if out_n else A, (min(step, lead - s),) + shape[1:] if out_n
                              else shape) + (B[sl] if out_n else B)
        parts.append(blk.reshape(blk.shape[:out_n] + (-1,)).max(axis=-1))
    return np.concatenate(parts, axis=0) if out_n else parts[0]


def _expand(a: np.ndarray, idx: str, full: str) -> np.ndarray:
    """``a`` (indexed by ``idx``) viewed with one axis per index of ``full`` (size 1 where absent)."""
    order = [idx.index(c) for c in full if c in idx]
    t = np.transpose(a, order) if order else a
    shape = [a.shape[idx.index(c)] if c in idx else 1 for c in full]
    return t.reshape(shape)


def _reduce_to(a: np.ndarray, idx: str, keep: str) -> np.ndarray:
    axes = tuple(i for i, c in enumerate(idx) if c not in keep)
    r = a.max(axis=axes) if axes else a
    rest = "".join(c for c in idx if c in keep)
    return np.transpose(r, [rest.index(c) for c in keep]) if keep else r
