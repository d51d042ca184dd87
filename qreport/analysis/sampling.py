"""The `conservative` and `sampled` accumulator methods, from a user sample.

The model is run layer by layer (inference mode) over the sample in
batches; at every weight layer the real input is captured and the
accumulator the hardware computes (unscaled quantized kernel times the
input, plus bias / scale, before any activation or output quantizer) is
evaluated in float64, which is exact for accumulators up to 53 bits.

The sample streams: it may be a memory-mapped array of any length; a batch
is sized so that its tensors fit :data:`BUDGET`; each layer's tensors are
dropped once used, and only running minima and maxima are kept.  Memory
stays flat as the sample grows, and time grows linearly with it.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from . import graph as g
from . import layers
from .accumulator import bound_chain, observed
from ..errors import AnalysisError
from .geometry import Part, per_axis
from .kernels import quantize


#: bytes a batch's tensors may take (its rows are chosen for it)
BUDGET = 128 << 20


def _check_sample(graph: g.FlatGraph, sample) -> list[np.ndarray]:
    """The arrays, their shapes and types checked; values are checked batch by batch."""
    arrays = list(sample)
    if len(arrays) != len(graph.input_keys):
        raise AnalysisError(f"sample has {len(arrays)} arrays, the model has "
                            f"{len(graph.input_keys)} inputs ({', '.join(graph.input_names)})")
    out, n = [], None
    for name, shape, a in zip(graph.input_names, graph.input_shapes, arrays):
        if not (hasattr(a, "shape") and hasattr(a, "dtype")):   # rows read lazily stay so
            a = np.asarray(a)
        if a.dtype.kind not in "fiub":
            raise AnalysisError(f"sample for input {name!r} has dtype {a.dtype}; numbers expected")
        want = tuple(shape[1:])
        if a.shape[1:] != want and a.shape == want:
            a = np.asarray(a)[None]
        if a.ndim != len(shape) or any(w is not None and w != d for w, d in zip(want, a.shape[1:])):
            raise AnalysisError(f"sample for input {name!r} has shape {a.shape}; "
                                f"expected (N, {', '.join(str(d) for d in want)})")
        if n is not None and a.shape[0] != n:
            raise AnalysisError("sample arrays have different numbers of rows")
        n = a.shape[0]
        out.append(a)
    if not n:
        raise AnalysisError("sample is empty")
    return out


def _accumulate(d, p: Part, x: np.ndarray) -> np.ndarray:
    """The accumulator values of part p of layer d on input x (channels last), float64."""
    import keras

    k = p.native.astype(np.float64)
    x = np.asarray(x, dtype=np.float64)
    family = d.kind.family
    if family is layers.DENSE:
        y = np.tensordot(x, k, axes=([-1], [0]))
    elif p.part == "pointwise":
        y = np.tensordot(x, k.reshape(k.shape[-2], k.shape[-1]), axes=([-1], [0]))
    else:
        n = k.ndim - 2
        strides = per_axis(d.config["strides"], n)
        dil = per_axis(d.config.get("dilation_rate", 1), n)
        pad = d.config["padding"]
        if pad == "causal":
            x = np.pad(x, [(0, 0), ((k.shape[0] - 1) * dil[0], 0), (0, 0)])
            pad = "valid"
        if family is layers.TRANSPOSE:
            y = keras.ops.conv_transpose(x, k, strides=strides, padding=pad,
                                         output_padding=d.config.get("output_padding"),
                                         dilation_rate=dil)
        elif family in (layers.DEPTHWISE, layers.SEPARABLE):
            y = keras.ops.depthwise_conv(x, k, strides=strides, padding=pad, dilation_rate=dil)
        else:
            groups = d.config.get("groups", 1) or 1
            if groups == 1:
                y = keras.ops.conv(x, k, strides=strides, padding=pad, dilation_rate=dil)
            else:  # CPU kernels lack grouped convolution: one conv per group
                cg, og = k.shape[-2], k.shape[-1] // groups
                y = np.concatenate([np.asarray(keras.ops.conv(
                    x[..., i * cg:(i + 1) * cg], k[..., i * og:(i + 1) * og], strides=strides,
                    padding=pad, dilation_rate=dil)) for i in range(groups)], axis=-1)
        y = np.asarray(keras.ops.convert_to_numpy(y), dtype=np.float64)
    if p.bias is not None:
        y = y + p.bias
    return y


class Extremes:
    """Running extremes over (part of) the sample: layer inputs and accumulators per channel.

    Extremes of two row ranges merge exactly (:meth:`merge`): a sample can be
    cut into shards, run on several workers, and the result is the same.
    """

    def __init__(self, names):
        self.x = {n: [np.inf, -np.inf] for n in names}
        self.acc: dict[tuple[str, str], list[np.ndarray]] = {}

    def merge(self, other: Extremes) -> Extremes:
        """These extremes and another shard's, together (in place; returns self)."""
        for n, (lo, hi) in other.x.items():
            r = self.x.setdefault(n, [np.inf, -np.inf])
            r[0], r[1] = min(r[0], lo), max(r[1], hi)
        for k, (lo, hi) in other.acc.items():
            if k in self.acc:
                lo, hi = np.minimum(self.acc[k][0], lo), np.maximum(self.acc[k][1], hi)
            self.acc[k] = [lo, hi]
        return self

    def input(self, name: str, x: np.ndarray) -> None:
        r = self.x[name]
        r[0], r[1] = min(r[0], float(x.min())), max(r[1], float(x.max()))

    def accumulator(self, key: tuple[str, str], v: np.ndarray) -> None:
        flat = v.reshape(-1, v.shape[-1])
        lo, hi = flat.min(axis=0), flat.max(axis=0)
        if key in self.acc:
            lo, hi = np.minimum(self.acc[key][0], lo), np.maximum(self.acc[key][1], hi)
        self.acc[key] = [lo, hi]


