"""Configs that declare absurd shapes or nesting: refused before anything is built.

Each hostile file runs in a child process under a memory cap
(``resource.setrlimit``), so that a regression fails the test, not the
machine: the 10⁸-unit Dense once made qreport allocate 17 GB.
"""

import json
import os
import subprocess
import sys
import time
import zipfile

import pytest

from .test_hostile import layer_cfg, rewrite

#: the child's address-space cap: TensorFlow reserves about 3 GiB of it at import,
#: the 10⁸-unit kernel alone would need 6 GiB more.
CAP = 6 << 30
CHILD = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, ({cap}, {cap}))
from qreport.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _run(model, out, cap=CAP):
    """qreport build in a memory-capped child: (exit code, stderr, seconds)."""
    t = time.perf_counter()
    p = subprocess.run([sys.executable, "-c", CHILD.format(cap=cap), "build", model, "-o", out],
                       capture_output=True, text=True, timeout=300,
                       env={**os.environ, "QREPORT_JOBS": "1"})
    return p.returncode, p.stderr, time.perf_counter() - t


def _units(n):
    def edit(cfg):
        layer_cfg(cfg, "fc1")["config"]["units"] = n
    return edit


@pytest.mark.parametrize("units, needle", [
    (100_000_000, "declares units = 100,000,000"),        # over the cap on any declared size
    (1_000_000, "more than the model can have"),          # under it, but more than the file holds
])
def test_oversized_layer_is_refused_fast_and_small(units, needle, example_paths, tmp_path):
    bad = rewrite(example_paths["jet_mlp"], tmp_path / "big.keras", _units(units))
    out = tmp_path / "r.json"
    code, err, seconds = _run(bad, str(out))
    assert code == 1 and err.count("\n") == 1 and err.startswith("qreport: error: "), err
    assert needle in err and "internal error" not in err, err
    assert not out.exists()
    # the load floor (TensorFlow's import) is most of it; the refusal itself is instant
    assert seconds < 60, seconds


def test_refusal_comes_before_keras_allocates(example_paths, tmp_path, monkeypatch):
    """In process: the allocation guard raises before the kernel exists (under 2 s, < 1 GB)."""
    import resource

    from qreport.errors import QReportError
    from qreport.read.keras import load

    bad = rewrite(example_paths["jet_mlp"], tmp_path / "big.keras", _units(1_000_000))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = time.perf_counter()
    with pytest.raises(QReportError, match="more than the model can have"):
        load(bad)
    assert time.perf_counter() - t < 2.0
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kib < 1 << 20, grown_kib   # < 1 GiB more than before


def test_the_guard_lets_every_real_model_load(example_paths):
    from qreport.read.keras import load

    for p in example_paths.values():
        model, _ = load(p)
        assert model.count_params() > 0


def test_huge_input_shape_is_refused(example_paths, tmp_path, capsys):
    from qreport.cli import main

    def edit(cfg):
        cfg["config"]["layers"][0]["config"]["batch_shape"] = [None, 1 << 20, 1 << 20]

    bad = rewrite(example_paths["jet_mlp"], tmp_path / "wide.keras", edit)
    assert main(["build", bad, "-o", str(tmp_path / "r.json")]) == 1
    err = capsys.readouterr().err
    assert "an input of 1,099,511,627,776 values" in err and err.count("\n") == 1, err


def test_architecture_without_weights_has_a_cap(tmp_path, capsys):
    from qreport.cli import main

    cfg = {"class_name": "Sequential", "config": {"name": "s", "layers": [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 10_000],
                                                "name": "x"}},
        {"class_name": "Dense", "config": {"name": "d", "units": 10_000}}]}}
    p = tmp_path / "arch.json"
    p.write_text(json.dumps(cfg))
    assert main(["build", str(p), "-o", str(tmp_path / "r.json")]) == 1
    err = capsys.readouterr().err
    assert "for a model without weights" in err and err.count("\n") == 1, err


@pytest.mark.parametrize("depth", [100, 100_000])
def test_deeply_nested_config_is_not_a_model(depth, example_paths, tmp_path, capsys):
    from qreport.cli import main

    text = "[" * depth + "]" * depth
    with zipfile.ZipFile(example_paths["jet_mlp"]) as z:
        items = {n: z.read(n) for n in z.namelist()}
    items["config.json"] = json.dumps(json.loads(items["config.json"]))[:-1].encode() + \
        b', "deep": ' + text.encode() + b"}"
    bad = tmp_path / "deep.keras"
    with zipfile.ZipFile(bad, "w") as z:
        for n, data in items.items():
            z.writestr(n, data)
    assert main(["build", str(bad), "-o", str(tmp_path / "r.json")]) == 1
    err = capsys.readouterr().err
    assert "not a model config" in err and err.count("\n") == 1 and "internal" not in err, err

    arch = tmp_path / "deep.json"
    arch.write_text(text)
    assert main(["build", str(arch), "-o", str(tmp_path / "r.json")]) == 1
    err = capsys.readouterr().err
    assert ("not a model config" in err or "not a Keras model architecture" in err) \
        and "internal" not in err, err
