"""Kernel quantization, part of the Keras seam: quantized kernels and biases as numpy.

Kernels are quantized by a fresh copy of the layer's quantizer (built from
its config), so the model and its quantizers are never modified.  All
work is vectorized over the kernel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import AnalysisError, QuantizerError
from .facts import FLOAT, Histogram, QFact
from .fixed import fractional_bits_of_step, pow2_grid_step
from .quantizers import QUANTIZER_KINDS, quantizer_fact


@dataclass(frozen=True)
class Kernel:
    """One quantized kernel of a layer, in the layer's own layout.

    ``values`` are what the hardware accumulates: the quantized kernel,
    divided by its scale when the scale is constant per output channel
    (``scale`` then holds that per-channel vector, applied after
    accumulation).  ``w_frac`` is F of the values' grid (None: no grid).
    """

    part: str
    role: str
    weight: QFact
    values: np.ndarray
    scale: np.ndarray | None
    scale_note: str | None
    w_frac: int | None
    zeros: int | None
    histogram: Histogram | None
    notes: tuple[str, ...] = ()
    known: bool = True          # False: no weights were loaded; values are zeros


@dataclass(frozen=True)
class Bias:
    """A layer's quantized bias and its quantizer's facts."""

    fact: QFact
    values: np.ndarray
    known: bool = True


def fresh(q):
    """A new quantizer with ``q``'s config: calling it leaves ``q`` untouched."""
    if q is None or not hasattr(q, "get_config"):
        return q
    return type(q).from_config(dict(q.get_config()))


