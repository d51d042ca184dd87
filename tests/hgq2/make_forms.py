"""Make the HGQ2 test models of every published form, and what they are checked against.

Run in a venv with hgq2 (0.1.5 or 0.2.0), jax and hls4ml 1.3.0 (``make hgq2-models``
runs it under both); hgq2 never enters qreport's venv.  For each model it writes
``<name>-<hgq2 version>.keras`` (and ``.h5`` where users publish that form) and
adds to ``expected-forms.json``, keyed by file:

- per weight layer (attention projections included, named ``<attention>/<part>``):
  HGQ2's quantized kernel and bias, its input quantizer's per-element min/max and
  widths, and the accumulator's per-channel extremes that the layer itself reaches
  on sign-built inputs (activation and output quantizer removed); a layer without
  an input quantizer reads the exact per-element range of what reaches it, built
  from the layers before it as HGQ2 computes them;
- per merge, sum, pooling or quantizer layer: the extremes it reaches on its
  inputs' per-element extremes (each is monotone in every input);
- HGQ2's stored EBOPs of every layer (its ``ebops``, tables and parts included);
- hls4ml 1.3.0's BitExact types and table sizes, or why it cannot convert the model.

The random state is fixed, so a rerun writes the same files.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")

import hgq  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
from hgq.config import QuantizerConfig  # noqa: E402
from hgq.layers import (QAdd, QAveragePooling1D, QDense, QEinsumDense,  # noqa: E402
                        QEinsumDenseBatchnorm, QGlobalAveragePooling1D, QMaximum, QMaxPooling1D,
                        QMeanPow2, QMultiHeadAttention, QLinformerAttention, QSoftmax, QSum,
                        QUnaryFunctionLUT, QConv1D)
from hgq.quantizer import Quantizer  # noqa: E402
from hgq.utils import trace_minmax  # noqa: E402
from keras import ops  # noqa: E402

HERE = Path(__file__).resolve().parent
VERSION = hgq.__version__.split("+")[0]
RNG = np.random.default_rng(20261205)


def np_(x):
    return np.asarray(ops.convert_to_numpy(x), dtype=np.float64)


def widths_kbi(q, shape, b=(1, 6), i=(-1, 1), prune=0.0):
    qi = q.quantizer
    bb = RNG.integers(b[0], b[1] + 1, size=qi._b.shape).astype(np.float32)
    if prune:
        bb[RNG.random(bb.shape) < prune] = 0
    qi._b.assign(bb)
    qi._i.assign(RNG.integers(i[0], i[1] + 1, size=qi._i.shape).astype(np.float32))


def widths_f(q, f=(1, 5)):
    qi = q.quantizer
    qi._f.assign(RNG.integers(f[0], f[1] + 1, size=qi._f.shape).astype(np.float32))


def weight_widths(model):
    for l in model.layers:
        for sub in [l] + [getattr(l, a, None) for a in ("_query_dense", "_key_dense", "_value_dense",
                                                        "_output_dense", "_lin_k_proj", "_lin_v_proj")]:
            if sub is None or not hasattr(sub, "kq"):
                continue
            q = sub.kq
            if hasattr(q.quantizer, "_b"):
                widths_kbi(q, None, prune=0.15)
            else:
                widths_f(q, (0, 5))
            if getattr(sub, "bq", None) is not None:
                widths_kbi(sub.bq, None, (2, 8), (0, 2)) if hasattr(sub.bq.quantizer, "_b") \
                    else widths_f(sub.bq, (1, 6))
            if getattr(sub, "bias", None) is not None:
                sub.bias.assign(RNG.normal(0, 0.6, sub.bias.shape).astype(np.float32))
            if hasattr(sub, "moving_mean"):
                sub.moving_mean.assign(RNG.normal(0, 0.5, sub.moving_mean.shape).astype(np.float32))
                sub.moving_variance.assign(RNG.uniform(0.3, 2.0, sub.moving_variance.shape).astype(np.float32))
        iqs = []
        if getattr(l, "enable_iq", False) and hasattr(l, "_iq"):
            iqs = list(l._iq) if not hasattr(l._iq, "quantizer") else [l._iq]
        for q in iqs:
            if hasattr(q.quantizer, "_f"):
                widths_f(q, (1, 5))


# ------------------------------------------------------------------ the models

def einsum_model():
    x = keras.Input((8, 3), name="particles")
    a = QEinsumDenseBatchnorm("bnc,cC->bnC", (8, 5), bias_axes="C", activation="relu", name="embed")(x)
    b = QEinsumDense("bnc,nN->bNc", (6, 5), bias_axes="N", name="mix")(a)
    c = QEinsumDense("bnc,ncC->bnC", (6, 4), bias_axes="C", activation="relu", name="per_particle")(b)
    d = QEinsumDense("bnc,n->bc", (4,), name="pool")(c)
    e = QEinsumDenseBatchnorm("bc,cC->bC", (4,), bias_axes="C", activation="relu", name="head")(d)
    f = QDense(3, name="out")(e)
    return keras.Model(x, f, name="hgq_einsum"), RNG.normal(0, 1.0, (256, 8, 3))


def seq_model():
    m = keras.Sequential([keras.Input((16,)),
                          QEinsumDenseBatchnorm("bc,cC->bC", (8,), bias_axes="C", activation="relu", name="d1"),
                          QEinsumDenseBatchnorm("bc,cC->bC", (6,), bias_axes="C", activation="relu", name="d2"),
                          QDense(5, name="d3")], name="hgq_seq")
    return m, RNG.normal(0, 1.0, (256, 16))


def ops_model():
    p = keras.Input((6, 4), name="p")
    ev = keras.Input((3,), name="ev")
    iq0 = QuantizerConfig("kif", place="datalane", k0=0, i0=1, f0=0, overflow_mode="WRAP")
    c = QConv1D(4, 2, padding="same", iq_conf=iq0, name="conv")(p)
    s = QSum(axes=1, name="sum")(c)
    m = QMeanPow2(axes=1, name="mean")(c)
    ap = QAveragePooling1D(2, name="avgpool")(c)
    mp = QMaxPooling1D(3, name="maxpool")(c)
    g = QGlobalAveragePooling1D(name="gap")(ap)
    sl = c[:, 1:4, :]
    r = keras.layers.Reshape((12,), name="reshape")(sl)
    pm = keras.layers.Permute((2, 1), name="permute")(mp)
    fl = keras.layers.Flatten(name="flat")(pm)
    pool = keras.layers.MaxPooling1D(2, name="plain_pool")(c)
    fl2 = keras.layers.Flatten(name="flat2")(pool)
    q = Quantizer(QuantizerConfig("kif", place="datalane"), name="quant")(ev)
    cat = keras.layers.Concatenate(name="cat")([s, m, g, q])
    cat = cat + 0.5
    cat = keras.layers.Activation("relu", name="act")(cat)
    d1 = QDense(6, name="left")(cat)
    d2 = QDense(6, enable_oq=True, name="right")(r)
    mx = QMaximum(name="max")([d1, d2])
    o1 = QDense(3, enable_iq=False, name="after_max")(mx)
    ad = QAdd(name="merge_add")([fl, fl2[:, :8]])
    o2 = QDense(2, name="after_add")(ad)
    return keras.Model([p, ev], [o1, o2], name="hgq_ops"), \
        [RNG.normal(0, 1.0, (256, 6, 4)), RNG.normal(0, 1.0, (256, 3))]


def tables_model():
    x = keras.Input((6,), name="x")
    a = QDense(4, name="logits")(x)
    s = QSoftmax(name="softmax")(a)
    t = QUnaryFunctionLUT("sigmoid", allow_heterogeneous_table=False, name="sigmoid")(x)
    o = QDense(2, name="out")(t)
    return keras.Model(x, [s, o], name="hgq_tables"), RNG.normal(0, 1.0, (256, 6))


def attention_model():
    x = keras.Input((4, 3), name="tokens")
    e = QDense(4, name="embed")(x)
    a = QMultiHeadAttention(num_heads=2, key_dim=3, name="mha")(e, e)
    b = QLinformerAttention(num_heads=1, key_dim=2, lin_kv_proj_dim=2, name="lin")(a, a)
    f = keras.layers.Flatten(name="flat")(b)
    o = QDense(2, name="out")(f)
    return keras.Model(x, o, name="hgq_attention"), RNG.normal(0, 1.0, (256, 4, 3))


MODELS = {"hgq_einsum": (einsum_model, True), "hgq_seq": (seq_model, True),
          "hgq_ops": (ops_model, False), "hgq_tables": (tables_model, False),
          "hgq_attention": (attention_model, False)}


# ------------------------------------------------------------------ what HGQ2 computes

def quantizer_range(q, shape):
    s = (1,) + tuple(shape[1:])
    lo, hi = np_(q.min_(s))[0], np_(q.max_(s))[0]
    k, i, f = (np_(q.quantizer.bw_mapper.bw_to_x(v, s))[0] for v in q.quantizer.kif)
    return lo, hi, np.where(k + i + f > 0, k + i + f, 0)


class Linear:
    """A weight layer run with its activation and output quantizer removed."""

    def __init__(self, layer):
        self.layer = layer

    def __call__(self, x):
        l = self.layer
        saved = getattr(l, "activation", None), getattr(l, "_enable_oq", False)
        l.activation = keras.activations.linear
        l._enable_oq = False
        try:
            return np_(l(ops.convert_to_tensor(x.astype(np.float32)), training=False))
        finally:
            l.activation, l._enable_oq = saved


def extremes(fn, lo, hi):
    """Per output channel (last axis), min and max of a linear fn over the input box."""
    shape, n = lo.shape, lo.size
    y0 = fn(np.zeros((1,) + shape))[0]
    v = np.where(hi.ravel() != 0, hi.ravel(), lo.ravel())
    basis = np.zeros((n, n))
    basis[np.arange(n), np.arange(n)] = v
    resp = fn(basis.reshape((n,) + shape)).reshape(n, -1) - y0.ravel()
    g = np.divide(resp, v[:, None], out=np.zeros_like(resp), where=v[:, None] != 0)
    out = []
    for sign in (1, -1):
        xs = np.where(((sign * g) >= 0).T, hi.ravel(), lo.ravel())
        ys = fn(xs.reshape((-1,) + shape)).reshape(xs.shape[0], -1)
        out.append(ys[np.arange(ys.shape[0]), np.arange(ys.shape[0])].reshape(y0.shape))
    top, bottom = out
    c = y0.shape[-1] if y0.ndim else 1
    return bottom.reshape(-1, c).min(axis=0), top.reshape(-1, c).max(axis=0), bottom, top


def kernel_and_bias(l):
    if isinstance(l, QEinsumDenseBatchnorm):
        k, b = l.get_fused_qkernel_and_qbias(False, l.moving_mean, l.moving_variance)
        return np_(k), np_(b)
    return np_(l.qkernel), (np_(l.qbias) if getattr(l, "bias", None) is not None else None)


def weight_record(l, box=None):
    rec = {"class": type(l).__name__}
    k, b = kernel_and_bias(l)
    rec["kernel"] = k.tolist()
    if b is not None:
        rec["bias"] = b.tolist()
    shape = l.input.shape if hasattr(l, "input") and not isinstance(l.input, list) else l._in_shape
    if l.enable_iq:
        lo, hi, w = quantizer_range(l.iq, shape)
        rec["input"] = {"min": lo.tolist(), "max": hi.tolist(), "width": w.tolist()}
    else:
        lo, hi = box
        rec["input_reaching"] = {"min": lo.tolist(), "max": hi.tolist()}
    a, z, bottom, top = extremes(Linear(l), lo, hi)
    rec["accumulator"] = {"min": a.tolist(), "max": z.tolist()}
    return rec, (bottom, top)


def monotone_record(l, ins):
    """A layer monotone in every input: its extremes on its inputs' per-element extremes."""
    call = (lambda xs: np_(l([ops.convert_to_tensor(x[None].astype(np.float32)) for x in xs],
                             training=False))[0]) if len(ins) > 1 else \
        (lambda xs: np_(l(ops.convert_to_tensor(xs[0][None].astype(np.float32)), training=False))[0])
    lo, hi = call([i[0] for i in ins]), call([i[1] for i in ins])
    return {"class": type(l).__name__, "output": {"min": float(lo.min()), "max": float(hi.max())}}, (lo, hi)


