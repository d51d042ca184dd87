"""HGQ2 weight layers: Dense, Conv, EinsumDense (batch-norm folded or not), BatchNormalization.

Each is one einsum of its input with a constant kernel (:mod:`..einsum`):
Dense ``…c,cC->…C``; a convolution the same over the windows of its
zero-padded input (:func:`..geometry.window_stack`); a batch normalization
``…c,c->…c``; an EinsumDense its own equation.  The exact extremes of every
output element are the sign-built input over its own products; the grid of
an output element is the finest product it sums, and its bias's.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from ...errors import AnalysisError
from .. import kernels as kq
from ..einsum import Einsum, extremes, max_plus, parse, products
from .elements import ElementMap, element_widths, quantized, relu
from .quant import (NO_GRID, bit_widths, broadcast, describe, element_range, minimal_f, quantize,
                    values_fact, widths)

EPSILON = 1e-7   # keras.backend.epsilon(): what QEinsumDenseBatchnorm folds with


def fold(raw) -> tuple[np.ndarray, np.ndarray | None]:
    """(kernel, bias) before quantization, as the HGQ2 layer builds them (float32)."""
    w, c, cls = raw.weights, raw.config, raw.class_name
    if cls == "QBatchNormDense":
        gamma = w.get("bn_gamma", np.float32(1.0))
        eps = np.float32(c.get("epsilon", 1e-3))
        scaler = (gamma / np.sqrt(w["moving_variance"] + eps)).astype(np.float32)
        kernel = (scaler[:, None] * w["kernel"]).astype(np.float32)
        offset = -np.dot(w["moving_mean"], w["kernel"]).astype(np.float32)
        return kernel, (w["bias"] + offset).astype(np.float32)
    if cls == "QEinsumDenseBatchnorm":
        kernel_axes, out_axes = c["equation"].replace("...", "0").split(",")[1].split("->")
        norm = "".join(ch for ch in kernel_axes if ch in (c.get("bias_axes") or ""))
        gamma = w.get("bn_gamma", np.float32(1.0))
        scaler = (gamma / np.sqrt(w["moving_variance"] + np.float32(EPSILON))).astype(np.float32)
        try:
            kernel = np.einsum(f"{kernel_axes},{norm}->{kernel_axes}", w["kernel"],
                               scaler.reshape([w["kernel"].shape[kernel_axes.index(ch)]
                                               for ch in norm])).astype(np.float32)
            offset = (-w["moving_mean"] * scaler).astype(np.float32).reshape(w["bias"].shape)
        except ValueError:
            raise AnalysisError(f"{raw.name}: its batch-norm statistics do not fit the kernel") from None
        return kernel, (w["bias"] + offset).astype(np.float32)
    if cls == "QBatchNormalization":
        eps = np.float32(c.get("epsilon", 1e-3))
        gamma = w.get("bn_gamma", np.float32(1.0))
        beta = w.get("bn_beta", np.float32(1.0))   # HGQ2: center=False adds 1, not 0
        scale = (gamma / np.sqrt(w["moving_variance"] + eps)).astype(np.float32)
        return scale, (beta - w["moving_mean"] * scale).astype(np.float32)
    return w["kernel"], w.get("bias")


def equation(config: dict, in_shape: tuple, kernel_shape: tuple) -> Einsum:
    """The layer as an einsum over one sample (a convolution over its window stack)."""
    kind = config["_kind"]
    if kind == "einsum":
        return parse(config["equation"], in_shape, kernel_shape)
    lead = "pqrs"[: len(in_shape) - 1]
    if kind == "batchnorm":
        x = lead + "c"
        return Einsum(x, "c", x, dict(zip(x, in_shape)))
    if kind == "dense":
        return Einsum(lead + "c", "cC", lead + "C", {**dict(zip(lead + "c", in_shape)),
                                                     "C": kernel_shape[-1]})
    n = len(kernel_shape) - 2                       # conv over (positions…, taps…, C_in)
    pos, taps = "pqr"[:n], "ijk"[:n]
    sizes = dict(zip(pos + taps + "c", in_shape)) | {"C": kernel_shape[-1]}
    return Einsum(pos + taps + "c", taps + "cC", pos + "C", sizes)


def layer_einsum(config: dict, geo: dict, out_shape: tuple, kernel: np.ndarray, arrays):
    """(the einsum, the per-element input arrays laid out for it): a convolution's arrays are
    zero-padded and stacked window by window (:func:`..geometry.window_stack`)."""
    if config["_kind"] == "conv":
        from ..geometry import window_stack

        d = SimpleNamespace(config=geo, out_shape=out_shape)
        arrays = tuple(window_stack(np.asarray(a, dtype=np.float64), d, kernel.shape)
                       for a in arrays)
    return equation(config, arrays[0].shape, kernel.shape), arrays


def conv_geometry(raw, in_shape: tuple, kernel: np.ndarray):
    """(config the geometry reads, output batch shape) of an HGQ2 convolution."""
    from ..geometry import per_axis

    c = raw.config
    n = kernel.ndim - 2
    if c.get("data_format", "channels_last") != "channels_last":
        raise AnalysisError(f"{raw.name}: channels_first HGQ2 convolutions are not supported")
    if c.get("groups", 1) != 1:
        raise AnalysisError(f"{raw.name}: grouped HGQ2 convolutions are not supported")
    if c.get("padding") not in ("valid", "same"):
        raise AnalysisError(f"{raw.name}: padding {c.get('padding')!r} is not supported")
    ks, ss, ds = kernel.shape[:n], per_axis(c["strides"], n), per_axis(c["dilation_rate"], n)
    sp = []
    for a in range(n):
        span = (ks[a] - 1) * ds[a] + 1
        sp.append((in_shape[a] - span) // ss[a] + 1 if c["padding"] == "valid" else -(-in_shape[a] // ss[a]))
    if min(sp) < 1:
        raise AnalysisError(f"{raw.name}: the kernel is larger than its input")
    geo = {k: c.get(k) for k in ("strides", "padding", "dilation_rate", "data_format") if k in c}
    return geo, (None,) + tuple(sp) + (int(kernel.shape[-1]),)


def weight_layer(raw, in_shape: tuple, upstream: ElementMap | None):
    """Everything one weight layer contributes, as a namespace the layer module turns into data.

    ``upstream`` is the map reaching the layer (None: float); its own input
    quantizer, if enabled, decides instead (its declared per-element ranges).
    """
    kind = raw.config["_kind"]
    kv, bv = fold(raw)
    dists, notes = [], []
    q_in = raw.quantizers.get("iq")
    if q_in is not None:
        k, i, f = broadcast(q_in, in_shape, f"{raw.name} input quantizer")
        lo, hi = element_range(q_in, k, i, f)
        xmap = ElementMap(lo, hi, np.where((lo == 0) & (hi == 0), NO_GRID, f).astype(np.float64))
        x_bits = widths(lo, hi, k, i, f)
        in_fact = xmap.fact(describe(q_in, "input element"))
        dists.append(bit_widths("input", q_in, k, i, f, lo, hi))
    elif upstream is not None:
        xmap, x_bits = upstream, element_widths(upstream)
        in_fact = upstream.fact("the tensor reaching it, per element (no input quantizer)")
    else:
        xmap = x_bits = in_fact = None
    q = raw.quantizers["kq"]
    k, i, f = broadcast(q, kv.shape, f"{raw.name} kernel")
    qk = quantize(q, kv, k, i, f)
    klo, khi = element_range(q, k, i, f)
    wfact, w_frac = values_fact(qk, describe(q, "weight"))
    dists.append(bit_widths("kernel", q, k, i, f, klo, khi,
                            channel_axis=qk.ndim - 1 if qk.ndim > 1 else None))
    kbits = widths(klo, khi, k, i, f)
    bias = None
    if bv is not None and "bq" in raw.quantizers:
        qb = raw.quantizers["bq"]
        bk, bi, bf = broadcast(qb, bv.shape, f"{raw.name} bias")
        qbias = quantize(qb, bv, bk, bi, bf)
        blo, bhi = element_range(qb, bk, bi, bf)
        bias = kq.Bias(values_fact(qbias, describe(qb, "bias element"))[0], qbias)
        dists.append(bit_widths("bias", qb, bk, bi, bf, blo, bhi))
    geo, out_shape = {}, (None,) + tuple(in_shape)
    if kind == "conv":
        geo, out_shape = conv_geometry(raw, in_shape, qk)
    stacked = xb = None
    if xmap is not None:
        # a padded tap reads 0: no grid (its f shifted so that the padding's 0 means NO_GRID)
        e, (lo, hi, fx, xb) = layer_einsum(raw.config, geo, out_shape, qk,
                                           (xmap.lo, xmap.hi, xmap.f - NO_GRID,
                                            x_bits.astype(np.float64)))
        stacked = (lo, hi, fx + NO_GRID)
    else:
        e = None if kind == "conv" else equation(raw.config, in_shape, qk.shape)
    if kind != "conv":
        out_shape = (None,) + (e.out_shape if e is not None else tuple(in_shape))
    acc = grid = out = None
    bops = None
    if stacked is not None:
        acc = extremes(e, stacked[0], stacked[1], qk)
        fx = np.where(stacked[2] == NO_GRID, -np.inf, stacked[2])
        fw = np.where(qk != 0, minimal_f(qk), -np.inf)
        grid = max_plus(e, fx, fw)
        bops = int(products(e, xb, kbits))
        out = _output(raw, acc, grid, bias, out_shape)
    if kind == "conv" and raw.class_name == "QConv1D" and geo.get("dilation_rate") not in (1, [1], (1,)):
        notes.append(f"{raw.name}: hls4ml 1.3.0 ignores a QConv1D's dilation_rate: its "
                     "conversion computes a different convolution")
    return SimpleNamespace(kernel=qk, w_frac=w_frac, weight=wfact, bias=bias, dists=dists,
                           input_fact=in_fact, input_map=xmap, equation=e, geometry=geo,
                           out_shape=out_shape, acc=acc, grid=grid, out=out, bops=bops,
                           notes=notes, kernel_bits=kbits)


def _output(raw, acc, grid, bias, out_shape) -> tuple[ElementMap | None, int]:
    """The layer's output map (bias, activation, output quantizer) and elements that can wrap."""
    lo, hi = acc
    f = grid
    if bias is not None:
        b = np.broadcast_to(bias.values, lo.shape) if bias.values.size != lo.size or \
            bias.values.shape != lo.shape else bias.values
        lo, hi = lo + b, hi + b
        f = np.maximum(f, np.where(b != 0, minimal_f(b), -np.inf))
    f = np.where(np.isfinite(f), f, NO_GRID)
    m = ElementMap(lo, hi, np.where((lo == 0) & (hi == 0), NO_GRID, f))
    act = raw.config.get("activation")
    name = act.get("config") if isinstance(act, dict) else act
    if name == "relu":
        m = relu(m)
    elif name not in (None, "linear"):
        m = None
    wraps = 0
    if "oq" in raw.quantizers:
        m, wraps = quantized(raw.quantizers["oq"], m, tuple(out_shape[1:]), f"{raw.name} oq")
    return m, wraps
