"""Operations of weight layers: kernels, counts, operation types, bounds.

Kernels are quantized by a fresh copy of the layer's quantizer (built from
its config), so the model and its quantizers are never modified.  All
work is vectorized over the kernel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from . import accumulator as acc
from .errors import AnalysisError
from .fixed import fractional_bits_of_step, pow2_grid_step
from .quantizers import FLOAT, QFact, QuantizerError, derived_range_fact, quantizer_fact

# Reference operation table: weight mode (rows) x input mode (columns).
OP_TABLE = (
    ("mult", "barrel", "mux", "mux", "mux", "fmult"),
    ("barrel", "adder", "mux", "xor", "mux", "fmult"),
    ("mux", "mux", "mux", "mux", "xor", "fmult"),
    ("mux", "xor", "mux", "xor", "xor", "fmult"),
    ("mux", "mux", "xor", "xor", "xor", "fmult"),
    ("fmult", "fmult", "fmult", "fmult", "fmult", "fmult"),
)

DENSE = {"QDense", "QDenseBatchnorm", "Dense"}
CONV = {"QConv1D", "QConv2D", "QConv2DBatchnorm", "Conv1D", "Conv2D", "Conv3D"}
DEPTHWISE = {"QDepthwiseConv2D", "QDepthwiseConv2DBatchnorm", "DepthwiseConv1D",
             "DepthwiseConv2D"}
SEPARABLE = {"QSeparableConv1D", "QSeparableConv2D", "SeparableConv1D", "SeparableConv2D"}
TRANSPOSE = {"QConv2DTranspose", "Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose"}
FOLDED = {"QConv2DBatchnorm", "QDepthwiseConv2DBatchnorm", "QDenseBatchnorm"}
WEIGHT_LAYERS = DENSE | CONV | DEPTHWISE | SEPARABLE | TRANSPOSE


def operation_type(w: QFact, x: QFact) -> str:
    """mult / barrel / mux / xor / adder / fmult, from the reference's table."""
    return OP_TABLE[w.mode][x.mode]


def operation_name(w: QFact, x: QFact) -> str:
    """``smult_4_8``: sign, type, weight bits, input bits (float counts 32, signed)."""
    signed = w.signed or x.signed
    return f"{'s' if signed else 'u'}{operation_type(w, x)}_{w.bits}_{x.bits}"


@dataclass(frozen=True)
class Histogram:
    """Quantized values of one kernel on its grid: values and their counts."""

    part: str
    values: tuple[float, ...]
    counts: tuple[int, ...]


@dataclass(frozen=True)
class Operation:
    """One multiply-accumulate operation of a layer (separable layers have two)."""

    part: str
    type: str
    name: str
    macs: int
    terms: int
    weight: QFact
    input: QFact
    accumulator: acc.Accumulator

    def to_json(self) -> dict:
        return {"part": self.part, "type": self.type, "name": self.name, "macs": self.macs,
                "terms": self.terms, "weight": self.weight.to_json(),
                "input": self.input.to_json(), "accumulator": self.accumulator.to_json()}


@dataclass(frozen=True)
class Counts:
    macs: int
    weights: int
    bias: int
    weight_bits: int
    bias_bits: int
    zero_weights: int
    bops: int

    def to_json(self) -> dict:
        return dict(self.__dict__)


@dataclass
class Part:
    """Working state of one operation while a layer is analysed (not a fact)."""

    part: str
    weight: QFact
    kernel: np.ndarray          # canonical (k…, C_in_group, C_out), accumulated values
    native: np.ndarray          # same values in the layer's own kernel layout
    masks: list = field(default_factory=list)
    macs: int = 0
    terms: int = 0
    bias: np.ndarray | None = None  # bias as accumulated (divided by the scale)
    bias_fact: QFact | None = None
    bias_frac: int | None = None
    scale: np.ndarray | None = None  # per-output-channel scale applied after
    scale_note: str | None = None
    w_frac: int | None = None
    zeros: int = 0
    hist: Histogram | None = None
    notes: list = field(default_factory=list)
    # the bound's per-channel extremes and grid, kept for the sample pass
    bound_lo: np.ndarray | None = None
    bound_hi: np.ndarray | None = None
    frac: int | None = None


# --------------------------------------------------------------------------
# Kernel quantization, without touching the layer

def fresh(q):
    """A new quantizer with ``q``'s config: calling it leaves ``q`` untouched."""
    if q is None or not hasattr(q, "get_config"):
        return q
    return type(q).from_config(dict(q.get_config()))


