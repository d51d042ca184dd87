"""Build the bundled example models deterministically (fixed seeds, weights set explicitly).

    python examples/build_examples.py            # writes examples/models/*.keras
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def _set_weights(model, seed: int) -> None:
    """Every weight from one seeded generator: kernels ~ N(0, 0.5/sqrt(fan_in))."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        new = []
        for w in layer.get_weights():
            if w.ndim >= 2:
                fan_in = int(np.prod(w.shape[:-1]))
                new.append(rng.normal(0.0, 1.5 / np.sqrt(fan_in), w.shape).astype(np.float32))
            else:
                new.append(rng.normal(0.0, 0.1, w.shape).astype(np.float32))
        if new:
            layer.set_weights(new)


def _classify(x, h, units: int, bias_quantizer, head: str, name: str, seed: int,
              kernel_bits: int = 6, alpha=1):
    """The model's last layer (a 6-bit QDense), the model, its seeded weights."""
    import keras
    from qkeras import QDense, quantized_bits

    y = QDense(units, kernel_quantizer=quantized_bits(kernel_bits, 0, alpha=alpha),
               bias_quantizer=bias_quantizer, name=head)(h)
    m = keras.Model(x, y, name=name)
    _set_weights(m, seed)
    return m


def jet_mlp(kernel_bits=(6, 6, 6, 6), name="jet_mlp", alpha=1):
    """The hls4ml jet-tagging MLP: 16 -> 64 -> 32 -> 32 -> 5, 6-bit weights, quantized_relu(6)."""
    import keras
    from qkeras import QActivation, QDense, quantized_bits

    x = keras.Input((16,), name="jets")
    h = x
    for i, units in enumerate((64, 32, 32)):
        h = QDense(units, kernel_quantizer=quantized_bits(kernel_bits[i], 0, alpha=alpha),
                   bias_quantizer=quantized_bits(6, 0, alpha=1), name=f"fc{i + 1}")(h)
        h = QActivation("quantized_relu(6)", name=f"relu{i + 1}")(h)
    return _classify(x, h, 5, quantized_bits(6, 0, alpha=1), "output", name, seed=1,
                     kernel_bits=kernel_bits[3], alpha=alpha)


def jet_mlp_v2():
    """jet_mlp with fc2's weights at 8 bits and the output layer's at 4 (the diff example).

    The same seed gives the same float weights; only their quantization differs.
    """
    return jet_mlp((6, 8, 6, 4), "jet_mlp_v2")


def jet_mlp_po2():
    """jet_mlp with per-channel power-of-two kernel scales (alpha="auto_po2") on every layer.

    hls4ml moves each scale and bias into an ApplyAlpha node and sums the
    unscaled kernel: the hls4ml export's proof covers that path with it.
    """
    return jet_mlp(name="jet_mlp_po2", alpha="auto_po2")


def cnn():
    """A small QKeras CNN on 32x32x3: conv, depthwise, separable, pooling, dense head."""
    import keras
    from qkeras import (QActivation, QConv2D, QDepthwiseConv2D,
                        QSeparableConv2D, quantized_bits)

    q4 = quantized_bits(4, 0, alpha=1)
    x = keras.Input((32, 32, 3), name="image")
    h = QConv2D(8, 3, padding="same", kernel_quantizer=q4, bias_quantizer=q4, name="conv1")(x)
    h = QActivation("quantized_relu(4,2)", name="relu1")(h)
    h = keras.layers.MaxPooling2D(2, name="pool1")(h)
    h = QDepthwiseConv2D(3, depth_multiplier=2, padding="same", depthwise_quantizer=q4,
                         bias_quantizer=q4, name="dw2")(h)
    h = QActivation("quantized_relu(4,2)", name="relu2")(h)
    # alpha=None: qkeras-v3 turns it into alpha="auto_po2" (per-channel scales)
    h = QSeparableConv2D(16, 3, strides=2, padding="valid",
                         depthwise_quantizer=quantized_bits(4, 0),
                         pointwise_quantizer=quantized_bits(4, 0),
                         bias_quantizer=quantized_bits(8, 3), name="sep3")(h)
    h = QActivation("quantized_relu(6,2)", name="relu3")(h)
    h = keras.layers.AveragePooling2D(2, name="pool3")(h)
    h = keras.layers.Flatten(name="flatten")(h)
    return _classify(x, h, 10, quantized_bits(8, 3), "classifier", "small_cnn", seed=2)


def conv1d():
    """A QConv1D model on a 1-D signal of 128 samples x 2 channels."""
    import keras
    from qkeras import QActivation, QConv1D, quantized_bits

    x = keras.Input((128, 2), name="signal")
    h = QConv1D(8, 5, strides=2, padding="same", kernel_quantizer=quantized_bits(5, 0, alpha=1),
                bias_quantizer=quantized_bits(8, 2), name="conv1")(x)
    h = QActivation("quantized_relu(5,1)", name="relu1")(h)
    h = QConv1D(16, 3, padding="same", kernel_quantizer=quantized_bits(5, 0, alpha=1),
                bias_quantizer=quantized_bits(8, 2), name="conv2")(h)
    h = QActivation("quantized_relu(5,1)", name="relu2")(h)
    h = keras.layers.GlobalAveragePooling1D(name="gap")(h)
    return _classify(x, h, 4, quantized_bits(8, 2), "head", "signal_conv1d", seed=3)


EXAMPLES = {"jet_mlp": jet_mlp, "cnn": cnn, "conv1d": conv1d, "jet_mlp_v2": jet_mlp_v2,
            "jet_mlp_po2": jet_mlp_po2}


def main(out_dir: str = os.path.join(HERE, "models"), *names: str) -> None:
    """Write the example models (all of them, or those named) to out_dir."""
    import keras

    keras.utils.set_random_seed(0)
    os.makedirs(out_dir, exist_ok=True)
    for name, fn in EXAMPLES.items():
        if names and name not in names:
            continue
        path = os.path.join(out_dir, f"{name}.keras")
        fn().save(path)
        print(f"wrote {path} ({os.path.getsize(path)} bytes)")


if __name__ == "__main__":
    main(*sys.argv[1:])
