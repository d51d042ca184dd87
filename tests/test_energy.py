"""The energy estimate: against a hand count on a tiny model, and against QTools' own numbers.

The Horowitz coefficients are read from QKeras's QTools configuration, not
from qreport, so the hand counts are independent of the code under test.
"""

import math
import os
import sys

import numpy as np
import pytest

from qreport.analysis.model import analyse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "examples"))


def horowitz():
    from qkeras.qtools.config_public import config_settings

    return config_settings["horowitz"]


def sram_word(size_bits=2 ** 27):
    """One 64-bit SRAM access, QTools' polynomial in log2 of the SRAM's size."""
    return float(np.polyval(horowitz()["sram_rd"], math.log2(max(size_bits, 2 ** 27))))


def add(bits):
    return float(np.polyval(horowitz()["fpm_add"], bits))


def mul(w, x):
    return float(np.polyval(horowitz()["fpm_mul"], math.sqrt(w * x)))


def tiny():
    """4 inputs quantized_relu(4,0) -> QDense(2), 4-bit weights -> quantized_relu(3,0)."""
    import keras
    from qkeras import QActivation, QDense, quantized_bits

    x = keras.Input((4,), name="x")
    h = QDense(2, kernel_quantizer=quantized_bits(4, 0, alpha=1),
               bias_quantizer=quantized_bits(4, 0, alpha=1), name="fc")(x)
    m = keras.Model(x, QActivation("quantized_relu(3,0)", name="act")(h))
    m.get_layer("fc").set_weights([
        np.array([[0.5, -0.25], [0.125, 0.875], [-1, 0.5], [0.25, -0.125]], "float32"),
        np.array([0.5, -0.25], "float32")])
    return m


def test_tiny_model_by_hand():
    facts = analyse(tiny(), ["quantized_relu(4,0)"])
    fc, act = facts.layers
    # The bound by hand: inputs in [0, 15/16]; channel 0 spans [-0.4375, 1.3203125],
    # channel 1 [-0.6015625, 1.0390625]; F = 3 + 4 = 7, I = 2 (signed): 9 bits.
    assert fc.accumulator.bound.width == 9
    s = sram_word()
    # 16 input bits: one 64-bit read; 32 weight bits and 8 bias bits: one read each
    assert fc.energy.inputs == pytest.approx(s, rel=1e-12)
    assert fc.energy.parameters == pytest.approx(2 * s, rel=1e-12)
    # 8 MACs, each a 4-bit x 4-bit multiply and a 9-bit add
    assert fc.energy.operations == pytest.approx(8 * (mul(4, 4) + add(9)), rel=1e-12)
    assert fc.energy.outputs == 0
    (m,) = fc.energy.per_mac
    assert (m.add_bits, m.multiply, m.add) == (9, pytest.approx(mul(4, 4)), pytest.approx(add(9)))
    # the activation writes 2 x 3 bits: one access, and nothing else
    assert (act.energy.inputs, act.energy.parameters, act.energy.operations) == (0, 0, 0)
    assert act.energy.outputs == pytest.approx(s, rel=1e-12)
    total = s + 2 * s + 8 * (mul(4, 4) + add(9)) + s
    assert facts.totals.energy_pj == pytest.approx(total, rel=1e-12)
    assert 11.4 < sram_word() * 3 < 11.42  # QTools' 3.80 pJ per access at 16 MiB


def test_sram_grows_past_the_minimum_size():
    from qreport.analysis.energy import sram_pj

    big = 2 ** 28  # a 32 MiB tensor: the access cost follows log2 of its size
    assert sram_pj(big) == pytest.approx(big / 64 * sram_word(big), rel=1e-12)
    assert sram_word(big) > sram_word()
    assert sram_pj(65) == pytest.approx(2 * sram_word(), rel=1e-12)
    assert sram_pj(0) == 0


def test_gates_follow_qtools_table():
    """Each operand pairing is charged as QTools' multiplier table says (qkeras/qtools)."""
    from qreport.analysis.energy import multiply_pj
    from qreport.analysis.quantizers import quantizer_fact

    q = lambda s: quantizer_fact(s)  # noqa: E731
    fixed8, fixed4 = q("quantized_bits(8,0,1)"), q("quantized_bits(4,0,1)")
    assert multiply_pj(fixed4, fixed8) == pytest.approx(mul(4, 8))
    assert multiply_pj(q("ternary()"), fixed8) == pytest.approx(0.6 * add(8))   # mux
    assert multiply_pj(q("binary()"), fixed8) == pytest.approx(0.3 * add(8))    # mux
    assert multiply_pj(fixed4, q("binary()")) == pytest.approx(0.3 * add(4))    # mux
    assert multiply_pj(q("binary()"), q("binary()")) == pytest.approx(0.3 * add(1))  # xor
    assert multiply_pj(q("binary(use_01=True)"), fixed8) == pytest.approx(0.1 * add(8))  # and
    po2 = q("quantized_po2(4)")
    b = math.sqrt(2 ** 4 * 8)
    assert multiply_pj(po2, fixed8) == pytest.approx(add(b * math.log10(b)))  # shifter
    assert multiply_pj(po2, q("quantized_po2(3)")) == pytest.approx(add(5))  # exponent adder
    assert multiply_pj(quantizer_fact(None), fixed8) == 3.7


