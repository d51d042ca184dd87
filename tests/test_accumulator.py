"""Accumulator bounds against brute force on the integer grid (SPEC section 4)."""

import itertools

import keras
import numpy as np
import pytest
import qkeras
from qkeras import (QConv1D, QConv2D, QConv2DTranspose, QDense, QDepthwiseConv2D,
                    QSeparableConv1D, QSeparableConv2D, quantized_bits)

from qreport import analyse
from qreport.analysis.quantizers import quantizer_fact

from .brute import exact_extremes, fits, jacobian, parse_fixed, single_layer_model

Q4 = quantized_bits(4, 0, alpha=1)
QB = quantized_bits(6, 2, alpha=1)


def _model(layer, in_shape, seed):
    m = single_layer_model(layer, in_shape)
    rng = np.random.default_rng(seed)
    layer.set_weights([rng.normal(0, 0.6, w.shape).astype("float32") for w in layer.get_weights()])
    return m


def _check(m, in_shape, xq, *, exact=True, n_random=300, seed=0):
    """Bound vs brute force: safe, attained (if exact), minimal width."""
    f = analyse(m, [xq])
    layer = f.layers[-1]
    b = layer.accumulator.bound
    xf = quantizer_fact(xq)
    a, y0, out_shape = jacobian(m, in_shape)
    dn, up = exact_extremes(a, y0, xf.min, xf.max)
    # 1. exact extremes from the layer's own Jacobian
    if exact:
        assert b.max == up.max() and b.min == dn.min()
    else:
        assert b.max >= up.max() and b.min <= dn.min()
    # 2. attained: the extreme input built from the weight signs reaches it
    o = int(np.argmax(up))
    x_star = np.where(a[:, o] > 0, xf.max, xf.min).reshape(1, *in_shape).astype("float32")
    y_star = np.asarray(m(x_star), dtype=np.float64).reshape(-1)[o]
    assert y_star == up.max()
    # 3. random inputs on the input grid never leave the bound
    if n_random:
        rng = np.random.default_rng(seed)
        k = rng.integers(round(xf.min / xf.lsb), round(xf.max / xf.lsb) + 1, (n_random, *in_shape))
        ys = np.asarray(m((k * xf.lsb).astype("float32")), dtype=np.float64)
        assert ys.min() >= b.min and ys.max() <= b.max
    # 4. the width holds the attained values and is minimal
    w, i, s = parse_fixed(b.fixed)
    assert (w, i, s) == (b.width, b.integer_bits, b.signed)
    for v in (up.max(), dn.min()):
        assert fits(v, w, i, s)
    if exact:  # one integer bit less (same grid) cannot hold both attained extremes
        assert not all(fits(v, w - 1, i - 1, s) for v in (up.max(), dn.min()))
    # 5. per-channel widths from the brute-force per-channel extremes
    c = out_shape[-1]
    up_c, dn_c = up.reshape(-1, c).max(0), dn.reshape(-1, c).min(0)
    if exact:
        for ch in range(c):
            wc = layer.accumulator.per_channel_width[ch]
            sc = dn_c[ch] < 0
            ic = wc - b.fractional_bits
            assert fits(up_c[ch], wc, ic, sc) and fits(dn_c[ch], wc, ic, sc)
            # and minimal: one integer bit less cannot hold the channel's attained extremes
            assert not (fits(up_c[ch], wc - 1, ic - 1, sc) and fits(dn_c[ch], wc - 1, ic - 1, sc))
    return f


def test_dense_exhaustive_on_tiny_grid():
    layer = QDense(3, kernel_quantizer=Q4, bias_quantizer=Q4)
    m = _model(layer, (3,), 1)
    xq = quantized_bits(2, 0, alpha=1)  # values -0.5, 0, 0.5... (4 values)
    f = analyse(m, [xq])
    b = f.layers[0].accumulator.bound
    grid = np.array(sorted({-1.0, -0.5, 0.0, 0.5}))
    xs = np.array(list(itertools.product(grid, repeat=3)), dtype="float32")
    ys = np.asarray(m(xs), dtype=np.float64)
    assert ys.max() == b.max and ys.min() == b.min  # every input enumerated


