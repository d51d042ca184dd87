"""The hardware figures: counts against hand counts, hls4ml's own config, and da4ml run here.

The hand counts read the kernels through the layers' own QKeras quantizers
and classify every weight with exact fractions in Python loops: a zero
needs nothing, ±2^k a shift, anything else a multiplier (none of
qreport's numpy code runs).  hls4ml's writer is asked for the same design
and its ``parameters.h`` must state the same zeros and multiplier limits.
The DA cost is da4ml's, run here on the kernel with the input type the
datasheet states.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qreport.analysis.hardware import (Design, bram_18k, closest_reuse_factor, constant_widths,
                                       valid_reuse_factor)
from qreport.analysis.model import analyse
from qreport.read.keras import load

from .conftest import ROOT

JET = os.path.join(ROOT, "examples", "models", "jet_mlp.keras")
CNN = os.path.join(ROOT, "examples", "models", "cnn.keras")


def _kernel(layer):
    """The quantized kernel and bias as hls4ml holds them (plain Python floats)."""
    k = np.asarray(layer.kernel_quantizer_internal(layer.kernel.numpy()), dtype=np.float64)
    b = None
    if layer.use_bias:
        b = np.asarray(layer.bias_quantizer_internal(layer.bias.numpy()), dtype=np.float64)
    return k, b


def _kind(w: float) -> str:
    f = Fraction(w)
    if f == 0:
        return "zero"
    n, d = abs(f.numerator), f.denominator
    return "shift" if (n & (n - 1)) == 0 and (d & (d - 1)) == 0 else "mult"


def _hand(kernel, bias):
    """(zero, shift, mult products, adders) of one kernel pass, by loops over the weights."""
    rows, cols = kernel.shape[0] if kernel.ndim == 2 else int(np.prod(kernel.shape[:-1])), \
        kernel.shape[-1]
    k2 = kernel.reshape(rows, cols)
    count = {"zero": 0, "shift": 0, "mult": 0}
    adders = 0
    for j in range(cols):
        terms = 0
        for i in range(rows):
            kind = _kind(float(k2[i, j]))
            count[kind] += 1
            terms += kind != "zero"
        terms += bias is not None and float(bias[j]) != 0
        adders += max(terms - 1, 0)
    return count, adders


@pytest.fixture(scope="module")
def jet():
    model, _ = load(JET)
    return model


def _layers(facts):
    return {l.name: l for l in facts.layers if l.hardware is not None}


def test_jet_mlp_reuse_factor_1_is_the_hand_count(jet):
    facts = analyse(jet, design=Design("latency", 1))
    hw = _layers(facts)
    dense = [l for l in jet.layers if type(l).__name__ == "QDense"]
    assert [l.name for l in dense] == list(hw)
    for layer in dense:
        k, b = _kernel(layer)
        count, adders = _hand(k, b)
        h = hw[layer.name].hardware
        assert h.multiplications == k.size
        assert (h.zero_products, h.shift_products, h.multiplier_products) == \
            (count["zero"], count["shift"], count["mult"]), layer.name
        # RF 1: one multiplier per product that needs one (constants folded)
        assert h.multipliers == count["mult"]
        assert sum(c for _, _, c in h.multipliers_by_width) == count["mult"]
        assert h.adders == adders == sum(c for _, c in h.adders_by_width)
        assert h.initiation_interval == 1 and h.bram_18k == 0
        assert h.weight_storage_bits == k.size * 6
    # the model's exact figures: sums of the layers'
    t = facts.totals.hardware
    assert t.multipliers == sum(l.hardware.multipliers for l in facts.layers if l.hardware)
    assert t.initiation_interval == 1 and t.layers == 4 and t.not_estimated == ()


def test_jet_mlp_reuse_factor_4(jet):
    lat = _layers(analyse(jet, design=Design("latency", 4)))
    res = _layers(analyse(jet, design=Design("resource", 4)))
    for layer in (l for l in jet.layers if type(l).__name__ == "QDense"):
        k, b = _kernel(layer)
        count, adders = _hand(k, b)
        n = k.size
        # latency: hls4ml caps the multipliers at DIV_ROUNDUP(n, 4) - n_zeros / 4
        limit = math.ceil(n / 4) - count["zero"] // 4
        h = lat[layer.name].hardware
        assert h.multipliers == min(count["mult"], limit), layer.name
        assert h.adders == adders and h.initiation_interval == 4
        # resource: block_factor = n / 4 multipliers and accumulating adders, weights from a
        # ROM 4 deep: Vivado keeps it in LUTs (no BRAM below 65 words; README 'Estimates')
        r = res[layer.name].hardware
        assert r.reuse_factor == 4
        assert r.multipliers == n // 4 == r.adders
        assert r.bram_18k == 0
        assert r.initiation_interval == 4


def test_conv_layer_is_the_hand_count():
    model, _ = load(CNN)
    facts = analyse(model)
    layer = next(l for l in model.layers if type(l).__name__ == "QConv2D")
    k, b = _kernel(layer)
    count, adders = _hand(k, b)
    h = next(l for l in facts.layers if l.name == layer.name).hardware
    out_positions = int(np.prod(layer.output.shape[1:-1]))
    # one kernel pass in hardware, reused for every output position in turn
    assert h.positions == out_positions
    assert h.multipliers == count["mult"] and h.adders == adders
    assert (h.zero_products, h.shift_products, h.multiplier_products) == \
        (count["zero"] * out_positions, count["shift"] * out_positions,
         count["mult"] * out_positions)
    assert h.multiplications == k.size * out_positions
    assert h.initiation_interval == out_positions
    assert count["zero"] and count["shift"] and count["mult"]  # all three kinds are present


def test_hls4ml_writes_the_same_zeros_and_multiplier_limits(jet, tmp_path):
    """hls4ml's own writer, asked for the design the YAML describes, agrees with the datasheet."""
    import hls4ml
    import yaml

    from qreport.provenance import Provenance
    from qreport.render.hls4ml import hls4ml_yaml

    from .hls4ml_compat import patch_hls4ml

    patch_hls4ml()
    facts = analyse(jet, design=Design("latency", 4))
    cfg = yaml.safe_load(hls4ml_yaml(facts, Provenance("j", "j.keras", "0" * 64, None, None, "t")))
    assert (cfg["Model"]["Strategy"], cfg["Model"]["ReuseFactor"]) == ("Latency", 4)
    # with da4ml installed, hls4ml 1.3.0 tries da4ml's tracer on QKeras layers (it raises):
    # allow_da_fallback=False keeps its Keras-2 handlers, as the README says
    hm = hls4ml.converters.convert_from_keras_model(jet, hls_config=cfg, output_dir=str(tmp_path),
                                                    backend="Vivado", io_type="io_parallel",
                                                    allow_da_fallback=False)
    hm.write()
    text = open(tmp_path / "firmware" / "parameters.h").read()
    structs = re.findall(r"struct config\d+ : nnet::dense_config \{(.*?)\n\};", text, re.S)
    got = []
    for s in structs:
        v = {k: int(x) for k, x in re.findall(r"static const unsigned (\w+) = (\d+);", s)}
        limit = -(-(v["n_in"] * v["n_out"]) // v["reuse_factor"]) - v["n_zeros"] // v["reuse_factor"]
        got.append((v["n_zeros"], v["reuse_factor"], limit))
    layers = [l.hardware for l in facts.layers if l.hardware is not None]
    assert len(got) == len(layers) == 4
    for (zeros, rf, limit), h in zip(got, layers):
        assert (zeros, rf) == (h.zero_products, 4)
        assert h.multipliers == min(h.multiplier_products, limit)


def _kif(fixed: str):
    m = re.fullmatch(r"ap_(u?)fixed<(\d+),(-?\d+)>", fixed)
    k = int(m.group(1) != "u")
    w, i = int(m.group(2)), int(m.group(3))
    return k, i - k, w - i


def test_da_cost_is_da4mls_with_the_datasheets_input_type(jet, tmp_path):
    from qreport.cli import main

    out = tmp_path / "j.json"
    assert main(["build", JET, "-o", str(out), "--strategy", "distributed_arithmetic"]) == 0
    report = json.loads(out.read_text())
    by_name = {l["name"]: l for l in report["layers"]}
    from da4ml.trace import FixedVariableArray, HWConfig, comb_trace

    n = 0
    for layer in (l for l in jet.layers if type(l).__name__ == "QDense"):
        entry = by_name[layer.name]
        k, i, f = _kif(entry["quantizers"]["input"]["fixed"])
        kernel, bias = _kernel(layer)
        n_in = kernel.shape[0]
        inp = FixedVariableArray.from_kif(np.full(n_in, k), np.full(n_in, i), np.full(n_in, f),
                                          HWConfig(1, -1, -1),
                                          solver_options={"hard_dc": 2,
                                                          "search_all_decompose_dc": True})
        sol = comb_trace(inp, inp @ kernel + bias)
        hw = entry["hardware"]
        assert (hw["da_cost"]["value"], hw["da_cost"]["basis"]) == (float(sol.cost), "estimate"), \
            layer.name
        assert hw["da_cost"]["error"]["source"].startswith("JEDI-linear")
        assert hw["da_depth"]["value"] == int(sol.latency[1])
        assert hw["multipliers"]["value"] == 0 and hw["lut"]["value"] == round(sol.cost)
        n += 1
    assert n == 4
    t = report["totals"]["hardware"]
    assert t["strategy"] == "distributed_arithmetic"
    assert t["da_cost"]["value"] == sum(by_name[x]["hardware"]["da_cost"]["value"]
                                        for x in by_name if by_name[x]["hardware"])


def test_da_refuses_what_hls4ml_refuses_and_says_what_it_does_not_unroll(jet):
    from qreport.errors import AnalysisError

    with pytest.raises(AnalysisError, match="reuse factor 1"):
        Design("distributed_arithmetic", 2)
    facts = analyse(jet, design=Design("distributed_arithmetic", 1, da_limit=1500))
    fc2 = next(l for l in facts.layers if l.name == "fc2").hardware
    assert fc2.da_cost is None and "too large to unroll" in fc2.notes[0]
    assert "1,500" in fc2.notes[0]
    fc1 = next(l for l in facts.layers if l.name == "fc1").hardware
    assert fc1.da_cost is not None


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 40), st.integers(1, 40), st.integers(1, 200))
def test_reuse_factor_rules_are_hls4mls(n_in, n_out, rf):
    from hls4ml.backends.fpga.fpga_backend import FPGABackend

    be = object.__new__(FPGABackend)  # the rules need no backend state
    assert valid_reuse_factor(n_in, n_out, rf) == be._validate_reuse_factor(n_in, n_out, rf)
    if rf <= n_in * n_out:
        valid = be.get_valid_reuse_factors(n_in, n_out)
        assert closest_reuse_factor(n_in, n_out, rf) == be.get_closest_reuse_factor(valid, rf)