def layer_inputs(l):
    iqs = list(l._iq) if hasattr(l, "_iq") and not hasattr(l._iq, "quantizer") else [l._iq]
    shapes = [t.shape for t in l.input] if isinstance(l.input, list) else [l.input.shape]
    return [quantizer_range(q, s)[:2] for q, s in zip(iqs, shapes)]


def records(model):
    out, maps = {}, {}
    for l in model.layers:
        if isinstance(l, keras.layers.InputLayer):
            continue
        if isinstance(l, (QMultiHeadAttention, QLinformerAttention)):
            parts = [("lin_k_proj", "_lin_k_proj"), ("lin_v_proj", "_lin_v_proj"), ("query", "_query_dense"),
                     ("key", "_key_dense"), ("value", "_value_dense"),
                     ("attention_output", "_output_dense")]
            for name, attr in parts:
                sub = getattr(l, attr, None)
                if sub is None:
                    continue
                if not sub.enable_iq:
                    continue
                sub._in_shape = (None,) + tuple(sub.iq.quantizer._k.shape[1:])
                out[f"{l.name}/{name}"], _ = weight_record(sub)
                out[f"{l.name}/{name}"]["ebops"] = int(np_(sub.ebops))
            # each part's own stored EBOPs (0.2.0's Linformer ``ebops`` leaves some parts out);
            # the attention's own (its two products) is shown on its scores
            out[f"{l.name}/softmax"] = {"class": "QSoftmax", "ebops": int(np_(l._softmax.ebops))}
            out[f"{l.name}/scores"] = {"class": "QEinsum", "ebops": int(np_(l._ebops))}
            out[l.name] = {"class": type(l).__name__}
            continue
        rec = None
        if hasattr(l, "kq") and not isinstance(l, keras.layers.BatchNormalization):
            box = None
            if not l.enable_iq:
                box = maps[l.input._keras_history[0].name]
            rec, m = weight_record(l, box)
            maps[l.name] = m
        elif isinstance(l, (QAdd, QMaximum, QSum, QMeanPow2, QAveragePooling1D, QMaxPooling1D,
                            QGlobalAveragePooling1D)):
            rec, maps[l.name] = monotone_record(l, layer_inputs(l))
        elif isinstance(l, Quantizer):
            lo, hi, w = quantizer_range(l, l.input.shape)
            rec = {"class": "Quantizer", "output": {"min": float(lo.min()), "max": float(hi.max())}}
        if rec is not None:
            if getattr(l, "enable_ebops", False) or isinstance(l, QSoftmax):
                rec["ebops"] = int(np_(l.ebops))
            out[l.name] = rec
        elif getattr(l, "enable_ebops", False):
            out[l.name] = {"class": type(l).__name__, "ebops": int(np_(l.ebops))}
    return out