# ---------------------------------------------------------------- against QTools


def qtools_energy(model, input_quantizer):
    """QTools' own per-layer energy (its documented settings) and its accumulator widths."""
    from qkeras.qtools import run_qtools

    from qreport.analysis.quantizers import parse_quantizer

    q = run_qtools.QTools(model, process="horowitz",
                          source_quantizers=[parse_quantizer(input_quantizer)], is_inference=True,
                          weights_path=None, keras_quantizer="fp32", keras_accumulator="fp32",
                          for_reference=False)
    e = q.pe(weights_on_memory="sram", activations_on_memory="sram",
             min_sram_size=8 * 16 * 1024 * 1024, rd_wr_on_io=False)
    acc = {l.name: int(it["accumulator"].output.bits)
           for l, it in q._layer_map["layer_data_type_map"].items()
           if not isinstance(it, tuple) and it.get("accumulator") is not None}
    return e, acc


def ternary_mlp():
    """Ternary then binary weights: QTools' mux and xor gates."""
    import keras
    from qkeras import QActivation, QDense, binary, quantized_bits, ternary

    from .conftest import set_weights

    x = keras.Input((16,), name="x")
    h = QDense(8, kernel_quantizer=ternary(alpha=1), bias_quantizer=quantized_bits(8, 3),
               name="t")(x)
    h = QActivation(binary(alpha=1), name="b_act")(h)
    y = QDense(4, kernel_quantizer=binary(alpha=1), bias_quantizer=quantized_bits(8, 3),
               name="bb")(h)
    return set_weights(keras.Model(x, y, name="ternary_mlp"), seed=4)


def _models():
    import build_examples as be

    return {"jet_mlp": (be.jet_mlp, ()), "conv1d": (be.conv1d, ("head",)),
            "ternary_mlp": (ternary_mlp, ())}


@pytest.mark.parametrize("name", ["jet_mlp", "conv1d", "ternary_mlp"])
def test_matches_qtools(name):
    """Layer by layer, qreport's figures are QTools' where both use the same widths.

    QTools prints two decimals. The one documented difference in the
    arithmetic: qreport charges each MAC's add at the exact `bound` width,
    QTools at its own accumulator width; put QTools' width back and the
    operation energy is QTools'. ``conv1d``'s head reads the average of its
    pooling layer, which QTools types as the pooling input (5 bits) and
    qreport as the exact average (12 bits), so it is left out (README).
    """
    make, skip = _models()[name]
    model = make()
    iq = "quantized_relu(8,0)"
    facts = analyse(model, [iq])
    theirs, their_acc = qtools_energy(model, iq)
    compared = 0
    for l in facts.layers:
        if l.name in skip or l.name not in theirs or l.class_name.startswith(("Global", "Average")):
            continue
        e = theirs[l.name]["energy"]
        if l.operations:
            assert l.energy.inputs == pytest.approx(e["inputs"], abs=0.006), l.name
            assert l.energy.parameters == pytest.approx(e["parameters"], abs=0.006), l.name
            (o,), (m,) = l.operations, l.energy.per_mac
            as_qtools = l.energy.operations + o.macs * (add(their_acc[l.name]) - m.add)
            assert as_qtools == pytest.approx(e["op_cost"], abs=0.006), l.name
        else:  # QTools counts an activation's output write only
            assert l.energy.outputs == pytest.approx(e["outputs"], abs=0.006), l.name
        compared += 1
    assert compared >= 3


def test_pooling_and_add_by_hand():
    """Average pooling reads its input and adds each window; an Add adds its inputs."""
    import keras

    x = keras.Input((4, 4, 2), name="x")
    p = keras.layers.AveragePooling2D(2, name="pool")(x)
    m = keras.Model(x, keras.layers.Add(name="add")([p, p]))
    facts = analyse(m, ["quantized_relu(4,0)"])
    pool, add_ = facts.layers
    s = sram_word()
    # 32 inputs x 4 bits = 128 bits: two 64-bit reads. 8 outputs, 3 adds each, on the
    # window sum's grid: [0, 4 x 15/16] in steps of 1/16 is 2 integer + 4 fractional bits.
    assert pool.energy.inputs == pytest.approx(2 * s, rel=1e-12)
    assert pool.energy.operations == pytest.approx(8 * 3 * add(6), rel=1e-12)
    assert (pool.energy.parameters, pool.energy.outputs) == (0, 0)
    # the average is [0, 15/16] in steps of 1/64; the sum of two is [0, 1.875]: 1 + 6 = 7 bits
    assert add_.output_type.bits == 7
    assert add_.energy.operations == pytest.approx(8 * add(7), rel=1e-12)
    assert add_.energy.total == add_.energy.operations
    assert facts.totals.energy_pj == pytest.approx(2 * s + 24 * add(6) + 8 * add(7), rel=1e-12)
