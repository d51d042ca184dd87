"""HGQ2 ``.keras`` archives read directly: no hgq2, no Keras, nothing in the file run.

hgq2 cannot share qreport's install (its wheel puts a ``qkeras`` package
over qkeras-v3's), so its models are read as files: the graph and each
quantizer's modes from ``config.json``, the weights and the trained bit
widths from ``model.weights.h5``.  What this module hands over is plain
data (:class:`RawModel`); :mod:`qreport.analysis.hgq` gives it meaning.

Traps of the format, each handled here:

- the h5 groups are named by class and position (``layers/q_dense_1``),
  not by layer name: they are matched through the config's layer order;
- a quantizer's ``vars/0…`` follow trainable-then-non-trainable order, so
  which is ``k``, ``b``, ``i`` or ``f`` depends on the parameterisation and
  the overflow mode (:func:`quantizer_order`);
- ``b``, ``i`` and ``f`` are float32, used rounded half to even; ``k`` is uint8.

Every class, shape, width and mode is checked; anything else is one clear
error (:class:`~qreport.errors.QReportError`).
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field

import numpy as np

from ..errors import QReportError

#: the largest per-element width accepted (k + i + f), and the largest |i| or |f|
MAX_WIDTH = 64
MAX_IF = 160

ROUND_MODES = ("RND", "TRN", "RND_CONV", "S_RND", "S_RND_CONV")
OVERFLOW_MODES = ("WRAP", "SAT", "SYM", "SAT_SYM")

#: HGQ2 classes the direct reader knows; Keras layers it passes through
HGQ_LAYERS = ("QDense", "QBatchNormDense", "QConv1D", "QConv2D", "QBatchNormalization",
              "QAdd", "QSubtract", "QMultiply", "QMaximum", "QMinimum")
KERAS_LAYERS = ("InputLayer", "Flatten", "Reshape", "Dropout", "Activation", "ReLU")


@dataclass(frozen=True)
class RawQuantizer:
    """One HGQ2 fixed-point quantizer as stored: modes and per-element k, i, f (integers)."""

    q_type: str
    round_mode: str
    overflow_mode: str
    k: np.ndarray
    i: np.ndarray
    f: np.ndarray
    trainable: bool = True
    is_weight: bool = False


@dataclass(frozen=True)
class RawLayer:
    name: str
    class_name: str
    config: dict = field(compare=False)
    inbound: tuple[tuple[str, int, int], ...]
    weights: dict = field(compare=False)          # kernel, bias, bn_gamma, … as float32 arrays
    quantizers: dict = field(compare=False)       # iq (or iq0, iq1…), kq, bq, oq -> RawQuantizer


@dataclass(frozen=True)
class RawModel:
    name: str
    inputs: tuple[tuple[str, tuple], ...]         # (name, batch shape)
    outputs: tuple[tuple[str, int, int], ...]
    layers: tuple[RawLayer, ...]


def _snake(name: str) -> str:
    """Keras's group name for a class (``QConv2D`` -> ``q_conv2d``)."""
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", s).lower()


def is_hgq2_config(config: dict) -> bool:
    """True when a model config holds a layer registered by HGQ2 (``hgq>…``)."""
    layers = (config.get("config") or {}).get("layers") if isinstance(config, dict) else None
    return isinstance(layers, list) and any(
        isinstance(l, dict) and str(l.get("registered_name") or "").startswith(("hgq>", "hgq/"))
        for l in layers)


def quantizer_order(q_type: str, overflow: str, trainable: bool) -> tuple[str, ...]:
    """The names of a quantizer's ``vars/0…``: trainable variables first, in creation order.

    KBI creates k, b, i; KIF creates k, i, f; k is never trainable, i is not
    under WRAP, and WRAP adds a non-trainable ``i_decay_speed`` last.
    """
    made = ("k", "b", "i") if q_type == "kbi" else ("k", "i", "f")
    train = {"k": False, "b": trainable, "f": trainable, "i": trainable and overflow != "WRAP"}
    order = [v for v in made if train[v]] + [v for v in made if not train[v]]
    return tuple(order) + (("decay",) if overflow == "WRAP" else ())


def _fail(path: str, msg: str) -> QReportError:
    return QReportError(f"{path}: {msg}")


def _int_bits(v: np.ndarray, what: str, path: str) -> np.ndarray:
    if not np.all(np.isfinite(v)):
        raise _fail(path, f"{what} holds NaN or Inf")
    r = np.round(v.astype(np.float64))  # numpy rounds half to even, as HGQ2's round_conv
    if np.any(np.abs(r) > MAX_IF):
        raise _fail(path, f"{what} holds {int(np.max(np.abs(r))):,} bits, beyond the "
                          f"{MAX_IF} qreport accepts (a damaged file?)")
    return r.astype(np.int64)


