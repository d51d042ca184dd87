"""HGQ2 models: the direct reader's plain data turned into the seam's :class:`.read.LayerData`.

HGQ2 quantizes per element: every weight, bias and input element has its
own trained format (k, i, f).  What this module computes, with numpy only:

- each quantizer's per-element range, exactly as HGQ2 defines it
  (max = 2^i − 2^−f; min = −k·2^i, or −k·(2^i − 2^−f) for SAT_SYM), an
  element of width ≤ 0 holding only 0;
- the quantized kernels and biases, as the layer computes them at
  inference, with the ``quantizers`` package's numpy fixed-point ops (the
  arithmetic HGQ2 itself uses), BN folds as HGQ2 folds them (in float32);
- the per-element input range each weight layer's input quantizer
  guarantees, which the accumulator bound uses element by element;
- the distribution of trained widths (:class:`.facts.BitWidths`);
- the accumulator type hls4ml 1.3.0's BitExact pass derives
  (:func:`hls4ml_accumulators`), to show beside qreport's exact bound.

Nothing here reads a file or imports Keras.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import AnalysisError
from . import kernels as kq
from .facts import FLOAT, MODE_FIXED, BitWidths, InputFacts, QFact
from .fixed import fractional_bits_of_step, pow2_grid_step, width_for_range
from .read import LayerData

LIBRARY = "hgq2"


# ------------------------------------------------------------------ one quantizer

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
    if q.overflow_mode == "SAT_SYM":
        low = -k * top
    elif q.overflow_mode == "SAT":
        low = -k * np.ldexp(1.0, i)
    else:  # WRAP: the full two's complement range of k+i+f bits
        low = -k * np.ldexp(1.0, i)
    dead = (k + i + f) <= 0
    return np.where(dead, 0.0, low), np.where(dead, 0.0, top)


def widths(lo: np.ndarray, hi: np.ndarray, k, i, f) -> np.ndarray:
    """Stored width per element: k + i + f, and 0 for an element that holds only 0 (pruned)."""
    return np.where((lo == 0) & (hi == 0), 0, np.maximum(k + i + f, 0)).astype(np.int64)


def quantize(q, x: np.ndarray, k, i, f, weight: bool = False) -> np.ndarray:
    """q(x) as the HGQ2 layer computes it at inference (float32 in, exact float64 out)."""
    from quantizers.fixed_point.fixed_point_ops_np import get_fixed_quantizer_np

    x = np.asarray(x, dtype=np.float32).astype(np.float64)
    fn = get_fixed_quantizer_np(q.round_mode, q.overflow_mode)
    if weight and q.overflow_mode == "WRAP" and q.trainable and q.round_mode == "RND":
        # HGQ2 rounds a trainable WRAP weight and neither wraps nor zeroes it
        return np.floor(x * np.ldexp(1.0, f) + 0.5) / np.ldexp(1.0, f)
    with np.errstate(over="ignore", invalid="ignore"):
        out = fn(x, k.astype(np.float64), i.astype(np.float64), f.astype(np.float64))
    return np.where(k + i + f > 0, out, 0.0)


def bit_widths(role: str, q, k, i, f, lo, hi, channel_axis: int | None = None) -> BitWidths:
    """The distribution of one quantizer's trained widths."""
    w = widths(lo, hi, k, i, f)
    vals, counts = np.unique(w, return_counts=True)
    live = w > 0
    pruned_ch = None
    if channel_axis is not None:
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


def range_fact(q, lo: np.ndarray, hi: np.ndarray, f: np.ndarray, config: str) -> QFact:
    """One QFact for a per-element quantizer: the union of its elements' ranges on the finest grid."""
    live = ~((lo == 0) & (hi == 0))
    if not live.any():
        return QFact(kind=LIBRARY, config=config, mode=MODE_FIXED, bits=0, integer=0, signed=False,
                     min=0.0, max=0.0, lsb=1.0, fixed=None, hls_reason="every element is pruned")
    fb = int(f[live].max())
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


# ------------------------------------------------------------------ shapes

