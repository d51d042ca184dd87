"""Brute force for accumulator tests: the layer itself is the reference.

A linear-activation layer computes y = A x + y0.  Feeding basis vectors
gives A exactly (Keras decides padding, strides, taps), so the exact
extremes of every output over inputs free in [lo, hi] are
Σ max(A·lo, A·hi) + y0, independent of qreport's tap masks.
"""

import numpy as np
import keras


def single_layer_model(layer, in_shape):
    x = keras.Input(in_shape, name="x")
    return keras.Model(x, layer(x))


def jacobian(model, in_shape, scale=None):
    n = int(np.prod(in_shape))
    eye = np.eye(n, dtype=np.float32).reshape(n, *in_shape)
    y0 = np.asarray(model(np.zeros((1, *in_shape), np.float32)), dtype=np.float64)[0]
    ys = np.asarray(model(eye), dtype=np.float64) - y0
    if scale is not None:  # undo a per-output-channel scale: the accumulator is unscaled
        ys, y0 = ys / scale, y0 / scale
    return ys.reshape(n, -1), y0.reshape(-1), y0.shape


def exact_extremes(a, y0, lo, hi):
    """Per-output exact (min, max) of A x + y0 over x in [lo, hi]^n."""
    up = np.maximum(a * lo, a * hi).sum(axis=0) + y0
    dn = np.minimum(a * lo, a * hi).sum(axis=0) + y0
    return dn, up


def per_channel(v, out_shape):
    c = out_shape[-1]
    return v.reshape(-1, c)


def fits(value, w, i, signed):
    """Is value representable in ap_(u)fixed<w,i>? (plain arithmetic, no qreport code)"""
    f = w - i
    k = value * 2.0 ** f
    if k != np.floor(k):
        return False
    if signed:
        return -(2 ** (w - 1)) <= k <= 2 ** (w - 1) - 1
    return 0 <= k <= 2 ** w - 1


def parse_fixed(name):
    signed = not name.startswith("ap_ufixed")
    w, i = map(int, name[name.index("<") + 1:-1].split(","))
    return w, i, signed
