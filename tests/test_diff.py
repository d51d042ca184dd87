"""qreport diff: every change it states is in the two reports, and nothing else changed."""

import json
import os

import numpy as np
import pytest

from qreport.review.diff import diff
from qreport.analysis.model import analyse
from qreport.options import Options
from qreport.pipeline import analyse_file
from qreport.cli import main
from qreport.contract import diff as diff_dict
from qreport.contract import report as report_dict
from qreport.provenance import Provenance

from .conftest import ROOT

SCHEMA = json.load(open(os.path.join(ROOT, "qreport", "schema", "qreport-diff-1.schema.json")))
V2 = os.path.join(ROOT, "examples", "models", "jet_mlp_v2.keras")


def get(obj, path: str):
    """The value at a dotted path, walking dicts by key and lists by index (None: absent)."""
    for seg in path.split("."):
        if isinstance(obj, list):
            if not seg.isdigit() or int(seg) >= len(obj):
                return None
            obj = obj[int(seg)]
        elif isinstance(obj, dict):
            if seg not in obj:
                return None
            obj = obj[seg]
        else:
            return None
    return obj


def leaves(obj, prefix=""):
    """Every dotted path to a scalar or a list of scalars (the test's own walk)."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from leaves(v, f"{prefix}.{k}" if prefix else k)
    elif isinstance(obj, list) and obj and all(isinstance(v, dict) for v in obj):
        for i, v in enumerate(obj):
            yield from leaves(v, f"{prefix}.{i}")
    else:
        yield prefix


@pytest.fixture(scope="module")
def jet(example_paths):
    old, om = analyse_file(example_paths["jet_mlp"], Options())
    new, nm = analyse_file(V2, Options())
    return old, om, new, nm


def test_jet_mlp_v2_changes_are_those_of_the_two_reports(jet):
    old, om, new, nm = jet
    data = diff_dict(diff(old, new), om, nm)
    ra, rb = report_dict(old, om), report_dict(new, nm)
    la = {l["name"]: l for l in ra["layers"]}
    lb = {l["name"]: l for l in rb["layers"]}
    status = {l["name"]: l["status"] for l in data["layers"]}
    assert status == {"fc1": "same", "relu1": "same", "fc2": "changed", "relu2": "changed",
                      "fc3": "same", "relu3": "same", "output": "changed"}
    for entry in data["layers"]:
        a, b = la[entry["name"]], lb[entry["name"]]
        for path, (vo, vn) in entry["changes"].items():
            assert (get(a, path), get(b, path)) == (vo, vn), path
            assert vo != vn, path
        # and every path not listed is equal in both reports
        for path in set(leaves(a)) | set(leaves(b)):
            if path not in entry["changes"]:
                assert get(a, path) == get(b, path), (entry["name"], path)
    fc2 = next(l for l in data["layers"] if l["name"] == "fc2")["changes"]
    # read off the two datasheets: 6 -> 8-bit kernel, bound <15,4> -> <17,4>
    assert fc2["quantizers.kernel.config"] == ["quantized_bits(6,0,0,alpha=1)",
                                               "quantized_bits(8,0,0,alpha=1)"]
    assert fc2["accumulator.bound.width"] == [15, 17]
    assert fc2["counts.weight_bits"] == [2048 * 6, 2048 * 8]
    assert fc2["operations.0.name"] == ["smult_6_6", "smult_8_6"]
    assert "accumulator.bound.width" in next(
        l for l in data["layers"] if l["name"] == "fc2")["regressions"]
    out = next(l for l in data["layers"] if l["name"] == "output")
    assert out["changes"]["counts.weight_bits"] == [160 * 6, 160 * 4]
    assert set(out["improvements"]) >= {"accumulator.bound.width", "counts.weight_bits",
                                        "counts.energy_pj", "counts.bops"}
    assert not out["regressions"]
    # totals: [old, new] as the reports have them, deltas new - old
    for fact, (vo, vn) in data["totals"].items():
        assert (get(ra["totals"], fact), get(rb["totals"], fact)) == (vo, vn), fact
    assert data["deltas"]["weight_bits"]["delta"] == 2048 * 2 - 160 * 2
    assert data["deltas"]["weight_bits"]["verdict"] == "regression"
    assert data["deltas"]["macs_by_operation.smult_6_6"]["delta"] == -(2048 + 160)
    # the hardware figures move with the widths: 8-bit fc2 weights need more (and
    # DSP-wide) multipliers, 4-bit output weights fewer; their rules are not figures
    assert not any(".basis" in k or ".rules." in k for k in data["totals"])
    hw = [k for k, v in data["deltas"].items() if k.startswith("hardware.") and v["verdict"]]
    assert set(hw) == {"hardware.multipliers.value", "hardware.dsp.value", "hardware.lut.value",
                       "hardware.ff.value", "hardware.weight_storage_bits.value",
                       "hardware.latency_cycles.value"}
    assert data["summary"] == {"regressions": 8 + 6 + 7, "improvements": 5 + 6,
                               "added": 0, "removed": 0, "changed": 3, "same": 4}
    _validate(data)


def _validate(data):
    import jsonschema

    jsonschema.validate(data, SCHEMA)


def test_a_model_against_itself_has_no_changes(jet, tmp_path):
    old, om, _, _ = jet
    d = diff(old, old)
    assert not d.changed and d.count("regression") == d.count("improvement") == 0
    data = diff_dict(d, om, om)
    assert all(l["status"] == "same" and not l["changes"] for l in data["layers"])
    assert data["deltas"] == {} and data["changed"] is False
    _validate(data)
    out = tmp_path / "self.md"
    assert main(["diff", "example:jet_mlp", "example:jet_mlp", "-o", str(out),
                 "--fail-on-regression"]) == 0
    assert "**No changes**" in out.read_text()


def _chain(names, units, seed):
    import keras
    from qkeras import QActivation, QDense, quantized_bits

    from .conftest import set_weights

    x = h = keras.Input((8,), name="x")
    for n, u in zip(names, units):
        if n.startswith("act"):
            h = QActivation("quantized_relu(4,0)", name=n)(h)
        else:
            h = QDense(u, kernel_quantizer=quantized_bits(4, 0, alpha=1),
                       bias_quantizer=quantized_bits(4, 0, alpha=1), name=n)(h)
    return set_weights(keras.Model(x, h), seed=seed, scale=0.3)


def test_added_and_removed_layers_in_order():
    a = analyse(_chain(["fc1", "act1", "fc2", "out"], [8, 0, 6, 2], 1))
    b = analyse(_chain(["fc1", "mid", "fc2", "act2", "out"], [8, 8, 6, 0, 2], 1))
    d = diff(a, b)
    assert [(l.name, l.status) for l in d.layers][:4] == [
        ("fc1", "same"), ("act1", "removed"), ("mid", "added"), ("fc2", "changed")]
    assert ("act2", "added") in [(l.name, l.status) for l in d.layers]
    fc2 = next(l for l in d.layers if l.name == "fc2")
    # fc2 now reads 8 unquantized accumulator outputs instead of 8 relu outputs
    assert any(c.path.startswith("quantizers.input.") for c in fc2.changes)
    assert d.status_count("added") == 2 and d.status_count("removed") == 1


def test_verdicts_mark_only_cost_figures():
    from qreport.review.diff import verdict

    assert verdict("accumulator.bound.width", 15, 17) == "regression"
    assert verdict("operations.1.accumulator.type.width", 19, 18) == "improvement"
    assert verdict("counts.energy_pj", 2.0, 1.0) == "improvement"
    assert verdict("energy_pj", 1.0, 2.0) == "regression"
    assert verdict("widest_accumulator.width", 17, 18) == "regression"
    assert verdict("quantizers.kernel.bits", 6, 8) is None       # a cause, not a cost
    assert verdict("counts.zero_weights", 5, 9) is None
    assert verdict("accumulator.bound.min", -1.0, -2.0) is None
    assert verdict("accumulator.bound.width", None, 17) is None  # no width before: no verdict


def test_cli_writes_every_format_and_gates_on_regressions(tmp_path):
    for fmt in ("json", "md", "html"):
        out = tmp_path / f"d.{fmt}"
        assert main(["diff", "example:jet_mlp", "example:jet_mlp_v2", "-o", str(out)]) == 0
        assert out.stat().st_size > 0
    assert main(["diff", "example:jet_mlp", "example:jet_mlp_v2", "-o",
                 str(tmp_path / "g.json"), "--fail-on-regression"]) == 3
    # the other way round fc2 improves and the output regresses: still a regression
    assert main(["diff", "example:jet_mlp_v2", "example:jet_mlp", "-o",
                 str(tmp_path / "r.json"), "--fail-on-regression"]) == 3
    html = (tmp_path / "d.html").read_text()
    embedded = html.split('id="qreport-data">')[1].split("</script>")[0]
    assert json.loads(embedded)["schema"] == "qreport-diff/1"


def test_bad_inputs_are_one_line_and_write_nothing(tmp_path, capsys):
    out = tmp_path / "d.json"
    assert main(["diff", "example:jet_mlp", str(tmp_path / "missing.keras"), "-o", str(out)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("qreport: error:")
    assert not out.exists()
    assert main(["diff", "example:jet_mlp", "example:jet_mlp", "-o", str(tmp_path / "d.yml")]) == 1
    assert "unknown output format" in capsys.readouterr().err


def test_diff_markdown_and_html_escape_layer_names():
    from markdown_it import MarkdownIt

    from qreport.render.diffhtml import render_diff_html
    from qreport.render.markdown import diff_markdown

    a = analyse(_chain(["fc1", "x](http:evil.example)", "out"], [8, 8, 2], 1))
    b = analyse(_chain(["fc1", "<img src=x onerror=alert(1)>", "out"], [8, 8, 2], 1))
    meta = Provenance("m<b>", "m.keras", "0" * 64, "3", "1", "0")
    d = diff(a, b)
    html = MarkdownIt("gfm-like").render(diff_markdown(d, meta, meta))
    assert "<a " not in html and "<img" not in html
    assert np.sum([s in html for s in ("removed", "added")]) == 2
    page = render_diff_html(d, meta, meta, diff_dict(d, meta, meta))
    body = page.split('id="qreport-data">')[0]
    assert "<img" not in page and "<b>" not in body
    assert "&lt;img src=x onerror=alert(1)&gt;" in body


def test_diff_markdown_is_cut_with_a_line_that_says_so(jet):
    import re

    from qreport.render.markdown import diff_markdown

    old, om, new, nm = jet
    d = diff(old, new)
    full = diff_markdown(d, om, nm)
    limit = len(full) - 500
    text = diff_markdown(d, om, nm, limit=limit)
    assert len(text) <= limit
    shown = len(re.findall(r"^\| `(fc2|relu2|output)` \|", text, re.M))
    total = len(re.findall(r"^\| `(fc2|relu2|output)` \|", full, re.M))
    left = total - shown
    assert 0 < left < total
    assert f"*{left} more changes left out to stay under {limit:,} characters" in text
