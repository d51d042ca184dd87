"""sampled <= conservative <= bound <= type, on every bundled example."""

import numpy as np
import pytest

from qreport import analyse
from qreport.estimate import analyze_accumulator_from_sample
from qreport.read.keras import load_model


def _sample(model, n=64, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.uniform(0, 1, (n, *t.shape[1:])).astype("float32") for t in model.inputs]


@pytest.mark.parametrize("name", ["jet_mlp", "cnn", "conv1d"])
def test_method_widths_are_ordered(name, example_paths):
    m = load_model(example_paths[name])
    f = analyse(m, sample=_sample(m), batch_size=16)
    seen = 0
    for l in f.layers:
        for o in l.operations:
            a = o.accumulator
            w = [getattr(a, k).width for k in ("sampled", "conservative", "bound", "type")]
            assert None not in w, (l.name, o.part, w)
            assert w == sorted(w), (l.name, o.part, w)
            assert a.headroom == a.bound.width - a.sampled.width >= 0
            assert a.bound.min <= a.conservative.min <= a.sampled.min
            assert a.sampled.max <= a.conservative.max <= a.bound.max
            seen += 1
    assert seen >= 3


def test_sampled_is_pre_activation_and_matches_layer_output():
    # The reference measured after the activation quantizer (a pre-activation
    # sum of 14 reported as 0).  A Dense with a relu quantizer and all-negative
    # sums: the sampled accumulator must be negative, not 0.
    import keras
    from qkeras import QDense, quantized_bits, quantized_relu

    x = keras.Input((4,))
    d = QDense(1, kernel_quantizer=quantized_bits(4, 0, alpha=1),
               bias_quantizer=quantized_bits(4, 0, alpha=1), activation=quantized_relu(4, 0))
    m = keras.Model(x, d(x))
    d.set_weights([np.full((4, 1), -0.5, "float32"), np.zeros(1, "float32")])
    s = np.full((3, 4), 0.5, "float32")
    a = analyse(m, sample=[s]).layers[0].accumulator
    assert a.sampled.min == a.sampled.max == -1.0   # 4 * (-0.5 * 0.5), before the relu
    assert np.all(np.asarray(m(s)) == 0.0)           # the layer's output is 0 after relu


def test_batches_do_not_change_results(example_paths):
    m = load_model(example_paths["jet_mlp"])
    s = _sample(m, 50)
    a1 = analyse(m, sample=s, batch_size=7)
    a2 = analyse(m, sample=s, batch_size=50)
    assert a1 == a2


def test_drop_in_sample_api(example_paths):
    m = load_model(example_paths["jet_mlp"])
    s = _sample(m)[0]
    cons = analyze_accumulator_from_sample(m, s, mode="conservative")
    samp = analyze_accumulator_from_sample(m, s, mode="sampled")
    assert set(cons) == {"fc1", "fc2", "fc3", "output"}
    assert all(samp[k] <= cons[k] for k in cons)
    with pytest.raises(ValueError, match="mode"):
        analyze_accumulator_from_sample(m, s, mode="bogus")