def quantize(q, values: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """(q(values), scale) using a fresh copy of q; scale None when q has no alpha scale."""
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


def _raw_weights(layer, cls: str):
    """(kernel(s), bias or None) as numpy, BN folded for the *Batchnorm layers."""
    import keras

    if cls in FOLDED:
        k, b = layer.get_folded_weights()
        return [keras.ops.convert_to_numpy(k)], keras.ops.convert_to_numpy(b)
    if cls in SEPARABLE:
        ks = [keras.ops.convert_to_numpy(layer.depthwise_kernel),
              keras.ops.convert_to_numpy(layer.pointwise_kernel)]
    elif cls in DEPTHWISE:
        ks = [keras.ops.convert_to_numpy(layer.depthwise_kernel if hasattr(layer, "depthwise_kernel") else layer.kernel)]
    else:
        ks = [keras.ops.convert_to_numpy(layer.kernel)]
    b = keras.ops.convert_to_numpy(layer.bias) if getattr(layer, "use_bias", False) and layer.bias is not None else None
    return ks, b


def usable_quantizer(q, role: str, name: str, notes: list):
    """q if qreport knows it; None (float) for other callables; AnalysisError otherwise."""
    from .quantizers import QUANTIZER_KINDS

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


def _quantizers(layer, cls: str):
    g = lambda n: getattr(layer, n, None)  # noqa: E731
    if cls in SEPARABLE:
        return [g("depthwise_quantizer_internal"), g("pointwise_quantizer_internal")], g("bias_quantizer_internal")
    if cls in DEPTHWISE:
        return [g("depthwise_quantizer_internal")], g("bias_quantizer_internal")
    return [g("kernel_quantizer_internal")], g("bias_quantizer_internal")


def _histogram(part: str, values: np.ndarray, lsb: float | None) -> Histogram:
    v = values.ravel()
    if lsb is not None and v.size:
        k = np.rint(v / lsb).astype(np.int64)
        lo, hi = int(k.min()), int(k.max())
        if hi - lo <= 1 << 16:
            counts = np.bincount(k - lo, minlength=hi - lo + 1)
            nz = np.nonzero(counts)[0]
            return Histogram(part, tuple(float((i + lo) * lsb) for i in nz),
                             tuple(int(c) for c in counts[nz]))
    vals, counts = np.unique(v, return_counts=True)
    if vals.size > 4096:  # float kernels: bin them
        counts, edges = np.histogram(v, bins=64)
        vals = (edges[:-1] + edges[1:]) / 2
    return Histogram(part, tuple(float(x) for x in vals), tuple(int(c) for c in counts))


def _per_output(scale: np.ndarray, canon) -> np.ndarray | None:
    """The per-output-channel scale vector if the scale is constant per channel."""
    s = canon(scale)
    flat = s.reshape(-1, s.shape[-1])
    if np.all(flat == flat[:1]):
        return flat[0].copy()
    return None


def build_part(part: str, q, raw: np.ndarray, canon, name: str) -> Part:
    """Quantize one kernel and put it in canonical layout."""
    if not np.all(np.isfinite(raw)):
        raise AnalysisError(f"{name}: the {'kernel' if part == 'main' else part + ' kernel'} "
                            "holds NaN or Inf values (a damaged weights file?)")
    wf = quantizer_fact(q) if q is not None else FLOAT
    qk, scale = quantize(q, raw)
    p = Part(part=part, weight=wf, kernel=canon(qk), native=qk)
    p.zeros = int(np.count_nonzero(qk == 0))
    if wf.is_float:
        p.hist = _histogram(part, qk, None)
        return p
    if scale is not None:
        s_out = _per_output(scale, canon)
        if s_out is not None:
            unscaled = qk / scale
            if wf.lsb is not None:  # back onto the grid exactly
                unscaled = np.rint(unscaled / wf.lsb) * wf.lsb
            p.native, p.kernel, p.scale = unscaled, canon(unscaled), s_out
            p.scale_note = wf.scale
            p.w_frac = wf.fractional_bits
        else:
            # The scale varies along an input axis (e.g. a transposed conv's
            # kernel is scaled per input channel): products are scaled
            # before they are summed, so accumulate the scaled values.
            step = pow2_grid_step(qk)
            p.w_frac = fractional_bits_of_step(step) if step else None
            p.scale_note = ("scale varies along the kernel's input axis: it is applied before "
                            "accumulation, so the accumulator holds the scaled products")
            p.notes.append(f"{name}: {p.scale_note}")
    else:
        p.w_frac = wf.fractional_bits
    p.hist = _histogram(part, p.native, wf.lsb if p.scale is not None or scale is None else None)
    return p


# --------------------------------------------------------------------------
# Layer geometry

def _spatial(shape: tuple, data_format: str | None) -> tuple:
    if data_format == "channels_first":
        return tuple(shape[2:])
    return tuple(shape[1:-1])


def _tup(v, n):
    return tuple(v) if isinstance(v, (tuple, list)) else (v,) * n


def analyse_weight_layer(layer, cls: str, in_shape: tuple, out_shape: tuple, x: QFact,
                         name: str):
    """Parts of a weight layer, with MACs and masks; bias attached to the last part."""
    ks, bias = _raw_weights(layer, cls)
    kq, bq = _quantizers(layer, cls)
    notes: list[str] = []
    roles = ("depthwise", "pointwise") if cls in SEPARABLE else ("kernel",)
    kq = [usable_quantizer(q, r, name, notes) for q, r in zip(kq, roles)]
    bq = usable_quantizer(bq, "bias", name, notes)
    df = getattr(layer, "data_format", "channels_last")
    parts: list[Part] = []
    if cls in DENSE:
        k = ks[0]
        p = build_part("main", kq[0], k, lambda a: a, name)
        lead = int(np.prod([d for d in in_shape[1:-1]], dtype=np.int64)) if len(in_shape) > 2 else 1
        p.terms = k.shape[0]
        p.macs = lead * k.shape[0] * k.shape[1]
        parts.append(p)
    else:
        n = len(ks[0].shape) - 2
        ins, outs = _spatial(in_shape, df), _spatial(out_shape, df)
        ksz = ks[0].shape[:n]
        strides = _tup(layer.strides, n)
        dil = _tup(getattr(layer, "dilation_rate", 1), n)
        pad = layer.padding
        out_pos = int(np.prod(outs, dtype=np.int64))
        if cls in TRANSPOSE:
            masks = [acc.transpose_masks(ins[d], outs[d], ksz[d], strides[d], dil[d], pad)
                     for d in range(n)]
        else:
            masks = [acc.conv_masks(ins[d], outs[d], ksz[d], strides[d], dil[d], pad)
                     for d in range(n)]
        kprod = int(np.prod(ksz, dtype=np.int64))
        if cls in CONV:
            p = build_part("main", kq[0], ks[0], lambda a: a, name)
            c_in_g, c_out = ks[0].shape[-2:]
            p.terms, p.macs, p.masks = kprod * c_in_g, out_pos * c_out * kprod * c_in_g, masks
            parts.append(p)
        elif cls in TRANSPOSE:
            c_out, c_in = ks[0].shape[-2:]
            p = build_part("main", kq[0], ks[0], lambda a: np.swapaxes(a, -1, -2), name)
            in_pos = int(np.prod(ins, dtype=np.int64))
            p.terms, p.macs, p.masks = kprod * c_in, in_pos * kprod * c_in * c_out, masks
            parts.append(p)
        else:  # depthwise, and the depthwise half of separable
            c_in, mult = ks[0].shape[-2:]
            canon = lambda a: a.reshape(*a.shape[:-2], 1, a.shape[-2] * a.shape[-1])  # noqa: E731
            p = build_part("depthwise" if cls in SEPARABLE else "main", kq[0], ks[0], canon, name)
            p.terms, p.macs, p.masks = kprod, out_pos * c_in * mult * kprod, masks
            parts.append(p)
            if cls in SEPARABLE:
                pw = ks[1]
                canon_pw = lambda a: a.reshape(a.shape[-2], a.shape[-1])  # noqa: E731
                p2 = build_part("pointwise", kq[1], pw, canon_pw, name)
                p2.terms = pw.shape[-2]
                p2.macs = out_pos * pw.shape[-2] * pw.shape[-1]
                parts.append(p2)
    parts[0].notes.extend(notes)
    last = parts[-1]
    if bias is not None:
        if not np.all(np.isfinite(bias)):
            raise AnalysisError(f"{name}: the bias holds NaN or Inf values (a damaged weights file?)")
        bf = quantizer_fact(bq) if bq is not None else FLOAT
        qb, _ = quantize(bq, bias)
        last.bias_fact = bf
        if last.scale is not None:
            qb = qb / last.scale
            e = np.log2(last.scale)
            if bf.lsb is not None and np.all(e == np.round(e)):
                last.bias_frac = bf.fractional_bits + int(e.max())
            elif not bf.is_float:
                last.notes.append(f"{name}: bias / scale is not on a power-of-two grid")
        else:
            last.bias_frac = bf.fractional_bits
        last.bias = qb
    return parts


# --------------------------------------------------------------------------
# Bound for a part

def bound_part(p: Part, x: QFact, x_lo=None, x_hi=None):
    """(AccRange, lo[c], hi[c], F) for part p with inputs of type x in [x_lo, x_hi].

    x_lo/x_hi default to the input type's range; they may be narrower (an
    observed range) or per-input-channel arrays (the pointwise half of a
    separable layer).  The grid is always the input type's.
    """
    if p.weight.is_float:
        return acc.AccRange.unknown("float weights: no fixed-point accumulator"), None, None, None
    if x.is_float and x_lo is None:
        return acc.AccRange.unknown("float input: no fixed-point accumulator"), None, None, None
    lo_x = x.min if x_lo is None else x_lo
    hi_x = x.max if x_hi is None else x_hi
    lo, hi = acc.extreme_sums(p.kernel, lo_x, hi_x, p.masks)
    if p.bias is not None:
        lo, hi = lo + p.bias, hi + p.bias
    x_f = x.fractional_bits
    frac, reason = None, None
    if p.w_frac is None:
        reason = "weights are not on a power-of-two grid"
    elif x_f is None:
        reason = f"input {x.config} is not on a power-of-two grid"
    elif p.bias is not None and p.bias_frac is None:
        reason = ("bias is float (no bias_quantizer)" if p.bias_fact is None or p.bias_fact.is_float
                  else "bias / scale is not on a power-of-two grid")
    else:
        frac = p.w_frac + x_f
        if p.bias is not None:
            frac = max(frac, p.bias_frac)
    r = acc.fixed_range(float(lo.min()), float(hi.max()), frac, reason)
    return r, lo, hi, frac


def bound_chain(parts: list[Part], x: QFact, x_lo=None, x_hi=None, name: str = "layer"):
    """Bound every operation of a layer in order.

    The first part reads the layer's input (x, optionally narrowed to
    [x_lo, x_hi]); every later part reads the previous part's output with its
    per-channel scale applied (the pointwise half of a separable layer sees the
    scaled depthwise output, channel by channel).

    Returns:
        One (AccRange, lo[c], hi[c], F, input QFact) per part.
    """
    out = []
    for i, p in enumerate(parts):
        if i > 0:
            _, lo, hi, frac, _ = out[-1]
            if lo is None:
                out.append((acc.AccRange.unknown(f"{parts[i - 1].part} accumulator has no fixed range"),
                            None, None, None, FLOAT))
                continue
            prev = parts[i - 1]
            x = output_type(prev, lo, hi, frac, f"{name} {prev.part} accumulator")
            x_lo, x_hi, _ = after_scale(prev, lo, hi, frac)
        out.append((*bound_part(p, x, x_lo, x_hi), x))
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


def output_type(p: Part, lo: np.ndarray, hi: np.ndarray, frac: int | None, config: str) -> QFact:
    """The type of a part's output (accumulator, per-channel scale applied)."""
    lo_o, hi_o, f_o = after_scale(p, lo, hi, frac)
    lsb = math.ldexp(1.0, -f_o) if f_o is not None else None
    return derived_range_fact(float(lo_o.min()), float(hi_o.max()), lsb,
                              config + (" × scale" if p.scale is not None else ""))


def counts_for(parts: list[Part], ops: list[Operation]) -> Counts:
    weights = sum(int(p.native.size) for p in parts)
    wbits = sum(int(p.native.size) * p.weight.bits for p in parts)
    last = parts[-1]
    nb = int(last.bias.size) if last.bias is not None else 0
    bbits = nb * (last.bias_fact.bits if last.bias_fact is not None else 32)
    macs = sum(o.macs for o in ops)
    bops = sum(o.macs * o.weight.bits * o.input.bits for o in ops)
    return Counts(macs=macs, weights=weights, bias=nb, weight_bits=wbits, bias_bits=bbits,
                  zero_weights=sum(p.zeros for p in parts), bops=bops)


__all__ = ["Operation", "Counts", "Histogram", "operation_type", "operation_name",
           "analyse_weight_layer", "bound_part"]