@pytest.mark.parametrize("seed", [0, 1])
def test_dense(seed):
    _check(_model(QDense(5, kernel_quantizer=Q4, bias_quantizer=QB), (7,), seed), (7,),
           quantized_bits(4, 1, alpha=1))


def test_dense_on_3d_input():
    _check(_model(QDense(4, kernel_quantizer=Q4, bias_quantizer=QB), (3, 5), 2), (3, 5),
           qkeras.quantized_relu(4, 1))


@pytest.mark.parametrize("padding,strides,dil", [("valid", 1, 1), ("same", 1, 1),
                                                 ("same", 2, 1), ("valid", 1, 2),
                                                 ("same", 1, 2)])
def test_conv1d(padding, strides, dil):
    layer = QConv1D(3, 3, strides=strides, padding=padding, dilation_rate=dil,
                    kernel_quantizer=Q4, bias_quantizer=QB)
    _check(_model(layer, (9, 2), 3), (9, 2), quantized_bits(4, 0, alpha=1))


@pytest.mark.parametrize("padding,strides", [("valid", 1), ("same", 1), ("same", 2), ("valid", 2)])
def test_conv2d(padding, strides):
    layer = QConv2D(3, (3, 2), strides=strides, padding=padding, kernel_quantizer=Q4,
                    bias_quantizer=QB)
    _check(_model(layer, (6, 5, 2), 4), (6, 5, 2), quantized_bits(3, 0, alpha=1))


def test_conv2d_po2_input_excludes_zero_so_borders_matter():
    # quantized_relu_po2 never outputs 0: with zero padding a border position
    # can exceed the interior; the bound must take the max over positions.
    layer = QConv2D(2, 3, padding="same", kernel_quantizer=Q4, bias_quantizer=QB)
    _check(_model(layer, (4, 4, 1), 5), (4, 4, 1), qkeras.quantized_relu_po2(3, 1), n_random=0)


def test_qconv1d_causal_is_flagged():
    # qkeras-v3 1.2.1 passes padding="causal" to keras.ops.conv, which rejects
    # it at call time: the layer builds but cannot run.
    layer = QConv1D(2, 3, padding="causal", kernel_quantizer=Q4, bias_quantizer=QB)
    m = single_layer_model(layer, (6, 1))
    f = analyse(m)
    assert any("causal" in w for w in f.layers[0].warnings)
    assert f.layers[0].counts.macs == 6 * 2 * 3


def test_conv2d_groups():
    layer = QConv2D(4, 3, groups=2, padding="same", kernel_quantizer=Q4, bias_quantizer=QB)
    m = _model(layer, (5, 5, 4), 6)
    f = _check(m, (5, 5, 4), quantized_bits(4, 0, alpha=1))
    assert f.layers[0].counts.macs == 5 * 5 * 4 * 9 * 2


@pytest.mark.parametrize("padding", ["valid", "same"])
def test_depthwise_multiplier_2(padding):
    layer = QDepthwiseConv2D(3, depth_multiplier=2, padding=padding, depthwise_quantizer=Q4,
                             bias_quantizer=QB)
    _check(_model(layer, (5, 5, 3), 7), (5, 5, 3), qkeras.quantized_relu(4, 0))


@pytest.mark.parametrize("padding,strides", [("valid", 2), ("same", 2), ("same", 3), ("valid", 1)])
def test_conv2d_transpose_strided(padding, strides):
    layer = QConv2DTranspose(2, 3, strides=strides, padding=padding, kernel_quantizer=Q4,
                             bias_quantizer=QB)
    _check(_model(layer, (3, 3, 2), 8), (3, 3, 2), quantized_bits(4, 0, alpha=1))


def test_separable_2d_multiplier_1_is_exact():
    layer = QSeparableConv2D(3, 3, depthwise_quantizer=Q4, pointwise_quantizer=Q4,
                             bias_quantizer=QB)
    m = _model(layer, (5, 5, 2), 9)
    f = _check(m, (5, 5, 2), quantized_bits(4, 0, alpha=1))
    ops = f.layers[0].operations
    assert [o.part for o in ops] == ["depthwise", "pointwise"]
    assert ops[1].input.kind == "derived"


