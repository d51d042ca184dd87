"""The layer registry: every class in it is exercised by a model here.

Adding a class to qreport/analysis/layers.py without a model below fails
test_every_registered_class_has_a_model; each model checks the class is
analysed by its family (never reported as unknown) and, for weight layers,
that the weights counted are the layer's own kernels (Keras's count, an
independent source).
"""

import keras
import numpy as np
import pytest
from qkeras import (QActivation, QAdaptiveActivation, QAveragePooling2D, QConv1D, QConv2D,
                    QConv2DBatchnorm, QConv2DTranspose, QDense, QDenseBatchnorm,
                    QDepthwiseConv2D, QDepthwiseConv2DBatchnorm, QGlobalAveragePooling2D,
                    QSeparableConv1D, QSeparableConv2D, quantized_bits, quantized_relu)

from qreport import analyse
from qreport.analysis.layers import REGISTRY
from qreport.provenance import Provenance

L = keras.layers
Q4, QB = quantized_bits(4, 0, alpha=1), quantized_bits(8, 3, alpha=1)
W = dict(kernel_quantizer=Q4, bias_quantizer=QB)
DW = dict(depthwise_quantizer=Q4, bias_quantizer=QB)
SEP = dict(depthwise_quantizer=Q4, pointwise_quantizer=Q4, bias_quantizer=QB)
S1, S2, S3 = (6, 2), (5, 5, 2), (3, 3, 3, 2)

# class name -> (layer factory, input shapes)
MODELS = {
    "Dense": (lambda: L.Dense(3), [(4,)]),
    "QDense": (lambda: QDense(3, **W), [(4,)]),
    "QDenseBatchnorm": (lambda: QDenseBatchnorm(3, **W), [(4,)]),
    "Conv1D": (lambda: L.Conv1D(2, 3), [S1]),
    "Conv2D": (lambda: L.Conv2D(2, 3), [S2]),
    "Conv3D": (lambda: L.Conv3D(2, 2), [S3]),
    "QConv1D": (lambda: QConv1D(2, 3, **W), [S1]),
    "QConv2D": (lambda: QConv2D(2, 3, **W), [S2]),
    "QConv2DBatchnorm": (lambda: QConv2DBatchnorm(2, 3, **W), [S2]),
    "DepthwiseConv1D": (lambda: L.DepthwiseConv1D(3), [S1]),
    "DepthwiseConv2D": (lambda: L.DepthwiseConv2D(3), [S2]),
    "QDepthwiseConv2D": (lambda: QDepthwiseConv2D(3, **DW), [S2]),
    "QDepthwiseConv2DBatchnorm": (lambda: QDepthwiseConv2DBatchnorm(3, **DW), [S2]),
    "SeparableConv1D": (lambda: L.SeparableConv1D(2, 3), [S1]),
    "SeparableConv2D": (lambda: L.SeparableConv2D(2, 3), [S2]),
    "QSeparableConv1D": (lambda: QSeparableConv1D(2, 3, **SEP), [S1]),
    "QSeparableConv2D": (lambda: QSeparableConv2D(2, 3, **SEP), [S2]),
    "Conv1DTranspose": (lambda: L.Conv1DTranspose(2, 3), [S1]),
    "Conv2DTranspose": (lambda: L.Conv2DTranspose(2, 3), [S2]),
    "Conv3DTranspose": (lambda: L.Conv3DTranspose(2, 2), [S3]),
    "QConv2DTranspose": (lambda: QConv2DTranspose(2, 3, **W), [S2]),
    "QActivation": (lambda: QActivation(quantized_relu(4, 0)), [(4,)]),
    "QAdaptiveActivation": (lambda: QAdaptiveActivation("quantized_relu", total_bits=4,
                                                        current_step=0, quantization_delay=1), [(4,)]),
    "Activation": (lambda: L.Activation("linear"), [(4,)]),
    "Flatten": (lambda: L.Flatten(), [S2]),
    "Reshape": (lambda: L.Reshape((25, 2)), [S2]),
    "Permute": (lambda: L.Permute((2, 1)), [S1]),
    "RepeatVector": (lambda: L.RepeatVector(2), [(4,)]),
    "Identity": (lambda: L.Identity(), [(4,)]),
    "Masking": (lambda: L.Masking(), [S1]),
    "ActivityRegularization": (lambda: L.ActivityRegularization(), [(4,)]),
    "QAveragePooling2D": (lambda: QAveragePooling2D(2, average_quantizer=quantized_bits(8, 0, 1)), [S2]),
    "QGlobalAveragePooling2D": (lambda: QGlobalAveragePooling2D(
        average_quantizer=quantized_bits(8, 0, 1)), [S2]),
    "Add": (lambda: L.Add(), [(4,), (4,)]),
    "Subtract": (lambda: L.Subtract(), [(4,), (4,)]),
    "Multiply": (lambda: L.Multiply(), [(4,), (4,)]),
    "Concatenate": (lambda: L.Concatenate(), [(4,), (4,)]),
    "Average": (lambda: L.Average(), [(4,), (4,)]),
    "Maximum": (lambda: L.Maximum(), [(4,), (4,)]),
    "Minimum": (lambda: L.Minimum(), [(4,), (4,)]),
}
for _name in ("Dropout", "AlphaDropout", "GaussianDropout", "GaussianNoise"):
    MODELS[_name] = (lambda n=_name: getattr(L, n)(0.5), [(4,)])