def _csd_digits(x: int) -> int:
    """Nonzero digits of the non-adjacent form, digit by digit."""
    n = 0
    while x:
        if x & 1:
            d = 2 - (x & 3)  # +1 or -1
            x -= d
            n += 1
        x >>= 1
    return n


@settings(max_examples=300, deadline=None)
@given(st.integers(-(2 ** 20), 2 ** 20))
def test_constant_classes_digit_by_digit(c):
    need, width, csd = constant_widths(np.array([c]))
    a = abs(c)
    while a and a % 2 == 0:
        a //= 2
    assert bool(need[0]) == (a > 1)
    assert width[0] == (a.bit_length() + 1 if c else 0)
    assert csd[0] == _csd_digits(abs(c))


def test_bram_blocks_by_port_width():
    # 18 Kb: 512 × 36, 1024 × 18, 2048 × 9, 4096 × 4, 8192 × 2, 16384 × 1
    assert bram_18k(36, 512) == 1 and bram_18k(37, 512) == 2
    assert bram_18k(18, 1024) == 1 and bram_18k(36, 1024) == 2
    assert bram_18k(9, 2048) == 1 and bram_18k(1, 16384) == 1 and bram_18k(1, 16385) == 2
    assert bram_18k(0, 4) == 0


def test_dsp_rule_follows_its_threshold():
    """A constant of 5 significant bits goes to a DSP only when the threshold allows it."""
    from qreport.analysis.facts import QFact
    from qreport.analysis.hardware import Kernel2D, layer_hardware

    t16 = QFact("quantized_bits", "q", 0, 16, 5, True, -32.0, 32.0, 2 ** -10, "ap_fixed<16,6>",
                hls_type=(16, 6, True))
    ints = np.array([[0b10011], [0b1011101], [4]])  # widths 6, 8; 4 is a shift
    k = Kernel2D(ints=ints.reshape(1, 3), bias_nonzero=np.zeros(3, bool), positions=1)
    widths = np.full(3, 20)
    dsp = [layer_hardware(k, t16, t16, widths, 20, Design(dsp_min_bits=t), 16).dsp
           for t in (6, 7, 9)]
    assert dsp == [2, 1, 0]