@pytest.mark.parametrize("padding", ["same", "valid"])
def test_separable_1d_multiplier_2_is_exact(padding):
    # Depthwise channels that share input pixels are not independent: the
    # pointwise bound is that of the composite map, exact per channel.
    layer = QSeparableConv1D(3, 3, depth_multiplier=2, padding=padding, depthwise_quantizer=Q4,
                             pointwise_quantizer=Q4, bias_quantizer=QB)
    _check(_model(layer, (7, 2), 10), (7, 2), quantized_bits(4, 0, alpha=1))


@pytest.mark.parametrize("padding,strides", [("same", 2), ("valid", 2), ("same", 1)])
def test_separable_2d_multiplier_3_strided_is_exact(padding, strides):
    layer = QSeparableConv2D(4, 3, depth_multiplier=3, strides=strides, padding=padding,
                             depthwise_quantizer=Q4, pointwise_quantizer=Q4, bias_quantizer=QB)
    _check(_model(layer, (6, 5, 2), 12), (6, 5, 2), quantized_bits(4, 0, alpha=1))


def test_depthwise_part_of_separable_is_exact():
    layer = QSeparableConv2D(2, 3, depth_multiplier=2, padding="same", depthwise_quantizer=Q4,
                             pointwise_quantizer=Q4, bias_quantizer=QB)
    m = _model(layer, (4, 4, 2), 11)
    dw = QDepthwiseConv2D(3, depth_multiplier=2, padding="same", depthwise_quantizer=Q4,
                          use_bias=False)
    m2 = single_layer_model(dw, (4, 4, 2))
    dw.set_weights([layer.get_weights()[0]])
    xq = quantized_bits(4, 0, alpha=1)
    a, y0, _ = jacobian(m2, (4, 4, 2))
    dn, up = exact_extremes(a, y0, -1.0, 0.875)
    b = analyse(m, [xq]).layers[0].operations[0].accumulator.bound
    assert (b.min, b.max) == (dn.min(), up.max())


def test_auto_po2_scale_is_applied_after_accumulation():
    # alpha=None becomes alpha="auto_po2" in qkeras-v3: the accumulator holds
    # unscaled products, so dividing the layer's output by the channel scale
    # must give values inside the bound, and the extreme input attains it.
    layer = QDense(4, kernel_quantizer=quantized_bits(4, 0), bias_quantizer=QB)
    m = _model(layer, (6,), 12)
    assert layer.kernel_quantizer_internal.alpha == "auto_po2"
    m(np.zeros((1, 6), "float32"))
    scale = np.asarray(layer.kernel_quantizer_internal.scale, dtype=np.float64).reshape(-1)
    f = analyse(m, ["quantized_bits(4,0,alpha=1)"])
    b = f.layers[0].accumulator.bound
    a, y0, _ = jacobian(m, (6,), scale=scale)
    dn, up = exact_extremes(a, y0, -1.0, 0.875)
    assert b.max == up.max() and b.min == dn.min()
    assert "auto_po2" in f.layers[0].accumulator.scale


def test_float_input_gives_no_width():
    layer = QDense(2, kernel_quantizer=Q4, bias_quantizer=QB)
    m = _model(layer, (3,), 13)
    b = analyse(m, ["float"]).layers[0].accumulator.bound
    assert b.width is None and "float input" in b.reason


def test_float_weights_give_no_width():
    m = _model(keras.layers.Dense(2), (3,), 14)
    f = analyse(m)
    assert f.layers[0].accumulator.bound.width is None
    assert any("not quantized" in w for w in f.layers[0].warnings)


def test_all_zero_kernel_and_no_bias():
    layer = QDense(3, kernel_quantizer=Q4, use_bias=False)
    m = single_layer_model(layer, (4,))
    layer.set_weights([np.zeros((4, 3), "float32")])
    b = analyse(m).layers[0].accumulator.bound
    assert (b.min, b.max, b.width) == (0.0, 0.0, 1)