# the 1-D, 2-D and 3-D versions of a layer, each on an input of its rank
for _n, _shape in ((1, S1), (2, S2), (3, S3)):
    for _name, _arg in (("SpatialDropout{}D", 0.5), ("MaxPooling{}D", 2), ("Cropping{}D", 1),
                        ("UpSampling{}D", 2), ("ZeroPadding{}D", 1), ("AveragePooling{}D", 2)):
        MODELS[_name.format(_n)] = (lambda c=_name.format(_n), a=_arg: getattr(L, c)(a), [_shape])
    for _name in ("GlobalMaxPooling{}D", "GlobalAveragePooling{}D"):
        MODELS[_name.format(_n)] = (lambda c=_name.format(_n): getattr(L, c)(), [_shape])


def test_every_registered_class_has_a_model():
    assert set(MODELS) == set(REGISTRY)


@pytest.mark.parametrize("cls", sorted(MODELS))
def test_registered_class_is_analysed_by_its_family(cls):
    make, shapes = MODELS[cls]
    layer = make()
    xs = [keras.Input(s) for s in shapes]
    m = keras.Model(xs, layer(xs if len(xs) > 1 else xs[0]))
    assert type(layer).__name__ == cls
    rng = np.random.default_rng(0)
    # (abs: a batch norm's moving variance must be positive)
    layer.set_weights([np.abs(rng.normal(0, 0.5, w.shape)).astype("float32") + 0.1
                       for w in layer.get_weights()])
    family = REGISTRY[cls].family
    # zero padding changes a type that excludes 0 (powers of two), and only that
    xq = "quantized_relu_po2(4)" if family.name == "zero padding" else "quantized_bits(6,2,1)"
    f = analyse(m, [xq] * len(xs))
    assert not any("not a quantized operation" in w for w in f.warnings), f.warnings
    facts = [l for l in f.layers if l.class_name == cls]
    if family.has_weights:
        (l,) = facts
        assert l.operations and l.counts.macs > 0
        roles = [k.role for k in family.kernels]
        assert [r for r, _ in l.quantizers if r in roles] == roles
        if not REGISTRY[cls].folded:  # the kernels Keras stores, counted by Keras
            kernels = [w for w in layer.weights if "kernel" in w.path.split("/")[-1]]
            assert l.counts.weights == sum(int(np.prod(w.shape)) for w in kernels)
        assert l.accumulator.bound is not None
    elif family.name in ("pass-through", "keras activation"):  # linear: the type passes
        assert facts == []                  # the type passes unchanged: nothing to report
    else:
        (l,) = facts
        assert l.operations == () and l.output_type is not None
        if family.name == "zero padding":
            x = f.inputs[0].type   # [2^-8, 2^7]: padding adds 0, nothing else
            assert x.min > 0 and (l.output_type.min, l.output_type.max) == (0.0, x.max)


@pytest.mark.parametrize("cls", sorted(MODELS))
def test_registered_class_exports_to_hls4ml(cls):
    """Every class gets its hls4ml entry (or none, for hls4ml's no-op layers): a type or auto."""
    import re

    import yaml

    from qreport.analysis.hls4ml import _NO_NODE
    from qreport.render.hls4ml import hls4ml_yaml

    make, shapes = MODELS[cls]
    layer = make()
    xs = [keras.Input(s, name=f"in{i}") for i, s in enumerate(shapes)]
    m = keras.Model(xs, layer(xs if len(xs) > 1 else xs[0]))
    f = analyse(m, ["quantized_bits(6,2,1)"] * len(xs))
    cfg = yaml.safe_load(hls4ml_yaml(f, Provenance("m", "m", "0", None, None, "t")))
    names = [n for n in cfg["LayerName"] if not n.startswith("in")]
    assert (names == []) == (cls in _NO_NODE), names
    assert all(n.startswith(layer.name) for n in names)
    for entry in cfg["LayerName"].values():
        for v in entry["Precision"].values():
            assert v == "auto" or re.fullmatch(r"ap_u?fixed<\d+,-?\d+(,AP_[A-Z_]+)*>", v), v
