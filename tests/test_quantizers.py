"""Quantizer facts against what q(x) actually produces (SPEC section 1)."""

import math

import numpy as np
import pytest
import qkeras

from qreport.analysis.quantizers import (QuantizerError, parse_quantizer, quantizer_fact)

# Inputs where float32 STE arithmetic is exact (|x| < 2**16), plus powers of two.
SWEEP = np.concatenate([np.linspace(-300, 300, 600001), 2.0 ** np.arange(-40, 9),
                        -(2.0 ** np.arange(-40, 9)), [0.0]]).astype("float32")

CASES = [
    ("quantized_bits(4,0)", 0, 4, -1.0, 0.875, 0.125, "ap_fixed<4,1>"),
    ("quantized_bits(4,0,1)", 0, 4, -0.875, 0.875, 0.125, "ap_fixed<4,1>"),
    ("quantized_bits(6,2)", 0, 6, -4.0, 3.875, 0.125, "ap_fixed<6,3>"),
    ("quantized_bits(4,0,keep_negative=False)", 0, 4, 0.0, 0.9375, 0.0625, "ap_ufixed<4,0>"),
    ("quantized_bits(1,0)", 0, 1, -1.0, 1.0, 1.0, "ap_fixed<2,2>"),
    ("quantized_bits(2,1)", 2, 2, -2.0, 1.0, 1.0, "ap_fixed<2,2>"),
    ("quantized_bits(2,1,1)", 2, 2, -1.0, 1.0, 1.0, "ap_fixed<2,2>"),
    ("quantized_bits(4,0,alpha=1)", 0, 4, -1.0, 0.875, 0.125, "ap_fixed<4,1>"),
    ("quantized_relu(4,0)", 0, 4, 0.0, 0.9375, 0.0625, "ap_ufixed<4,0>"),
    ("quantized_relu(8,0)", 0, 8, 0.0, 255 / 256, 1 / 256, "ap_ufixed<8,0>"),
    ("quantized_relu(4,2)", 0, 4, 0.0, 3.75, 0.25, "ap_ufixed<4,2>"),
    ("quantized_relu(1,1)", 4, 1, 0.0, 1.0, 1.0, "ap_ufixed<1,1>"),
    ("quantized_relu(4,0,negative_slope=0.25)", 0, 4, -0.25, 0.875, 0.125, "ap_fixed<4,1>"),
    ("quantized_tanh(4)", 0, 4, -1.0, 0.875, 0.125, "ap_fixed<4,1>"),
    ("quantized_tanh(4,symmetric=True)", 0, 4, -0.875, 0.875, 0.125, "ap_fixed<4,1>"),
    ("quantized_sigmoid(4)", 0, 4, 0.0, 0.9375, 0.0625, "ap_ufixed<4,0>"),
    ("quantized_sigmoid(4,symmetric=True)", 0, 4, 0.0625, 0.9375, 0.0625, "ap_ufixed<4,0>"),
    ("quantized_linear(4,0)", 0, 4, -0.875, 0.875, 0.125, "ap_fixed<4,1>"),
    ("quantized_linear(4,2,keep_negative=False)", 0, 4, 0.0, 3.75, 0.25, "ap_ufixed<4,2>"),
    ("quantized_po2(4)", 1, 4, -8.0, 8.0, 0.0625, "ap_fixed<9,5>"),
    ("quantized_po2(4,2)", 1, 4, -2.0, 2.0, 0.0625, "ap_fixed<7,3>"),
    ("quantized_relu_po2(4)", 1, 4, 2.0 ** -8, 128.0, 2.0 ** -8, "ap_ufixed<16,8>"),
    ("quantized_relu_po2(4,2)", 1, 4, 2.0 ** -8, 2.0, 2.0 ** -8, "ap_ufixed<10,2>"),
    ("binary()", 3, 1, -1.0, 1.0, 1.0, "ap_fixed<2,2>"),
    ("binary(use_01=True)", 4, 1, 0.0, 1.0, 1.0, "ap_ufixed<1,1>"),
    ("stochastic_binary()", 3, 1, -1.0, 1.0, 1.0, "ap_fixed<2,2>"),
    ("ternary()", 2, 2, -1.0, 1.0, 1.0, "ap_fixed<2,2>"),
    ("stochastic_ternary()", 2, 2, -1.0, 1.0, 1.0, "ap_fixed<2,2>"),
]


