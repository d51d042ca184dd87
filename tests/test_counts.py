"""MAC/weight/bias counts, operation types and type propagation (SPEC sections 2-3)."""

import copy

import keras
import numpy as np
import pytest
import qkeras
from qkeras import (QActivation, QConv1D, QConv2D, QConv2DBatchnorm, QConv2DTranspose, QDense,
                    QDenseBatchnorm, QDepthwiseConv2D, QDepthwiseConv2DBatchnorm,
                    QSeparableConv1D, QSeparableConv2D, quantized_bits, quantized_relu)

from qreport import analyse

from .brute import single_layer_model
from .conftest import set_weights

Q4 = quantized_bits(4, 0, alpha=1)


def _one(layer, shape, xq=None):
    m = set_weights(single_layer_model(layer, shape), 1, 0.5)
    return analyse(m, [xq] if xq else None).layers[0]


def _brute_conv_macs(in_len, out_len, k, s, pad_left):
    """Count live taps over all output positions with a plain loop (independent)."""
    n = 0
    for p in range(out_len):
        for t in range(k):
            i = p * s + t - pad_left
            n += 0 <= i < in_len
    return n


def test_dense_counts_by_hand():
    l = _one(QDense(7, kernel_quantizer=Q4, bias_quantizer=quantized_bits(8, 2)), (5,))
    c = l.counts
    assert (c.macs, c.weights, c.bias, c.weight_bits, c.bias_bits) == (35, 35, 7, 140, 56)
    assert c.bops == 35 * 4 * 8
    assert l.operations[0].name == "smult_4_8"


def test_dense_on_3d_input_counts_every_row():
    # reference: asserts "Tensor shape has multiple >1 size dims"
    l = _one(QDense(4, kernel_quantizer=Q4), (6, 3))
    assert l.counts.macs == 6 * 3 * 4 and l.counts.weights == 12


def test_conv2d_counts_by_hand():
    l = _one(QConv2D(8, (3, 3), strides=2, padding="same", kernel_quantizer=Q4,
                     bias_quantizer=Q4), (9, 9, 3))
    # out 5x5; MACs = positions x C_out x k x C_in (SPEC counts padded taps too)
    assert l.counts.macs == 5 * 5 * 8 * 9 * 3
    assert l.counts.weights == 3 * 3 * 3 * 8 and l.counts.bias == 8


def test_conv1d_counts_by_hand():
    l = _one(QConv1D(4, 5, strides=2, kernel_quantizer=Q4, bias_quantizer=Q4), (20, 3))
    assert l.output_shape == (None, 8, 4)
    assert l.counts.macs == 8 * 4 * 5 * 3 and l.counts.weights == 60


def test_depthwise_multiplier_counts():
    # reference: weight count multiplied C_out*C_in and MACs ignored the multiplier
    l = _one(QDepthwiseConv2D(3, depth_multiplier=2, depthwise_quantizer=Q4, bias_quantizer=Q4),
             (6, 6, 4))
    assert l.counts.weights == 3 * 3 * 4 * 2 and l.counts.bias == 8
    assert l.counts.macs == 4 * 4 * 4 * 2 * 9


def test_separable_2d_two_operations():
    # reference: separable pointwise MACs missed C_in
    l = _one(QSeparableConv2D(6, 3, depth_multiplier=2, depthwise_quantizer=Q4,
                              pointwise_quantizer=quantized_bits(6, 0, alpha=1),
                              bias_quantizer=Q4), (7, 7, 3))
    dw, pw = l.operations
    assert (dw.part, pw.part) == ("depthwise", "pointwise")
    assert dw.macs == 5 * 5 * 3 * 2 * 9
    assert pw.macs == 5 * 5 * (3 * 2) * 6
    assert l.counts.macs == dw.macs + pw.macs
    assert l.counts.weights == 9 * 3 * 2 + 6 * 6
    assert l.counts.weight_bits == 54 * 4 + 36 * 6
    assert pw.weight.bits == 6 and pw.input.kind == "derived"
    assert pw.name == f"smult_6_{dw.accumulator.bound.width}"


def test_separable_1d():
    l = _one(QSeparableConv1D(4, 3, depthwise_quantizer=Q4, pointwise_quantizer=Q4,
                              bias_quantizer=Q4), (10, 2))
    assert [o.macs for o in l.operations] == [8 * 2 * 3, 8 * 2 * 4]


