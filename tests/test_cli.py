"""CLI: JSON against the schema, bad input, atomic output, packaging."""

import json
import os
import subprocess
import sys
import zipfile

import jsonschema
import keras
import numpy as np
import pytest

from qreport.cli import main

from .conftest import EXAMPLES, ROOT

SCHEMA = json.load(open(os.path.join(ROOT, "qreport", "schema", "qreport-1.schema.json")))


def run(*args):
    """Run the CLI in a subprocess: exit code, stdout, stderr."""
    p = subprocess.run([sys.executable, "-m", "qreport", *args], capture_output=True, text=True,
                       timeout=300, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    return p.returncode, p.stdout, p.stderr


@pytest.mark.parametrize("name", EXAMPLES)
def test_json_of_every_example_validates(name, example_paths, tmp_path, capsys):
    out = tmp_path / f"{name}.json"
    assert main(["build", example_paths[name], "-o", str(out)]) == 0
    data = json.loads(out.read_text())
    jsonschema.validate(data, SCHEMA)
    assert data["model"]["file"] == f"{name}.keras"
    assert data["totals"]["macs"] == sum(l["counts"]["macs"] for l in data["layers"] if l["counts"])
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("name", EXAMPLES)
def test_json_widest_accumulator_is_the_widest_bound(name, example_paths, tmp_path):
    out = tmp_path / f"{name}.json"
    assert main(["build", example_paths[name], "-o", str(out)]) == 0
    data = json.loads(out.read_text())
    bounds = [(o["accumulator"]["bound"]["width"], i, l["name"], o["part"], o["accumulator"]["bound"]["fixed"])
              for i, l in enumerate(data["layers"]) for o in l["operations"]
              if o["accumulator"]["bound"]["width"] is not None]
    width = max(b[0] for b in bounds)
    _, _, layer, part, fixed = next(b for b in bounds if b[0] == width)  # the first of the widest
    assert data["totals"]["widest_accumulator"] == {"layer": layer, "part": part, "width": width,
                                                    "fixed": fixed}
    assert fixed.startswith("ap_") and f"<{width}," in fixed


def test_json_is_deterministic(example_paths, tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    main(["build", example_paths["cnn"], "-o", str(a)])
    main(["build", example_paths["cnn"], "-o", str(b)])
    assert a.read_bytes() == b.read_bytes()


def test_example_flag_and_listing(tmp_path, capsys):
    assert main(["examples"]) == 0
    out = capsys.readouterr().out
    assert all(e in out for e in EXAMPLES)
    assert main(["build", "--example", "jet_mlp", "-o", str(tmp_path / "j.json")]) == 0


def test_summary_table(capsys, example_paths):
    assert main(["summary", example_paths["jet_mlp"]]) == 0
    out = capsys.readouterr().out
    assert "smult_6_8" in out and "ap_fixed<" in out and "totals" in out


def test_input_quantizer_and_sample_options(example_paths, tmp_path):
    s = tmp_path / "s.npy"
    np.save(s, np.random.default_rng(0).uniform(0, 1, (20, 16)).astype("float32"))
    out = tmp_path / "r.json"
    assert main(["build", example_paths["jet_mlp"], "-o", str(out), "--sample", str(s),
                 "--input-quantizer", "quantized_bits(8,0,1)"]) == 0
    data = json.loads(out.read_text())
    assert data["model"]["inputs"][0]["type"]["config"] == "quantized_bits(8,0,1)"
    assert data["model"]["inputs"][0]["assumed"] is False
    assert data["layers"][0]["accumulator"]["sampled"]["width"] >= 1


def _lambda_model(path):
    x = keras.Input((3,))
    keras.Model(x, keras.layers.Lambda(lambda t: t * 2)(x)).save(path)


def _file(d, name, data):
    (d / name).write_bytes(data)
    return str(d / name)


BAD = {
    "missing": lambda d: str(d / "nope.keras"),
    "directory": lambda d: str(d),
    "empty": lambda d: _file(d, "e.keras", b""),
    "random": lambda d: _file(d, "r.keras", os.urandom(4096)),
    "random_h5": lambda d: _file(d, "r.h5", os.urandom(4096)),
    "zip_without_config": lambda d: _zip(d, {"other.txt": "x"}),
    "config_wrong_types": lambda d: _zip(d, {"config.json": '{"class_name": 5, "config": []}',
                                             "metadata.json": "{}"}),
    "config_not_json": lambda d: _zip(d, {"config.json": "{nope", "metadata.json": "{}"}),
}


def _zip(d, members):
    p = d / "z.keras"
    with zipfile.ZipFile(p, "w") as z:
        for k, v in members.items():
            z.writestr(k, v)
    return str(p)


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_model_files_one_line_exit_1(case, tmp_path, capsys):
    path = BAD[case](tmp_path)
    assert main(["build", path, "-o", str(tmp_path / "o.json")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("qreport: error:"), err
    assert not (tmp_path / "o.json").exists()


def test_truncated_keras(example_paths, tmp_path, capsys):
    data = open(example_paths["cnn"], "rb").read()
    p = tmp_path / "t.keras"
    p.write_bytes(data[: len(data) // 2])
    assert main(["build", str(p), "-o", str(tmp_path / "o.json")]) == 1
    assert capsys.readouterr().err.count("\n") == 1


def test_lambda_refused_in_safe_mode_with_hint(tmp_path, capsys):
    p = tmp_path / "lam.keras"
    _lambda_model(p)
    assert main(["build", str(p), "-o", str(tmp_path / "o.json")]) == 1
    err = capsys.readouterr().err
    assert "Lambda" in err and "--unsafe-load" in err and err.count("\n") == 1


def test_output_errors(example_paths, tmp_path, capsys):
    m = example_paths["jet_mlp"]
    assert main(["build", m, "-o", str(tmp_path / "x.docx")]) == 1
    assert "unknown output format" in capsys.readouterr().err
    assert main(["build", m, "-o", str(tmp_path / "missing" / "x.json")]) == 1
    assert "does not exist" in capsys.readouterr().err
    assert main(["build", m, "-o", m]) == 1
    err = capsys.readouterr().err
    assert "unknown output format" in err or "model file itself" in err
    copy = tmp_path / "m.json"  # a model file named like an output: still refused
    os.symlink(m, tmp_path / "same.keras")
    assert main(["build", str(tmp_path / "same.keras"), "-o", str(tmp_path / "same.keras")]) == 1
    assert not copy.exists()


def test_usage_error_exit_2(capsys):
    with pytest.raises(SystemExit) as e:
        main(["build"])
    assert e.value.code == 2


def test_failed_build_keeps_previous_report(example_paths, tmp_path, capsys):
    out = tmp_path / "r.json"
    out.write_text("previous")
    bad = tmp_path / "bad.keras"
    bad.write_bytes(b"PK\x03\x04garbage")
    assert main(["build", str(bad), "-o", str(out)]) == 1
    assert out.read_text() == "previous"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".qreport-")] == []


def test_write_error_mid_write_keeps_previous(example_paths, tmp_path, monkeypatch, capsys):
    out = tmp_path / "r.json"
    out.write_text("previous")
    real = os.fsync

    def boom(fd):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(os, "fsync", boom)
    assert main(["build", example_paths["jet_mlp"], "-o", str(out)]) == 1
    monkeypatch.setattr(os, "fsync", real)
    assert out.read_text() == "previous"
    assert "No space left" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_no_traceback_from_subprocess_and_debug_shows_it(tmp_path):
    code, out, err = run("build", str(tmp_path / "nope.keras"), "-o", str(tmp_path / "x.json"))
    assert code == 1 and err.count("\n") == 1 and "Traceback" not in err
    code, out, err = run("--debug", "build", str(tmp_path / "nope.keras"), "-o", str(tmp_path / "x.json"))
    assert code == 1 and "Traceback" in err


def test_successful_build_prints_nothing(tmp_path):
    code, out, err = run("build", "--example", "conv1d", "-o", str(tmp_path / "c.json"), "--quiet")
    assert (code, out, err) == (0, "", "")


def test_wheel_ships_templates_schema_and_examples(tmp_path):
    """A non-editable install: build the wheel, install it alone, build a report with it."""
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(tmp_path), ROOT], check=True, capture_output=True, timeout=300)
    whl = next(tmp_path.glob("qreport-*.whl"))
    names = zipfile.ZipFile(whl).namelist()
    for want in ("qreport/templates/report.html", "qreport/templates/report.css",
                 "qreport/templates/screen.css", "qreport/templates/table.js",
                 "qreport/schema/qreport-1.schema.json", "qreport/bundled/cnn.keras"):
        assert want in names, want
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target",
                    str(target), str(whl)], check=True, capture_output=True, timeout=300)
    env = {**os.environ, "PYTHONPATH": str(target)}
    out = tmp_path / "w.html"
    p = subprocess.run([sys.executable, "-c",
                        "import qreport, sys; assert qreport.__file__.startswith(sys.argv[1]), qreport.__file__;"
                        "from qreport.cli import main; sys.exit(main(['build','--example','jet_mlp','-o',sys.argv[2],'--quiet']))",
                        str(target), str(out)], env=env, capture_output=True, text=True, timeout=300,
                       cwd=str(tmp_path))
    assert p.returncode == 0, p.stderr
    assert "<html" in out.read_text()


