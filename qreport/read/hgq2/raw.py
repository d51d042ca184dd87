"""What the HGQ2 reader hands over: plain data, and the one quantizer parser.

A quantizer's stored variables are k (uint8 sign bits), then b and i (KBI)
or i and f (KIF), and under WRAP a scalar ``i_decay_speed``.  A ``.keras``
archive stores them as ``vars/0…`` in trainable-then-non-trainable order,
which depends on the quantizer's parameterisation, its overflow mode and on
whether it was trainable when built; a legacy ``.h5`` stores them by name.
:func:`quantizer` takes either and checks every value.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...errors import QReportError

#: the largest per-element width accepted (k + i + f), and the largest |i| or |f|
MAX_WIDTH = 64
MAX_IF = 160

ROUND_MODES = ("RND", "TRN", "RND_CONV", "S_RND", "S_RND_CONV")
OVERFLOW_MODES = ("WRAP", "SAT", "SYM", "SAT_SYM")


@dataclass(frozen=True)
class RawQuantizer:
    """One HGQ2 fixed-point quantizer as stored: modes and per-element k, i, f (integers).

    ``trainable`` is read off the file (a trainable quantizer stores its
    trainable widths first); with ``is_weight`` it decides whether a WRAP
    quantizer only rounds at inference (HGQ2's weight path).
    """

    q_type: str
    round_mode: str
    overflow_mode: str
    k: np.ndarray
    i: np.ndarray
    f: np.ndarray
    trainable: bool = True
    is_weight: bool = False

    @property
    def rounds_only(self) -> bool:
        """At inference the quantizer only rounds: no wrap, no saturation, no pruning mask.

        HGQ2 does so for a trainable WRAP quantizer marked ``is_weight`` (KIF
        always, KBI with RND): hgq2 0.1.x files mark their bias quantizers so.
        """
        return (self.overflow_mode == "WRAP" and self.trainable and self.is_weight
                and (self.q_type == "kif" or self.round_mode == "RND"))


@dataclass(frozen=True)
class TensorRef:
    """A tensor in the graph: the layer that makes it, the call, the output index."""

    layer: str
    node: int = 0
    index: int = 0


@dataclass(frozen=True)
class RawLayer:
    """One layer call, read: its class, config, inputs, weights, quantizers and parts.

    ``args`` are an operation's other call arguments (a slice, a constant),
    ``parts`` the sub-layers of a composite layer (a softmax's tables, an
    attention's projections), ``ebops`` HGQ2's own stored EBOPs (None: not
    stored).
    """

    name: str
    class_name: str
    config: dict = field(compare=False)
    inbound: tuple[TensorRef, ...] = ()
    args: tuple = field(default=(), compare=False)
    weights: dict = field(default_factory=dict, compare=False)
    quantizers: dict = field(default_factory=dict, compare=False)
    parts: dict = field(default_factory=dict, compare=False)
    ebops: int | None = None


@dataclass(frozen=True)
class RawModel:
    name: str
    inputs: tuple[tuple[str, tuple], ...]         # (name, batch shape)
    outputs: tuple[TensorRef, ...]
    layers: tuple[RawLayer, ...]
    form: str = "keras"                           # "keras" (.keras archive) or "h5" (legacy)


def fail(path: str, msg: str) -> QReportError:
    return QReportError(f"{path}: {msg}")


def _int_bits(v: np.ndarray, what: str, path: str) -> np.ndarray:
    v = np.asarray(v)
    if v.dtype.kind not in "fiu":
        raise fail(path, f"{what} is not numeric ({v.dtype})")
    if not np.all(np.isfinite(v)):
        raise fail(path, f"{what} holds NaN or Inf")
    r = np.round(v.astype(np.float64))  # numpy rounds half to even, as HGQ2's round_conv
    if r.size and np.any(np.abs(r) > MAX_IF):
        raise fail(path, f"{what} holds {int(np.max(np.abs(r))):,} bits, beyond the "
                         f"{MAX_IF} qreport accepts (a damaged file?)")
    return r.astype(np.int64)


def quantizer_conf(conf, where: str, path: str) -> dict:
    """A quantizer's config dict (the ``QuantizerConfig`` object's ``config``), checked."""
    c = conf.get("config") if isinstance(conf, dict) and isinstance(conf.get("config"), dict) else conf
    if not isinstance(c, dict):
        raise fail(path, f"{where}: the quantizer config is not an object")
    kind = str(conf.get("class_name", "")) if isinstance(conf, dict) else ""
    if kind == "HardTanhConfig":   # HGQ2's sugar: KIF, SAT, k0 = 1, i held at 0; it saves none of them
        c = {**c, "overflow_mode": c.get("overflow_mode") or "SAT"}
    elif kind == "HardSigmoidConfig":
        raise fail(path, f"{where}: a HardSigmoidConfig quantizer (an affine 0.25·x + 0.5 before "
                         "it) is not read")
    q_type = str(c.get("q_type", "")).lower()
    if q_type not in ("kbi", "kif"):
        raise fail(path, f"{where}: quantizer type {str(c.get('q_type'))[:40]!r} is not one "
                         "qreport reads (fixed-point kbi or kif)")
    for key in ("scaler", "affine"):
        if c.get(key) is not None:
            raise fail(path, f"{where}: a quantizer with {key!r} set is not supported")
    return c


def quantizer(conf, stored, where: str, path: str) -> RawQuantizer:
    """A fixed-point quantizer from its config and its stored variables.

    ``stored`` is a list (a ``.keras`` archive's ``vars/0…``) or a dict by
    name (a legacy ``.h5``: ``k``, ``b``, ``i``, ``f``, ``i_decay_speed``).
    """
    c = quantizer_conf(conf, where, path)
    q_type = str(c["q_type"]).lower()
    rnd, ovf = str(c.get("round_mode", "")).upper(), str(c.get("overflow_mode", "")).upper()
    if rnd not in ROUND_MODES:
        raise fail(path, f"{where}: unknown rounding mode {rnd[:20]!r}")
    if ovf not in OVERFLOW_MODES:
        raise fail(path, f"{where}: unknown overflow mode {ovf[:20]!r}")
    ovf = "SAT_SYM" if ovf == "SYM" else ovf
    floats = ("b", "i") if q_type == "kbi" else ("i", "f")
    if isinstance(stored, dict):
        got = dict(stored)
        trainable = c.get("trainable", True) is not False
    else:
        got, trainable = _by_order(stored, q_type, ovf, where, path)
    missing = [n for n in ("k",) + floats if n not in got]
    if missing:
        raise fail(path, f"{where}: the quantizer's variable {missing[0]} is missing")
    k = np.asarray(got["k"])
    if k.dtype != np.uint8 or (k.size and np.any(k > 1)):
        raise fail(path, f"{where}: the sign bits k are not 0/1 (uint8)")
    shape = k.shape
    for n in floats:
        if np.shape(got[n]) != shape:
            raise fail(path, f"{where}: {n} has shape {np.shape(got[n])}, k has {shape}")
    if q_type == "kbi":
        b = _int_bits(got["b"], f"{where}: b", path)
        if b.size and np.any(b < 0):
            raise fail(path, f"{where}: a negative bit width b ({int(b.min())})")
        i = _int_bits(got["i"], f"{where}: i", path)
        f = b - i
    else:
        i = _int_bits(got["i"], f"{where}: i", path)
        f = _int_bits(got["f"], f"{where}: f", path)
    k = k.astype(np.int64)
    width = k + i + f
    live = width > 0
    if np.any(width[live] > MAX_WIDTH):
        raise fail(path, f"{where}: a {int(width.max()):,}-bit element, beyond the {MAX_WIDTH} "
                         "bits qreport accepts (a damaged file?)")
    return RawQuantizer(q_type, rnd, ovf, k, i, f, trainable, bool(c.get("is_weight", False)))


def _by_order(stored: list, q_type: str, ovf: str, where: str, path: str):
    """Name a ``.keras`` quantizer's ``vars/0…`` from where its uint8 k stands.

    Created k, b, i (KBI) or k, i, f (KIF); saved trainable first.  k is never
    trainable, so its position is the number of trainable variables: 0 (a
    quantizer built not trainable), 1 (WRAP: only b or f trains), 2.
    """
    n = len(stored)
    expect = 4 if ovf == "WRAP" else 3
    if n != expect:
        raise fail(path, f"{where}: the quantizer stores {n} variables; a {q_type} {ovf} "
                         f"quantizer has {expect}")
    ks = [j for j, v in enumerate(stored[:3]) if np.asarray(v).dtype == np.uint8]
    if len(ks) != 1:
        raise fail(path, f"{where}: the sign bits k are not 0/1 (uint8): no single uint8 variable "
                         f"among the quantizer's {n}")
    pos = ks[0]
    first, second = ("b", "i") if q_type == "kbi" else ("i", "f")
    if pos == 0:
        order = ("k", first, second)
    elif pos == 1:
        if ovf != "WRAP":
            raise fail(path, f"{where}: the variables are not in the order of a {q_type} {ovf} "
                             "quantizer")
        # WRAP: i does not train; KBI keeps b first, KIF puts f first
        order = ("b", "k", "i") if q_type == "kbi" else ("f", "k", "i")
    else:
        order = (first, second, "k")
    return dict(zip(order, stored[:3])), pos > 0
