"""HGQ2 models read directly, checked against HGQ2 itself and hls4ml's BitExact pass.

The models under tests/hgq2/ and what they are checked against
(tests/hgq2/expected.json) were made by tests/hgq2/make_models.py in a
separate venv with hgq2 and hls4ml (``make hgq2-models``); hgq2 is not in
this one.  Every number here comes from HGQ2's own computation (its
quantized kernels, its quantizers' ranges, the accumulator extremes its
layers reach on the sign-built extreme inputs) or from hls4ml's conversion.
"""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from types import SimpleNamespace

import numpy as np
import pytest

from qreport.analysis.hgq import read_layers
from qreport.analysis.propagate import propagate
from qreport.errors import QReportError
from qreport.pipeline import analyse_file
from qreport.read import hgq2_file, load_hgq2

from pathlib import Path

from .conftest import ROOT as _ROOT

ROOT = Path(_ROOT)

HERE = ROOT / "tests" / "hgq2"
EXPECTED = json.loads((HERE / "expected.json").read_text())
MODELS = sorted(EXPECTED)


def _work(name):
    raw = load_hgq2(str(HERE / f"{name}.keras"))
    inputs, keys, data = read_layers(raw)
    layers, _, work = propagate(data, keys, inputs)
    return {d.name: d for d in data}, {l.name: l for l in layers}, work


def test_five_models_cover_the_stable_layers():
    classes = {r["class"] for m in EXPECTED.values() for r in m["layers"].values()}
    assert {"QDense", "QConv1D", "QConv2D", "QAdd", "QBatchNormDense",
            "QBatchNormalization"} <= classes
    assert len(MODELS) >= 5 and all(hgq2_file(str(HERE / f"{m}.keras")) for m in MODELS)


@pytest.mark.parametrize("name", MODELS)
def test_quantized_weights_and_input_ranges_are_hgq2s(name):
    data, _, _ = _work(name)
    for lname, rec in EXPECTED[name]["layers"].items():
        if "kernel" not in rec:
            continue
        d = data[lname]
        got = d.kernels[0].values.reshape(np.asarray(rec["kernel"]).shape)
        np.testing.assert_array_equal(got, rec["kernel"], err_msg=lname)
        if "bias" in rec:
            np.testing.assert_array_equal(d.bias.values, rec["bias"], err_msg=lname)
        lo, hi, _ = d.input_maps[0]
        np.testing.assert_array_equal(lo, rec["input"]["min"], err_msg=lname)
        np.testing.assert_array_equal(hi, rec["input"]["max"], err_msg=lname)
        inp = next(b for b in d.bit_widths if b.role == "input")
        w = np.asarray(rec["input"]["width"])
        w = np.where((np.asarray(rec["input"]["min"]) == 0) & (np.asarray(rec["input"]["max"]) == 0), 0, w)
        assert dict(zip(inp.widths, inp.counts)) == dict(zip(*np.unique(w, return_counts=True)))


@pytest.mark.parametrize("name", MODELS)
def test_bound_per_channel_is_what_the_layer_reaches(name):
    """qreport's bound, per channel, equals the extremes HGQ2's layer reaches on the
    sign-built inputs: attained, so exact."""
    _, facts, work = _work(name)
    checked = 0
    for lname, rec in EXPECTED[name]["layers"].items():
        if "accumulator" in rec:
            b = work[lname].bounds[0]
            np.testing.assert_array_equal(b.lo, rec["accumulator"]["min"], err_msg=lname)
            np.testing.assert_array_equal(b.hi, rec["accumulator"]["max"], err_msg=lname)
            acc = facts[lname].accumulator.bound
            assert acc.min == min(rec["accumulator"]["min"]) and acc.max == max(rec["accumulator"]["max"])
            checked += 1
        elif "output" in rec:  # a merge: the exact range of its output
            t = facts[lname].output_type
            assert (t.min, t.max) == (rec["output"]["min"], rec["output"]["max"]), lname
            checked += 1
    assert checked >= 2


@pytest.mark.parametrize("name", MODELS)
def test_bitexact_accumulators_are_hls4mls(name):
    facts, _ = analyse_file(str(HERE / f"{name}.keras"))
    hls = EXPECTED[name]["hls4ml"]
    seen = 0
    for l in facts.layers:
        want = hls.get(l.name, {}).get("accum_t")
        if want is not None:
            assert l.hls4ml_type == want.split(",TRN")[0] + ">", l.name
            assert l.accumulator.type.fixed.replace("ap_", "") == l.hls4ml_type
            seen += 1
    assert seen >= 2


def test_facts_of_the_dense_model():
    facts, _ = analyse_file(str(HERE / "hgq_dense.keras"))
    fc1 = next(l for l in facts.layers if l.name == "fc1")
    kern = next(b for b in fc1.bit_widths if b.role == "kernel")
    assert kern.pruned_channels == 1 and kern.pruned >= 16          # channel 3 pruned whole
    assert kern.elements == 160 and sum(kern.counts) == 160
    assert fc1.counts.weight_bits == kern.total_bits
    assert any("WRAP" in w and "calibrated" in w for w in fc1.warnings)
    assert any("zero-width" in w for w in facts.warnings)
    assert facts.library == "hgq2"


