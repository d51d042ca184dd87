"""Layer geometry: operations of a weight layer, their MACs and live taps.

Works on plain data read at the seam (:mod:`.read`): quantized kernels,
shapes and the layer's geometry settings.  A :class:`Part` is one
multiply-accumulate operation ready to be bounded: its kernel in canonical
layout ``(k…, C_in_group, C_out)``, the tap masks of its positions, its
counts and (for the last part) the bias it adds.

Along one spatial axis the set of live taps of an output position is a row
of a small boolean "tap mask"; positions share few distinct rows (the
borders and the interior), so a bound is a contraction of per-tap sums
with those masks, without a loop over positions, channels or weights.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from .facts import QFact


@dataclass(frozen=True)
class Part:
    """One operation of a weight layer, as the accumulator analysis needs it.

    ``kernel`` holds the values that are accumulated (quantized, unscaled
    when the scale is per output channel); ``scale`` is that per-channel
    scale, applied after accumulation.  ``bias`` is the bias as accumulated
    (divided by the scale), on the last part only.  ``composite`` is the
    exact linear map from the layer's input to this part's accumulator when
    the part reads an earlier part with nothing quantized between them (the
    pointwise half of a separable layer), with ``composite_masks`` its taps.
    """

    part: str
    role: str
    weight: QFact
    kernel: np.ndarray
    native: np.ndarray
    masks: tuple = ()
    macs: int = 0
    terms: int = 0
    w_frac: int | None = None
    scale: np.ndarray | None = None
    scale_note: str | None = None
    zeros: int = 0
    bias: np.ndarray | None = None
    bias_fact: QFact | None = None
    bias_frac: int | None = None
    composite: np.ndarray | None = None
    composite_masks: tuple = ()
    notes: tuple[str, ...] = ()
    known: bool = True          # False: the values are not known (no weights)
    # per-element input ranges (HGQ2): the accumulator's extremes per output element
    # (…, C_out), without the bias, computed from each input element's own range
    element_bounds: tuple | None = None
    equation: str | None = None   # an EinsumDense's own equation (its kernel in its own layout)
    map_frac: int | None = None   # F of the products' finest grid over the live pairs


def spatial(shape: tuple, data_format: str | None) -> tuple:
    """The spatial dimensions of a batch shape."""
    if data_format == "channels_first":
        return tuple(shape[2:])
    return tuple(shape[1:-1])


def per_axis(v, n: int) -> tuple:
    """A Keras size argument (an int or one per axis) as one value per axis."""
    return tuple(v) if isinstance(v, (tuple, list)) else (v,) * n


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


def window_stack(m: np.ndarray, d, kernel_shape: tuple) -> np.ndarray:
    """A per-element map of a layer's input arranged so that ``tensordot`` with the kernel over
    its leading ``ndim − 1`` axes gives every output element.

    Dense: the map itself, ``(…, C_in)``.  Convolution (channels last): zero padding as
    Keras pads, then for each output position the window of its taps,
    ``(*positions, *taps, C_in)``; a padded tap reads 0.
    """
    n = len(kernel_shape) - 2
    if n <= 0:
        return m
    strides = per_axis(d.config.get("strides", 1), n)
    dil = per_axis(d.config.get("dilation_rate", 1), n)
    ins, outs = m.shape[:n], tuple(d.out_shape[1:1 + n])
    pads = []
    for a in range(n):
        total = 0
        if d.config.get("padding") == "same":
            total = max((outs[a] - 1) * strides[a] + (kernel_shape[a] - 1) * dil[a] + 1 - ins[a], 0)
        pads.append((total // 2, total - total // 2))
    mp = np.pad(m, pads + [(0, 0)])
    span = tuple((kernel_shape[a] - 1) * dil[a] + 1 for a in range(n))
    w = np.lib.stride_tricks.sliding_window_view(mp, span, axis=tuple(range(n)))
    w = w[tuple(slice(0, outs[a] * strides[a], strides[a]) for a in range(n))]
    w = w[(Ellipsis,) + tuple(slice(None, None, dil[a]) for a in range(n))]
    return np.moveaxis(w, n, -1)


def map_sums(stack_a: np.ndarray, stack_b: np.ndarray, kernel: np.ndarray):
    """Σ max(w·a, w·b) and Σ min(w·a, w·b) per output element, for a ≤ b element-wise."""
    n = kernel.ndim - 1
    axes = (tuple(range(stack_a.ndim - n, stack_a.ndim)), tuple(range(n)))
    wp, wn = np.maximum(kernel, 0), np.minimum(kernel, 0)
    hi = np.tensordot(stack_b, wp, axes) + np.tensordot(stack_a, wn, axes)
    lo = np.tensordot(stack_a, wp, axes) + np.tensordot(stack_b, wn, axes)
    return lo, hi


# ------------------------------------------------------------------ canonical layouts

def same_layout(a: np.ndarray) -> np.ndarray:
    """Dense and forward convolution kernels are canonical already."""
    return a


def transpose_layout(a: np.ndarray) -> np.ndarray:
    """A transposed convolution's kernel is (k…, C_out, C_in)."""
    return np.swapaxes(a, -1, -2)


