"""The registry of layer kinds qreport analyses: one entry per Keras/QKeras class.

An entry names the class's :class:`Family`, which says everything the
analysis does with such a layer: which kernels the seam reads and how it
lays them out, how geometry turns them into operations and counts, and the
type rule that gives the layer's output type.  Supporting a new layer is
one entry here (and a family, if it is a new kind of arithmetic), plus
its tests.  A class not in the registry is reported as not analysed and
its output treated as float.

Nothing here imports Keras: families work on the plain data the seam
(:mod:`.read`) hands over.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from . import geometry as geo
from ..errors import AnalysisError
from .facts import FLOAT, QFact, float_fact
from .types import derived_range_fact
from .fixed import pow2_grid_step
from .quantizers import QUANTIZER_KINDS


@dataclass(frozen=True)
class KernelSpec:
    """A kernel the seam reads: operation part, quantizer role, attributes, layout."""

    part: str
    role: str
    weights: tuple[str, ...]   # the layer attribute holding it (first that exists)
    quantizer: str             # the layer attribute holding its quantizer
    canon: Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Family:
    """What the analysis does with one kind of layer.

    Weight families have ``kernels`` and ``parts`` (geometry: operations and
    counts); their output type is the activation's, or the accumulator's
    when the activation is linear.  Other families have a type ``rule``:
    ``rule(layer, input types, warnings) -> output type``.
    """

    name: str
    kernels: tuple[KernelSpec, ...] = ()
    parts: Callable | None = None
    rule: Callable | None = None

    @property
    def has_weights(self) -> bool:
        return bool(self.kernels)


@dataclass(frozen=True)
class LayerKind:
    """A registry entry: the family, and how this class stores what it needs."""

    family: Family
    folded: bool = False                    # batch norm folded into kernel and bias
    activation: tuple[str, ...] = ()        # attributes holding the activation, in order
    config: tuple[str, ...] = ()            # settings the family reads


def is_quantizer(f: QFact | None) -> bool:
    return f is not None and f.kind in QUANTIZER_KINDS


def is_linear(f: QFact | None) -> bool:
    return f is None or (f.is_float and f.config in ("float", "linear"))


# ------------------------------------------------------------------ type rules

def _pass(d, xs, warnings) -> QFact:
    return xs[0] if xs else FLOAT


def _zero_padding(d, xs, warnings) -> QFact:
    x = xs[0]
    if x.is_float or x.min is None or x.min <= 0 <= x.max:
        return x
    return derived_range_fact(min(x.min, 0.0), max(x.max, 0.0), x.lsb, "zero-padded")


def _activation(d, xs, warnings) -> QFact:
    a = d.activation
    if is_linear(a):
        return FLOAT
    if a.is_float:
        warnings.append(f"{d.name}: activation {a.config!r} is not a quantizer: output treated as float")
    return a


def _keras_activation(d, xs, warnings) -> QFact:
    if is_linear(d.activation):
        return xs[0]
    if d.activation.config == "relu":
        return relu(xs[0])
    return unknown(d, xs, warnings)


def unknown(d, xs, warnings) -> QFact:
    """A layer qreport does not analyse: float output, its parameters not counted."""
    what = f"; its {d.params} parameters are not counted" if d.params else ""
    warnings.append(f"{d.name}: {d.class_name} is not a quantized operation qreport analyses: "
                    f"output treated as float{what}")
    return FLOAT


def relu(x: QFact) -> QFact:
    """max(x, 0) of an exact type: the same grid, the negative half cut (float stays float)."""
    if x.is_float or x.min is None:
        return x
    return derived_range_fact(max(x.min, 0.0), max(x.max, 0.0), x.lsb, "relu")


def _merge(d, ts, warnings) -> QFact:
    cls = d.class_name
    if any(t.is_float or t.min is None for t in ts):
        return float_fact(f"{d.name}: float input")
    lsbs = [t.lsb for t in ts]
    fine = min(lsbs) if all(lsb is not None for lsb in lsbs) else None
    if cls == "Add":
        lo, hi = sum(t.min for t in ts), sum(t.max for t in ts)
    elif cls == "Subtract":
        lo, hi = ts[0].min - ts[1].max, ts[0].max - ts[1].min
    elif cls in ("Concatenate", "Maximum", "Minimum"):
        lo, hi = min(t.min for t in ts), max(t.max for t in ts)
    elif cls == "Average":
        n = len(ts)
        lo, hi = sum(t.min for t in ts) / n, sum(t.max for t in ts) / n
        fine = fine / n if fine is not None and (n & (n - 1)) == 0 else None
    else:  # Multiply
        lo, hi = ts[0].min, ts[0].max
        fine = ts[0].lsb
        for t in ts[1:]:
            c = (lo * t.min, lo * t.max, hi * t.min, hi * t.max)
            lo, hi = min(c), max(c)
            fine = fine * t.lsb if fine is not None and t.lsb is not None else None
    return derived_range_fact(lo, hi, fine, f"{cls.lower()} of {len(ts)} inputs")


def pool_area(d) -> int:
    """Inputs averaged into one output of an average pooling layer."""
    sp = geo.spatial(d.in_shape, d.config.get("data_format"))
    if d.class_name.startswith(("Global", "QGlobal")):
        return int(np.prod(sp, dtype=np.int64))
    return int(np.prod(geo.per_axis(d.config["pool_size"], len(sp))))


#: The warning of a 'same' average pooling (its border averages are off the grid).
SAME_POOLING = "'same' average pooling divides border windows by fewer inputs"


def _average_pool(d, xs, warnings) -> QFact:
    x = xs[0]
    if is_quantizer(d.activation):
        return d.activation
    if x.is_float or x.min is None:
        return float_fact(f"{d.name}: float input")
    area = pool_area(d)
    if d.average_factor is not None:  # QAveragePooling's average_quantizer: sum × q(1/area)
        factor = d.average_factor
        lo, hi = x.min * area * factor, x.max * area * factor
        step = pow2_grid_step([factor])
        lsb = x.lsb * step if (x.lsb is not None and step) else None
        return derived_range_fact(min(lo, hi), max(lo, hi), lsb, f"{d.name}: sum × q(1/{area})")
    if d.config.get("padding", "valid") == "same" and not d.class_name.startswith(("Global", "QGlobal")):
        warnings.append(f"{d.name}: {SAME_POOLING}")
    lsb = x.lsb / area if x.lsb is not None and (area & (area - 1)) == 0 else None
    if lsb is None and x.lsb is not None:
        warnings.append(f"{d.name}: averaging over {area} inputs leaves the power-of-two grid")
    return derived_range_fact(x.min, x.max, lsb, f"average of {area} inputs")


# ------------------------------------------------------------------ families

_KERNEL = KernelSpec("main", "kernel", ("kernel",), "kernel_quantizer_internal", geo.same_layout)

DENSE = Family("dense", (_KERNEL,), geo.dense_parts)
CONV = Family("conv", (_KERNEL,), geo.conv_parts)
TRANSPOSE = Family("transpose", (KernelSpec("main", "kernel", ("kernel",), "kernel_quantizer_internal",
                                            geo.transpose_layout),), geo.transpose_parts)
DEPTHWISE = Family("depthwise", (KernelSpec("main", "depthwise", ("depthwise_kernel", "kernel"),
                                            "depthwise_quantizer_internal", geo.depthwise_layout),),
                   geo.depthwise_parts)
SEPARABLE = Family("separable", (
    KernelSpec("depthwise", "depthwise", ("depthwise_kernel",), "depthwise_quantizer_internal",
               geo.depthwise_layout),
    KernelSpec("pointwise", "pointwise", ("pointwise_kernel",), "pointwise_quantizer_internal",
               geo.pointwise_layout)), geo.separable_parts)
ACTIVATION = Family("activation", rule=_activation)
KERAS_ACTIVATION = Family("keras activation", rule=_keras_activation)
PASS_THROUGH = Family("pass-through", rule=_pass)
ZERO_PADDING = Family("zero padding", rule=_zero_padding)
AVERAGE_POOL = Family("average pooling", rule=_average_pool)
MERGE = Family("merge", rule=_merge)

_CONV_SETTINGS = ("strides", "padding", "dilation_rate", "data_format", "groups")
_W = ("activation",)


def _entries() -> dict[str, LayerKind]:
    r: dict[str, LayerKind] = {}

    def add(family, names, **kw):
        for n in names.split():
            assert n not in r, n
            r[n] = LayerKind(family, **kw)

    add(DENSE, "Dense QDense", activation=_W)
    add(DENSE, "QDenseBatchnorm", folded=True, activation=_W)
    add(CONV, "Conv1D Conv2D Conv3D QConv1D QConv2D", activation=_W, config=_CONV_SETTINGS)
    add(CONV, "QConv2DBatchnorm", folded=True, activation=_W, config=_CONV_SETTINGS)
    add(DEPTHWISE, "DepthwiseConv1D DepthwiseConv2D QDepthwiseConv2D", activation=_W,
        config=_CONV_SETTINGS)
    add(DEPTHWISE, "QDepthwiseConv2DBatchnorm", folded=True, activation=_W, config=_CONV_SETTINGS)
    add(SEPARABLE, "SeparableConv1D SeparableConv2D QSeparableConv1D QSeparableConv2D",
        activation=_W, config=_CONV_SETTINGS)
    add(TRANSPOSE, "Conv1DTranspose Conv2DTranspose Conv3DTranspose QConv2DTranspose",
        activation=_W, config=_CONV_SETTINGS + ("output_padding",))
    add(ACTIVATION, "QActivation", activation=_W)
    add(ACTIVATION, "QAdaptiveActivation", activation=("quantizer", "activation"))
    add(KERAS_ACTIVATION, "Activation", activation=_W)
    add(PASS_THROUGH, "Flatten Reshape Permute Dropout SpatialDropout1D SpatialDropout2D "
        "SpatialDropout3D AlphaDropout GaussianDropout GaussianNoise ActivityRegularization "
        "MaxPooling1D MaxPooling2D MaxPooling3D GlobalMaxPooling1D GlobalMaxPooling2D "
        "GlobalMaxPooling3D Cropping1D Cropping2D Cropping3D UpSampling1D UpSampling2D "
        "UpSampling3D RepeatVector Identity Masking")
    add(ZERO_PADDING, "ZeroPadding1D ZeroPadding2D ZeroPadding3D")
    pool = ("pool_size", "padding", "data_format")
    add(AVERAGE_POOL, "AveragePooling1D AveragePooling2D AveragePooling3D GlobalAveragePooling1D "
        "GlobalAveragePooling2D GlobalAveragePooling3D", config=pool)
    add(AVERAGE_POOL, "QAveragePooling2D QGlobalAveragePooling2D", activation=_W, config=pool)
    add(MERGE, "Add Subtract Multiply Concatenate Average Maximum Minimum")
    return r


#: class name -> LayerKind, for every class qreport analyses.
REGISTRY: dict[str, LayerKind] = _entries()
UNKNOWN = LayerKind(Family("unknown", rule=unknown))


def kind_of(class_name: str, library: str = "qkeras") -> LayerKind:
    """The registry entry of a Keras/QKeras class (HGQ2 layers carry their family)."""
    return REGISTRY.get(class_name, UNKNOWN)


def check_activation_object(obj, name: str) -> None:
    """Refuse an activation that is neither callable nor a quantizer (a damaged config)."""
    if obj is not None and not callable(obj) and type(obj).__name__ not in QUANTIZER_KINDS:
        raise AnalysisError(f"{name}: the activation is a {type(obj).__name__}, not a quantizer "
                            "(a damaged model config?)")
