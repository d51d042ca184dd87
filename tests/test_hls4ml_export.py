"""The hls4ml configuration export and the bits saved, without hls4ml (see test_hls4ml.py)."""

from __future__ import annotations

import re

import keras
import numpy as np
import pytest
import yaml

from qreport.analysis.model import analyse
from qreport.cli import main
from qreport.render.hls4ml import hls4ml_yaml
from qreport.contract import report as report_dict
from qreport.provenance import Provenance

META = Provenance("m", "m.keras", "ab" * 32, None, None, "9.9")
TYPE = re.compile(r"ap_u?fixed<\d+,-?\d+(,AP_[A-Z_]+)*>\Z")


def _dense(kernel, name="d", act=None, **kw):
    from qkeras import QDense, quantized_bits

    x = keras.Input((len(kernel),), name="x")
    layer = QDense(1, kernel_quantizer=quantized_bits(4, 0, alpha=1), use_bias=False,
                   activation=act, name=name, **kw)
    m = keras.Model(x, layer(x))
    layer.set_weights([np.asarray(kernel, np.float32).reshape(-1, 1)])
    return m


def _cfg(model, **kw):
    text = hls4ml_yaml(analyse(model, **kw), META)
    return text, yaml.safe_load(text)


def test_bits_saved_by_hand():
    # w = (0.5, -0.25) on quantized_bits(4,0) (F_w = 3), x on quantized_relu(4,0): [0, 15/16],
    # F_x = 4.  Bound: Σ in [-0.25·15/16, 0.5·15/16] = [-30, 60]·2⁻⁷ -> 7 bits, ap_fixed<7,0>.
    # Types alone (hls4ml): W = 4+4+ceil(log2 2) = 9, I = 1+0+1 = 2, no bias ->
    # I = max(2, 1+1)+1 = 3, W = 3+7 = 10: ap_fixed<10,3>.  Saved: 3 bits.
    f = analyse(_dense([0.5, -0.25]), input_quantizers=["quantized_relu(4,0)"])
    o = f.layers[0].operations[0]
    assert o.accumulator.bound.fixed == "ap_fixed<7,0>"
    assert o.accumulator.type.fixed == "ap_fixed<10,3>"
    assert o.bits_saved == 3 and f.totals.bits_saved == 3
    d = report_dict(f, META)
    assert d["layers"][0]["operations"][0]["bits_saved"] == 3 and d["totals"]["bits_saved"] == 3


def test_bits_saved_is_none_without_a_width():
    from qkeras import QDense

    x = keras.Input((3,), name="x")
    m = keras.Model(x, QDense(2, name="d")(x))  # float kernel: no fixed width
    f = analyse(m)
    assert f.layers[0].operations[0].bits_saved is None and f.totals.bits_saved is None


def test_export_is_the_hls_config_with_exact_types(example_paths):
    from qreport.read.keras import load

    model, _ = load(example_paths["jet_mlp"])
    text, cfg = _cfg(model)
    assert set(cfg) == {"Model", "LayerName"}
    assert cfg["Model"]["Precision"] == {"default": "ap_fixed<16,6>"}
    assert list(cfg["LayerName"]) == ["jets", "fc1", "relu1", "fc2", "relu2", "fc3", "relu3",
                                      "output"]
    facts = analyse(model)
    for l in facts.layers:
        for o in l.operations:
            p = cfg["LayerName"][l.name]["Precision"]
            assert p["accum"] == p["result"] == o.accumulator.bound.fixed
            assert p["weight"] == "ap_fixed<6,1>" and p["bias"] == "ap_fixed<6,1>"
            assert f"{o.bits_saved} bit" in text.split(f"  {l.name}:\n")[1].split("\n")[0]
    assert cfg["LayerName"]["relu1"]["Precision"]["result"] == "ap_ufixed<6,0,AP_RND_CONV,AP_SAT>"
    assert cfg["LayerName"]["jets"]["Precision"]["result"] == "ap_ufixed<8,0>"
    for entry in cfg["LayerName"].values():
        for v in entry["Precision"].values():
            assert v == "auto" or TYPE.match(v), v
    assert "sha256 " + "ab" * 32 in text and "qreport 9.9" in text