@pytest.mark.parametrize("text,mode,bits,lo,hi,lsb,fixed", CASES)
def test_fact_matches_q_of_x(text, mode, bits, lo, hi, lsb, fixed):
    q = parse_quantizer(text)
    f = quantizer_fact(q)
    assert (f.mode, f.bits, f.min, f.max, f.lsb, f.fixed) == (mode, bits, lo, hi, lsb, fixed)
    y = np.unique(np.asarray(q(SWEEP), dtype=np.float64))
    assert y.min() == f.min and y.max() == f.max          # exact extremes, attained
    assert np.all(np.mod(y, f.lsb) == 0)                  # every value on the grid
    assert f.signed == (y.min() < 0)
    # the fixed-point container holds every value and no smaller one would
    w, i = map(int, fixed[fixed.index("<") + 1:-1].split(","))
    span = (-(2.0 ** (i - 1)), 2.0 ** (i - 1) - 2.0 ** (i - w)) if f.signed else (0, 2.0 ** i - 2.0 ** (i - w))
    assert span[0] <= y.min() and y.max() <= span[1]


def test_max_method_of_qkeras_is_not_exact_but_ours_is():
    q = qkeras.quantized_bits(4, 0)
    assert float(q.max()) == 1.0                          # qkeras' claim
    assert quantizer_fact(q).max == 0.875                 # what q(x) produces
    assert float(np.max(q(SWEEP))) == 0.875


def test_bernoulli_is_zero_one():
    f = quantizer_fact(parse_quantizer("bernoulli()"))
    assert (f.mode, f.bits, f.min, f.max, f.signed) == (4, 1, 0.0, 1.0, False)
    y = np.asarray(qkeras.bernoulli()(SWEEP))
    assert np.allclose(np.unique(np.round(y)), [0.0, 1.0])


def test_ulaw_range_and_no_grid():
    q = parse_quantizer("quantized_ulaw(4)")
    f = quantizer_fact(q)
    y = np.asarray(q(SWEEP), dtype=np.float64)
    assert (f.min, f.max) == (y.min(), y.max())
    assert f.lsb is None and f.fixed is None


def test_hswish_min_is_quantized_parabola_minimum():
    q = qkeras.quantized_hswish(6, 2)
    f = quantizer_fact(q)
    # hswish(x) = x*relu6(x+3)/6 has its minimum -0.375 at x=-1.5: on the grid
    # of quantized_bits(6,2) (lsb 0.125) that is -0.375 exactly.
    xs = np.linspace(-8, 8, 160001).astype("float32")
    hs = xs * np.clip(xs + 3, 0, 6) / 6
    qb = qkeras.quantized_bits(6, 2)
    y = np.asarray(qb(hs), dtype=np.float64)
    assert (f.min, f.max, f.lsb) == (y.min(), y.max(), 0.125)


def test_po2_never_outputs_zero():
    for text in ("quantized_po2(4)", "quantized_relu_po2(4)"):
        q = parse_quantizer(text)
        assert float(np.min(np.abs(q(np.zeros(3, "float32"))))) > 0
        assert quantizer_fact(q).notes and "never 0" in quantizer_fact(q).notes[0]


@pytest.mark.parametrize("text", ["quantized_bits(6,2,1)", "quantized_relu(4,1)", "ternary()",
                                  "binary(use_01=True)", "quantized_po2(5,4)"])
def test_string_and_object_give_the_same_fact(text):
    obj = eval(text, vars(qkeras))  # the test builds the object itself, independently
    assert quantizer_fact(text) == quantizer_fact(obj)


def test_float_and_linear_and_none():
    for q in (None, "linear", "float"):
        f = quantizer_fact(q)
        assert (f.kind, f.mode, f.bits, f.signed) == ("float", 5, 32, True)


@pytest.mark.parametrize("bad", [
    "__import__('os').system('touch /tmp/qreport-pwned')",
    "quantized_bits(__import__('os').getpid())",
    "os.system('x')",
    "quantized_bits.__class__",
    "quantized_bits(8)(1)",
    "quantized_bits(**{'bits': 8})",
    "eval('1')",
    "quantized_bits(bits=[1, 2])",
    "quantized_bits(8,0",
])
def test_parse_rejects_anything_but_literal_quantizer_calls(bad, tmp_path):
    marker = "/tmp/qreport-pwned"
    with pytest.raises(QuantizerError):
        parse_quantizer(bad)
    assert not __import__("os").path.exists(marker)


def test_parse_reports_bad_arguments():
    with pytest.raises(QuantizerError, match="quantized_bits"):
        parse_quantizer("quantized_bits(nope=1)")


def test_fixed_name_counts_sign_bit_like_hls():
    # quantized_bits(8,3): 1 sign + 3 integer + 4 fractional -> ap_fixed<8,4>
    f = quantizer_fact("quantized_bits(8,3)")
    assert f.fixed == "ap_fixed<8,4>" and f.lsb == 2.0 ** -4 and math.isclose(f.max, 8 - 1 / 16)
