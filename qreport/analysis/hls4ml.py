"""The hls4ml nodes a model becomes, and the precision qreport can vouch for on each.

Pure: :class:`.facts.ModelFacts` in, a tuple of :class:`Node` out; the YAML
is written by :mod:`qreport.render.hls4ml`.  The node names and the nodes'
precision keys are those of hls4ml 1.3.0 (its Keras converter and its
optimizer passes):

- the input layer is an ``Input`` node of the same name;
- a Dense/Conv/Depthwise layer is one node of its name; a layer with an
  ``activation=`` gets a second node, ``<name>_<quantizer class>`` for a
  quantizer (``fc1_quantized_relu``), ``<name>_<function>`` for a Keras
  activation (``fc1_relu``);
- a separable layer is split into ``<name>_depthwise`` and ``<name>_pointwise``;
- Dropout-like layers make no node; every other layer is one node.

Every value is exact or ``auto`` with the reason: ``accum`` is the `bound`
accumulator, ``result`` the type the node really outputs, ``weight`` and
``bias`` the quantizers' exact types, and quantizer outputs keep hls4ml's
rounding and saturation modes (hls4ml's mapping of a QKeras quantizer).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..options import flag
from .facts import AccRange, LayerFacts, ModelFacts, QFact
from .fixed import fractional_bits_of_step, width_for_range
from .layers import SAME_POOLING, is_linear, kind_of
from .quantizers import UNIT_SCALE

AUTO = "auto"
#: hls4ml 1.3.0's model-wide default, for what no node entry sets.
DEFAULT_PRECISION = "ap_fixed<16,6>"

# Keras layers hls4ml's converter drops (its NoOp handler): no node, no entry.
_NO_NODE = {"Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "AlphaDropout",
            "GaussianDropout", "GaussianNoise", "ActivityRegularization", "Identity", "Masking"}
# Layer classes hls4ml 1.3.0 cannot convert (the README lists them).
_UNSUPPORTED = {"Conv1DTranspose", "Conv3DTranspose", "QConv2DTranspose", "Conv3D",
                "QDenseBatchnorm", "QDepthwiseConv2DBatchnorm", "QAdaptiveActivation",
                "MaxPooling3D", "AveragePooling3D", "GlobalMaxPooling3D",
                "GlobalAveragePooling3D", "ZeroPadding3D", "Cropping3D", "UpSampling3D",
                "RepeatVector", "Minimum", "QAveragePooling2D",
                "QGlobalAveragePooling2D"}
# Tables of hls4ml's activation nodes: its Vivado backend's defaults, written
# out because a key missing from a node entry falls to the model default.
_TABLES = {
    "Softmax": (("table", "ap_fixed<18,8>"), ("exp_table", "ap_fixed<18,8,AP_RND,AP_SAT>"),
                ("inv_table", "ap_fixed<18,8,AP_RND,AP_SAT>"),
                ("inv_inp", "ap_fixed<18,8,AP_RND,AP_SAT>"),
                ("accum", "ap_fixed<18,8,AP_RND,AP_SAT>")),
    "Activation": (("table", "ap_fixed<18,8>"),),
}


@dataclass(frozen=True)
class Setting:
    """One ``Precision`` key of a node: a type, or ``auto`` and why."""

    key: str
    value: str
    why: str | None = None


@dataclass(frozen=True)
class Node:
    """One node of the hls4ml model and its precision.

    ``layer``/``part`` say where it comes from; ``notes`` are for the reader
    (bits saved, what hls4ml cannot take).
    """

    name: str
    layer: str
    part: str | None
    precision: tuple[Setting, ...]
    notes: tuple[str, ...] = ()


def _scaled(f: QFact) -> bool:
    """A scale hls4ml handles otherwise than qreport: any alpha but 1 (per-channel or constant).

    hls4ml factors such a scale out of Dense/Conv kernels into an ApplyAlpha
    node that also takes the bias, and leaves it inside depthwise kernels;
    either way its accumulator holds another sum than qreport's unscaled one.
    """
    return f.scale is not None and f.scale != UNIT_SCALE


def _exact(key: str, f: QFact | None, what: str) -> Setting:
    """``key`` set to the exact fixed type of a fact, or ``auto`` and why it has none."""
    if f is None:
        why = f"{what}: none"
    elif f.is_float:
        why = f"{what} is float"
    elif _scaled(f):
        why = f"{what} has a scale ({f.scale})"
    elif f.fixed is None:
        why = f"{what} {f.config}: {f.hls_reason or 'no fixed-point type'}"
    else:
        return Setting(key, f.fixed)
    return Setting(key, AUTO, why)


def _acc(key: str, a: AccRange | None, why: str | None) -> Setting:
    """``key`` set to the `bound` accumulator's type, or ``auto`` and why."""
    if why is None and a is not None and a.fixed is not None:
        return Setting(key, a.fixed)
    if why is None:
        why = "no bound: " + (a.reason if a is not None and a.reason else "not computed")
    return Setting(key, AUTO, why)


