"""HGQ2 and Keras layers without a kernel: what each does to its inputs' element maps.

Merges, sums, pooling, shape operations, slices, constants, activations,
standalone and output quantizers, the softmax and unary-function tables,
and an einsum of two tensors (an attention's scores and combination).
"""

from __future__ import annotations

from math import prod
from types import SimpleNamespace

import numpy as np

from ...errors import AnalysisError
from ..facts import Table
from . import elements as el
from .quant import bit_widths, broadcast, element_range

MERGES = {"QAdd": "add", "Add": "add", "QSubtract": "subtract", "Subtract": "subtract",
          "QMultiply": "multiply", "Multiply": "multiply", "QMaximum": "maximum",
          "Maximum": "maximum", "QMinimum": "minimum", "Minimum": "minimum",
          "QAveragePow2": "average", "Average": "average"}


def _axis(a: int, rank: int) -> int:
    """A batch-tensor axis as an axis of one sample."""
    return a - 1 if a > 0 else rank + a


def _result(out=None, **kw):
    base = dict(out=out, out_shape=None, config="", notes=[], dists=[], tables=[], bounds=None,
                map_frac=None, bops=None)
    base.update(kw)
    return SimpleNamespace(**base)


def compute(raw, kind: str, maps: list, in_shapes: list):
    """The layer's output map (None: float) and what else it contributes."""
    c, cls, name = raw.config, raw.class_name, raw.name
    m = maps[0] if maps else None
    rank = len(in_shapes[0]) - 1
    if kind == "identity":
        return _result(m, out_shape=in_shapes[0], config="unchanged")
    if any(x is None for x in maps) and kind not in ("quantizer", "softmax", "lut"):
        return _result(None, out_shape=_shape(raw, kind, in_shapes), notes=[
            f"{name}: its input is float (no quantizer before it): output treated as float"])
    if kind == "merge":
        op = MERGES[cls]
        scale = None
        if op == "average":
            n = len(maps)
            scale = 2.0 ** round(np.log2(1.0 / n)) if cls == "QAveragePow2" else 1.0 / n
        return _result(el.merge(op, maps, scale), config=f"{op} of {len(maps)} inputs, per element")
    if kind == "concat":
        axis = _axis(int(c.get("axis", -1)), rank)
        return _result(el.concatenate(maps, axis), config="concatenation, per element")
    if kind == "sum":
        axes = c.get("axes", -1)
        axes = tuple(_axis(int(a), rank) for a in (axes if isinstance(axes, list) else [axes]))
        scale = float(c.get("scale", 1.0))
        if cls == "QMeanPow2":
            scale = 2.0 ** round(np.log2(1.0 / prod(m.shape[a] for a in axes)))
        out = el.reduce_sum(m, axes, bool(c.get("keepdims", False)), scale)
        return _result(out, config=f"sum over axes {[a + 1 for a in axes]} × {scale:g}")
    if kind == "pool":
        return _pool(raw, m, rank)
    if kind == "shape":
        return _result(_reshaped(raw, m), config="moved, per element")
    if kind == "getitem":
        key = raw.args[1] if len(raw.args) > 1 else None
        return _result(el.getitem(m, key), config="a slice, per element")
    if kind == "opconst":
        return _constant(raw, maps)
    if kind == "activation":
        act = c.get("activation", "relu") if cls == "Activation" else "relu"
        act = act.get("config") if isinstance(act, dict) else act
        if cls == "ReLU" and (c.get("max_value") is not None or c.get("negative_slope") or
                              c.get("threshold")):
            act = "relu with parameters"
        if act == "linear":
            return _result(m, config="linear")
        if act == "relu":
            return _result(el.relu(m), config="relu, per element")
        return _result(None, out_shape=in_shapes[0],
                       notes=[f"{name}: activation {act!r} is not quantized: output treated as float"])
    if kind == "float":
        return _result(None, out_shape=in_shapes[0],
                       notes=[f"{name}: {cls} is not quantized: output treated as float"])
    if kind == "quantizer":
        q = raw.quantizers["q"]
        s = tuple(in_shapes[0][1:])
        out, wraps = el.quantized(q, m, s, name)
        k, i, f = broadcast(q, s, name)
        d = bit_widths("output", q, k, i, f, *element_range(q, k, i, f))
        notes = [f"{name}: a WRAP quantizer narrower than what reaches it in {wraps} elements: "
                 "a value outside wraps silently"] if wraps else []
        return _result(out, config="quantized, per element", dists=[d], notes=notes)
    if kind == "softmax":
        return _softmax(raw, m, in_shapes[0])
    if kind == "lut":
        return _lut(raw, in_shapes[0])
    if kind == "einsum2":
        return _products(raw, maps, in_shapes)
    raise AnalysisError(f"{name}: layer kind {kind!r} is not analysed")


def _shape(raw, kind, in_shapes):
    return in_shapes[0]


