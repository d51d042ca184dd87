"""HTML datasheet: gold files, determinism, escaping, self-containment."""

import json
from html import unescape as html_unescape
import os
import re

import keras
import pytest
from qkeras import QActivation, QDense, quantized_bits

from qreport.options import Options
from qreport.pipeline import analyse_file, render
from qreport.cli import main
from qreport.provenance import Provenance

from .conftest import EXAMPLES, ROOT
from .gold import compare


def _html(path, **kw):
    opts = Options.of(**kw)
    facts, meta = analyse_file(path, opts)
    return render(facts, meta, "html", opts.render).decode()


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_html_gold(name, example_paths, monkeypatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    compare(_html(example_paths[name]).encode(), os.path.join(ROOT, "sample_reports", f"{name}.html"))


def test_html_is_byte_identical_across_runs(example_paths):
    assert _html(example_paths["cnn"]) == _html(example_paths["cnn"])


def test_embedded_json_equals_json_report(example_paths, tmp_path):
    html = _html(example_paths["jet_mlp"])
    m = re.search(r'<script type="application/json" id="qreport-data">(.*?)</script>', html, re.S)
    embedded = json.loads(m.group(1))
    out = tmp_path / "r.json"
    main(["build", example_paths["jet_mlp"], "-o", str(out)])
    assert embedded == json.loads(out.read_text())


def test_self_contained_no_external_references(example_paths):
    html = _html(example_paths["cnn"])
    assert not re.search(r'(src|href)="(https?:|//|file:)', html)
    assert "<link" not in html and "@import" not in html
    # two script elements: the JSON data block, and the shipped table script, byte for byte,
    # which the Content-Security-Policy lets run (its hash) and nothing else
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert [a for a, _ in scripts] == [' type="application/json" id="qreport-data"', ""]
    js = open(os.path.join(ROOT, "templates", "table.js"), encoding="utf-8").read()
    assert scripts[1][1] == js
    import base64
    import hashlib
    digest = base64.b64encode(hashlib.sha256(js.encode()).digest()).decode()
    csp = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', html).group(1)
    csp = html_unescape(csp)
    assert f"script-src 'sha256-{digest}'" in csp and "default-src 'none'" in csp
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(ids) == len(set(ids)), "duplicate ids across inline SVGs"


def test_source_date_epoch_adds_a_date(example_paths, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    assert "2023-11-14 22:13 UTC" in _html(example_paths["conv1d"])
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    assert "generated" not in _html(example_paths["conv1d"])


def _hostile_model(tmp_path):
    x = keras.Input((4,), name="in\"put")
    h = QDense(3, kernel_quantizer=quantized_bits(4, 0, alpha=1), name="<img src=x onerror=alert(1)>")(x)
    h = QActivation("quantized_relu(4,0)", name="naïve_\"quoted\"_ünïcødé_层")(h)
    s = QDense(2, kernel_quantizer=quantized_bits(4, 0, alpha=1), name="s")
    m = keras.Model(x, s(h), name="model")
    s.name = "<script>alert(1)</script>"  # bypasses Keras's '/' check, as a crafted file could
    m.name = "model<b>bold</b>"
    return m


def test_model_strings_render_as_text_never_markup(tmp_path):
    from qreport.analysis.model import analyse
    from qreport.render.html import render_html
    from qreport.contract import report as report_dict

    m = _hostile_model(tmp_path)
    facts = analyse(m)
    meta = Provenance(m.name, "evil\".keras", "0" * 64, "k", "q", "r")
    html = render_html(facts, meta, report_dict(facts, meta))
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<b>bold</b>" not in html
    assert "naïve_&#34;quoted&#34;_ünïcødé_层" in html
    body = html.split('id="qreport-data">')[1].split("</script>")[0]
    assert "<" not in body and ">" not in body  # JSON cannot close its script block
    assert [l["name"] for l in json.loads(body)["layers"]][-1] == "<script>alert(1)</script>"


def test_title_is_escaped(example_paths, tmp_path):
    out = tmp_path / "t.html"
    assert main(["build", example_paths["jet_mlp"], "-o", str(out), "--title",
                 "</title><script>alert(1)</script>"]) == 0
    html = out.read_text()
    assert "<script>alert(1)" not in html


def test_model_without_quantized_layers_is_a_valid_report(tmp_path):
    x = keras.Input((3,))
    m = keras.Model(x, keras.layers.Flatten()(x))
    p = tmp_path / "plain.keras"
    m.save(p)
    out = tmp_path / "p.html"
    assert main(["build", str(p), "-o", str(out)]) == 0
    assert "no multiply-accumulate layers" in out.read_text()
    assert main(["build", str(p), "-o", str(tmp_path / "p.json")]) == 0
    assert json.loads((tmp_path / "p.json").read_text())["totals"]["widest_accumulator"] is None
