"""The facts in a notebook: repr, _repr_html_, to_json and qreport.summary."""

import json

import jsonschema
import keras
from qkeras import QDense, quantized_bits

import qreport
from qreport.cli import main
from qreport.pipeline import analyse_file
from qreport.render.summary import summary_text

from .conftest import ROOT

JET = f"{ROOT}/examples/models/jet_mlp.keras"
HOSTILE = '<img src=x onerror=alert(1)>&"'


def test_repr_is_one_short_line(example_paths):
    facts, _ = analyse_file(example_paths["jet_mlp"])
    r = repr(facts)
    assert "\n" not in r and len(r) < 300
    assert r.startswith("<ModelFacts 'jet_mlp': 7 layers (4 with MACs), 4,256 MACs")
    assert "ap_fixed<17,4> (fc1)" in r and "LUT" in r


def test_repr_html_escapes_every_model_string():
    x = keras.Input((4,), name="x")
    d = QDense(2, kernel_quantizer=quantized_bits(4, 0, alpha=1), name="d")
    m = keras.Model(x, d(x), name=HOSTILE)
    d.name = HOSTILE
    html = qreport.analyse(m)._repr_html_()
    assert "<img" not in html and "<script" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;&amp;&#34;" in html
    assert html.count("<tr>") == 3   # figures row, header, one layer


def test_to_json_is_the_file_build_writes(tmp_path, capsys):
    out = tmp_path / "j.json"
    assert main(["build", JET, "-o", str(out)]) == 0
    facts, prov = analyse_file(JET)
    assert facts.to_json(prov) == out.read_text(encoding="utf-8")


def test_to_json_of_a_model_in_memory_validates_and_is_stable():
    from qreport.read import load_file

    model, _ = load_file(JET)
    a, b = qreport.analyse(model).to_json(), qreport.analyse(model).to_json()
    assert a == b
    data = json.loads(a)
    with open(f"{ROOT}/qreport/schema/qreport-1.schema.json") as f:
        jsonschema.validate(data, json.load(f))
    assert data["model"]["file"] == "in memory"
    other = qreport.analyse(model, input_quantizers=["quantized_bits(8,0,1)"]).to_json()
    assert json.loads(other)["model"]["sha256"] != data["model"]["sha256"]


def test_summary_prints_the_terminal_summary(capsys):
    from qreport.provenance import in_memory
    from qreport.read import load_file

    model, _ = load_file(JET)
    qreport.summary(model, strategy="resource", reuse_factor=4)
    out = capsys.readouterr().out
    facts = qreport.analyse(model, strategy="resource", reuse_factor=4)
    assert out == summary_text(facts, in_memory(facts.name))
    assert "jet_mlp  (in memory)" in out and "resource strategy, reuse factor 4" in out
