"""Make the HGQ2 test models and what they are checked against.  Run it in its own venv.

hgq2 installs a top-level ``qkeras`` package over qkeras-v3's, so it can never
share qreport's venv; ``make hgq2-models`` builds ``.venv-hgq2`` (hgq2, jax,
hls4ml 1.3.0) and runs this script there.  It writes, beside itself:

- ``<name>.keras``: a small HGQ2 model whose trained bit widths are random
  (per weight, per bias, per input element), with pruned weights and a
  pruned output channel, calibrated by HGQ2's own ``trace_minmax``;
- ``expected.json``: for every layer, what HGQ2 itself computes, so the
  tests check qreport's direct reader against HGQ2 and not against itself:

  - ``accumulator``: per output channel, the min and max of the layer's
    pre-activation output, attained by the sign-built extreme input
    (x_j = max_j where the output grows with x_j, else min_j, within the
    input quantizer's per-element range), run through the layer itself
    with its activation removed;
  - ``input``: the input quantizer's per-element min and max (HGQ2's own
    ``min_``/``max_``), and its per-element widths k+i+f;
  - ``kernel``/``bias``: the quantized values HGQ2 computes (``qkernel``);
  - ``hls4ml``: the types hls4ml 1.3.0's BitExact pass derives when it
    converts the model with no precision configuration.

The random state is fixed, so a rerun writes the same files.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import ops  # noqa: E402

from hgq.layers import (QAdd, QBatchNormalization, QBatchNormDense, QConv1D, QConv2D,  # noqa: E402
                        QDense)
from hgq.utils import trace_minmax  # noqa: E402

HERE = Path(__file__).resolve().parent
RNG = np.random.default_rng(20261202)


def internal(q):
    """The fixed-point quantizer inside a HGQ2 Quantizer layer."""
    return q.quantizer


def randomise_kbi(q, shape, b_range, i_range, prune=0.0, pruned_columns=()):
    """Random trained widths for a KBI quantizer (kernel or bias)."""
    qi = internal(q)
    b = RNG.integers(b_range[0], b_range[1] + 1, size=shape).astype(np.float32)
    if prune:
        b[RNG.random(shape) < prune] = 0
    for c in pruned_columns:
        b[..., c] = 0
    qi._b.assign(b.reshape(qi._b.shape))
    i = RNG.integers(i_range[0], i_range[1] + 1, size=shape).astype(np.float32)
    qi._i.assign(i.reshape(qi._i.shape))


def randomise_iq(q, f_range):
    """Random fractional widths for a KIF input quantizer (i comes from calibration)."""
    qi = internal(q)
    f = RNG.integers(f_range[0], f_range[1] + 1, size=qi._f.shape).astype(np.float32)
    qi._f.assign(f)


def dense_model():
    inp = keras.Input((16,), name="x")
    a = QDense(10, activation="relu", name="fc1")(inp)
    b = QDense(5, name="fc2")(a)
    m = keras.Model(inp, b, name="hgq_dense")
    fc1, fc2 = m.get_layer("fc1"), m.get_layer("fc2")
    randomise_kbi(fc1.kq, (16, 10), (0, 6), (-1, 1), prune=0.2, pruned_columns=(3,))
    randomise_kbi(fc1.bq, (10,), (0, 8), (0, 2), prune=0.2)
    randomise_kbi(fc2.kq, (10, 5), (1, 5), (-1, 1), prune=0.1)
    randomise_kbi(fc2.bq, (5,), (2, 8), (0, 2))
    randomise_iq(fc1.iq, (0, 6))
    randomise_iq(fc2.iq, (1, 5))
    return m, RNG.normal(0, 1.5, (512, 16))


def conv2d_model():
    inp = keras.Input((8, 8, 2), name="image")
    a = QConv2D(4, 3, padding="same", activation="relu", name="conv")(inp)
    b = QConv2D(3, 3, strides=2, padding="valid", name="conv_s2")(a)
    c = keras.layers.Flatten(name="flat")(b)
    d = QDense(3, name="head")(c)
    m = keras.Model(inp, d, name="hgq_conv2d")
    conv, conv2, head = m.get_layer("conv"), m.get_layer("conv_s2"), m.get_layer("head")
    randomise_kbi(conv.kq, (3, 3, 2, 4), (0, 6), (-1, 1), prune=0.15)
    randomise_kbi(conv.bq, (4,), (1, 8), (0, 2))
    randomise_kbi(conv2.kq, (3, 3, 4, 3), (0, 5), (-1, 1), prune=0.15)
    randomise_kbi(conv2.bq, (3,), (1, 8), (0, 2))
    randomise_kbi(head.kq, (27, 3), (1, 4), (-1, 0), prune=0.1)
    randomise_kbi(head.bq, (3,), (1, 8), (0, 2))
    for layer in (conv, conv2, head):
        randomise_iq(layer.iq, (1, 5))
    return m, RNG.normal(0, 1.0, (256, 8, 8, 2))


def conv1d_model():
    inp = keras.Input((12, 3), name="series")
    a = QConv1D(4, 3, strides=2, activation="relu", name="conv1d")(inp)
    b = keras.layers.Flatten(name="flat")(a)
    c = QDense(2, name="out")(b)
    m = keras.Model(inp, c, name="hgq_conv1d")
    conv, out = m.get_layer("conv1d"), m.get_layer("out")
    randomise_kbi(conv.kq, (3, 3, 4), (0, 6), (-1, 1), prune=0.2)
    randomise_kbi(conv.bq, (4,), (1, 8), (0, 2))
    randomise_kbi(out.kq, (20, 2), (1, 5), (-1, 0))
    randomise_kbi(out.bq, (2,), (1, 8), (0, 2))
    randomise_iq(conv.iq, (1, 5))
    randomise_iq(out.iq, (1, 4))
    return m, RNG.normal(0, 1.0, (256, 12, 3))


def merge_model():
    inp = keras.Input((8,), name="x")
    a = QDense(6, activation="relu", name="left")(inp)
    b = QDense(6, name="right")(inp)
    s = QAdd(name="sum")([a, b])
    o = QDense(2, name="out")(s)
    m = keras.Model(inp, o, name="hgq_merge")
    for name, cols in (("left", (0,)), ("right", ())):
        layer = m.get_layer(name)
        randomise_kbi(layer.kq, (8, 6), (0, 6), (-1, 1), prune=0.1, pruned_columns=cols)
        randomise_kbi(layer.bq, (6,), (1, 8), (0, 2))
        randomise_iq(layer.iq, (1, 6))
    out = m.get_layer("out")
    randomise_kbi(out.kq, (6, 2), (1, 5), (-1, 1))
    randomise_kbi(out.bq, (2,), (1, 8), (0, 2))
    randomise_iq(out.iq, (1, 5))
    for q in m.get_layer("sum").iq:
        randomise_iq(q, (1, 4))
    return m, RNG.normal(0, 1.0, (512, 8))


def bn_model():
    inp = keras.Input((8,), name="x")
    a = QBatchNormDense(6, activation="relu", name="bn_dense")(inp)
    b = QDense(6, name="fc")(a)
    c = QBatchNormalization(name="bn")(b)
    d = QDense(2, name="out")(c)
    m = keras.Model(inp, d, name="hgq_bn")
    bd = m.get_layer("bn_dense")
    randomise_kbi(bd.kq, (8, 6), (1, 6), (-1, 1), prune=0.1)
    randomise_kbi(bd.bq, (6,), (2, 8), (0, 2))
    bd.moving_mean.assign(RNG.normal(0, 0.5, 8).astype(np.float32))
    bd.moving_variance.assign(RNG.uniform(0.3, 2.0, 8).astype(np.float32))
    bd.bn_gamma.assign(RNG.uniform(0.5, 1.5, 8).astype(np.float32))
    bn = m.get_layer("bn")
    bn.moving_mean.assign(RNG.normal(0, 0.5, 6).astype(np.float32))
    bn.moving_variance.assign(RNG.uniform(0.3, 2.0, 6).astype(np.float32))
    bn.bn_gamma.assign(RNG.uniform(0.5, 1.5, 6).astype(np.float32))
    bn.bn_beta.assign(RNG.normal(0, 0.3, 6).astype(np.float32))
    randomise_kbi(bn.kq, (6,), (2, 6), (0, 1))
    randomise_kbi(bn.bq, (6,), (2, 8), (0, 2))
    for name in ("bn_dense", "fc", "bn", "out"):
        randomise_iq(m.get_layer(name).iq, (1, 5))
    for name in ("fc", "out"):
        layer = m.get_layer(name)
        randomise_kbi(layer.kq, layer.kernel.shape, (1, 5), (-1, 1))
        randomise_kbi(layer.bq, layer.bias.shape, (2, 8), (0, 2))
    return m, RNG.normal(0, 1.0, (512, 8))


MODELS = {"hgq_dense": dense_model, "hgq_conv2d": conv2d_model, "hgq_conv1d": conv1d_model,
          "hgq_merge": merge_model, "hgq_bn": bn_model}


def np_(x):
    return np.asarray(ops.convert_to_numpy(x), dtype=np.float64)


def iq_range(q, shape):
    """Per-element min, max and width k+i+f of a built input quantizer (HGQ2's own)."""
    s = (1,) + tuple(shape[1:])
    lo, hi = np_(q.min_(s))[0], np_(q.max_(s))[0]
    k, i, f = (np_(q.quantizer.bw_mapper.bw_to_x(v, s))[0] for v in q.quantizer.kif)
    width = np.where(k + i + f > 0, k + i + f, 0)
    return lo, hi, width


def linear_call(layer, x):
    """The layer's output with its activation removed (iq, kernel and bias as HGQ2 runs them)."""
    saved = getattr(layer, "activation", None)
    if saved is not None:
        layer.activation = keras.activations.linear
    try:
        return np_(layer(ops.convert_to_tensor(x.astype(np.float32)), training=False))
    finally:
        if saved is not None:
            layer.activation = saved


def extremes(layer, lo, hi):
    """Per output channel, the min and max of the layer's linear output over the input box.

    The layer is linear in its (quantized) input: its response to input j is
    read off one-hot inputs at a representable value, and the extreme
    input for each output element is built from the response's signs.
    """
    shape = lo.shape
    n = lo.size
    y0 = linear_call(layer, np.zeros((1,) + shape))[0]
    v = np.where(hi.ravel() != 0, hi.ravel(), lo.ravel())
    basis = np.zeros((n, n))
    basis[np.arange(n), np.arange(n)] = v
    resp = linear_call(layer, basis.reshape((n,) + shape)).reshape(n, -1) - y0.ravel()
    g = np.divide(resp, v[:, None], out=np.zeros_like(resp), where=v[:, None] != 0)
    out = []
    for sign in (1, -1):
        take_hi = (sign * g) >= 0                      # (n inputs, outputs)
        xs = np.where(take_hi.T, hi.ravel(), lo.ravel())  # one input per output element
        ys = linear_call(layer, xs.reshape((-1,) + shape)).reshape(xs.shape[0], -1)
        out.append(ys[np.arange(ys.shape[0]), np.arange(ys.shape[0])].reshape(y0.shape))
    top, bottom = out
    c = y0.shape[-1]
    return bottom.reshape(-1, c).min(axis=0), top.reshape(-1, c).max(axis=0)


def layer_record(layer):
    rec = {"class": type(layer).__name__}
    if not getattr(layer, "enable_iq", False):
        return rec
    shapes = layer.input.shape if not isinstance(layer.input, list) else [t.shape for t in layer.input]
    if isinstance(layer, QAdd):
        ins = [iq_range(q, s) for q, s in zip(layer.iq, shapes)]
        rec["inputs"] = [{"min": lo.tolist(), "max": hi.tolist(), "width": w.tolist()} for lo, hi, w in ins]
        rec["output"] = {"min": float(sum(i[0] for i in ins).min()), "max": float(sum(i[1] for i in ins).max())}
        return rec
    lo, hi, w = iq_range(layer.iq, shapes)
    rec["input"] = {"min": lo.tolist(), "max": hi.tolist(), "width": w.tolist()}
    if isinstance(layer, QBatchNormDense):
        k, b = layer.get_fused_qkernel_and_qbias(layer.moving_mean, layer.moving_variance)
        rec["kernel"], rec["bias"] = np_(k).tolist(), np_(b).tolist()
    elif isinstance(layer, QBatchNormalization):
        k, b = layer.qscaler_and_qoffset
        rec["kernel"], rec["bias"] = np_(k).tolist(), np_(b).tolist()
    else:
        rec["kernel"] = np_(layer.qkernel).tolist()
        if layer.bias is not None:
            rec["bias"] = np_(layer.qbias).tolist()
    lo_acc, hi_acc = extremes(layer, lo, hi)
    rec["accumulator"] = {"min": lo_acc.tolist(), "max": hi_acc.tolist()}
    return rec


def hls4ml_types(model):
    """What hls4ml 1.3.0 derives for each layer (BitExact, no precision configuration)."""
    import hls4ml

    with tempfile.TemporaryDirectory() as d:
        hm = hls4ml.converters.convert_from_keras_model(model, output_dir=d, backend="Vitis")
    out = {}
    for layer in hm.get_layers():
        rec = {"class": layer.class_name}
        for key in ("accum_t", "weight_t", "bias_t"):
            t = layer.get_attr(key)
            if t is not None and hasattr(t, "precision"):
                rec[key] = str(t.precision)
        var = layer.get_output_variable()
        rec["result_t"] = str(var.type.precision)
        out[layer.name] = rec
    return out


def random_biases(model, keep_zero=()):
    """Nonzero biases (a fresh layer's are all zero), except in ``keep_zero`` (a degenerate case)."""
    for layer in model.layers:
        bias = getattr(layer, "bias", None)
        if bias is not None and layer.name not in keep_zero and not isinstance(layer, QBatchNormalization):
            bias.assign(RNG.normal(0, 0.6, bias.shape).astype(np.float32))


def main(names):
    path = HERE / "expected.json"
    expected = json.loads(path.read_text()) if path.exists() else {}
    for name in names:
        keras.utils.clear_session()
        model, data = MODELS[name]()
        random_biases(model, keep_zero=("fc",))
        trace_minmax(model, data.astype(np.float32), batch_size=len(data))
        keras_file = HERE / f"{name}.keras"
        model.save(keras_file)
        layers = {l.name: layer_record(l) for l in model.layers if not isinstance(l, keras.layers.InputLayer)}
        expected[name] = {"layers": layers, "hls4ml": hls4ml_types(model)}
        print(f"{keras_file.name}: {sum(int(np.prod(w.shape)) for w in model.weights)} values")
    path.write_text(json.dumps(expected, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:] or list(MODELS))