def test_negative_only_accumulator_has_sign_bit():
    # all weights negative, inputs non-negative: max <= 0, must not crash (reference: log2 of <= 0)
    layer = QDense(2, kernel_quantizer=Q4, use_bias=False)
    m = single_layer_model(layer, (3,))
    layer.set_weights([-np.full((3, 2), 0.5, "float32")])
    b = analyse(m).layers[0].accumulator.bound
    assert b.signed and b.max == 0.0 and b.min == -0.5 * 3 * 255 / 256
    assert fits(b.min, b.width, b.integer_bits, True)


# ---------------------------------------------------------------- type method

def _type(layer, in_shape, xq):
    m = single_layer_model(layer, in_shape)
    return analyse(m, [xq]).layers[0].accumulator.type.fixed


def test_type_method_hand_computed_dense():
    # W = 6+4+11 = 21, I = 1+0+11 = 12, F = 9; bias ap_fixed<6,1>: I = 12+1 = 13, W = 13+9 = 22
    layer = QDense(10, kernel_quantizer=quantized_bits(6, 0), bias_quantizer=quantized_bits(6, 0))
    assert _type(layer, (1152,), "quantized_relu(4,0)") == "ap_fixed<22,13>"


def test_type_method_hand_computed_conv():
    def conv():
        return QConv2D(4, 3, kernel_quantizer=quantized_bits(4, 0), bias_quantizer=quantized_bits(4, 0))
    assert _type(conv(), (8, 8, 3), "quantized_bits(8,0)") == "ap_fixed<18,8>"
    assert _type(conv(), (8, 8, 3), "quantized_relu(8,0)") == "ap_fixed<18,7>"


def test_type_method_unsigned_everything_no_bias():
    # ap_ufixed<4,0> x ap_ufixed<4,0>, N=4 (L=2): W=10, I=2, unsigned; no bias = 1-bit
    # unsigned: I = max(2, 1) + 1 = 3, W = 3 + max(8, 0) = 11
    layer = QDense(2, kernel_quantizer=quantized_bits(4, 0, keep_negative=False), use_bias=False)
    assert _type(layer, (4,), "quantized_relu(4,0)") == "ap_ufixed<11,3>"


def test_type_method_says_why_for_po2_and_binary():
    for q in (qkeras.quantized_po2(4), qkeras.binary()):
        m = single_layer_model(QDense(2, kernel_quantizer=q, use_bias=False), (3,))
        t = analyse(m).layers[0].accumulator.type
        assert t.width is None and "no fixed-point rule" in t.reason


def test_bound_never_wider_than_type_on_examples(example_paths):
    from qreport.read.keras import load_model
    for p in example_paths.values():
        for l in analyse(load_model(p)).layers:
            for o in l.operations:
                a = o.accumulator
                if a.type.width is not None and a.bound.width is not None:
                    assert a.bound.width <= a.type.width, (l.name, o.part)


@pytest.mark.parametrize("mult,padding,dw_gain", [(1, "valid", 0.2), (1, "valid", 3.0),
                                                   (1, "same", 0.2), (2, "valid", 0.2)])
def test_separable_with_scales_on_both_kernels(mult, padding, dw_gain):
    # qkeras-v3 gives both kernels alpha="auto_po2": the pointwise half sees the
    # *scaled* depthwise output.  Brute force: the layer's Jacobian divided by
    # the pointwise scale is the pointwise accumulator's linear map.
    layer = QSeparableConv2D(3, 3, padding=padding, depth_multiplier=mult,
                             depthwise_quantizer=quantized_bits(4, 0),
                             pointwise_quantizer=quantized_bits(4, 0), bias_quantizer=QB)
    m = _model(layer, (5, 5, 2), 15)
    dw, pw, b = layer.get_weights()
    dw[..., -1] *= dw_gain            # a depthwise scale far from 1 (per multiplier slice)
    layer.set_weights([dw, pw, b])
    m(np.zeros((1, 5, 5, 2), "float32"))
    s_pw = np.asarray(layer.pointwise_quantizer_internal.scale, dtype=np.float64).reshape(-1)
    s_dw = np.asarray(layer.depthwise_quantizer_internal.scale, dtype=np.float64).reshape(-1)
    assert np.any(s_dw != 1.0)
    xq = quantized_bits(4, 0, alpha=1)
    b = analyse(m, [xq]).layers[0].operations[1].accumulator.bound
    a, y0, _ = jacobian(m, (5, 5, 2), scale=s_pw)
    dn, up = exact_extremes(a, y0, -1.0, 0.875)
    assert b.max >= up.max() and b.min <= dn.min()          # safe
    assert (b.min, b.max) == (dn.min(), up.max())           # and exact (the composite map)
    # every attained extreme lies on the accumulator's grid
    assert np.all(np.mod(np.concatenate([up, dn]) * 2.0 ** b.fractional_bits, 1) == 0)
    # the sampled path applies the depthwise scale too
    rng = np.random.default_rng(0)
    smp = rng.uniform(-1, 1, (16, 5, 5, 2)).astype("float32")
    acc2 = analyse(m, [xq], sample=[smp]).layers[0].operations[1].accumulator
    real = np.asarray(m(np.asarray(xq(smp))), dtype=np.float64) / s_pw  # the real accumulator
    assert np.isclose(real.max(), acc2.sampled.max) and np.isclose(real.min(), acc2.sampled.min)
    assert acc2.bound.min <= acc2.sampled.min and acc2.sampled.max <= acc2.bound.max