def test_conv2d_transpose_counts():
    l = _one(QConv2DTranspose(3, 3, strides=2, padding="same", kernel_quantizer=Q4,
                              bias_quantizer=Q4), (4, 4, 2))
    assert l.output_shape == (None, 8, 8, 3)
    assert l.counts.macs == 4 * 4 * 9 * 2 * 3 and l.counts.weights == 9 * 3 * 2


def test_zero_weights_after_quantization():
    layer = QDense(4, kernel_quantizer=quantized_bits(3, 0, alpha=1), use_bias=False)
    m = single_layer_model(layer, (4,))
    w = np.array([[0.01, -0.05, 0.3, 0.6]] * 4, "float32")  # |w| < 0.125 rounds to 0
    layer.set_weights([w])
    l = analyse(m).layers[0]
    assert l.counts.zero_weights == 8
    assert analyse(m).totals.sparsity == 0.5


def test_op_table_and_names():
    cases = [
        (quantized_bits(4, 0, alpha=1), "quantized_bits(8,0)", "mult", "smult_4_8"),
        (quantized_bits(4, 0, keep_negative=False, alpha=1), "quantized_relu(8,0)", "mult", "umult_4_8"),
        (qkeras.quantized_po2(4), "quantized_relu(8,0)", "barrel", "sbarrel_4_8"),
        (qkeras.quantized_po2(4), "quantized_po2(4)", "adder", "sadder_4_4"),
        (qkeras.ternary(), "quantized_relu(8,0)", "mux", "smux_2_8"),
        (qkeras.binary(), "binary()", "xor", "sxor_1_1"),
        (qkeras.binary(use_01=True), "bernoulli()", "xor", "uxor_1_1"),
        (Q4, "float", "fmult", "sfmult_4_32"),
    ]
    for wq, xq, typ, name in cases:
        o = _one(QDense(2, kernel_quantizer=wq, use_bias=False), (3,), xq).operations[0]
        assert (o.type, o.name) == (typ, name), (wq, xq)


def test_float_layers_are_reported_with_warning():
    x = keras.Input((8, 8, 2))
    h = keras.layers.Conv2D(3, 3)(x)
    h = keras.layers.DepthwiseConv2D(3)(h)
    h = keras.layers.SeparableConv2D(4, 2)(h)
    h = keras.layers.Flatten()(h)
    y = keras.layers.Dense(2)(h)
    f = analyse(keras.Model(x, y))
    names = [l.class_name for l in f.layers if l.operations]
    assert names == ["Conv2D", "DepthwiseConv2D", "SeparableConv2D", "Dense"]
    for l in f.layers:
        if l.operations:
            assert l.operations[0].type == "fmult"
            assert any("not quantized" in w for w in l.warnings)
            assert l.counts.weight_bits == 32 * l.counts.weights


@pytest.mark.parametrize("folded,plain,shape", [
    (lambda: QConv2DBatchnorm(4, 3, kernel_quantizer=Q4, bias_quantizer=quantized_bits(8, 3)),
     lambda: QConv2D(4, 3, kernel_quantizer=Q4, bias_quantizer=quantized_bits(8, 3)), (6, 6, 2)),
    (lambda: QDepthwiseConv2DBatchnorm(3, depth_multiplier=2, depthwise_quantizer=Q4,
                                       bias_quantizer=quantized_bits(8, 3)),
     lambda: QDepthwiseConv2D(3, depth_multiplier=2, depthwise_quantizer=Q4,
                              bias_quantizer=quantized_bits(8, 3)), (6, 6, 2)),
    (lambda: QDenseBatchnorm(5, kernel_quantizer=Q4, bias_quantizer=quantized_bits(8, 3)),
     lambda: QDense(5, kernel_quantizer=Q4, bias_quantizer=quantized_bits(8, 3)), (7,)),
])
def test_bn_folded_equals_unfolded(folded, plain, shape):
    """Fold BN by hand into a plain layer: same counts, same quantized kernel, same bound."""
    lf = folded()
    mf = single_layer_model(lf, shape)
    rng = np.random.default_rng(3)
    lf.set_weights([rng.normal(0, 0.5, w.shape).astype("float32") if "variance" not in v.path
                    else rng.uniform(0.5, 2, w.shape).astype("float32")
                    for w, v in zip(lf.get_weights(), lf.weights)])
    bn = lf.batchnorm
    gamma, beta = np.asarray(bn.gamma), np.asarray(bn.beta)
    mean, var = np.asarray(bn.moving_mean), np.asarray(bn.moving_variance)
    inv = gamma / np.sqrt(var + bn.epsilon)
    kernel = np.asarray(lf.depthwise_kernel if hasattr(lf, "depthwise_kernel") else lf.kernel)
    bias = np.asarray(lf.bias) if lf.use_bias else 0.0
    if kernel.ndim == 4 and hasattr(lf, "depthwise_kernel"):
        k_fold = kernel * inv.reshape(kernel.shape[2], kernel.shape[3])
    else:
        k_fold = kernel * inv
    b_fold = inv * (bias - mean) + beta
    lp = plain()
    mp = single_layer_model(lp, shape)
    lp.set_weights([k_fold.astype("float32"), b_fold.astype("float32")])
    a, b = analyse(mf).layers[0], analyse(mp).layers[0]
    assert a.counts == b.counts
    assert a.accumulator.bound == b.accumulator.bound
    assert a.histograms == b.histograms