def _quantizer(conf: dict, group, where: str, path: str) -> RawQuantizer:
    """A fixed-point quantizer from its config and its h5 group (``…/quantizer/vars``)."""
    c = conf.get("config") if isinstance(conf, dict) and "config" in conf else conf
    if not isinstance(c, dict):
        raise _fail(path, f"{where}: the quantizer config is not an object")
    q_type = str(c.get("q_type", "")).lower()
    if q_type not in ("kbi", "kif"):
        raise _fail(path, f"{where}: quantizer type {str(c.get('q_type'))[:40]!r} is not one "
                          "qreport reads (fixed-point kbi or kif)")
    for key in ("scaler", "affine"):
        if c.get(key) is not None:
            raise _fail(path, f"{where}: a quantizer with {key!r} set is not supported")
    rnd, ovf = str(c.get("round_mode", "")).upper(), str(c.get("overflow_mode", "")).upper()
    if rnd not in ROUND_MODES:
        raise _fail(path, f"{where}: unknown rounding mode {rnd[:20]!r}")
    if ovf not in OVERFLOW_MODES:
        raise _fail(path, f"{where}: unknown overflow mode {ovf[:20]!r}")
    ovf = "SAT_SYM" if ovf == "SYM" else ovf
    trainable = c.get("trainable", True) is not False
    order = quantizer_order(q_type, ovf, trainable)
    try:
        vs = group["quantizer"]["vars"]
        stored = [np.asarray(vs[str(n)]) for n in range(len(vs))]
    except (KeyError, TypeError, ValueError):
        raise _fail(path, f"{where}: the quantizer's variables are missing") from None
    if len(stored) != len(order):
        raise _fail(path, f"{where}: the quantizer stores {len(stored)} variables, a {q_type} "
                          f"{ovf} quantizer has {len(order)}")
    got = dict(zip(order, stored))
    k = got["k"]
    if k.dtype != np.uint8 or np.any(k > 1):
        raise _fail(path, f"{where}: the sign bits k are not 0/1 (uint8); the variables are "
                          "not in the order of a {q_type} {ovf} quantizer")
    shape = k.shape
    for n in order[:3]:
        if got[n].shape != shape:
            raise _fail(path, f"{where}: {n} has shape {got[n].shape}, k has {shape}")
    if q_type == "kbi":
        b = _int_bits(got["b"], f"{where}: b", path)
        if np.any(b < 0):
            raise _fail(path, f"{where}: a negative bit width b ({int(b.min())})")
        i = _int_bits(got["i"], f"{where}: i", path)
        f = b - i
    else:
        i = _int_bits(got["i"], f"{where}: i", path)
        f = _int_bits(got["f"], f"{where}: f", path)
    k = k.astype(np.int64)
    width = k + i + f
    live = width > 0
    if np.any(width[live] > MAX_WIDTH):
        raise _fail(path, f"{where}: a {int(width.max()):,}-bit element, beyond the {MAX_WIDTH} "
                          "bits qreport accepts (a damaged file?)")
    return RawQuantizer(q_type, rnd, ovf, k, i, f, trainable, bool(c.get("is_weight", False)))


def _layer_vars(group, path: str, name: str) -> list[np.ndarray]:
    try:
        vs = group["vars"]
        return [np.asarray(vs[str(n)]) for n in range(len(vs))]
    except (KeyError, TypeError, ValueError):
        raise _fail(path, f"layer {name!r}: its variables are missing") from None


def _weights(cls: str, c: dict, stored: list[np.ndarray], path: str, name: str) -> dict:
    """The layer's own variables by name, from their trainable-then-non-trainable order."""
    ebops = ["beta", "ebops"] if c.get("enable_ebops", True) and c.get("enable_iq", True) else []
    bias = ["bias"] if c.get("use_bias", True) else []
    if cls in ("QDense", "QConv1D", "QConv2D"):
        order = ["kernel"] + bias + ebops
    elif cls == "QBatchNormDense":
        order = ["kernel", "bias"] + (["bn_gamma"] if c.get("scale", True) else []) + ebops + \
                ["moving_mean", "moving_variance"]
    elif cls == "QBatchNormalization":
        order = (["bn_gamma"] if c.get("scale", True) else []) + \
                (["bn_beta"] if c.get("center", True) else []) + \
                ["moving_mean", "moving_variance"] + ebops
    else:
        order = ebops
    if len(stored) != len(order):
        raise _fail(path, f"layer {name!r} ({cls}) stores {len(stored)} variables, its config "
                          f"gives {len(order)} ({', '.join(order) or 'none'})")
    out = {}
    for n, v in zip(order, stored):
        if n in ("beta", "ebops"):
            continue
        v = v.astype(np.float32)
        if not np.all(np.isfinite(v)):
            raise _fail(path, f"layer {name!r}: {n} holds NaN or Inf values (a damaged weights file?)")
        out[n] = v
    return out


def _inbound(l: dict, path: str) -> tuple[tuple[str, int, int], ...]:
    out = []
    for node in l.get("inbound_nodes") or []:
        args = node.get("args", []) if isinstance(node, dict) else []
        stack = list(args)
        while stack:
            a = stack.pop(0)
            if isinstance(a, list):
                stack[:0] = a
            elif isinstance(a, dict) and a.get("class_name") == "__keras_tensor__":
                h = (a.get("config") or {}).get("keras_history")
                if not (isinstance(h, list) and len(h) == 3 and isinstance(h[0], str)):
                    raise _fail(path, f"layer {l.get('name')!r}: a damaged inbound node")
                out.append((h[0], int(h[1]), int(h[2])))
    return tuple(out)