_MODES = {"quantized_relu": ",AP_RND_CONV,AP_SAT", "quantized_bits": ",AP_RND_CONV,AP_SAT",
          "quantized_sigmoid": ",AP_RND_CONV,AP_SAT", "quantized_tanh": ",AP_RND_CONV,AP_SAT"}
# QKeras activations hls4ml 1.3.0 converts (its QActivation handler's list)
_ACTIVATIONS = {"quantized_relu", "quantized_tanh", "quantized_sigmoid", "quantized_bits",
                "binary", "ternary", "stochastic_binary", "stochastic_ternary"}


def activation_result(f: QFact) -> Setting:
    """The result type of a quantizer's hls4ml node: its exact type, hls4ml's modes.

    hls4ml maps a QKeras fixed-point quantizer to a type that rounds
    (AP_RND_CONV) and saturates (AP_SAT) as the quantizer does; a symmetric
    quantized_tanh (min = -max) saturates symmetrically (AP_SAT_SYM).
    """
    if f.mode == 1:
        return Setting("result", AUTO, f"{f.config}: hls4ml 1.3.0 cannot convert po2 activations")
    if f.fixed is None or _scaled(f):
        return Setting("result", AUTO, f"{f.config}: {f.hls_reason or 'no exact fixed-point type'}")
    modes = _MODES.get(f.kind, "")
    if f.kind == "quantized_tanh" and f.min == -f.max:
        modes = ",AP_RND_CONV,AP_SAT_SYM"
    return Setting("result", f.fixed[:-1] + modes + ">")


def _activation_notes(f: QFact) -> tuple[str, ...]:
    if f.is_float or f.kind in _ACTIVATIONS or f.mode == 1:
        return ()
    return (f"hls4ml 1.3.0 cannot convert {f.kind} activations",)


def _tables(hls_class: str) -> tuple[Setting, ...]:
    return tuple(Setting(k, v, "hls4ml's default") for k, v in _TABLES[hls_class])


def _activation_node(l: LayerFacts, name: str, a: QFact) -> Node:
    if a.is_float:
        result = Setting("result", AUTO, f"activation {a.config!r} is float in qreport: "
                                         "hls4ml's own choice")
        return Node(name, l.name, None,
                    (result,) + _tables("Softmax" if a.config == "softmax" else "Activation"))
    return Node(name, l.name, None, (activation_result(a),) + _tables("Activation"),
                _activation_notes(a))


#: hls4ml 1.3.0's QKerasFactorizeAlpha pass: the node classes whose kernel scale (and
#: bias) it moves into an ApplyAlpha node ``<node>_alpha``; other scaled kernels
#: (depthwise) keep their scale and are summed scaled.
_FACTORIZED = ("Dense", "Conv1D", "Conv2D")


def _union(a: AccRange | None, b: AccRange | None) -> AccRange | None:
    """The narrowest fixed type holding both exactly (None unless both have one)."""
    if a is None or b is None or a.fixed is None or b.fixed is None:
        return None
    return AccRange.from_fixed(width_for_range(min(a.min, b.min), max(a.max, b.max),
                                               max(a.fractional_bits, b.fractional_bits)))