def depthwise_layout(a: np.ndarray) -> np.ndarray:
    """(k…, C_in, M) -> (k…, 1, C_in·M): output channel c·M + m reads input c."""
    return a.reshape(*a.shape[:-2], 1, a.shape[-2] * a.shape[-1])


def pointwise_layout(a: np.ndarray) -> np.ndarray:
    """A separable layer's (1…, C_in·M, C_out) pointwise kernel as a matrix."""
    return a.reshape(a.shape[-2], a.shape[-1])


# ------------------------------------------------------------------ parts

def _part(k, canon, **kw) -> Part:
    return Part(part=k.part, role=k.role, weight=k.weight, kernel=canon(k.values),
                native=k.values, w_frac=k.w_frac, scale=k.scale, scale_note=k.scale_note,
                zeros=k.zeros, notes=k.notes, known=k.known, **kw)


def _windows(d, transposed: bool = False):
    """(masks, output positions, input positions, taps) of a convolution-like layer."""
    k0 = d.kernels[0].values
    n = k0.ndim - 2
    df = d.config.get("data_format")
    ins, outs = spatial(d.in_shape, df), spatial(d.out_shape, df)
    ksz = k0.shape[:n]
    strides = per_axis(d.config["strides"], n)
    dil = per_axis(d.config.get("dilation_rate", 1), n)
    make = transpose_masks if transposed else conv_masks
    masks = tuple(make(ins[i], outs[i], ksz[i], strides[i], dil[i], d.config["padding"])
                  for i in range(n))
    return (masks, int(np.prod(outs, dtype=np.int64)), int(np.prod(ins, dtype=np.int64)),
            int(np.prod(ksz, dtype=np.int64)))


def dense_parts(d) -> list[Part]:
    """Dense: every leading axis but the batch one repeats the product."""
    k = d.kernels[0]
    c_in, c_out = k.values.shape
    lead = int(np.prod(d.in_shape[1:-1], dtype=np.int64)) if len(d.in_shape) > 2 else 1
    return [_part(k, same_layout, terms=c_in, macs=lead * c_in * c_out)]


def conv_parts(d) -> list[Part]:
    k = d.kernels[0]
    masks, out_pos, _, taps = _windows(d)
    c_in_g, c_out = k.values.shape[-2:]
    return [_part(k, same_layout, masks=masks, terms=taps * c_in_g,
                  macs=out_pos * c_out * taps * c_in_g)]


def transpose_parts(d) -> list[Part]:
    """Transposed: every input position scatters every tap (SPEC section 3)."""
    k = d.kernels[0]
    masks, _, in_pos, taps = _windows(d, transposed=True)
    c_out, c_in = k.values.shape[-2:]
    return [_part(k, transpose_layout, masks=masks, terms=taps * c_in,
                  macs=in_pos * taps * c_in * c_out)]


def depthwise_parts(d) -> list[Part]:
    k = d.kernels[0]
    masks, out_pos, _, taps = _windows(d)
    c_in, mult = k.values.shape[-2:]
    return [_part(k, depthwise_layout, masks=masks, terms=taps,
                  macs=out_pos * c_in * mult * taps)]


def separable_parts(d) -> list[Part]:
    """Depthwise then pointwise; the pointwise part also carries the composite map.

    Nothing is quantized between the halves, so the pointwise accumulator
    is a linear map of the layer's input: the depthwise kernel, with its
    per-channel scale, folded into the unscaled pointwise kernel,
    ``K[t…, i, c] = Σ_m dw[t…, i, m] · s_dw[i·M + m] · pw[i·M + m, c]``, with
    the depthwise taps.  Bounding K over the input type is exact; bounding
    the pointwise kernel over each depthwise channel's range is not
    (channels that share input pixels are not independent).
    """
    (dw,) = depthwise_parts(d)
    k = d.kernels[1]
    pw = pointwise_layout(k.values)
    composite = None
    if not dw.weight.is_float and not k.weight.is_float and dw.known and k.known:
        c_in, mult = dw.native.shape[-2:]
        s = dw.scale if dw.scale is not None else np.ones(c_in * mult)
        composite = np.einsum("...im,im,imc->...ic", dw.native.astype(np.float64),
                              s.reshape(c_in, mult), pw.astype(np.float64).reshape(c_in, mult, -1))
    _, out_pos, _, _ = _windows(d)
    return [dw, _part(k, pointwise_layout, terms=pw.shape[0], macs=out_pos * pw.shape[0] * pw.shape[1],
                      composite=composite, composite_masks=dw.masks)]


def with_bias(parts: list[Part], bias, name: str) -> list[Part]:
    """The parts with the layer's bias added to the last one (divided by its scale)."""
    if bias is None:
        return parts
    last = parts[-1]
    qb, bf, notes = bias.values, bias.fact, list(last.notes)
    frac = bf.fractional_bits
    if last.scale is not None:
        qb = qb / last.scale
        e = np.log2(last.scale)
        if bf.lsb is not None and np.all(e == np.round(e)):
            frac = bf.fractional_bits + int(e.max())
        else:
            frac = None
            if not bf.is_float:
                notes.append(f"{name}: bias / scale is not on a power-of-two grid")
    return parts[:-1] + [dataclasses.replace(last, bias=qb, bias_fact=bf, bias_frac=frac,
                                             notes=tuple(notes))]