def test_cli_design_flags_budget_and_yaml(tmp_path, capsys):
    from types import SimpleNamespace

    from qreport.cli import main

    def run(*argv):
        capsys.readouterr()
        code = main(list(argv))
        out, err = capsys.readouterr()
        return SimpleNamespace(returncode=code, stdout=out, stderr=err)
    out = run("check", JET, "--max-luts", "1000", "--strategy", "resource", "--reuse-factor", "4")
    assert out.returncode == 3 and "estimated LUTs" in out.stdout + out.stderr
    assert "resource, reuse factor 4" in out.stdout + out.stderr
    budget = tmp_path / "b.toml"
    budget.write_text('strategy = "resource"\nreuse_factor = 128\nmax_bram = 4\n')
    out = run("check", JET, "--budget", str(budget))
    assert out.returncode == 3 and "BRAM_18K" in out.stdout + out.stderr
    out = run("check", JET, "--budget", str(budget), "--reuse-factor", "1")
    assert out.returncode == 0, out.stdout + out.stderr  # the flag overrides the file: no BRAM
    bad = run("build", JET, "-o", str(tmp_path / "x.json"), "--strategy", "distributed_arithmetic",
              "--reuse-factor", "2")
    assert bad.returncode == 1 and bad.stderr.count("\n") == 1 and "--reuse-factor" in bad.stderr
    assert not (tmp_path / "x.json").exists()
    d = run("diff", JET, JET, "-o", str(tmp_path / "d.json"), "--strategy", "resource",
            "--reuse-factor", "4")
    assert d.returncode == 0
    data = json.loads((tmp_path / "d.json").read_text())
    assert any(k.startswith("hardware.") for k in data["totals"])