def test_analysis_does_not_mutate_the_model(example_paths):
    from qreport.read.keras import load_model
    m = load_model(example_paths["cnn"])
    before_w = [np.array(w) for w in m.get_weights()]
    before_cfg = copy.deepcopy(m.get_config())
    sep = m.get_layer("sep3")
    before_scale = getattr(sep.depthwise_quantizer_internal, "scale", None)
    analyse(m, sample=[np.random.default_rng(0).uniform(0, 1, (4, 32, 32, 3)).astype("float32")])
    assert all(np.array_equal(a, np.array(b)) for a, b in zip(before_w, m.get_weights()))
    assert m.get_config() == before_cfg
    assert getattr(sep.depthwise_quantizer_internal, "scale", None) is before_scale


# ---------------------------------------------------------------- type propagation

def test_types_through_graph_merges_and_multi_input():
    a = keras.Input((4,), name="a")
    b = keras.Input((4,), name="b")
    qa = QActivation(quantized_bits(4, 0), name="qa")(a)
    qb = QActivation(quantized_relu(6, 2), name="qb")(b)
    add = keras.layers.Add(name="add")([qa, qb])
    cat = keras.layers.Concatenate(name="cat")([qa, qb])
    mul = keras.layers.Multiply(name="mul")([qa, qb])
    d = QDense(3, kernel_quantizer=Q4, name="d")(add)
    m = keras.Model([a, b], [d, cat, mul])
    f = analyse(m, ["quantized_bits(8,0)", "b=quantized_relu(8,2)"])
    t = {l.name: l.output_type for l in f.layers}
    assert (t["add"].min, t["add"].max, t["add"].lsb) == (-1.0, 0.875 + 3.9375, 0.0625)
    assert (t["cat"].min, t["cat"].max, t["cat"].lsb) == (-1.0, 3.9375, 0.0625)
    assert (t["mul"].min, t["mul"].max, t["mul"].lsb) == (-1.0 * 3.9375, 0.875 * 3.9375, 0.125 * 0.0625)
    assert f.layers[[l.name for l in f.layers].index("d")].operations[0].input == t["add"]
    assert [i.type.config for i in f.inputs] == ["quantized_bits(8,0,0)", "quantized_relu(8,2)"]
    assert [i.assumed for i in f.inputs] == [False, False]


def test_linear_layer_output_feeds_next_layer_as_its_accumulator():
    x = keras.Input((6,))
    d1 = QDense(4, kernel_quantizer=Q4, bias_quantizer=Q4, name="d1")(x)
    d2 = QDense(2, kernel_quantizer=Q4, bias_quantizer=Q4, name="d2")(d1)
    f = analyse(set_weights(keras.Model(x, d2), 2, 0.5))
    d1f, d2f = f.layers
    acc = d1f.accumulator.bound
    assert d2f.operations[0].input.kind == "derived"
    assert (d2f.operations[0].input.min, d2f.operations[0].input.max) == (acc.min, acc.max)
    assert d2f.operations[0].input.fixed == acc.fixed


def test_pass_through_and_pooling_types():
    x = keras.Input((8, 8, 2))
    h = QActivation(quantized_relu(4, 2), name="q")(x)
    h = keras.layers.MaxPooling2D(name="mp")(h)
    h = keras.layers.ZeroPadding2D(name="zp")(h)
    h = keras.layers.AveragePooling2D(2, name="ap")(h)
    h = keras.layers.Flatten(name="fl")(h)
    y = keras.layers.Dropout(0.1, name="do")(h)
    f = analyse(keras.Model(x, y))
    t = {l.name: l for l in f.layers}
    assert set(t) == {"q", "ap"}  # shape-only layers change no type and are omitted
    assert (t["ap"].output_type.min, t["ap"].output_type.max, t["ap"].output_type.lsb) == (0.0, 3.75, 0.25 / 4)


