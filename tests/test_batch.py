"""Batch builds: many models in one command, one line per failure, the rest written."""

import json
import os
import shutil
import subprocess
import sys

import keras
import pytest

from qreport.cli import main

from .conftest import ROOT

#: A layer that kills the process building it while the marker file exists (a crash in a library).
BOOM = '''
import os

import keras


class Boom(keras.layers.Layer):
    def build(self, shape):
        if os.path.exists({marker!r}):
            os._exit(9)

    def call(self, x):
        return x
'''


def boom_model(folder, module="boom"):
    """(the custom objects file, the marker that arms it); saves folder/boom.keras."""
    marker = folder / f"{module}.armed"
    code = folder / f"{module}.py"
    code.write_text(BOOM.format(marker=str(marker)))
    sys.path.insert(0, str(folder))
    try:
        import importlib

        m = importlib.import_module(module)
        x = keras.Input((4,), name="x")
        keras.Model(x, m.Boom(name="boom")(x), name="boom").save(folder / "boom.keras")
    finally:
        sys.path.remove(str(folder))
        sys.modules.pop(module, None)
    return code, marker


@pytest.fixture
def models(tmp_path, example_paths):
    for name in ("jet_mlp", "conv1d", "cnn"):
        shutil.copy(example_paths[name], tmp_path)
    (tmp_path / "broken.keras").write_bytes(b"not a zip")
    return tmp_path


def _cli(args, env=None):
    e = {k: v for k, v in os.environ.items() if k not in ("KERAS_BACKEND", "CI")}
    return subprocess.run([sys.executable, "-m", "qreport", *args], cwd=ROOT, env={**e, **(env or {})},
                          capture_output=True, text=True, timeout=600)


def test_a_failing_model_gets_its_line_and_the_others_build(models, tmp_path):
    out = tmp_path / "out"
    paths = [str(models / f) for f in ("jet_mlp.keras", "broken.keras", "conv1d.keras", "cnn.keras")]
    p = _cli(["build", *paths, "-o", f"{out}/", "--format", "json,md,yml"])
    assert p.returncode == 1
    lines = p.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("qreport: error: ") and "broken.keras" in lines[0]
    assert sorted(os.listdir(out)) == sorted(f"{s}.{e}" for s in ("jet_mlp", "conv1d", "cnn")
                                             for e in ("json", "md", "yml"))
    # each file is the one a single build writes
    for stem in ("jet_mlp", "cnn"):
        one = tmp_path / f"{stem}.single.json"
        assert main(["build", str(models / f"{stem}.keras"), "-o", str(one)]) == 0
        assert json.loads((out / f"{stem}.json").read_text()) == json.loads(one.read_text())


def test_same_stem_is_refused_before_any_work(models, tmp_path):
    (models / "sub").mkdir()
    shutil.copy(models / "jet_mlp.keras", models / "sub")
    out = tmp_path / "o"
    p = _cli(["build", str(models / "jet_mlp.keras"), str(models / "sub" / "jet_mlp.keras"),
              "-o", f"{out}/"])
    assert p.returncode == 1 and "the same name 'jet_mlp'" in p.stderr and not out.exists()


def test_format_goes_with_a_directory(models, tmp_path, capsys):
    assert main(["build", str(models / "jet_mlp.keras"), "-o", str(tmp_path / "r.json"),
                 "--format", "md"]) == 1
    assert "--format and --scheduler go with" in capsys.readouterr().err
    assert main(["build", str(models / "jet_mlp.keras"), "-o", f"{tmp_path}/d/",
                 "--format", "docx"]) == 1
    assert "unknown format docx" in capsys.readouterr().err


def test_a_dying_worker_fails_only_its_model(models, tmp_path):
    boom, marker = boom_model(models)
    marker.write_text("")
    out = tmp_path / "out"
    paths = [str(models / f) for f in ("jet_mlp.keras", "boom.keras", "conv1d.keras")]
    p = _cli(["build", *paths, "-o", f"{out}/", "--custom-objects", str(boom), "--unsafe-load"],
             env={"QREPORT_JOBS": "2"})
    assert p.returncode == 1, p.stderr
    lines = p.stderr.splitlines()
    assert len(lines) == 1 and "boom.keras" in lines[0] and "died" in lines[0], p.stderr
    assert sorted(os.listdir(out)) == ["conv1d.json", "jet_mlp.json"]


def test_batch_progress_counts_models():
    from qreport.console import Progress

    from .test_progress import FakeTTY

    p = Progress(False, FakeTTY())
    p("12/40 models")
    assert "12/40 models" in p._line() and "[######.." in p._line()