def _scaled_node(o, name: str, role: str, bias: QFact | None, factorized: bool,
                 separable: bool, output: bool) -> list[Node]:
    """The node(s) of an operation whose kernel has a per-channel scale, as hls4ml sums it.

    Factorized (Dense/Conv): the node multiplies the unscaled kernel and adds
    no bias, so its accum is the exact Σ w·x; the ApplyAlpha node after it
    applies the scale and the bias, and its result is the layer's scaled
    output.  Otherwise (depthwise) the kernel keeps its scale: the accum is
    Σ (s·w)·x + b, the scaled output itself.
    """
    a = o.accumulator
    if factorized:
        s = [Setting("weight", o.weight.fixed) if o.weight.fixed else _exact("weight", o.weight, role)]
        if bias is not None:
            s.append(_exact("bias", bias, "bias"))
        acc = _acc("accum", a.unscaled_sum, None)
        res = acc
        if output:
            # hls4ml writes a model output's ApplyAlpha into the node's own result
            # type: it must hold the sum and the scaled output, both exactly
            res = _acc("accum", _union(a.unscaled_sum, a.scaled_sum), None)
        s += [acc, Setting("result", res.value, "as accum" if res.why else None)]
        if separable:  # hls4ml 1.3.0 crashes on it: no ApplyAlpha node it could write
            return [Node(name, name, o.part, tuple(s), (
                "accum: Σ w·x over the unscaled kernel, no bias, as hls4ml's alpha "
                "factorization would sum it",
                "hls4ml 1.3.0 cannot factorize the scale of a separable layer's pointwise kernel"))]
        out = _acc("result", a.scaled_sum, None)
        if output:
            out = Setting("result", res.value, res.why)
        alpha = (Setting("scale", AUTO, "a power-of-two scale: hls4ml types it with its own po2 "
                                        "quantizer" if out.why is None else "hls4ml's own choice"),
                 _exact("bias", bias, "bias") if bias is not None else Setting("bias", AUTO, "no bias"),
                 out)
        notes = (f"accum: Σ w·x over the unscaled kernel, no bias: hls4ml moves the scale and "
                 f"the bias into {name}_alpha (the datasheet's bound, {a.bound.fixed}, holds "
                 "Σ w·x + b / scale)",)
        if output:
            notes += ("result: holds the sum and the scaled output, which hls4ml writes into "
                      "this node's type (a model output)",)
        return [Node(name, name, o.part, tuple(s), notes),
                Node(f"{name}_alpha", name, o.part, alpha,
                     ("ApplyAlpha: sum × scale + bias, the layer's scaled output",))]
    acc = _acc("accum", a.scaled_sum, None)
    s = [_exact("weight", o.weight, role), acc, Setting("result", acc.value,
                                                       "as accum" if acc.why else None)]
    if bias is not None:
        s.insert(1, _exact("bias", bias, "bias"))
    return [Node(name, name, o.part, tuple(s),
                 ("accum: Σ (scale·w)·x + b: hls4ml keeps the scale in this kernel",))]