def test_readme_error_table_is_what_bench_synthesis_prints():
    """The README's table against public synthesis numbers is this run's, and the DSP rule
    stays within its stated error."""
    sys.path.insert(0, os.path.join(ROOT, "bench"))
    import synthesis

    text, errors = synthesis.table(64)
    readme = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    assert text in readme
    assert max(errors["dsp"]) <= 0.12


def test_float_layers_take_the_given_type_as_hls4ml_casts_them():
    """--float-type: a float kernel truncated and wrapped into ap_fixed<8,3> (step 1/32, range
    [-4, 4)), as hls4ml's AP_TRN/AP_WRAP cast does; the hand count follows the cast values."""
    import keras

    x = keras.Input((4,))
    d = keras.layers.Dense(1, activation="relu", name="d")
    m = keras.Model(x, d(x))
    # 0.1 -> floor(3.2)/32 = 3/32 (a multiplier: 3); -0.1 -> -4/32 = -1/8 (a shift);
    # 3.0 -> 96/32 (odd part 3: a multiplier); 5.0 -> 160 wraps to 160 - 256 = -96: -3.0
    d.set_weights([np.array([[0.1], [-0.1], [3.0], [5.0]], "float32"), np.array([0.0], "float32")])
    f = analyse(m, float_type="ap_fixed<8,3>")
    layer = f.layers[0]
    assert layer.quantizer("kernel").fixed == "ap_fixed<8,3>"
    assert layer.quantizer("input").config == "ap_fixed<8,3>"   # the unstated input, too
    assert layer.output_type.config == "ap_fixed<8,3>"            # relu's float output
    h = layer.hardware
    assert (h.zero_products, h.shift_products, h.multiplier_products) == (0, 1, 3)
    hist = dict(zip(layer.histograms[0].values, layer.histograms[0].counts))
    assert hist == {3 / 32: 1, -1 / 8: 1, 3.0: 1, -3.0: 1}
    assert not any("float" in w and "typed" not in w for w in layer.warnings)
    # without it, the same layer is float and has no hardware figures
    plain = analyse(m).layers[0]
    assert plain.hardware is None and "float" in plain.hardware_note


def test_da4ml_shows_a_progress_count(jet):
    stages = []
    analyse(jet, design=Design("distributed_arithmetic"), progress=stages.append)
    assert [s for s in stages if s.startswith("da4ml")][-1] == "da4ml 4/4 layers"
    assert "da4ml 0/4 layers" in stages
    quiet = []
    analyse(jet, progress=quiet.append)   # the default build never calls da4ml
    assert not any(s.startswith("da4ml") for s in quiet)


def test_python_api_takes_the_design(jet):
    import qreport

    f = qreport.analyse(jet, strategy="resource", reuse_factor=128)
    assert (f.totals.hardware.strategy, f.totals.hardware.reuse_factor) == ("resource", 128)
    assert f.totals.hardware.bram_18k > 0   # ROMs deeper than 64 words go to BRAM
    from qreport.errors import AnalysisError

    with pytest.raises(AnalysisError) as e:
        qreport.analyse(jet, strategy="fast")
    assert e.value.option == "strategy"


def test_cover_figures_fit_their_box():
    """The cover's LUT/FF figures: thousands as k below a million, M above (by hand)."""
    from qreport.render.hardware import kilo

    assert [kilo(v) for v in (8712, 87169, 999949, 999950, 3587300, 12682300, 75502800)] == \
        ["8,712", "87.2 k", "999.9 k", "1 M", "3.59 M", "12.7 M", "75.5 M"]
