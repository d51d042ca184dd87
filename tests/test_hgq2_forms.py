"""HGQ2 models in every form people publish, checked against HGQ2 itself and hls4ml.

The files under tests/hgq2/ named ``<model>-<hgq2 version>.keras|.h5`` were made by
tests/hgq2/make_forms.py under hgq2 0.1.5 (Keras 3.10) and 0.2.0 (Keras 3.15), in
their own venvs (``make hgq2-models``); what they are checked against,
tests/hgq2/expected-forms.json, is HGQ2's own computation (quantized kernels,
quantizer ranges, the extremes each layer reaches on sign-built inputs, its
stored EBOPs) and hls4ml 1.3.0's conversion (BitExact types, table sizes).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from qreport.analysis.hgq import read_layers
from qreport.analysis.propagate import propagate
from qreport.pipeline import analyse_file
from qreport.read import hgq2_file, load_hgq2

from .conftest import ROOT as _ROOT

HERE = Path(_ROOT) / "tests" / "hgq2"
EXPECTED = json.loads((HERE / "expected-forms.json").read_text())
FILES = sorted(EXPECTED)


def _work(name):
    raw = load_hgq2(str(HERE / name))
    inputs, keys, data = read_layers(raw)
    layers, _, work = propagate(data, keys, inputs)
    return {d.name: d for d in data}, {l.name: l for l in layers}, work


def test_every_form_and_both_versions_are_here():
    assert {EXPECTED[f]["hgq2"] for f in FILES} == {"0.1.5", "0.2.0"}
    assert any(f.endswith(".h5") for f in FILES) and all(hgq2_file(str(HERE / f)) for f in FILES)
    classes = {r["class"] for f in FILES for r in EXPECTED[f]["layers"].values()}
    assert {"QEinsumDense", "QEinsumDenseBatchnorm", "QSum", "QMeanPow2", "QAveragePooling1D",
            "QMaxPooling1D", "QGlobalAveragePooling1D", "Quantizer", "QMaximum", "QAdd",
            "QMultiHeadAttention", "QLinformerAttention", "QSoftmax", "QUnaryFunctionLUT"} <= classes


@pytest.mark.parametrize("name", FILES)
def test_weights_inputs_and_bounds_are_hgq2s(name):
    """Quantized kernels and biases bit-equal to HGQ2's; every per-channel bound equal to the
    extremes HGQ2's own layer reaches (attained, so exact)."""
    data, facts, work = _work(name)
    checked = 0
    for lname, rec in EXPECTED[name]["layers"].items():
        if "kernel" not in rec:
            continue
        d = data[lname]
        got = d.kernels[0].values.reshape(np.asarray(rec["kernel"]).shape)
        np.testing.assert_array_equal(got, rec["kernel"], err_msg=lname)
        if "bias" in rec:
            np.testing.assert_array_equal(d.bias.values, np.asarray(rec["bias"]), err_msg=lname)
        box = rec.get("input") or rec["input_reaching"]
        lo, hi, _ = d.input_maps[0]
        np.testing.assert_array_equal(lo, box["min"], err_msg=lname)
        np.testing.assert_array_equal(hi, box["max"], err_msg=lname)
        b = work[lname].bounds[0]
        np.testing.assert_array_equal(b.lo, rec["accumulator"]["min"], err_msg=lname)
        np.testing.assert_array_equal(b.hi, rec["accumulator"]["max"], err_msg=lname)
        checked += 1
    assert checked >= 2


@pytest.mark.parametrize("name", [f for f in FILES if "ops" in f])
def test_merges_sums_pooling_and_quantizers_reach_what_qreport_says(name):
    _, facts, _ = _work(name)
    seen = 0
    for lname, rec in EXPECTED[name]["layers"].items():
        if "output" in rec:
            t = facts[lname].output_type
            if t.lsb is None:   # off the grid (a 3-wide average): HGQ2 divides in float32
                assert t.min == pytest.approx(rec["output"]["min"], rel=1e-6), lname
                assert t.max == pytest.approx(rec["output"]["max"], rel=1e-6), lname
            else:
                assert (t.min, t.max) == (rec["output"]["min"], rec["output"]["max"]), lname
            seen += 1
    assert seen >= 7


@pytest.mark.parametrize("name", FILES)
def test_stored_ebops_are_hgq2s(name):
    facts, _ = analyse_file(str(HERE / name))
    by_name = {l.name: l for l in facts.every_layer}
    for lname, rec in EXPECTED[name]["layers"].items():
        if "ebops" not in rec:
            continue
        if lname in by_name:
            assert by_name[lname].ebops == rec["ebops"], lname
        else:  # an attention: its parts together
            parts = [l.ebops or 0 for l in facts.every_layer if l.name.startswith(lname + "/")]
            assert sum(parts) == rec["ebops"], lname
    assert facts.totals.ebops == sum(l.ebops or 0 for l in facts.layers)


@pytest.mark.parametrize("name", [f for f in FILES if "error" not in EXPECTED[f]["hls4ml"]])
def test_bitexact_types_and_tables_are_hls4mls(name):
    facts, _ = analyse_file(str(HERE / name))
    hls = EXPECTED[name]["hls4ml"]
    seen = 0
    for l in facts.every_layer:
        rec = hls.get(l.name, {})
        if "accum_t" in rec and rec["class"] in ("Dense", "EinsumDense", "Conv1D", "Conv2D"):
            assert l.hls4ml_type == rec["accum_t"].split(",TRN")[0] + ">", l.name
            seen += 1
        if "exp_table_size" in rec:
            tables = {t.name: t for t in l.tables}
            assert tables["exp"].depth == rec["exp_table_size"]
            assert tables["inv"].depth == rec["inv_table_size"]
            assert tables["exp"].output_type == rec["exp_table_t"].split(",")[0].replace("ufixed", "ufixed") + ">" \
                or tables["exp"].width == int(rec["exp_table_t"].split("<")[1].split(",")[0])
            seen += 1
        if "table_size" in rec:
            (t,) = l.tables
            assert t.depth == rec["table_size"], l.name
            assert t.width == int(rec["table_t"].split("<")[1].split(",")[0])
            seen += 1
    assert seen >= 2


@pytest.mark.parametrize("stem", sorted({f.rsplit(".", 1)[0] for f in FILES if f.endswith(".h5")}))
def test_legacy_h5_reads_as_the_archive(stem):
    """A model saved as Keras 3's legacy .h5 and as .keras: the same facts."""
    import dataclasses

    a, _ = analyse_file(str(HERE / f"{stem}.keras"))
    b, _ = analyse_file(str(HERE / f"{stem}.h5"))
    assert len(a.every_layer) == len(b.every_layer)
    for x, y in zip(a.every_layer, b.every_layer):
        assert dataclasses.replace(x, energy=None, hardware=None) == \
            dataclasses.replace(y, energy=None, hardware=None), x.name


def test_every_format(tmp_path):
    import jsonschema

    from qreport.cli import main

    schema = json.loads((Path(_ROOT) / "qreport" / "schema" / "qreport-1.schema.json").read_text())
    for name in FILES:
        stem = name.replace(".", "_")
        for ext in ("json", "md", "html"):
            assert main(["build", str(HERE / name), "-o", str(tmp_path / f"{stem}.{ext}"),
                         "--quiet"]) == 0, (name, ext)
        jsonschema.validate(json.loads((tmp_path / f"{stem}.json").read_text()), schema)
    assert main(["build", str(HERE / "hgq_attention-0.2.0.keras"), "-o",
                 str(tmp_path / "a.pdf"), "--quiet"]) == 0
