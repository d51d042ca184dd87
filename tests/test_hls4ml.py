"""The hls4ml export, proven by hls4ml's own bit-accurate C++ model (compiled with g++).

For a bundled example, hls4ml converts the model twice: with the exported
configuration, and with every accumulator and derived result very wide.
Both are compiled and run on inputs on the input grid, plus the inputs
that attain the first layer's bound; the outputs must be bit-identical.
Then the first layer's accumulator is made one bit narrower: the outputs
must differ on its extreme inputs, so the bound is tight and the test can
fail.
"""

from __future__ import annotations

import copy
import os
import shutil
import subprocess

import numpy as np
import pytest

from qreport.analysis.model import analyse
from qreport.read.keras import load
from qreport.render.hls4ml import hls4ml_yaml
from qreport.provenance import Provenance

from .conftest import ROOT

WIDE = "ap_fixed<48,24>"
N_RANDOM = 2000

pytestmark = pytest.mark.skipif(shutil.which("g++") is None,
                                reason="g++ not found: hls4ml's C++ model cannot be compiled")


def _config(name):
    import yaml

    path = os.path.join(ROOT, "examples", "models", f"{name}.keras")
    model, _ = load(path)
    facts = analyse(model)
    meta = Provenance(name, f"{name}.keras", "0" * 64, None, None, "test")
    return model, facts, yaml.safe_load(hls4ml_yaml(facts, meta))


def _write(model, cfg, out_dir):
    """hls4ml's project for a configuration, written (not yet compiled)."""
    import hls4ml

    from .hls4ml_compat import patch_hls4ml

    patch_hls4ml()
    hm = hls4ml.converters.convert_from_keras_model(
        model, hls_config=copy.deepcopy(cfg), output_dir=str(out_dir), backend="Vivado",
        io_type="io_parallel", allow_da_fallback=False)
    hm.write()
    return hm