def test_every_format_and_the_yaml_writes_no_overrides(tmp_path):
    import jsonschema

    from qreport.cli import main

    src = str(HERE / "hgq_bn.keras")
    for ext in ("json", "md", "html", "yml", "pdf"):
        assert main(["build", src, "-o", str(tmp_path / f"r.{ext}")]) == 0, ext
    data = json.loads((tmp_path / "r.json").read_text())
    schema = json.loads((ROOT / "qreport" / "schema" / "qreport-1.schema.json").read_text())
    jsonschema.validate(data, schema)
    assert data["model"]["library"] == "hgq2"
    bn = next(l for l in data["layers"] if l["name"] == "bn_dense")
    assert {b["role"] for b in bn["bit_widths"]} == {"input", "kernel", "bias"}
    yml = (tmp_path / "r.yml").read_text()
    assert "LayerName" not in yml and "Precision" not in yml and "Strategy: Latency" in yml
    assert "degenerate type ufixed<2,32>" in (tmp_path / "r.md").read_text()
    assert "Trained formats" in (tmp_path / "r.html").read_text()


def test_diff_check_and_compare(tmp_path, capsys):
    from qreport.cli import main

    def run(*argv):
        capsys.readouterr()
        code = main(list(argv))
        out, err = capsys.readouterr()
        return SimpleNamespace(returncode=code, out=out + err)
    a, b = str(HERE / "hgq_dense.keras"), str(HERE / "hgq_merge.keras")
    assert run("diff", a, a, "-o", str(tmp_path / "d.json")).returncode == 0
    assert run("check", a, "--max-luts", "10").returncode == 3
    assert run("compare", a, b, "-o", str(tmp_path / "c.html")).returncode == 0
    r = run("build", a, "-o", str(tmp_path / "x.json"), "--input-quantizer", "quantized_bits(8,0)")
    assert r.returncode != 0 and "does not apply" in r.out and "Traceback" not in r.out


# ------------------------------------------------------------------ untrusted files

def _rewrite(src, dst, config=None, h5=None):
    """A copy of an archive with its config.json changed by ``config`` and its weights by ``h5``."""
    import h5py

    with zipfile.ZipFile(src) as z:
        members = {n: z.read(n) for n in z.namelist()}
    if config is not None:
        c = json.loads(members["config.json"])
        config(c)
        members["config.json"] = json.dumps(c).encode()
    if h5 is not None:
        buf = io.BytesIO(members["model.weights.h5"])
        with h5py.File(buf, "r+") as f:
            h5(f)
        members["model.weights.h5"] = buf.getvalue()
    with zipfile.ZipFile(dst, "w") as z:
        for n, v in members.items():
            z.writestr(n, v)
    return str(dst)


def _set(path, value):
    def edit(f):
        del f[path]
        f[path] = value
    return edit


def _layer(c, name):
    return next(l for l in c["config"]["layers"] if l["name"] == name)


CASES = {
    "unknown class": (lambda c: _layer(c, "fc2").update(class_name="QEvil"), None, "QEvil"),
    "compat layer": (lambda c: _layer(c, "fc2").update(registered_name="hgq/qkeras>QDense"), None,
                     "compatibility"),
    "kernel width shape": (None, _set("layers/q_dense/kq/quantizer/vars/0", np.ones((3, 3), "f4")),
                           "shape"),
    "negative width": (None, _set("layers/q_dense/kq/quantizer/vars/0", -np.ones((16, 10), "f4")),
                       "negative"),
    "10,000 bits": (None, _set("layers/q_dense/kq/quantizer/vars/0", np.full((16, 10), 1e4, "f4")),
                    "bits"),
    "missing variable": (None, lambda f: f.__delitem__("layers/q_dense_1/kq"), "missing"),
    "output quantizer not stored": (lambda c: _layer(c, "fc2")["config"].update(enable_oq=True),
                                    None, "oq quantizer is missing"),
    "NaN kernel": (None, _set("layers/q_dense/vars/0", np.full((16, 10), np.nan, "f4")), "NaN"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_damaged_file_is_one_clean_line(case, tmp_path, capsys):
    from qreport.cli import main

    config, h5, needle = CASES[case]
    bad = _rewrite(HERE / "hgq_dense.keras", tmp_path / "bad.keras", config, h5)
    out = tmp_path / "r.json"
    capsys.readouterr()
    code = main(["build", bad, "-o", str(out)])
    err = capsys.readouterr().err
    assert code != 0 and not out.exists()
    assert needle in err and "Traceback" not in err and len(err.strip().splitlines()) == 1, err


def test_nothing_named_in_the_file_is_imported(tmp_path):
    """A module the config names is never imported: the reader reads only data."""
    import sys

    bad = _rewrite(HERE / "hgq_dense.keras", tmp_path / "m.keras",
                   lambda c: _layer(c, "fc2").update(module="qreport_evil_module"))
    with pytest.raises(QReportError, match="qreport_evil_module"):
        analyse_file(bad)  # refused by name, before anything is read
    assert "qreport_evil_module" not in sys.modules
    facts, _ = analyse_file(str(HERE / "hgq_dense.keras"))
    assert "hgq" not in sys.modules and facts.library == "hgq2"


def test_fuzzed_widths_never_crash(tmp_path):
    """Random stored widths: a report or one QReportError, never another exception."""
    rng = np.random.default_rng(7)
    src = HERE / "hgq_conv1d.keras"
    for n in range(12):
        b = rng.normal(0, 30, (3, 3, 4)).astype("f4")
        i = rng.normal(0, 40, (3, 3, 4)).astype("f4")
        dst = _rewrite(src, tmp_path / f"f{n}.keras", None, lambda f: (
            _set("layers/q_conv1d/kq/quantizer/vars/0", b)(f),
            _set("layers/q_conv1d/kq/quantizer/vars/1", i)(f)))
        try:
            analyse_file(dst)
        except QReportError:
            pass
    shutil.rmtree(tmp_path, ignore_errors=True)
