"""Property test: random small kernels and quantizer configurations."""

import numpy as np
from hypothesis import HealthCheck, given, settings, strategies as st
from qkeras import QConv1D, QDense

from qreport import analyse
from qreport.analysis.quantizers import quantizer_fact

from .brute import exact_extremes, fits, jacobian, single_layer_model

weights_q = st.builds(lambda b, i, s: f"quantized_bits({b},{i},{s},alpha=1)",
                      st.integers(2, 8), st.integers(0, 2), st.integers(0, 1))
inputs_q = st.one_of(
    st.builds(lambda b, i: f"quantized_bits({b},{i},alpha=1)", st.integers(2, 8), st.integers(0, 3)),
    st.builds(lambda b, i: f"quantized_relu({b},{i})", st.integers(1, 8), st.integers(0, 3)))


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(wq=weights_q, bq=weights_q, xq=inputs_q, conv=st.booleans(), seed=st.integers(0, 10**6),
       padding=st.sampled_from(["valid", "same"]), use_bias=st.booleans())
def test_bound_is_exact_safe_and_minimal(wq, bq, xq, conv, seed, padding, use_bias):
    if conv:
        layer, shape = QConv1D(3, 3, padding=padding, kernel_quantizer=wq, bias_quantizer=bq,
                               use_bias=use_bias), (6, 2)
    else:
        layer, shape = QDense(3, kernel_quantizer=wq, bias_quantizer=bq, use_bias=use_bias), (5,)
    m = single_layer_model(layer, shape)
    rng = np.random.default_rng(seed)
    layer.set_weights([rng.normal(0, 1.0, w.shape).astype("float32") for w in layer.get_weights()])
    b = analyse(m, [xq]).layers[0].accumulator.bound
    xf = quantizer_fact(xq)
    a, y0, _ = jacobian(m, shape)
    dn, up = exact_extremes(a, y0, xf.min, xf.max)
    assert (b.min, b.max) == (dn.min(), up.max())
    for v in (b.min, b.max):
        assert fits(v, b.width, b.integer_bits, b.signed)
    assert not (fits(b.min, b.width - 1, b.integer_bits - 1, b.signed)
                and fits(b.max, b.width - 1, b.integer_bits - 1, b.signed))
    k = rng.integers(round(xf.min / xf.lsb), round(xf.max / xf.lsb) + 1, (64, *shape))
    ys = np.asarray(m((k * xf.lsb).astype("float32")), dtype=np.float64)
    assert b.min <= ys.min() and ys.max() <= b.max