def _compile_all(models):
    """Compile hls4ml projects two at a time (one g++ per core), then load each library.

    ``ModelGraph.compile()`` runs the project's build_lib.sh (g++ -O3, ~10 s)
    in the foreground and changes the working directory while it does; here
    the scripts run side by side, and ``_compile()`` is then left only the
    loading (its script replaced by a no-op).
    """
    pending = list(models)
    while pending:
        batch, pending = pending[:2], pending[2:]
        procs = [subprocess.Popen(["bash", "build_lib.sh"], cwd=m.config.get_output_dir(),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                 for m in batch]
        for p in procs:
            _, err = p.communicate()
            assert p.returncode == 0, err[-2000:]
    cwd = os.getcwd()
    try:
        for m in models:
            with open(os.path.join(m.config.get_output_dir(), "build_lib.sh"), "w") as f:
                f.write("#!/bin/bash\ntrue\n")
            m._compile()
    finally:
        os.chdir(cwd)


def _widened(cfg, derived):
    """Every accum and every result qreport derived (not a quantizer's) set very wide."""
    wide = copy.deepcopy(cfg)
    for name in derived:
        p = wide["LayerName"][name]["Precision"]
        for key in ("accum", "result"):
            if key in p and p[key] != "auto":
                p[key] = WIDE
    return wide


def _grid_inputs(facts, shape, rng):
    """N_RANDOM inputs on the input type's grid, float64 and C-contiguous."""
    t = facts.inputs[0].type
    k = rng.integers(round(t.min / t.lsb), round(t.max / t.lsb) + 1, size=(N_RANDOM, *shape))
    return np.ascontiguousarray(k * t.lsb, dtype=np.float64)


def _extremes(facts, model, layer_name):
    """For every output channel of the first weight layer, the inputs that attain its bound.

    Sign-built: each tap gets the input type's max where the weight is
    positive (min where negative) for the channel's maximum, the other way
    round for its minimum; a convolution's taps are placed at one output
    position whose window meets only real inputs.
    """
    t = facts.inputs[0].type
    layer = model.get_layer(layer_name)
    w = np.asarray(layer.kernel_quantizer_internal(layer.kernel))
    shape = tuple(model.inputs[0].shape[1:])
    xs = []
    for c in range(w.shape[-1]):
        wc = w[..., c]
        for sign in (1, -1):
            taps = np.where(sign * wc > 0, t.max, t.min)
            x = np.zeros(shape)
            if w.ndim == 2:  # Dense: (d_in, units)
                x[:] = taps
            else:  # Conv1D: (k, c_in, c_out), at output position 4 (inside the signal)
                k, s, n = w.shape[0], layer.strides[0], shape[0]
                left = 0
                if layer.padding == "same":  # Keras: the odd padding row goes right
                    left = max((-(-n // s) - 1) * s + k - n, 0) // 2
                start = 4 * s - left
                x[start:start + k, :] = taps
            xs.append(x)
    return np.ascontiguousarray(xs, dtype=np.float64)


CASES = {"jet_mlp": "fc1", "conv1d": "conv1", "jet_mlp_po2": "fc1"}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Per example: its facts, config, and the narrow, wide and one-bit-short hls4ml models."""
    pytest.importorskip("hls4ml")
    out, todo = {}, []
    for name, first in CASES.items():
        model, facts, cfg = _config(name)
        derived = [n for n, e in cfg["LayerName"].items() if "accum" in e["Precision"]]
        short = copy.deepcopy(cfg)
        bound = cfg["LayerName"][first]["Precision"]["accum"]
        w, i = (int(v) for v in bound[bound.index("<") + 1:-1].split(",")[:2])
        short["LayerName"][first]["Precision"]["accum"] = f"ap_fixed<{w - 1},{i - 1}>"
        tmp = tmp_path_factory.mktemp(name)
        hms = [_write(model, c, tmp / v) for v, c in
               (("narrow", cfg), ("wide", _widened(cfg, derived)), ("short", short))]
        out[name] = (model, facts, cfg, *hms)
        todo += hms
    _compile_all(todo)
    return out


@pytest.mark.parametrize("name", CASES)
def test_every_node_has_its_entry_and_hls4ml_takes_the_types(name, built):
    _, _, cfg, hm, _, _ = built[name]
    assert set(cfg["LayerName"]) == set(hm.graph), (set(cfg["LayerName"]) ^ set(hm.graph))
    conv = hm.config.backend.convert_precision_string
    for node, entry in cfg["LayerName"].items():
        for key, value in entry["Precision"].items():
            if value != "auto":
                got = hm.graph[node].types[f"{key}_t"].precision
                assert str(got) == str(conv(value)), (node, key)


@pytest.mark.parametrize("name", CASES)
def test_exported_types_are_bit_exact(name, built):
    model, facts, cfg, narrow, wide, _ = built[name]
    rng = np.random.default_rng(0)
    shape = tuple(model.inputs[0].shape[1:])
    x = np.concatenate([_grid_inputs(facts, shape, rng), _extremes(facts, model, CASES[name])])
    y_narrow, y_wide = narrow.predict(x), wide.predict(x)
    assert y_narrow.dtype == np.float64 and len(y_narrow) == len(x)
    np.testing.assert_array_equal(y_narrow, y_wide)


@pytest.mark.parametrize("name", CASES)
def test_one_bit_narrower_than_the_bound_differs(name, built):
    model, facts, cfg, narrow, _, short = built[name]
    ext = _extremes(facts, model, CASES[name])
    y_short, y = short.predict(ext), narrow.predict(ext)
    differ = np.any(y_short != y, axis=tuple(range(1, y.ndim)))
    assert differ.any(), "one bit narrower than the bound changed nothing: the bound is not tight"
    print(f"{name}: one bit narrower differs on {differ.sum()} of {len(ext)} extreme inputs")


@pytest.mark.parametrize("name", CASES)
def test_hls4ml_infers_what_the_datasheet_says(name, tmp_path):
    """With accum and result left to hls4ml, it infers the `type` accumulator the
    datasheet shows as "hls4ml infers" (converted only, not compiled)."""
    import hls4ml

    from .hls4ml_compat import patch_hls4ml

    pytest.importorskip("hls4ml")
    patch_hls4ml()
    model, facts, cfg = _config(name)
    for layer in facts.layers:
        for key in ("accum", "result"):
            if layer.operations:
                cfg["LayerName"][layer.name]["Precision"][key] = "auto"
    hm = hls4ml.converters.convert_from_keras_model(
        model, hls_config=cfg, output_dir=str(tmp_path), backend="Vivado", io_type="io_parallel",
        allow_da_fallback=False)
    conv = hm.config.backend.convert_precision_string
    checked = 0
    for layer in facts.layers:
        for o in layer.operations:
            got = hm.graph[layer.name].types["accum_t"].precision
            assert str(got) == str(conv(o.accumulator.type.fixed)), (layer.name, str(got))
            checked += 1
    assert checked >= 3