@pytest.mark.parametrize("kind", ["dense", "depthwise"])
def test_bn_folded_layers_saved_by_qkeras_v3_reload(kind, tmp_path, capsys):
    # qkeras-v3 1.2.1 cannot load these from its own .keras files; qreport repairs them
    # on load (repair.py); test_legacy.py checks the numbers against the in-memory model
    from qkeras import QDenseBatchnorm, QDepthwiseConv2DBatchnorm, quantized_bits
    q = quantized_bits(4, 0, alpha=1)
    layer, shape = ((QDenseBatchnorm(3, kernel_quantizer=q), (4,)) if kind == "dense" else
                    (QDepthwiseConv2DBatchnorm(3, depthwise_quantizer=q), (5, 5, 2)))
    x = keras.Input(shape)
    p = tmp_path / "bn.keras"
    keras.Model(x, layer(x)).save(p)
    assert main(["build", str(p), "-o", str(tmp_path / "o.json")]) == 0
    assert capsys.readouterr().err == ""
    (l,) = json.loads((tmp_path / "o.json").read_text())["layers"]
    assert l["class"] == type(layer).__name__ and l["operations"]


def test_unregistered_custom_layer_names_the_class(tmp_path, capsys):
    @keras.saving.register_keras_serializable(package="elsewhere")
    class MyOwnLayer(keras.layers.Layer):
        def call(self, x):
            return x

    x = keras.Input((3,))
    p = tmp_path / "custom.keras"
    keras.Model(x, MyOwnLayer()(x)).save(p)
    keras.saving.get_custom_objects().pop("elsewhere>MyOwnLayer", None)
    assert main(["build", str(p), "-o", str(tmp_path / "o.json")]) == 1
    err = capsys.readouterr().err
    assert "MyOwnLayer" in err and err.count("\n") == 1


def test_missing_model_over_an_existing_report_is_one_clear_line(tmp_path, capsys):
    """The output check compared the report with a model file that is not there."""
    out = tmp_path / "r.json"
    out.write_text("the user's old report")
    for argv in (["build", str(tmp_path / "missing.keras"), "-o", str(out)],
                 ["diff", str(tmp_path / "missing.keras"), "example:jet_mlp", "-o", str(out)]):
        assert main(argv) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "missing.keras: no such file" in err, err
        assert out.read_text() == "the user's old report"