def _reshaped(raw, m):
    c, cls = raw.config, raw.class_name
    if cls == "Flatten":
        return m.apply(lambda a: a.reshape(-1))
    if cls == "Permute":
        dims = [int(x) - 1 for x in c["dims"]]
        return m.apply(lambda a: np.transpose(a, dims))
    if cls == "Transpose":
        axes = raw.args[1] if len(raw.args) > 1 else c.get("axes")
        if axes is None:
            raise AnalysisError(f"{raw.name}: a transpose without axes is not read")
        if list(axes)[0] != 0:
            raise AnalysisError(f"{raw.name}: a transpose across the batch axis is not read")
        return m.apply(lambda a: np.transpose(a, [int(x) - 1 for x in list(axes)[1:]]))
    target = c.get("target_shape") if cls == "Reshape" and "target_shape" in c else \
        (raw.args[1] if len(raw.args) > 1 else c.get("newshape"))
    target = list(target)
    if cls != "Reshape" or "target_shape" not in c:   # ops.reshape names the batch axis
        target = target[1:]
    try:
        return m.apply(lambda a: a.reshape(target))
    except ValueError:
        raise AnalysisError(f"{raw.name}: cannot reshape {m.shape} into {tuple(target)}") from None


def _pool(raw, m, rank):
    c, cls = raw.config, raw.class_name
    glob = "Global" in cls
    mode = "max" if "Max" in cls else "average"
    n = rank - 1
    if c.get("data_format", "channels_last") not in (None, "channels_last"):
        raise AnalysisError(f"{raw.name}: channels_first pooling is not read")
    size = tuple(c.get("pool_size") or (1,) * n) if not glob else ()
    size = size if len(size) == n or glob else size * n
    strides = c.get("strides") or size
    strides = tuple(strides) if isinstance(strides, (list, tuple)) else (strides,) * n
    out = el.pool(m, mode, size, strides, c.get("padding", "valid"), glob,
                  bool(c.get("keepdims", False)))
    notes = []
    if mode == "average" and np.isnan(out.f).any():
        notes.append(f"{raw.name}: averaging over a window that is not a power of two leaves the "
                     "fixed-point grid: the output has no exact width")
    return _result(out, config=f"{mode} pooling, per element", notes=notes)


def _constant(raw, maps):
    a = raw.args
    tensors = [x for x in a if not isinstance(x, (int, float))]
    consts = [x for x in a if isinstance(x, (int, float)) and not isinstance(x, bool)]
    if len(tensors) == 2 and not consts:
        op = {"Add": "add", "Subtract": "subtract", "Multiply": "multiply"}[raw.class_name]
        return _result(el.merge(op, maps), config=f"{op}, per element")
    if len(tensors) != 1 or len(consts) != 1:
        raise AnalysisError(f"{raw.name}: the operation {raw.class_name} of "
                            f"{len(tensors)} tensors and {len(consts)} constants is not read")
    reverse = not isinstance(a[0], (int, float))
    out = el.constant(maps[0], raw.class_name, float(consts[0]), reverse=not reverse)
    return _result(out, config=f"{raw.class_name.lower()} {consts[0]:g}, per element")


def table(name: str, iq, oq, shape, what: str, address: int | None = None) -> Table:
    """A lookup table addressed by ``iq`` (its widest element) with ``oq``'s entries."""
    def fmt(q):
        k, i, f = (int(np.max(a)) for a in (q.k, q.i, q.f))
        return f"{'' if k else 'u'}fixed<{k + i + f},{k + i}>"
    if address is None:
        k, i, f = (np.max(a) for a in (iq.k, iq.i, iq.f))
        address = max(int(k + i + f), 1)
    width = max(int(np.max(oq.k + oq.i + oq.f)), 1)
    return Table(name=name, input_bits=int(address), depth=2 ** int(address), width=width,
                 input_type=fmt(iq) if iq is not None else what, output_type=fmt(oq))


def _softmax(raw, m, in_shape):
    """A softmax's two tables (HGQ2's stable form: exp of max − x, then 1 / Σ)."""
    parts = raw.parts
    exp, inv = parts["exp_table"], parts["inv_table"]
    e_iq, e_oq = exp.quantizers.get("iq"), exp.quantizers["oq"]
    i_iq, i_oq = inv.quantizers["iq"], inv.quantizers["oq"]
    stable = raw.config.get("stable", True) is not False
    notes, tables = [], []
    if e_iq is not None:
        # hls4ml sizes the exp table by the input quantizer's bits: b, and k under SAT
        k, i, f = (np.asarray(a) for a in (e_iq.k, e_iq.i, e_iq.f))
        bits = np.maximum(i + f, 0) + (k if e_iq.overflow_mode == "SAT" else 0)
        tables.append(table("exp", e_iq, e_oq, in_shape, "", int(bits.max())))
    elif m is not None:
        w = int(el.element_widths(m).max())
        tables.append(table("exp", None, e_oq, in_shape, f"the input ({w} bits)", w))
    else:
        notes.append(f"{raw.name}: the exp table reads a float input: its size is unknown")
    tables.append(table("inv", i_iq, i_oq, in_shape, ""))
    shape = tuple(in_shape[1:])
    elo, ehi = element_range(e_oq, *(np.max(a) for a in (e_oq.k, e_oq.i, e_oq.f)))
    ilo, ihi = element_range(i_oq, *(np.max(a) for a in (i_oq.k, i_oq.i, i_oq.f)))
    c = [elo * ilo, elo * ihi, ehi * ilo, ehi * ihi]
    f = float(np.max(e_oq.f) + np.max(i_oq.f))
    out = el.ElementMap(np.full(shape, min(c)), np.full(shape, max(c)), np.full(shape, f))
    dists = []
    if "oq" in raw.quantizers:
        q = raw.quantizers["oq"]
        out, _ = el.quantized(q, out, shape, raw.name)
        k, i, f = broadcast(q, shape, raw.name)
        dists.append(bit_widths("output", q, k, i, f, *element_range(q, k, i, f)))
    if not stable:
        notes.append(f"{raw.name}: an unstable softmax (exp of x, not of max − x)")
    return _result(out, config="exp table × inverse table" + (", quantized" if dists else ""),
                   notes=notes, dists=dists, tables=tables)