def test_given_input_type_is_the_input_result():
    _, cfg = _cfg(_dense([0.5, -0.25]), input_quantizers=["quantized_bits(8,3,1)"])
    assert cfg["LayerName"]["x"]["Precision"]["result"] == "ap_fixed<8,4>"


def test_activation_of_a_layer_is_its_own_node_named_as_hls4ml_names_it():
    _, cfg = _cfg(_dense([0.5, -0.25], act="quantized_relu(3,1)"))
    assert list(cfg["LayerName"]) == ["x", "d", "d_quantized_relu"]
    assert cfg["LayerName"]["d"]["Precision"]["result"] == cfg["LayerName"]["d"]["Precision"]["accum"]
    assert cfg["LayerName"]["d_quantized_relu"]["Precision"]["result"] == \
        "ap_ufixed<3,1,AP_RND_CONV,AP_SAT>"
    _, cfg = _cfg(_dense([0.5, -0.25], act="relu"))
    assert cfg["LayerName"]["d_relu"]["Precision"]["result"] == "auto"


def test_separable_is_two_nodes_with_their_own_accumulators():
    from qkeras import QSeparableConv2D, quantized_bits

    q = quantized_bits(4, 0, alpha=1)
    x = keras.Input((6, 6, 2), name="img")
    m = keras.Model(x, QSeparableConv2D(3, 3, depthwise_quantizer=q, pointwise_quantizer=q,
                                        bias_quantizer=q, name="sep")(x))
    m.set_weights([w * 0 + 0.25 for w in m.get_weights()])
    f = analyse(m)
    _, cfg = _cfg(m)
    assert list(cfg["LayerName"]) == ["img", "sep_depthwise", "sep_pointwise"]
    dw, pw = f.layers[0].operations
    assert cfg["LayerName"]["sep_depthwise"]["Precision"]["accum"] == dw.accumulator.bound.fixed
    assert "bias" not in cfg["LayerName"]["sep_depthwise"]["Precision"]
    assert cfg["LayerName"]["sep_pointwise"]["Precision"]["accum"] == pw.accumulator.bound.fixed


def test_no_exact_type_leaves_auto_and_says_why():
    x = keras.Input((4,), name="x")
    h = keras.layers.Dense(3, name="float_dense")(x)        # float weights: no exact sum
    h = keras.layers.Dropout(0.1, name="drop")(h)
    y = keras.layers.Activation("softmax", name="sm")(h)
    text, cfg = _cfg(keras.Model(x, y))
    p = cfg["LayerName"]["float_dense"]["Precision"]
    assert p["accum"] == p["result"] == "auto"
    assert re.search(r"accum: auto  # .*float", text)
    assert "drop" not in cfg["LayerName"]  # hls4ml makes no node of a Dropout
    assert cfg["LayerName"]["sm"]["Precision"]["result"] == "auto"
    assert cfg["LayerName"]["sm"]["Precision"]["exp_table"] == "ap_fixed<18,8,AP_RND,AP_SAT>"