def _conv_out(n: int, k: int, s: int, d: int, padding: str) -> int:
    span = (k - 1) * d + 1
    return (n - span) // s + 1 if padding == "valid" else -(-n // s)


def _per(v, n):
    return tuple(v) if isinstance(v, (list, tuple)) else (v,) * n


def out_shape(raw, in_shapes: list[tuple]) -> tuple:
    """A layer call's output batch shape, from its config (Keras's own rules)."""
    c, cls, x = raw.config, raw.class_name, in_shapes[0]
    if cls in ("QDense", "QBatchNormDense"):
        return x[:-1] + (int(c["units"]),)
    if cls in ("QConv1D", "QConv2D"):
        n = 1 if cls == "QConv1D" else 2
        if c.get("data_format", "channels_last") != "channels_last":
            raise AnalysisError(f"{raw.name}: channels_first HGQ2 convolutions are not supported")
        if c.get("groups", 1) != 1:
            raise AnalysisError(f"{raw.name}: grouped HGQ2 convolutions are not supported")
        if c.get("padding") not in ("valid", "same"):
            raise AnalysisError(f"{raw.name}: padding {c.get('padding')!r} is not supported")
        ks, ss, ds = (_per(c[k], n) for k in ("kernel_size", "strides", "dilation_rate"))
        sp = tuple(_conv_out(x[1 + a], ks[a], ss[a], ds[a], c["padding"]) for a in range(n))
        if min(sp) < 1:
            raise AnalysisError(f"{raw.name}: the kernel is larger than its input")
        return (None,) + sp + (int(c["filters"]),)
    if cls == "Flatten":
        return (None, int(np.prod(x[1:], dtype=np.int64)))
    if cls == "Reshape":
        t = tuple(int(v) for v in c["target_shape"])
        if -1 in t:
            known = int(np.prod([v for v in t if v != -1]))
            t = tuple(int(np.prod(x[1:])) // known if v == -1 else v for v in t)
        if int(np.prod(t)) != int(np.prod(x[1:])):
            raise AnalysisError(f"{raw.name}: cannot reshape {x[1:]} into {t}")
        return (None,) + t
    if cls in ("QAdd", "QSubtract", "QMultiply", "QMaximum", "QMinimum"):
        if any(s != x for s in in_shapes):
            raise AnalysisError(f"{raw.name}: its inputs' shapes differ ({in_shapes})")
    return x


# ------------------------------------------------------------------ layers

def _kernel(raw, part, role, values, q, layout=None):
    """The quantized kernel (reshaped to ``layout`` after quantizing) and its widths."""
    k, i, f = broadcast(q, values.shape, f"{raw.name} {role}")
    qv = quantize(q, values, k, i, f, weight=True)
    lo, hi = element_range(q, k, i, f)
    fact, fb = values_fact(qv, describe(q, "weight"))
    axis = qv.ndim - 1 if qv.ndim > 1 else None
    bw = bit_widths(role, q, k, i, f, lo, hi, channel_axis=axis)
    zeros = int(np.count_nonzero(qv == 0))
    if layout is not None:
        qv = qv.reshape(layout)
    return kq.Kernel(part=part, role=role, weight=fact, values=qv, scale=None, scale_note=None,
                     w_frac=fb, zeros=zeros, histogram=kq.histogram(part, role, qv, fact.lsb)), bw


def _bias(raw, values, q):
    k, i, f = broadcast(q, values.shape, f"{raw.name} bias")
    qv = quantize(q, values, k, i, f)
    lo, hi = element_range(q, k, i, f)
    fact, _ = values_fact(qv, describe(q, "bias element"))
    return kq.Bias(fact, qv), bit_widths("bias", q, k, i, f, lo, hi)


def _folded(raw):
    """(kernel, bias) before quantization, as the HGQ2 layer builds them (float32)."""
    w = raw.weights
    if raw.class_name == "QBatchNormDense":
        gamma = w.get("bn_gamma", np.float32(1.0))
        eps = np.float32(raw.config.get("epsilon", 1e-3))
        scaler = (gamma / np.sqrt(w["moving_variance"] + eps)).astype(np.float32)
        kernel = (scaler[:, None] * w["kernel"]).astype(np.float32)
        offset = -np.dot(w["moving_mean"], w["kernel"]).astype(np.float32)
        return kernel, (w["bias"] + offset).astype(np.float32)
    if raw.class_name == "QBatchNormalization":
        eps = np.float32(raw.config.get("epsilon", 1e-3))
        gamma = w.get("bn_gamma", np.float32(1.0))
        beta = w.get("bn_beta", np.float32(1.0))   # HGQ2: center=False adds 1, not 0
        scale = (gamma / np.sqrt(w["moving_variance"] + eps)).astype(np.float32)
        return scale, (beta - w["moving_mean"] * scale).astype(np.float32)
    return w["kernel"], w.get("bias")


def input_maps(raw, in_shapes) -> tuple[list, list, list]:
    """Per input: the iq's per-element (lo, hi) maps, its fact, its width distribution."""
    maps, facts, dists = [], [], []
    keys = ["iq"] if "iq" in raw.quantizers else sorted(k for k in raw.quantizers if k.startswith("iq"))
    for j, key in enumerate(keys):
        q = raw.quantizers[key]
        shape = tuple(in_shapes[j][1:])
        k, i, f = broadcast(q, shape, f"{raw.name} input quantizer")
        lo, hi = element_range(q, k, i, f)
        maps.append((lo, hi, k, i, f))
        facts.append(range_fact(q, lo, hi, f, describe(q, "input element")))
        dists.append(bit_widths("input" if len(keys) == 1 else f"input {j}", q, k, i, f, lo, hi))
    return maps, facts, dists


def layer_data(raw, in_keys, out_keys, in_shapes, inputs) -> LayerData:
    """One HGQ2 (or Keras) layer call as the seam's plain data."""
    out = out_shape(raw, in_shapes)
    c = raw.config
    maps, ifacts, dists = input_maps(raw, in_shapes) if raw.quantizers else ([], [], [])
    kernels, bias, notes = (), None, []
    config = {}
    if raw.class_name in ("QDense", "QBatchNormDense", "QConv1D", "QConv2D", "QBatchNormalization"):
        kv, bv = _folded(raw)
        layout = None
        if raw.class_name == "QBatchNormalization":
            if c.get("axis", -1) not in (-1, len(in_shapes[0]) - 1):
                raise AnalysisError(f"{raw.name}: a batch normalization over axis "
                                    f"{c.get('axis')} (not the last) is not supported")
            layout = (1,) * (len(in_shapes[0]) - 2) + (kv.shape[0], 1)
            config = {"strides": 1, "padding": "valid", "dilation_rate": 1}
        else:
            config = {k: c.get(k) for k in ("strides", "padding", "dilation_rate", "data_format")
                      if k in c}
        kern, bw = _kernel(raw, "main", "kernel", kv, raw.quantizers["kq"], layout)
        kernels = (kern,)
        dists.append(bw)
        if bv is not None and "bq" in raw.quantizers:
            bias, bb = _bias(raw, bv, raw.quantizers["bq"])
            dists.append(bb)
        if raw.class_name == "QConv1D" and _per(c.get("dilation_rate", 1), 1) != (1,):
            notes.append(f"{raw.name}: hls4ml 1.3.0 ignores a QConv1D's dilation_rate: its "
                         "conversion computes a different convolution")
    act = c.get("activation")
    activation = None
    if raw.class_name == "Activation" or act is not None:
        name = act if isinstance(act, str) else "linear"
        from .facts import float_fact

        activation = float_fact("linear" if name in (None, "linear") else name)
    params = int(sum(int(np.prod(v.shape)) for v in raw.weights.values()))
    bops = None
    if kernels and maps:
        bops = _bops(raw, maps[0], kernels[0], dists, config, in_shapes[0], out)
    return LayerData(name=raw.name, class_name=raw.class_name, inputs=inputs,
                     in_keys=tuple(in_keys), out_keys=tuple(out_keys),
                     in_shapes=tuple(in_shapes), out_shapes=(out,), config=config,
                     kernels=kernels, bias=bias, activation=activation, params=params,
                     notes=tuple(notes), library=LIBRARY,
                     input_maps=tuple((lo, hi, np.where((lo == 0) & (hi == 0), -10**6, f))
                                      for lo, hi, k, i, f in maps),
                     input_facts=tuple(ifacts), bit_widths=tuple(dists), bops=bops)


def _bops(raw, in_map, kern, dists, config, in_shape, out) -> int:
    """Σ over the products the layer computes of (input element width × weight width)."""
    from types import SimpleNamespace

    from .geometry import window_stack

    lo, hi, k, i, f = in_map
    bx = widths(lo, hi, k, i, f).astype(np.float64)
    q = raw.quantizers["kq"]
    kk, ki, kf = broadcast(q, q.k.shape, raw.name)
    klo, khi = element_range(q, kk, ki, kf)
    bw = widths(klo, khi, kk, ki, kf).astype(np.float64)
    if raw.class_name == "QBatchNormalization":
        return int((bx * bw.reshape(-1)).sum())
    d = SimpleNamespace(config=config, out_shape=out)
    stack = window_stack(bx, d, bw.shape)
    n = bw.ndim - 1
    return int(np.tensordot(stack, bw, (tuple(range(stack.ndim - n, stack.ndim)),
                                        tuple(range(n)))).sum())


def read_layers(model) -> tuple[list[InputFacts], tuple[int, ...], list[LayerData], dict]:
    """(input facts, input keys, layer data in graph order, {layer: raw quantizer kifs}) of a RawModel."""
    keys: dict[tuple[str, int, int], int] = {}
    shapes: dict[int, tuple] = {}
    inputs, in_keys = [], []
    for n, shape in model.inputs:
        key = keys.setdefault((n, 0, 0), len(keys))
        shapes[key] = shape
        in_keys.append(key)
        inputs.append(InputFacts(n, shape, FLOAT, False))
    data = []
    for raw in model.layers:
        ks = []
        for h in raw.inbound:
            if h not in keys:
                raise AnalysisError(f"{raw.name}: its input {h[0]!r} is not produced before it "
                                    "(a damaged or unsupported graph)")
            ks.append(keys[h])
        if not ks:
            raise AnalysisError(f"{raw.name}: the layer has no input")
        in_shapes = [shapes[k] for k in ks]
        okey = keys.setdefault((raw.name, 0, 0), len(keys))
        d = layer_data(raw, ks, [okey], in_shapes, tuple(h[0] for h in raw.inbound))
        shapes[okey] = d.out_shape
        data.append(d)
    return inputs, tuple(in_keys), data


# ------------------------------------------------------------------ hls4ml's BitExact

def _minimal_f(a: np.ndarray) -> np.ndarray:
    """hls4ml's minimal fractional bits of constants (−32 for 0), by its own bisection."""
    a = np.asarray(a, dtype=np.float64)
    low, high = np.full(a.shape, -32), np.full(a.shape, 32)
    while np.any(low < high - 1):
        mid = (low + high) // 2
        s = a * np.ldexp(1.0, mid)
        mask = s != np.trunc(s)
        low, high = np.where(mask, mid, low), np.where(mask, high, mid)
    return high


def _to_kif(lo, hi, delta):
    f = -np.log2(delta).astype(np.int64)
    with np.errstate(divide="ignore", invalid="ignore"):
        i = np.ceil(np.log2(np.maximum(hi + np.ldexp(1.0, -f), -lo)))
    i = np.nan_to_num(i, nan=0, neginf=0).astype(np.int64)
    k = (lo < 0).astype(np.int64)
    null = (hi == 0) & (lo == 0)
    return k, np.where(null, 0, i), np.where(null, 0, f)


def _from_kif(k, i, f):
    return -np.ldexp(1.0, i) * k, np.ldexp(1.0, i) - np.ldexp(1.0, -f), np.ldexp(1.0, -f)


def _fixed_point_quantizer(q, kif_q, kif_up):
    """hls4ml's FixedPointQuantizer node: the iq's format, narrowed by what reaches it."""
    k, i, f = (np.array(a, dtype=np.int64) for a in kif_q)
    lk, li, lf = (np.broadcast_to(a, k.shape).astype(np.int64) for a in kif_up)
    _k, _i, _f = np.minimum(k, lk), np.minimum(i, li), np.minimum(f, lf)
    if q.round_mode != "TRN":
        _i = _i + ((lf > f) & (i > li))
    else:
        _i = _i + ((lf > f) & (i > li) & (k > 0))
    if q.overflow_mode == "SAT":
        k, i, f = _k, _i, _f
    else:
        mask = (np.ldexp(1.0, i) - np.ldexp(1.0, -f) >= np.ldexp(1.0, li) - np.ldexp(1.0, -lf)) \
            & (k >= lk)
        i, f, k = np.where(mask, _i, i), np.where(mask, _f, f), np.where(mask, _k, k)
    zero = k + i + f <= 0
    return np.where(zero, 0, k), np.where(zero, 0, i), np.where(zero, 0, f)


def _linear_kif(d, kif_in):
    """A Dense/Conv/BatchNormalization's output kif by hls4ml's interval arithmetic."""
    lo, hi, delta = _from_kif(*kif_in)
    w = d.kernels[0].values
    b = d.bias.values if d.bias is not None else None
    if d.class_name == "QBatchNormalization":
        s = w.reshape(-1)
        a, c = lo * s, hi * s
        olo, ohi, od = np.minimum(a, c), np.maximum(a, c), delta * np.ldexp(1.0, -_minimal_f(s))
    else:
        from .geometry import map_sums, window_stack

        lo_w, hi_w, d_w = (window_stack(m, d, w.shape) for m in (lo, hi, delta))
        wd = np.ldexp(1.0, -_minimal_f(w))
        n = w.ndim - 1
        olo, ohi = map_sums(lo_w, hi_w, w)
        prod = d_w[..., None] * wd            # (…, taps…, C_in, C_out)
        prod = np.where(prod == 0, np.inf, prod)
        od = prod.reshape(prod.shape[:lo_w.ndim - n] + (-1, w.shape[-1])).min(axis=-2)
    if b is not None:
        olo, ohi = olo + b, ohi + b
        od = np.minimum(od, np.ldexp(1.0, -_minimal_f(b)))
    return _to_kif(olo, ohi, od)


def hls4ml_accumulators(data: list[LayerData], raw_layers) -> dict[str, str]:
    """{layer: the accum_t (or output type) hls4ml 1.3.0's BitExact pass derives for it}.

    The pass's own rules, element by element: an untrusted input is
    fixed<253,127>; a layer's input quantizer becomes a FixedPointQuantizer
    node that narrows it; Dense and Conv intervals are Σ w·[min, max] + b on
    the finest product grid; the layer's type takes the largest k, i and f
    over its elements separately (so it can be wider than any one element
    needs).
    """
    raws = {r.name: r for r in raw_layers}
    kif: dict[int, tuple] = {}
    out: dict[str, str] = {}
    for d in data:
        raw = raws[d.name]
        ins = []
        for j, key in enumerate(d.in_keys):
            shape = tuple(d.in_shapes[j][1:])
            up = kif.get(key) or (np.ones(shape, np.int64), np.full(shape, 126), np.full(shape, 126))
            qk = "iq" if "iq" in raw.quantizers else f"iq{j}"
            q = raw.quantizers.get(qk)
            if q is not None:
                k, i, f = broadcast(q, shape, d.name)
                lo, hi = element_range(q, k, i, f)
                dead = (lo == 0) & (hi == 0)
                own = tuple(np.where(dead, 0, a) for a in (k, i, f))
                up = _fixed_point_quantizer(q, own, up)
            ins.append(up)
        cls = d.class_name
        if cls in ("QDense", "QBatchNormDense", "QConv1D", "QConv2D", "QBatchNormalization"):
            k, i, f = _linear_kif(d, ins[0])
            if cls != "QBatchNormalization":   # hls4ml gives a batch normalization no accum_t
                out[d.name] = _hls_name(k, i, f)
            act = d.activation.config if d.activation is not None else "linear"
            if act == "relu":
                k = np.zeros_like(k)
            elif act != "linear":
                k, i, f = np.ones_like(k), np.full_like(i, 126), np.full_like(f, 126)
        elif cls in ("QAdd", "QSubtract"):
            iv = [_from_kif(*x) for x in ins]
            if cls == "QAdd":
                lo, hi = sum(v[0] for v in iv), sum(v[1] for v in iv)
            else:
                lo, hi = iv[0][0] - iv[1][1], iv[0][1] - iv[1][0]
            k, i, f = _to_kif(lo, hi, np.minimum.reduce([v[2] for v in iv]))
        elif cls in ("QMaximum", "QMinimum"):
            k, i, f = (np.maximum.reduce(list(a)) for a in zip(*ins))
        elif cls in ("Flatten", "Reshape"):
            k, i, f = (a.reshape(d.out_shape[1:]) for a in ins[0])
        elif cls == "Activation" and d.activation is not None and d.activation.config == "relu":
            k, i, f = np.zeros_like(ins[0][0]), ins[0][1], ins[0][2]
        else:
            k, i, f = ins[0]
        kif[d.out_keys[0]] = (k, i, f)
    return out


def _hls_name(k, i, f) -> str:
    k, i, f = int(np.max(k)), int(np.max(i)), int(np.max(f))
    b = k + i + f
    return f"{'' if k else 'u'}fixed<{b},{k + i}>" if b >= 1 else "ufixed<2,32>"


def accumulator_frac(d: LayerData, kernel: np.ndarray, f_map: np.ndarray) -> int | None:
    """F of the exact accumulator grid: the finest product any live (input, weight) pair makes.

    max over the pairs the layer multiplies of f(x_j) + F(w_jc), a weight's F its
    own value's (0 contributes nothing); with a per-element format this is finer
    than no single element but coarser than max f(x) + max F(w).
    """
    from .geometry import window_stack

    wf = np.where(kernel != 0, _minimal_f(kernel), -10**6)
    if d.class_name == "QBatchNormalization":
        best = f_map.reshape(-1, f_map.shape[-1]).max(axis=0) + wf.reshape(-1)
        top = int(best.max())
        return top if top > -10**5 else None
    stack = window_stack(f_map.astype(np.float64), d, kernel.shape) if kernel.ndim > 2 else f_map
    n = kernel.ndim - 1
    per_tap = stack.reshape((-1,) + stack.shape[stack.ndim - n:]).max(axis=0)  # (taps…, C_in)
    top = float((per_tap[..., None] + wf).max())
    return int(top) if top > -10**5 else None


def elementwise_merge(d: LayerData, facts: list[QFact]) -> QFact:
    """A merge of per-element quantized inputs: the exact range, element by element."""
    from .types import derived_range_fact

    cls = d.class_name
    los = [m[0] for m in d.input_maps]
    his = [m[1] for m in d.input_maps]
    if cls == "QAdd":
        lo, hi = sum(los), sum(his)
    elif cls == "QSubtract":
        lo, hi = los[0] - his[1], his[0] - los[1]
    elif cls in ("QMaximum", "QMinimum"):
        red = np.maximum if cls == "QMaximum" else np.minimum
        lo, hi = red.reduce(los), red.reduce(his)
    else:  # QMultiply
        lo, hi = los[0], his[0]
        for a, b in zip(los[1:], his[1:]):
            c = np.stack([lo * a, lo * b, hi * a, hi * b])
            lo, hi = c.min(axis=0), c.max(axis=0)
    lsbs = [f.lsb for f in facts]
    lsb = min(lsbs) if cls != "QMultiply" else float(np.prod(lsbs))
    return derived_range_fact(float(lo.min()), float(hi.max()), lsb,
                              f"{cls[1:].lower()} of {len(facts)} quantized inputs, per element")