def test_transpose_with_auto_po2_scales_products_before_summing():
    # QKeras scales a transposed kernel per *input* channel (its last axis): the
    # products are scaled before they are summed, so the bound holds scaled values.
    layer = QConv2DTranspose(2, 3, strides=2, padding="same", kernel_quantizer=quantized_bits(4, 0),
                             bias_quantizer=QB)
    m = _model(layer, (3, 3, 2), 16)
    k, b = layer.get_weights()
    k[..., 1] *= 5.0
    layer.set_weights([k, b])
    f = _check(m, (3, 3, 2), quantized_bits(4, 0, alpha=1))
    assert any("applied before accumulation" in w for w in f.layers[0].warnings)


def test_depthwise_multiplier_2_with_auto_po2():
    layer = QDepthwiseConv2D(3, depth_multiplier=2, padding="same",
                             depthwise_quantizer=quantized_bits(4, 0), bias_quantizer=QB)
    m = _model(layer, (4, 4, 3), 17)
    k, b = layer.get_weights()
    k[..., 1] *= 4.0
    layer.set_weights([k, b])
    m(np.zeros((1, 4, 4, 3), "float32"))
    s_m = np.asarray(layer.depthwise_quantizer_internal.scale, dtype=np.float64).reshape(-1)
    assert s_m.size == 2 and s_m[0] != s_m[1]
    scale = np.tile(s_m, 3)  # output channel c*M + m has scale[m]
    xq = qkeras.quantized_relu(4, 0)
    bnd = analyse(m, [xq]).layers[0].accumulator.bound
    a, y0, _ = jacobian(m, (4, 4, 3), scale=scale)
    dn, up = exact_extremes(a, y0, 0.0, 0.9375)
    assert (bnd.min, bnd.max) == (dn.min(), up.max())


def test_linear_auto_po2_output_type_holds_the_scaled_outputs():
    x = keras.Input((5,))
    d1 = QDense(4, kernel_quantizer=quantized_bits(4, 0), bias_quantizer=QB, name="d1")
    d2 = QDense(2, kernel_quantizer=quantized_bits(4, 0), bias_quantizer=QB, name="d2")
    m = keras.Model(x, d2(d1(x)))
    rng = np.random.default_rng(18)
    for l in (d1, d2):
        k, b = l.get_weights()
        l.set_weights([rng.normal(0, 3.0, k.shape).astype("float32"), b])
    xq = quantized_bits(4, 0, alpha=1)
    f = analyse(m, [xq])
    t = f.layers[0].output_type          # what d2 sees
    sub = keras.Model(x, d1.output)
    a, y0, _ = jacobian(sub, (5,))       # d1's real (scaled) outputs
    dn, up = exact_extremes(a, y0, -1.0, 0.875)
    assert t.min <= dn.min() and up.max() <= t.max
    assert np.all(np.mod(np.concatenate([up, dn]) / t.lsb, 1) == 0)  # on the stated grid
    assert f.layers[1].operations[0].input == t
