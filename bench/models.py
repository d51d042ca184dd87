"""Benchmark models, built deterministically (not committed: bench/models/ is ignored).

- mobilenet: a MobileNetV2-like QKeras CNN on 224x224x3 (inverted residual
  blocks: 1x1 expand QConv2D, 3x3 QDepthwiseConv2D, 1x1 project QConv2D,
  Add skips), plus QSeparableConv2D blocks and a QDense head;
  >= 50 quantized weight layers, >= 3 M parameters.
- mobilenet2x: the same with channels x sqrt(2), about twice the parameters
  (for the analysis-time scaling check).
- mlp300: 300 QDense layers of 256 units with quantized_relu activations.
"""

from __future__ import annotations

import math
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.join(HERE, "models")


def _q(bits=4):
    from qkeras import quantized_bits

    return quantized_bits(bits, 0, alpha=1)


def mobilenet(width: float = 1.0, name: str = "mobilenet"):
    import keras
    from qkeras import (QActivation, QConv2D, QDense, QDepthwiseConv2D, QSeparableConv2D,
                        quantized_bits)

    def c(n):
        return int(round(n * width / 8.0)) * 8

    relu = "quantized_relu(6,2)"
    x = keras.Input((224, 224, 3), name="image")
    h = QConv2D(c(32), 3, strides=2, padding="same", kernel_quantizer=_q(8), bias_quantizer=_q(8),
                name="stem")(x)
    h = QActivation(relu, name="stem_relu")(h)
    cfg = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
           (6, 160, 3, 2), (6, 320, 1, 1)]
    cin = c(32)
    b = 0
    for t, ch, n, s in cfg:
        for i in range(n):
            b += 1
            stride = s if i == 0 else 1
            inp = h
            if t != 1:
                h = QConv2D(cin * t, 1, kernel_quantizer=_q(), bias_quantizer=_q(8), name=f"b{b}_expand")(h)
                h = QActivation(relu, name=f"b{b}_expand_relu")(h)
            h = QDepthwiseConv2D(3, strides=stride, padding="same", depthwise_quantizer=_q(),
                                 bias_quantizer=_q(8), name=f"b{b}_dw")(h)
            h = QActivation(relu, name=f"b{b}_dw_relu")(h)
            h = QConv2D(c(ch), 1, kernel_quantizer=_q(), bias_quantizer=_q(8), name=f"b{b}_project")(h)
            if stride == 1 and cin == c(ch):
                h = keras.layers.Add(name=f"b{b}_add")([inp, h])
            h = QActivation(relu, name=f"b{b}_out")(h)
            cin = c(ch)
    for k in range(3):
        h = QSeparableConv2D(c(320), 3, padding="same", depthwise_quantizer=quantized_bits(4, 0),
                             pointwise_quantizer=quantized_bits(4, 0), bias_quantizer=_q(8),
                             name=f"sep{k}")(h)
        h = QActivation(relu, name=f"sep{k}_relu")(h)
    h = QConv2D(c(1280), 1, kernel_quantizer=_q(), bias_quantizer=_q(8), name="head_conv")(h)
    h = QActivation(relu, name="head_relu")(h)
    h = keras.layers.GlobalAveragePooling2D(name="gap")(h)
    y = QDense(1000, kernel_quantizer=_q(6), bias_quantizer=_q(8), name="classifier")(h)
    return keras.Model(x, y, name=name)


def mlp(layers: int = 300, units: int = 256):
    import keras
    from qkeras import QActivation, QDense

    x = keras.Input((units,), name="features")
    h = x
    for i in range(layers):
        h = QDense(units, kernel_quantizer=_q(6), bias_quantizer=_q(8), name=f"fc{i}")(h)
        h = QActivation("quantized_relu(6,2)", name=f"relu{i}")(h)
    return keras.Model(x, h, name=f"mlp{layers}")


def _weights(model, seed):
    import numpy as np

    rng = np.random.default_rng(seed)
    for layer in model.layers:
        ws = layer.get_weights()
        if ws:
            layer.set_weights([(rng.standard_normal(w.shape, dtype=np.float32) *
                                (1.0 / math.sqrt(max(1, int(np.prod(w.shape[:-1]))))))
                               if w.ndim > 1 else rng.normal(0, 0.05, w.shape).astype("float32")
                               for w in ws])


BUILDERS = {
    "mobilenet": lambda: mobilenet(1.0, "mobilenet"),
    "mobilenet2x": lambda: mobilenet(math.sqrt(2.0), "mobilenet2x"),
    "mlp300": lambda: mlp(300, 256),
}


def build(names=None) -> dict[str, str]:
    """Build (if missing) and return {name: path}."""
    from qreport import backend

    backend.use("tensorflow")
    import_keras = backend.import_keras

    keras = import_keras()
    os.makedirs(MODELS, exist_ok=True)
    out = {}
    for name in names or BUILDERS:
        path = os.path.join(MODELS, f"{name}.keras")
        if not os.path.exists(path):
            keras.utils.set_random_seed(0)
            m = BUILDERS[name]()
            _weights(m, 0)
            m.save(path)
        out[name] = path
    return out


if __name__ == "__main__":
    for n, p in build(sys.argv[1:] or None).items():
        print(n, p, os.path.getsize(p))