def _weight_nodes(l: LayerFacts, output: bool = False) -> list[Node]:
    kind = kind_of(l.class_name)
    ops = l.operations
    scaled = any(f and _scaled(f) for f in [o.weight for o in ops] + [l.quantizer("bias")])
    folded = kind.folded
    bias = l.quantizer("bias")
    separable = kind.family.name == "separable"
    names = ([f"{l.name}_depthwise", f"{l.name}_pointwise"] if separable else [l.name])
    hls_class = l.class_name.removeprefix("Q")
    nodes = []
    for i, (o, name) in enumerate(zip(ops, names)):
        last = i == len(ops) - 1
        role = o.part if o.part != "main" else ("depthwise" if kind.family.name == "depthwise"
                                                else "kernel")
        b = bias if last else None
        if scaled and not folded:
            factorized = hls_class in _FACTORIZED or o.part == "pointwise"
            nodes += _scaled_node(o, name, role, b, factorized, separable,
                                  output and last and is_linear(l.activation))
            continue
        s = [_exact("weight", o.weight, role)]
        if b is not None:
            s.append(_exact("bias", b, "bias"))
        # the node's result is its sum, before any activation node
        why = ("batch norm folded by QKeras: hls4ml folds it its own way, so qreport's kernel "
               "is not the one hls4ml multiplies") if folded else None
        acc = _acc("accum", o.accumulator.bound, why)
        s += [acc, Setting("result", acc.value, "as accum" if acc.why else None)]
        notes = []
        if o.bits_saved is not None and why is None:
            t = o.accumulator.type
            notes.append(f"exact bound {o.accumulator.bound.fixed}; hls4ml infers {t.fixed}: "
                         f"{o.bits_saved} bit{'s' if o.bits_saved != 1 else ''} saved")
        nodes.append(Node(name, l.name, o.part, tuple(s), tuple(notes)))
    a = l.activation
    if not is_linear(a):
        suffix = a.kind if not a.is_float else a.config
        nodes.append(_activation_node(l, f"{l.name}_{suffix}", a))
    return nodes


def _other_node(l: LayerFacts) -> Node:
    fam = kind_of(l.class_name).family.name
    out = l.output_type
    if fam == "activation":
        return Node(l.name, l.name, None, (activation_result(out),) + _tables("Activation"),
                    _activation_notes(out))
    if fam == "keras activation":
        return _activation_node(l, l.name, l.activation if l.activation is not None else out)
    s = [_exact("result", out, "output")]
    if fam == "average pooling":
        s.insert(0, _pool_sum(l))
        if s[0].value == AUTO:
            s[1] = Setting("result", AUTO, s[0].why)
    elif "MaxPooling" in l.class_name:
        s.insert(0, _exact("accum", l.quantizer("input"), "input"))
    return Node(l.name, l.name, None, tuple(s))


def _pool_sum(l: LayerFacts) -> Setting:
    """The accumulator of an average pooling node: the sum of its window, exactly.

    hls4ml sums the window in ``accum`` and divides it there; for an area N
    (a power of two) the sum needs N times the input's range, and log2(N)
    more fractional bits than the input so that the division is exact, which
    is the output type's grid.  (hls4ml's own rule leaves global pooling at
    its default precision, which can overflow.)
    """
    x, out = l.quantizer("input"), l.output_type
    if any(w.endswith(SAME_POOLING) for w in l.warnings):
        return Setting("accum", AUTO, "'same' average pooling: hls4ml divides border windows "
                                      "by fewer inputs, off the power-of-two grid")
    if x is None or x.fixed is None or out.fixed is None or out.lsb is None or _scaled(x):
        return Setting("accum", AUTO, "no exact type for the average")
    n = round(x.lsb / out.lsb)
    t = width_for_range(n * x.min, n * x.max, fractional_bits_of_step(out.lsb))
    return Setting("accum", t.fixed)


def hls4ml_nodes(facts: ModelFacts) -> tuple[Node, ...]:
    """Every node hls4ml makes of the model, in graph order, with its precision.

    Args:
        facts: the analysis (its ``every_layer``).

    Returns:
        The nodes; ``Node.notes`` name what hls4ml 1.3.0 cannot convert.
    """
    nodes = [Node(i.name, i.name, None, (_exact("result", i.type, "input"),),
                  ((f"input type {i.type.config}" + (f" (assumed: pass {flag('input_quantizers')})"
                                                      if i.assumed else " (given)")),))
             for i in facts.inputs]
    consumed = {i for l in facts.every_layer for i in l.inputs}
    for l in facts.every_layer:
        if l.class_name in _NO_NODE:
            continue
        made = _weight_nodes(l, l.name not in consumed) if l.operations else [_other_node(l)]
        if l.class_name in _UNSUPPORTED:
            made = [Node(n.name, n.layer, n.part, n.precision,
                         n.notes + (f"hls4ml 1.3.0 cannot convert {l.class_name}",))
                    for n in made]
        nodes.extend(made)
    return tuple(nodes)