def test_scaled_kernel_gets_the_sum_hls4ml_computes_and_an_apply_alpha_entry():
    """alpha='auto_po2': accum is Σ w·x over the unscaled kernel without the bias (a hand
    computation from the quantizer's own output), and <layer>_alpha holds the scaled output."""
    from qkeras import QActivation, QDense, quantized_bits

    x = keras.Input((4,), name="x")
    d = QDense(3, kernel_quantizer=quantized_bits(4, 0), bias_quantizer=quantized_bits(4, 0),
               name="po2")                                   # alpha=None -> auto_po2
    y = QActivation("quantized_relu(4,0)", name="r")(d(x))
    m = keras.Model(x, y)
    rng = np.random.default_rng(5)
    d.set_weights([rng.normal(0, 0.6, (4, 3)).astype("float32"),
                   rng.normal(0, 0.3, 3).astype("float32")])
    q = quantized_bits(4, 0)
    w = np.asarray(q(d.kernel))                              # scaled, as qkeras computes it
    unscaled = w / np.asarray(q.scale)
    assert np.all(unscaled * 8 == np.round(unscaled * 8))    # on the 4-bit grid
    xmax = 255 / 256                                         # the assumed quantized_relu(8,0)
    lo = np.minimum(unscaled * xmax, 0).sum(axis=0).min()
    hi = np.maximum(unscaled * xmax, 0).sum(axis=0).max()
    frac = 3 + 8
    ints = 1 + int(np.ceil(np.log2(max(hi + 2.0 ** -frac, -lo))))  # sign bit included
    text, cfg = _cfg(m)
    p = cfg["LayerName"]["po2"]["Precision"]
    assert p["accum"] == p["result"] == f"ap_fixed<{ints + frac},{ints}>"
    alpha = cfg["LayerName"]["po2_alpha"]["Precision"]
    assert alpha["result"] != "auto" and alpha["scale"] == "auto"
    assert list(cfg["LayerName"]).index("po2_alpha") == list(cfg["LayerName"]).index("po2") + 1


def test_pooling_accumulators_are_exact():
    from qkeras import QActivation

    x = keras.Input((8, 2), name="x")
    h = QActivation("quantized_relu(4,2)", name="r")(x)
    a = keras.layers.GlobalAveragePooling1D(name="gap")(h)
    b = keras.layers.MaxPooling1D(2, name="mp")(h)
    _, cfg = _cfg(keras.Model(x, [a, b]))
    # 8 inputs in [0, 3.75] step 1/4: the sum [0, 30] on the grid 1/32 of the average
    assert cfg["LayerName"]["gap"]["Precision"] == {"accum": "ap_ufixed<10,5>",
                                                    "result": "ap_ufixed<7,2>"}
    assert cfg["LayerName"]["mp"]["Precision"] == {"accum": "ap_ufixed<4,2>",
                                                   "result": "ap_ufixed<4,2>"}


@pytest.mark.parametrize("name", ["yes", "a: b", "#x", "n\nl", "null", "1e3", "ü"])
def test_any_layer_name_reads_back_as_itself(name):
    _, cfg = _cfg(_dense([0.5, -0.25], name=name))
    assert name in cfg["LayerName"]


def test_cli_writes_yml_and_yaml_alike_and_the_same_every_time(example_paths, tmp_path):
    a, b, c = (tmp_path / n for n in ("a.yml", "b.yaml", "c.yml"))
    for out in (a, b, c):
        assert main(["build", example_paths["conv1d"], "-o", str(out)]) == 0
    assert a.read_bytes() == b.read_bytes() == c.read_bytes()
    cfg = yaml.safe_load(a.read_text())
    assert cfg["LayerName"]["conv1"]["Precision"]["accum"].startswith("ap_fixed<")


@pytest.mark.parametrize("q,result,note", [
    ("quantized_tanh(4,symmetric=True)", "ap_fixed<4,1,AP_RND_CONV,AP_SAT_SYM>", None),
    ("quantized_tanh(4)", "ap_fixed<4,1,AP_RND_CONV,AP_SAT>", None),
    ("quantized_bits(6,2,1)", "ap_fixed<6,3,AP_RND_CONV,AP_SAT>", None),
    ("ternary()", "ap_fixed<2,2>", None),
    ("quantized_relu_po2(4)", "auto", "cannot convert po2"),
    ("quantized_hswish(6,3)", "ap_fixed<6,4>", "cannot convert quantized_hswish"),
])
def test_quantizer_activation_results(q, result, note):
    from qkeras import QActivation

    x = keras.Input((4,), name="x")
    text, cfg = _cfg(keras.Model(x, QActivation(q, name="a")(x)),
                     input_quantizers=["quantized_bits(8,3,1)"])
    assert cfg["LayerName"]["a"]["Precision"]["result"] == result
    if note:
        assert note in text.split("  a:\n")[1]