def read_hgq2(path: str, config: dict) -> RawModel:
    """The model's graph, weights and quantizers, read from the archive (already vetted).

    Raises:
        QReportError: a class qreport does not know, a missing or malformed
            variable, a width out of range; the message names it.
    """
    import h5py

    cfg = config.get("config") or {}
    layers_cfg = cfg.get("layers")
    if config.get("class_name") not in ("Functional", "Model") or not isinstance(layers_cfg, list):
        raise _fail(path, "an HGQ2 model must be a functional Keras model")
    with zipfile.ZipFile(path) as z:
        if "model.weights.h5" not in z.namelist():
            raise _fail(path, "an HGQ2 archive without model.weights.h5: its trained bit widths "
                              "are weights, so there is nothing to report")
        blob = io.BytesIO(z.read("model.weights.h5"))
    seen: dict[str, int] = {}
    out, inputs = [], []
    try:
        h5 = h5py.File(blob, "r")
    except Exception as exc:  # noqa: BLE001  h5py raises several types on a damaged file
        raise _fail(path, f"damaged model.weights.h5 ({type(exc).__name__})") from None
    with h5:
        for l in layers_cfg:
            if not isinstance(l, dict):
                raise _fail(path, "a layer entry is not an object")
            cls, c = str(l.get("class_name")), l.get("config") or {}
            name = str(l.get("name") or c.get("name"))
            reg = str(l.get("registered_name") or "")
            if reg.startswith("hgq/"):
                raise _fail(path, f"layer {name!r} is HGQ2's QKeras compatibility class {reg!r} "
                                  "(its quantized_bits is not QKeras's): not supported")
            known = HGQ_LAYERS if reg.startswith("hgq>") else KERAS_LAYERS
            if cls not in known or (reg and not reg.startswith("hgq>")):
                raise _fail(path, f"layer {name!r}: class {cls[:60]!r} is not one qreport reads "
                                  f"in HGQ2 models ({', '.join(HGQ_LAYERS)}; Keras "
                                  f"{', '.join(KERAS_LAYERS)})")
            snake = _snake(cls)
            n = seen.get(snake, 0)
            seen[snake] = n + 1
            gname = snake if n == 0 else f"{snake}_{n}"
            try:
                g = h5["layers"][gname]
            except KeyError:
                raise _fail(path, f"layer {name!r}: no weights group layers/{gname}") from None
            if cls == "InputLayer":
                shape = c.get("batch_shape") or c.get("batch_input_shape")
                if not isinstance(shape, list) or not all(isinstance(s, int) and s > 0
                                                          for s in shape[1:]):
                    raise _fail(path, f"input {name!r}: its shape {shape!r} is not fixed")
                inputs.append((name, (None,) + tuple(shape[1:])))
                continue
            quants = {}
            if reg.startswith("hgq>") and c.get("enable_oq", False):
                raise _fail(path, f"layer {name!r}: output quantizers (enable_oq) are not "
                                  "supported: qreport would report the unquantized output")
            if reg.startswith("hgq>"):
                if c.get("enable_iq", True):
                    if "iq_confs" in c:
                        confs = c["iq_confs"]
                        n_in = len(_inbound(l, path))
                        confs = confs if isinstance(confs, list) else [confs] * n_in
                        for j, conf in enumerate(confs):
                            sub = "quantizer" if j == 0 else f"quantizer_{j}"
                            try:
                                grp = g["iq"]["quantizers"][sub]
                            except KeyError:
                                raise _fail(path, f"layer {name!r}: input quantizer {j} is "
                                                  "missing") from None
                            quants[f"iq{j}"] = _quantizer(conf, grp, f"layer {name!r} input {j}", path)
                    else:
                        quants["iq"] = _quantizer(c.get("iq_conf"), _group(g, "iq", name, path),
                                                  f"layer {name!r} input quantizer", path)
                for key, conf_key in (("kq", "kq_conf"), ("bq", "bq_conf")):
                    if key == "bq" and not c.get("use_bias", True):
                        continue
                    if c.get(conf_key) is not None:
                        quants[key] = _quantizer(c.get(conf_key), _group(g, key, name, path),
                                                 f"layer {name!r} {key}", path)
            weights = _weights(cls, c, _layer_vars(g, path, name), path, name) if reg else {}
            out.append(RawLayer(name, cls, c, _inbound(l, path), weights, quants))
    outs = []
    for o in cfg.get("output_layers") or []:
        if isinstance(o, list) and len(o) == 3:
            outs.append((str(o[0]), int(o[1]), int(o[2])))
    return RawModel(str(cfg.get("name", "model")), tuple(inputs), tuple(outs), tuple(out))


def _group(g, key: str, name: str, path: str):
    try:
        return g[key]
    except KeyError:
        raise _fail(path, f"layer {name!r}: its {key} quantizer is missing") from None