def hls4ml_types(model):
    """What hls4ml 1.3.0 derives for each layer (BitExact, no precision configuration)."""
    import hls4ml

    try:
        with tempfile.TemporaryDirectory() as d:
            hm = hls4ml.converters.convert_from_keras_model(model, output_dir=d, backend="Vitis",
                                                            allow_da_fallback=False)
    except Exception as exc:  # noqa: BLE001  recorded: hls4ml cannot convert this model
        return {"error": f"{type(exc).__name__}: {str(exc)[:200]}"}
    out = {}
    for layer in hm.get_layers():
        rec = {"class": layer.class_name}
        for key in ("accum_t", "weight_t", "bias_t", "exp_table_t", "inv_table_t", "table_t"):
            t = layer.get_attr(key)
            if t is not None and hasattr(t, "precision"):
                rec[key] = str(t.precision)
        for key in ("exp_table_size", "inv_table_size"):
            if layer.get_attr(key) is not None:
                rec[key] = int(layer.get_attr(key))
        if layer.get_attr("table_data") is not None:
            rec["table_size"] = int(np.size(layer.get_attr("table_data")))
        rec["result_t"] = str(layer.get_output_variable().type.precision)
        out[layer.name] = rec
    return out


def deflate(path):
    """The archive re-zipped with deflate: the same members, a fraction of the bytes."""
    import zipfile

    with zipfile.ZipFile(path) as z:
        members = [(i, z.read(i.filename)) for i in z.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for info, data in members:
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)