def _rows(graph: g.FlatGraph, data, targets, batch_size: int) -> int:
    """Rows per batch: at most batch_size, and few enough that one batch's tensors fit BUDGET.

    Per row: the most float32 values alive at once while the graph runs
    (each tensor lives from its layer to its last consumer, as
    :func:`.graph.run` keeps them) and, for the largest weight layer, its
    input and each accumulator in float64; twice that, for the backend's own
    temporaries (measured: about 1.7 times the estimate on a conv model).
    """
    def size(shape) -> int:
        return int(np.prod([d or 1 for d in shape[1:]])) if isinstance(shape, tuple) and shape else 1

    by_name = {d.name: d for d in data}
    sizes = {k: size(s) for k, s in zip(graph.input_keys, graph.input_shapes)}
    for n in graph.nodes:
        d = by_name.get(n.name)
        for k in n.out_keys:
            sizes[k] = size(d.out_shape) if d is not None else 1
    last = {}
    for i, n in enumerate(graph.nodes):
        for k in n.in_keys:
            last[k] = i
    live = set(graph.input_keys)
    peak = sum(sizes.get(k, 1) for k in live)
    for i, n in enumerate(graph.nodes):
        live |= set(n.out_keys)
        peak = max(peak, sum(sizes.get(k, 1) for k in live))
        live -= {k for k in n.in_keys if last.get(k) == i and k not in graph.output_keys}
    layer = max((8 * (size(by_name[f.name].in_shape) + 2 * size(f.output_shape)) for f in targets),
                default=0)
    per_row = max(2 * (4 * peak + layer), 1)
    return max(1, min(batch_size, BUDGET // per_row))


def _targets(data, facts, work):
    by_name = {d.name: d for d in data}
    targets = [f for f in facts if f.name in work and f.operations
               and not any(p.weight.is_float for p in work[f.name].parts)]
    for f in targets:
        if by_name[f.name].config.get("data_format", "channels_last") == "channels_first":
            raise AnalysisError(f"{f.name}: channels_first layers are not supported with a sample",
                                option="sample")
    return by_name, targets


def with_samples(graph: g.FlatGraph, data, facts, work, input_qs, sample, batch_size: int,
                 progress=None, extremes: Extremes | None = None):
    """The layer facts with conservative/sampled accumulators filled in.

    The sample is passed through each input's assumed quantizer first: the
    hardware sees quantized inputs, and the bound assumes them.

    Args:
        graph: the flat graph (its layers are run).
        data: the seam's LayerData of every layer call, in graph order.
        facts: the layer facts of :func:`.propagate.propagate`.
        work: {layer name: WeightLayer} of the same.
        input_qs: the inputs' quantizers (None: float).
        sample: one array per model input (row-range readers stream).
        batch_size: at most this many rows run at once.
        progress: if given, told ``"sample K/N images"`` after each batch.
        extremes: the extremes of every shard of the sample, merged: the facts
            are filled from them and the model is not run.

    Raises:
        AnalysisError: the sample does not fit the model.
    """
    _, targets = _targets(data, facts, work)
    if extremes is None:
        extremes = observe(graph, data, facts, work, input_qs, sample, batch_size, progress)
    names = {f.name for f in targets}
    return [_fill(f, work[f.name].parts, extremes) if f.name in names else f for f in facts]


def observe(graph: g.FlatGraph, data, facts, work, input_qs, sample, batch_size: int,
            progress=None, rows: tuple[int, int] | None = None) -> Extremes:
    """The extremes over the sample's rows ``rows = (start, stop)`` (default: all of them).

    Raises:
        AnalysisError: the sample does not fit the model.
    """
    try:
        arrays = _check_sample(graph, sample)
    except AnalysisError as exc:
        raise AnalysisError(str(exc), option="sample") from None
    by_name, targets = _targets(data, facts, work)
    nodes = {n.name: n for n in graph.nodes}
    readers: dict[int, list] = {}
    for f in targets:
        readers.setdefault(nodes[f.name].in_keys[0], []).append(f)
    seen = Extremes([f.name for f in targets])

    def visit(key, value):
        for f in readers[key]:
            v = np.asarray(value, dtype=np.float64)
            seen.input(f.name, v)
            for p in work[f.name].parts:
                v = _accumulate(by_name[f.name], p, v)
                seen.accumulator((f.name, p.part), v)
                if p.scale is not None:  # the next part sees the scaled output
                    v = v * p.scale

    first, n = rows if rows is not None else (0, arrays[0].shape[0])
    n = min(n, arrays[0].shape[0])
    step = _rows(graph, data, targets, batch_size)
    with g.preserved_quantizers(graph):
        for start in range(first, n, step):
            batch = []
            for name, a, q in zip(graph.input_names, arrays, input_qs):
                b = np.asarray(a[start:min(start + step, n)], dtype=np.float32)
                if not np.all(np.isfinite(b)):
                    raise AnalysisError(f"sample for input {name!r} contains NaN or Inf",
                                        option="sample")
                batch.append(b if q is None else quantize(q, b)[0].astype(np.float32))
            g.run(graph, batch, set(readers), visit)
            if progress is not None:
                progress(f"sample {min(start + step, n) - first:,}/{n - first:,} images")
    return seen


def _fill(f, parts, seen: Extremes):
    lo, hi = seen.x[f.name]
    chain = bound_chain(list(parts), f.operations[0].input, lo, hi, name=f.name)
    new_ops = [dataclasses.replace(o, accumulator=observed(o.accumulator, cons,
                                                           *seen.acc[(f.name, p.part)]))
               for p, o, cons in zip(parts, f.operations, chain)]
    return dataclasses.replace(f, operations=tuple(new_ops))