def quantize(q, values: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """(q(values), scale) using a fresh copy of q; scale None when q has no alpha scale.

    Raises:
        QuantizerError: q cannot be evaluated with its saved config.
    """
    if q is None:
        return np.asarray(values, dtype=np.float64), None
    try:
        qc = fresh(q)
        out = np.asarray(qc(np.asarray(values, dtype=np.float32)), dtype=np.float64)
    except Exception as exc:  # noqa: BLE001  a saved config qkeras accepts but cannot run:
        # symmetric=None, qnoise_factor=[] … (TensorFlow raises its own error types)
        msg = " ".join(str(exc).split())[:160]
        raise QuantizerError(f"quantizer {type(q).__name__} cannot be evaluated with its saved "
                             f"config ({msg})") from None
    scale = None
    if isinstance(getattr(qc, "alpha", None), str) and getattr(qc, "scale", None) is not None:
        s = np.asarray(qc.scale, dtype=np.float64)
        if s.size > 1 or float(s.reshape(-1)[0]) != 1.0:
            scale = np.broadcast_to(s, out.shape) if s.size > 1 else np.full(out.shape, float(s.reshape(-1)[0]))
    return out, scale


def usable_quantizer(q, role: str, name: str, notes: list):
    """q if qreport knows it; None (float) for other callables; AnalysisError otherwise."""
    if q is None or type(q).__name__ in QUANTIZER_KINDS:
        return q
    label = getattr(q, "__name__", type(q).__name__)
    if callable(q):
        if label != "linear":
            notes.append(f"{name}: {role} quantizer {label!r} is not a QKeras quantizer: "
                         "treated as float")
        return None
    raise AnalysisError(f"{name}: the {role} quantizer is a {type(q).__name__}, not a quantizer "
                        "(a damaged model config?)")


def histogram(part: str, role: str, values: np.ndarray, lsb: float | None) -> Histogram:
    """The values of a kernel on its grid and how often each occurs (binned when float)."""
    v = values.ravel()
    if lsb is not None and v.size:
        k = np.rint(v / lsb).astype(np.int64)
        lo, hi = int(k.min()), int(k.max())
        if hi - lo <= 1 << 16:
            counts = np.bincount(k - lo, minlength=hi - lo + 1)
            nz = np.nonzero(counts)[0]
            return Histogram(part, role, tuple(float((i + lo) * lsb) for i in nz),
                             tuple(int(c) for c in counts[nz]))
    vals, counts = np.unique(v, return_counts=True)
    if vals.size > 4096:  # float kernels: bin them
        counts, edges = np.histogram(v, bins=64)
        vals = (edges[:-1] + edges[1:]) / 2
    return Histogram(part, role, tuple(float(x) for x in vals), tuple(int(c) for c in counts))


def _per_output(scale: np.ndarray, canon) -> np.ndarray | None:
    """The per-output-channel scale vector if the scale is constant per channel."""
    s = canon(scale)
    flat = s.reshape(-1, s.shape[-1])
    if np.all(flat == flat[:1]):
        return flat[0].copy()
    return None


def read_kernel(part: str, role: str, q, raw: np.ndarray, canon, name: str,
                known: bool = True) -> Kernel:
    """Quantize one kernel; ``canon`` puts it in (k…, C_in_group, C_out) layout.

    With ``known`` False (no weights loaded) only the shape and the
    quantizer's facts are read: the values are zeros and flagged unknown.

    Raises:
        AnalysisError: the kernel holds NaN or Inf.
        QuantizerError: its quantizer cannot be evaluated.
    """
    label = "kernel" if role == "kernel" else f"{role} kernel"
    if not known:
        wf = quantizer_fact(q) if q is not None else FLOAT
        return Kernel(part=part, role=role, weight=wf, values=np.zeros(raw.shape), scale=None,
                      scale_note=wf.scale, w_frac=None if wf.is_float else wf.fractional_bits,
                      zeros=None, histogram=None, known=False)
    if not np.all(np.isfinite(raw)):
        raise AnalysisError(f"{name}: the {label} holds NaN or Inf values (a damaged weights file?)")
    wf = quantizer_fact(q) if q is not None else FLOAT
    qk, scale = _finite(quantize(q, raw), raw, f"the {label}", name)
    zeros = int(np.count_nonzero(qk == 0))
    values, s_out, note, w_frac, notes = qk, None, None, wf.fractional_bits, ()
    lsb = wf.lsb
    if wf.is_float:
        lsb, w_frac = None, None
    elif scale is not None:
        s_out = _per_output(scale, canon)
        if s_out is not None:
            values = qk / scale
            if wf.lsb is not None:  # back onto the grid exactly
                values = np.rint(values / wf.lsb) * wf.lsb
            note = wf.scale
        else:
            # The scale varies along an input axis (e.g. a transposed conv's
            # kernel is scaled per input channel): products are scaled
            # before they are summed, so accumulate the scaled values.
            step = pow2_grid_step(qk)
            w_frac = fractional_bits_of_step(step) if step else None
            note = ("scale varies along the kernel's input axis: it is applied before "
                    "accumulation, so the accumulator holds the scaled products")
            notes, lsb = (f"{name}: {note}",), None
    return Kernel(part=part, role=role, weight=wf, values=values, scale=s_out, scale_note=note,
                  w_frac=w_frac, zeros=zeros, histogram=histogram(part, role, values, lsb),
                  notes=notes)


def read_bias(q, raw: np.ndarray, name: str, known: bool = True) -> Bias:
    """The quantized bias (not yet divided by any kernel scale)."""
    if not known:
        return Bias(quantizer_fact(q) if q is not None else FLOAT, np.zeros(raw.shape), known=False)
    if not np.all(np.isfinite(raw)):
        raise AnalysisError(f"{name}: the bias holds NaN or Inf values (a damaged weights file?)")
    return Bias(quantizer_fact(q) if q is not None else FLOAT,
                _finite(quantize(q, raw), raw, "the bias", name)[0])


def _finite(quantized, raw: np.ndarray, what: str, name: str):
    """quantized, unless q(x) turned finite values into NaN or Inf.

    qkeras computes in float32: a weight near 1e37 overflows inside q(x)
    and comes out NaN instead of saturating.  No hardware value follows
    from that, so it is an error, not a number.
    """
    values, scale = quantized
    if np.all(np.isfinite(values)) and (scale is None or np.all(np.isfinite(scale))):
        return quantized
    big = float(np.max(np.abs(raw)))
    raise AnalysisError(f"{name}: {what} holds values its quantizer turns into NaN (|w| up to "
                        f"{big:.3g} overflows float32 inside q(x); a damaged weights file?)")