def main(names):
    path = HERE / "expected-forms.json"
    expected = json.loads(path.read_text()) if path.exists() else {}
    for name in names:
        if name == "hgq_attention" and VERSION.startswith("0.1."):
            # hgq2 0.1.5's attention passes parallelization_factor to a QEinsumDense that does
            # not take it: it cannot be built (published 0.1.x attention files still read)
            print(name, "skipped: hgq2", VERSION, "cannot build it")
            continue
        keras.utils.clear_session()
        make, legacy = MODELS[name]
        model, data = make()
        weight_widths(model)
        data = [np.asarray(d, np.float32) for d in data] if isinstance(data, list) else \
            data.astype(np.float32)
        trace_minmax(model, data, batch_size=256)
        files = [f"{name}-{VERSION}.keras"] + ([f"{name}-{VERSION}.h5"] if legacy else [])
        for f in files:
            model.save(HERE / f)
            if f.endswith(".keras"):
                deflate(HERE / f)
        rec = {"hgq2": VERSION, "keras": keras.__version__, "layers": records(model),
               "hls4ml": hls4ml_types(model)}
        for f in files:
            expected[f] = rec
        print(name, files, sum(int(np.prod(w.shape)) for w in model.weights), "values")
    path.write_text(json.dumps(expected, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:] or list(MODELS))