def test_unknown_layer_warns_instead_of_aborting():
    x = keras.Input((4,))
    h = keras.layers.BatchNormalization(name="bn")(x)
    h = keras.layers.Activation("relu", name="act")(h)
    y = QDense(2, kernel_quantizer=Q4, name="d")(h)
    f = analyse(keras.Model(x, y))
    assert any("bn" in w and "float" in w for w in f.warnings)
    d = [l for l in f.layers if l.name == "d"][0]
    assert d.operations[0].input.is_float and d.accumulator.bound.width is None


def test_nested_model_is_inlined_with_outer_inner_names():
    inner = keras.Sequential([keras.Input((4,)), QDense(3, kernel_quantizer=Q4, name="i1"),
                              QActivation("quantized_relu(4,0)", name="r")], name="block")
    x = keras.Input((5,))
    h = QDense(4, kernel_quantizer=Q4, name="pre")(x)
    h = QActivation("quantized_bits(6,2)", name="qa")(h)
    y = inner(h)
    f = analyse(keras.Model(x, y))
    names = [l.name for l in f.layers]
    assert "block/i1" in names and "block/r" in names
    i1 = f.layers[names.index("block/i1")]
    assert i1.operations[0].input.config == "quantized_bits(6,2,0)"
    assert i1.inputs == ("qa",)


def test_sequential_model_and_qactivation_relu_string():
    m = keras.Sequential([keras.Input((3,)), QDense(2, kernel_quantizer=Q4),
                          QActivation("relu")])
    f = analyse(m)
    assert any("relu" in w for w in f.warnings)  # reference raised on QActivation("relu")


def test_use_01_and_keep_negative_false_are_unsigned():
    from qreport.estimate import get_quant_mode
    assert get_quant_mode(qkeras.binary(use_01=True)) == (4, 1, 0)
    assert get_quant_mode(quantized_bits(4, 0, keep_negative=False)) == (0, 4, 0)
    assert get_quant_mode(None) == (5, 32, 1)
    for q in (qkeras.quantized_hswish(4, 1), qkeras.quantized_linear(4), qkeras.quantized_sigmoid(4)):
        assert get_quant_mode(q)[0] == 0  # reference raised for these


ACTIVATION_KINDS = ["quantized_bits(4,1)", "quantized_relu(4,2)", "quantized_tanh(4)",
                    "quantized_ulaw(4)", "quantized_sigmoid(4)", "quantized_linear(4,1)",
                    "quantized_po2(4)", "quantized_relu_po2(4,2)", "binary()",
                    "binary(use_01=True)", "stochastic_binary()", "ternary()",
                    "stochastic_ternary()", "quantized_bits(2,1)"]


def test_every_quantizer_kind_in_a_model_matches_its_outputs():
    """One QActivation branch per kind: the propagated type holds exactly what the model outputs."""
    x = keras.Input((1,), name="x")
    outs = [QActivation(k, name=f"q{i}")(x) for i, k in enumerate(ACTIVATION_KINDS)]
    m = keras.Model(x, outs)
    f = analyse(m, ["float"])
    by_name = {l.name: l.output_type for l in f.layers}
    sweep = np.concatenate([np.linspace(-300, 300, 200001), 2.0 ** np.arange(-12, 8),
                            -(2.0 ** np.arange(-12, 8))]).astype("float32")[:, None]
    ys = m(sweep)  # eagerly: a stochastic quantizer cannot trace an unknown batch size
    for i, (k, y) in enumerate(zip(ACTIVATION_KINDS, ys)):
        t = by_name[f"q{i}"]
        y = np.asarray(y, dtype=np.float64)
        if k.startswith("stochastic"):      # random rounding: values within the range
            assert t.min <= y.min() and y.max() <= t.max, k
            continue
        assert (t.min, t.max) == (y.min(), y.max()), k
        if t.lsb is not None:
            assert np.all(np.mod(y, t.lsb) == 0), k


def test_hswish_and_bernoulli_layers_are_reported():
    x = keras.Input((3,))
    h = QActivation(qkeras.quantized_hswish(4, 1), name="hs")(x)
    y = QDense(2, kernel_quantizer=qkeras.bernoulli(), name="bd")(h)
    f = analyse(keras.Model(x, y))
    hs, bd = f.layers
    assert hs.output_type.kind == "quantized_hswish" and hs.output_type.min < 0
    assert bd.operations[0].weight.mode == 4 and bd.operations[0].name.endswith("_1_4")
