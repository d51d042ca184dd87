"""The Keras seam: a loaded model read into plain data.

This module and :mod:`.graph` (the walk) and :mod:`.kernels` (kernel
quantization) are the only parts of the analysis that touch Keras or
QKeras objects.  What they hand over, :class:`LayerData` per layer call,
is numpy arrays, numbers, strings and quantizer facts; type propagation,
geometry and the accumulator work on that alone.  A reader of ``.keras``
files without TensorFlow could stand in for this module.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from . import graph as g
from . import kernels as kq
from ..errors import AnalysisError, QuantizerError
from .facts import DEFAULT_INPUT, InputFacts, QFact, float_fact
from .layers import LayerKind, check_activation_object, kind_of, pool_area
from .quantizers import parse_quantizer, quantizer_fact

LINEAR = float_fact("linear")


@dataclass(frozen=True)
class LayerData:
    """One layer call, read: everything the analysis needs from the layer object.

    ``activation`` is the activation's fact (None: the layer has none;
    ``config == "linear"``: the identity); ``config`` holds the geometry
    settings the layer's family reads (strides, padding, …);
    ``average_factor`` is q(1/area) of a QAveragePooling layer's
    ``average_quantizer``.
    """

    name: str
    class_name: str
    inputs: tuple[str, ...]
    in_keys: tuple[int, ...]
    out_keys: tuple[int, ...]
    in_shapes: tuple[tuple, ...]
    out_shapes: tuple[tuple, ...]
    config: dict = field(default_factory=dict, compare=False)
    kernels: tuple[kq.Kernel, ...] = ()
    bias: kq.Bias | None = None
    activation: QFact | None = None
    average_factor: float | None = None
    params: int = 0
    notes: tuple[str, ...] = ()
    # HGQ2 (:mod:`.hgq`): the library and the layer's family there, each input's
    # per-element (min, max, f) maps and fact, the per-element quantizers' widths, the
    # exact bit operations, the accumulator's extremes per output element (without the
    # bias) and its grid, the output type computed element by element, HGQ2's stored
    # EBOPs, and the lookup tables a softmax or a unary function builds
    library: str = "qkeras"
    family: str | None = None
    input_maps: tuple = field(default=(), compare=False)
    input_facts: tuple[QFact, ...] = ()
    bit_widths: tuple = ()
    bops: int | None = None
    element_bounds: tuple | None = field(default=None, compare=False)
    map_frac: int | None = None
    output_fact: QFact | None = None
    ebops: int | None = None
    tables: tuple = ()

    @property
    def kind(self) -> LayerKind:
        """The registry entry of the class (layers.UNKNOWN when it has none)."""
        if self.family is not None:
            from .hgq.families import HGQ_FAMILIES

            return HGQ_FAMILIES[self.family]
        return kind_of(self.class_name, self.library)

    @property
    def in_shape(self) -> tuple:
        return self.in_shapes[0] if self.in_shapes else ()

    @property
    def out_shape(self) -> tuple:
        return self.out_shapes[0] if self.out_shapes else ()


def read_model(model, weights: bool = True,
               cast=None) -> tuple[g.FlatGraph, tuple[LayerData, ...]]:
    """The model's flat graph (for sample runs) and every layer call as plain data.

    With ``weights`` False the model's weights are not real (an architecture
    without its weights file): kernels carry shapes and quantizers only.
    ``cast`` (a :class:`.floattype.FixedCast`, from ``float_type``) types float kernels
    and biases.

    Raises:
        GraphError: the model is not a graph qreport can walk.
        AnalysisError: a layer's weights or quantizers are damaged.
    """
    graph = g.flatten(model)
    layers = []
    for n in graph.nodes:
        try:
            layers.append(read_layer(n, weights, cast))
        except QuantizerError as exc:
            raise AnalysisError(f"{n.name}: {exc}") from None
    return graph, tuple(layers)


def input_types(names: tuple[str, ...], shapes: tuple[tuple, ...], input_quantizers,
                default=None):
    """The model inputs' facts and quantizers: given by name (``name=q``), in order, or assumed
    (``default``, a quantizer or FixedCast; None: :data:`DEFAULT_INPUT`).

    Raises:
        AnalysisError: a name that is not an input, or more quantizers than inputs.
    """
    given: dict[str, object] = {}
    ordered: list = []
    for spec in input_quantizers or ():
        if isinstance(spec, str) and "=" in spec.split("(")[0]:
            k, v = spec.split("=", 1)
            if k.strip() not in names:
                raise AnalysisError(f"an input quantizer names {k.strip()!r}; model inputs are "
                                    f"{', '.join(names)}", option="input_quantizers")
            given[k.strip()] = v
        else:
            ordered.append(spec)
    if len(ordered) > len(names):
        raise AnalysisError(f"{len(ordered)} input quantizers given, the model has {len(names)} "
                            "inputs", option="input_quantizers")
    for n, spec in zip(names, ordered):
        given.setdefault(n, spec)
    facts, qs = [], []
    for n, shape in zip(names, shapes):
        spec = given.get(n)
        try:
            if spec is None and default is not None:
                q = default
            else:
                q = spec if spec is not None and not isinstance(spec, str) else \
                    parse_quantizer(spec or DEFAULT_INPUT)
            facts.append(InputFacts(n, shape, quantizer_fact(q), spec is None))
        except QuantizerError as exc:
            raise QuantizerError(str(exc), option="input_quantizers") from None
        qs.append(q)
    return facts, qs


def read_layer(node: g.FlatNode, weights: bool = True, cast=None) -> LayerData:
    layer, cls, name = node.layer, type(node.layer).__name__, node.name
    kind = kind_of(cls)
    config = {k: getattr(layer, k) for k in kind.config if hasattr(layer, k)}
    notes: list[str] = []
    activation = None
    for attr in kind.activation:
        obj = getattr(layer, attr, None)
        if obj is not None:
            activation = activation_fact(obj, name)
            break
    kernels, bias = (), None
    if kind.family.has_weights:
        kernels, bias = _read_weights(layer, kind, name, notes, weights, cast)
    d = LayerData(name=name, class_name=cls, inputs=node.inbound, in_keys=node.in_keys,
                  out_keys=node.out_keys, in_shapes=node.in_shapes, out_shapes=node.out_shapes,
                  config=config, kernels=kernels, bias=bias, activation=activation,
                  params=int(sum(int(np.prod(w.shape)) for w in layer.weights)), notes=tuple(notes))
    aq = getattr(layer, "average_quantizer_internal", None)
    if aq is not None and kind.family.rule is not None and node.in_shapes:
        # q(1/area) depends on the pooling geometry, which LayerData knows
        d = dataclasses.replace(d, average_factor=float(
            kq.quantize(aq, np.array([1.0 / pool_area(d)]))[0][0]))
    return d


def activation_fact(obj, name: str) -> QFact:
    """The fact of a layer's activation: a quantizer's, float (named) or LINEAR."""
    check_activation_object(obj, name)
    if getattr(obj, "__name__", None) == "linear":
        return LINEAR
    return quantizer_fact(obj)


def _numpy(v) -> np.ndarray:
    import keras

    return np.asarray(keras.ops.convert_to_numpy(v))


def _read_weights(layer, kind: LayerKind, name: str, notes: list, known: bool = True,
                  cast=None):
    """(kernels, bias) of a weight layer, quantized, BN folded for *Batchnorm layers."""
    specs = kind.family.kernels
    if kind.folded:
        k, b = layer.get_folded_weights()
        raws, raw_bias = [_numpy(k)], _numpy(b)
    else:
        raws = [_numpy(next(getattr(layer, a) for a in s.weights if hasattr(layer, a)))
                for s in specs]
        raw_bias = (_numpy(layer.bias) if getattr(layer, "use_bias", False)
                    and getattr(layer, "bias", None) is not None else None)
    kernels = []
    for s, raw in zip(specs, raws):
        q = kq.usable_quantizer(getattr(layer, s.quantizer, None), s.role, name, notes) or cast
        kernels.append(kq.read_kernel(s.part, s.role, q, raw, s.canon, name, known))
    bias = None
    if raw_bias is not None:
        bq = kq.usable_quantizer(getattr(layer, "bias_quantizer_internal", None), "bias", name,
                                 notes) or cast
        bias = kq.read_bias(bq, raw_bias, name, known)
    return tuple(kernels), bias