#: Keras activations a unary table may hold, evaluated as Keras does (float32): a
#: function named in the file is looked up here, never imported
FUNCTIONS = {
    "sigmoid": lambda x: 1 / (1 + np.exp(-x)), "tanh": np.tanh, "relu": lambda x: np.maximum(x, 0),
    "linear": lambda x: x, "exponential": np.exp, "softplus": lambda x: np.logaddexp(0, x),
    "softsign": lambda x: x / (1 + np.abs(x)), "silu": lambda x: x / (1 + np.exp(-x)),
    "swish": lambda x: x / (1 + np.exp(-x)), "elu": lambda x: np.where(x > 0, x, np.expm1(x)),
    "hard_sigmoid": lambda x: np.clip(x / 6 + 0.5, 0, 1),
}


def _lut(raw, in_shape):
    """A unary function as a table: addressed by its input quantizer, entries of its output's.

    HGQ2 does not store the entries; hls4ml computes them (the function on every
    input value, through the output quantizer) and keeps the type they need.  A
    Keras activation qreport knows by name is evaluated the same way; any other is
    bounded by the output quantizer's declared range.
    """
    from .quant import quantize, values_fact

    iq, oq = raw.quantizers.get("iq"), raw.quantizers.get("oq")
    if iq is None or oq is None:
        raise AnalysisError(f"{raw.name}: a unary function table without its input and output "
                            "quantizers is not read (hls4ml converts only that form)")
    act = raw.config.get("activation")
    act = str(act.get("config") if isinstance(act, dict) else act)
    shape = tuple(in_shape[1:])
    out = el.declared(oq, shape, raw.name)
    k, i, f = broadcast(oq, shape, raw.name)
    d = bit_widths("output", oq, k, i, f, out.lo, out.hi)
    t = table(act, iq, oq, in_shape, "")
    fn = FUNCTIONS.get(act)
    if fn is None or np.size(oq.k) != 1:
        return _result(out, config=f"table of {act}: its output quantizer's range", tables=[t],
                       dists=[d], notes=[f"{raw.name}: the {act} table's entries are not stored "
                                         "and qreport does not evaluate it: its output is bounded "
                                         "by its output quantizer's range"])
    ik, ii, fi = (int(np.max(a)) for a in (iq.k, iq.i, iq.f))
    grid = -ik * 2.0 ** ii + np.arange(t.depth) * 2.0 ** -fi
    with np.errstate(over="ignore"):
        vals = fn(grid.astype(np.float32)).astype(np.float32)
    ok, oi, of = (np.reshape(a, -1)[:1] for a in (oq.k, oq.i, oq.f))
    q = quantize(oq, vals, np.broadcast_to(ok, vals.shape), np.broadcast_to(oi, vals.shape),
                 np.broadcast_to(of, vals.shape))
    vfact, vfrac = values_fact(q, f"{act} table entries")
    t = Table(name=act, input_bits=t.input_bits, depth=t.depth, width=vfact.bits,
              input_type=t.input_type, output_type=vfact.fixed.replace("ap_", ""), evaluated=True)
    lo, hi = float(q.min()), float(q.max())
    out = el.ElementMap(np.full(shape, lo), np.full(shape, hi), np.full(shape, float(vfrac)))
    return _result(out, config=f"table of {act}, its {t.depth} entries", tables=[t], dists=[d])


def _products(raw, maps, in_shapes):
    """An einsum of two tensors: each output's exact extremes, Σ of its products' extremes."""
    from ..einsum import parse, products

    a, b = maps
    e = parse(raw.config["equation"], tuple(in_shapes[0][1:]), tuple(in_shapes[1][1:]), batch="both")
    out = el.products(e, a, b)
    f = out.f[np.isfinite(out.f) & (out.f != el.NO_GRID)]
    bops = int(products(e, el.element_widths(a), el.element_widths(b)))
    notes = []
    if raw.name.endswith("/combine"):
        notes.append(f"{raw.name}: bounded with every attention weight free in the softmax's "
                     "output range (they sum to about 1): safe, not attained")
    return _result(out, config="einsum of two tensors, per element", notes=notes,
                   bounds=(out.lo, out.hi), map_frac=int(f.max()) if f.size else None, bops=bops)
