"""The accumulator type hls4ml 1.3.0's BitExact pass derives for an HGQ2 model, recomputed.

hls4ml converts HGQ2 models with its BitExact pass
(``model/optimizer/passes/bit_exact.py``), not its usual type rule: an
untrusted input is ``fixed<253,127>``; a layer's input quantizer becomes a
FixedPointQuantizer node that narrows what reaches it; Dense, Conv and
EinsumDense give the interval Σ w·[min, max] + b element by element on the
finest product grid; the layer's ``accum_t`` takes the largest k, i and f
over its elements separately (so it can be wider than any one element needs).
qreport shows it beside its own exact bound.
"""

from __future__ import annotations

import numpy as np

from . import elements as el
from .quant import broadcast, element_range, minimal_f
from .weights import layer_einsum

UNTRUSTED = (1, 126, 126)
LINEAR = ("dense", "conv", "einsum", "batchnorm")


def to_kif(lo, hi, delta):
    f = -np.log2(delta).astype(np.int64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        i = np.ceil(np.log2(np.maximum(hi + np.ldexp(1.0, -f), -lo)))
    i = np.nan_to_num(i, nan=0, neginf=0, posinf=0).astype(np.int64)
    k = (lo < 0).astype(np.int64)
    null = (hi == 0) & (lo == 0)
    return k, np.where(null, 0, i), np.where(null, 0, f)


def from_kif(k, i, f):
    return -np.ldexp(1.0, i) * k, np.ldexp(1.0, i) - np.ldexp(1.0, -f), np.ldexp(1.0, -f)


def untrusted(shape):
    return tuple(np.full(shape, v, dtype=np.int64) for v in UNTRUSTED)


def narrowed(q, shape, up):
    """hls4ml's FixedPointQuantizer node: the quantizer's format, narrowed by what reaches it."""
    k, i, f = broadcast(q, shape, "quantizer")
    lo, hi = element_range(q, k, i, f)
    dead = (lo == 0) & (hi == 0)
    k, i, f = (np.where(dead, 0, a).astype(np.int64) for a in (k, i, f))
    lk, li, lf = (np.broadcast_to(a, k.shape).astype(np.int64) for a in up)
    _k, _i, _f = np.minimum(k, lk), np.minimum(i, li), np.minimum(f, lf)
    if q.round_mode != "TRN":
        _i = _i + ((lf > f) & (i > li))
    else:
        _i = _i + ((lf > f) & (i > li) & (k > 0))
    if q.overflow_mode == "SAT":
        k, i, f = _k, _i, _f
    else:
        keep = (np.ldexp(1.0, i) - np.ldexp(1.0, -f) >= np.ldexp(1.0, li) - np.ldexp(1.0, -lf)) \
            & (k >= lk)
        i, f, k = np.where(keep, _i, i), np.where(keep, _f, f), np.where(keep, _k, k)
    zero = k + i + f <= 0
    return np.where(zero, 0, k), np.where(zero, 0, i), np.where(zero, 0, f)


def _linear(d, raw, kif):
    """Σ w·[min, max] + b per output element, on the finest product grid (hls4ml's intervals)."""
    lo, hi, _ = from_kif(*kif)
    k, i, f = kif
    f = np.where(k + i + f == 0, 0, f)          # hls4ml pads and reads zeros as kif (0, 0, 0)
    kern = d.kernels[0].values
    if d.family == "batchnorm":
        kern = kern.reshape(-1)
    e, (lo, hi, fx) = layer_einsum(raw.config, d.config, d.out_shape, kern, (lo, hi, f))
    olo, ohi = _extremes(e, lo, hi, kern)
    from ..einsum import max_plus

    fo = max_plus(e, fx, minimal_f(kern))
    if d.bias is not None:
        b = np.broadcast_to(d.bias.values, olo.shape)
        olo, ohi = olo + b, ohi + b
        fo = np.maximum(fo, minimal_f(b))
    return to_kif(olo, ohi, np.ldexp(1.0, -fo.astype(np.int64)))


def _extremes(e, lo, hi, kern):
    from ..einsum import extremes

    return extremes(e, lo, hi, kern)


def hls4ml_accumulators(data, raw_layers) -> dict[str, str]:
    """{layer: the accum_t hls4ml 1.3.0's BitExact pass derives for it} (Dense, Conv, EinsumDense)."""
    raws = {r.name: r for r in raw_layers}
    kif: dict[int, tuple] = {}
    out: dict[str, str] = {}
    for d in data:
        raw = raws[d.name]
        ins = []
        for j, key in enumerate(d.in_keys):
            shape = tuple(d.in_shapes[j][1:])
            up = kif.get(key) or untrusted(shape)
            q = raw.quantizers.get("iq") if len(d.in_keys) == 1 else raw.quantizers.get(f"iq{j}")
            ins.append(narrowed(q, shape, up) if q is not None else up)
        res = _produce(d, raw, ins)
        if d.family in LINEAR and d.family != "batchnorm":
            out[d.name] = name(*res)
        if d.family in LINEAR:
            act = d.activation.config if d.activation is not None else "linear"
            if act == "relu":
                res = (np.zeros_like(res[0]), res[1], res[2])
            elif act != "linear":
                res = untrusted(res[0].shape)
        if "oq" in raw.quantizers:
            res = narrowed(raw.quantizers["oq"], tuple(d.out_shape[1:]), res)
        kif[d.out_keys[0]] = res
    return out


def _produce(d, raw, ins):
    fam, cls = d.family, d.class_name
    kind = raw.config.get("_kind")
    shape = tuple(d.out_shape[1:])
    if fam in LINEAR:
        return _linear(d, raw, ins[0])
    if kind == "merge" and cls in ("QAdd", "Add", "QSubtract", "Subtract", "QAveragePow2"):
        iv = [from_kif(*x) for x in ins]
        if cls in ("QSubtract", "Subtract"):
            lo, hi = iv[0][0] - iv[1][1], iv[0][1] - iv[1][0]
        else:
            lo, hi = sum(v[0] for v in iv), sum(v[1] for v in iv)
        return to_kif(lo, hi, np.minimum.reduce([v[2] for v in iv]))
    if kind == "merge" and cls in ("QMaximum", "QMinimum", "Maximum", "Minimum"):
        return tuple(np.maximum.reduce(list(a)) for a in zip(*ins))
    if kind == "concat":
        axis = int(raw.config.get("axis", -1))
        axis = axis - 1 if axis > 0 else axis
        return tuple(np.concatenate(list(a), axis=axis) for a in zip(*ins))
    if kind in ("shape", "getitem", "identity") or (kind == "activation" and d.output_fact is not None):
        m = el.ElementMap(*(np.asarray(a, dtype=np.float64) for a in ins[0]))
        from .units import compute

        r = compute(raw, kind if kind != "activation" else "identity", [m], list(d.in_shapes))
        res = tuple(np.asarray(a).astype(np.int64) for a in (r.out.lo, r.out.hi, r.out.f))
        if kind == "activation" and "relu" in str(d.output_fact.config):
            res = (np.zeros_like(res[0]),) + res[1:]
        return res
    if kind == "quantizer":
        return narrowed(raw.quantizers["q"], shape, ins[0])
    if kind == "lut" and d.tables and d.tables[0].evaluated and d.output_fact is not None:
        t = d.output_fact   # hls4ml: the minimal type of the table's entries, for every element
        k, i, f = to_kif(np.array(t.min), np.array(t.max), np.array(t.lsb))
        return tuple(np.full(shape, int(a), dtype=np.int64) for a in (k, i, f))
    if kind == "softmax" and len(d.tables) == 2:
        # hls4ml: exp × inverse, unsigned, integer and fractional bits of the two table types added
        (ie, fe), (ii, fi) = (_int_frac(t.output_type) for t in d.tables)
        return (np.zeros(shape, np.int64), np.full(shape, ie + ii, np.int64),
                np.full(shape, fe + fi, np.int64))
    return untrusted(shape)


def _int_frac(t: str) -> tuple[int, int]:
    w, i = (int(v) for v in t.split("<")[1].rstrip(">").split(","))
    return i, w - i


def name(k, i, f) -> str:
    k, i, f = int(np.max(k)), int(np.max(i)), int(np.max(f))
    b = k + i + f
    return f"{'' if k else 'u'}fixed<{b},{k + i}>" if b >= 1 else "ufixed<2,32>"
