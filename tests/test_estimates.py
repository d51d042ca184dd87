"""Every hardware estimate carries its measured error; the resource model's terms are hls4ml's.

The errors and the fitted coefficients are written by bench/vivado.py from public synthesis
results (README 'Estimates'); here: that every estimated figure of a report says its error
for the design's regime (or 'unvalidated'), that the schema demands it, and that the model's
terms count what nnet_dense_resource.h builds, by hand.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qreport.analysis.hardware import estimates
from qreport.cli import main

from .conftest import ROOT


def _figures(node, path=""):
    if isinstance(node, dict):
        if "basis" in node and "value" in node:
            yield path, node
        for k, v in node.items():
            yield from _figures(v, f"{path}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _figures(v, f"{path}[{i}]")


DESIGNS = {
    "latency": ([], "hls4ml's committed synthesis baselines"),
    "resource RF 1024": (["--strategy", "resource", "--reuse-factor", "1024"], "wa-hls4ml"),
    "resource RF 4": (["--strategy", "resource", "--reuse-factor", "4"], None),
    # reuse factor 1: constant multipliers and adder trees in both strategies, the same rules
    "resource RF 1": (["--strategy", "resource"], "hls4ml's committed synthesis baselines"),
    "latency RF 4": (["--reuse-factor", "4"], None),
    "distributed arithmetic": (["--strategy", "distributed_arithmetic"], None),
}


@pytest.mark.parametrize("design", sorted(DESIGNS))
def test_every_estimate_in_the_json_has_its_error(design, tmp_path):
    import jsonschema

    flags, source = DESIGNS[design]
    out = tmp_path / "r.json"
    assert main(["build", "--example", "jet_mlp", "-o", str(out), "--quiet", *flags]) == 0
    data = json.loads(out.read_text())
    schema = json.loads((Path(ROOT) / "qreport" / "schema" / "qreport-1.schema.json").read_text())
    jsonschema.validate(data, schema)
    n = 0
    for path, f in _figures(data):
        if f["basis"] == "estimate":
            n += 1
            assert "error" in f, path
            e = f["error"]
            if source is not None and path.startswith(".totals") and ".lut" in path:
                assert e["source"].startswith(source) and e["n"] > 0 and 0 <= e["median"] <= e["p90"]
            if design in ("resource RF 4", "latency RF 4"):   # no public data covers these
                assert e == "unvalidated", path
        else:
            assert "error" not in f, path
    assert n > 10
    broken = json.loads(json.dumps(data))
    del broken["totals"]["hardware"]["lut"]["error"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


def test_da_lut_error_is_the_published_da4ml_one(tmp_path):
    e = estimates.error("da_cost", "distributed_arithmetic", 1)
    assert e is not None and e.source.startswith("JEDI-linear") and e.n == 20


def test_resource_terms_are_what_dense_resource_builds():
    """16 inputs to 64 outputs at reuse factor 256: block factor 4 multipliers, each fed by a
    16-input mux and a 256-deep ROM of 6-bit words; 64 accumulators of 20 bits."""
    t = estimates.resource_terms(16, 64, 256, 4, 16, 6, 20, 16, on_dsp=False)
    assert t["input_bits"] == 16 * 16
    assert t["accumulator_bits"] == 64 * 20
    assert t["output_bits"] == 64 * 16
    assert t["rom_lutram"] == 4 * 6 * 256 / 64
    assert t["fabric_multiplier_bits"] == 4 * 16 * 6 / 2
    assert t["pipeline_bits"] == 4 * (16 + 6 + 20)
    assert estimates.resource_terms(16, 64, 256, 4, 16, 8, 20, 16, on_dsp=True)[
        "fabric_multiplier_bits"] == 0
    lut, ff = estimates.resource_model(t)
    c = estimates.calibration()["resource"]
    assert lut == pytest.approx(sum(c["lut"][k] * t[k] for k in estimates.LUT_TERMS))
    assert ff == pytest.approx(sum(c["ff"][k] * t[k] for k in estimates.FF_TERMS))


def test_the_pages_state_the_errors(tmp_path):
    for ext in ("md", "html"):
        out = tmp_path / f"r.{ext}"
        assert main(["build", "--example", "jet_mlp", "-o", str(out), "--quiet",
                     "--strategy", "resource", "--reuse-factor", "1024"]) == 0
        text = out.read_text()
        assert "±8% median" in text and "unvalidated" not in text.split("Hardware rules")[0] \
            or ext == "md", ext
        assert "wa-hls4ml" in text or ext == "md"
        if ext == "md":
            assert "±8% median, ±12% p90 (n = 207)" in text
        else:   # the row under the total, and where it was measured
            assert '<td class="n">±8% / ±12%</td>' in text
            assert "(n = 207): wa-hls4ml" in text
