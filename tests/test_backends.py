"""Keras's numpy backend (no TensorFlow) gives every fact the TensorFlow backend gives.

Every bundled example, a model of every class in the layer registry and the
Keras-2 test formats are saved to one folder; a child process per backend
analyses them all (tests/backend_facts.py); the two reports must agree
fact by fact.  A build that does not run the model never imports TensorFlow.
"""

import json
import os
import shutil
import subprocess
import sys

import keras
import pytest

from qreport.review.diff import flatten

from . import keras2
from .conftest import ROOT, set_weights
from .test_registry import MODELS


def _save_models(folder):
    import numpy as np

    for name in ("jet_mlp", "cnn", "conv1d", "jet_mlp_v2", "jet_mlp_po2"):
        shutil.copy(os.path.join(ROOT, "examples", "models", f"{name}.keras"), folder)
    # a sample for each example: --sample runs the model, on either backend
    for name, shape in (("jet_mlp", (16,)), ("cnn", (32, 32, 3)), ("conv1d", (128, 2)),
                        ("jet_mlp_po2", (16,))):
        x = np.random.default_rng(len(name)).uniform(-1, 1.5, (40, *shape)).astype("float32")
        np.save(os.path.join(folder, f"{name}.sample.npy"), x)
    for cls, (make, shapes) in MODELS.items():
        xs = [keras.Input(s, name=f"in{i}") for i, s in enumerate(shapes)]
        layer = make()
        m = keras.Model(xs, layer(xs if len(xs) > 1 else xs[0]), name=f"m_{cls}")
        set_weights(m, seed=len(cls))
        try:
            m.save(os.path.join(folder, f"reg_{cls}.keras"))
        except Exception:  # noqa: BLE001  a class Keras cannot save: not a file qreport reads
            continue
    for stem, cfg in (("k2_mlp", keras2.mlp_config()), ("k2_cnn", keras2.cnn_config())):
        keras2.write_pair(folder, stem, cfg, keras2.random_weights(cfg, seed=3))
    keras2.write_pair(folder, "k2_arch_only", keras2.mlp_config(name="arch"), None)


def _child(name, folder, out):
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    subprocess.run([sys.executable, "-m", "tests.backend_facts", name, str(folder), str(out)],
                   cwd=ROOT, env=env, check=True, timeout=600)
    with open(out) as f:
        return json.load(f)


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    folder = tmp_path_factory.mktemp("models")
    _save_models(folder)
    return {b: _child(b, folder, tmp_path_factory.mktemp("out") / f"{b}.json")
            for b in ("numpy", "tensorflow")}


def differences(a: dict, b: dict) -> list[str]:
    """Every (file, fact path) whose value differs between two {file: report} maps."""
    out = [f"{f}: only in one" for f in sorted(set(a) ^ set(b))]
    for f in sorted(set(a) & set(b)):
        fa, fb = flatten(a[f]) if isinstance(a[f], dict) else {"": a[f]}, \
            flatten(b[f]) if isinstance(b[f], dict) else {"": b[f]}
        out += [f"{f}: {p}: {fa.get(p)!r} != {fb.get(p)!r}"
                for p in sorted(set(fa) | set(fb)) if fa.get(p) != fb.get(p)]
    return out


def test_every_fact_is_the_same_on_both_backends(both):
    n, t = both["numpy"], both["tensorflow"]
    assert n["backend"] == "numpy" and t["backend"] == "tensorflow"
    assert not n["tensorflow"], "the numpy backend imported TensorFlow"
    reports = [f for f, r in n["facts"].items() if isinstance(r, dict)]
    assert len(reports) >= 60, len(reports)           # the examples, the registry, Keras 2
    sampled = [r for f, r in n["facts"].items() if ".sample" in f]
    assert len(sampled) == 4 and all(r["layers"][0]["accumulator"]["sampled"] for r in sampled)
    assert differences(n["facts"], t["facts"]) == []


def test_the_comparison_fails_on_a_changed_number(both):
    n = json.loads(json.dumps(both["numpy"]["facts"]))
    n["cnn.keras"]["layers"][0]["accumulator"]["bound"]["width"] += 1
    d = differences(n, both["tensorflow"]["facts"])
    assert d == ["cnn.keras: layers.0.accumulator.bound.width: 16 != 15"] or \
        (len(d) == 1 and "layers.0.accumulator.bound.width" in d[0]), d


def test_a_build_that_does_not_run_the_model_never_imports_tensorflow(tmp_path):
    code = ("import sys\nfrom qreport.cli import main\n"
            "for fmt in ('json', 'md', 'yml', 'pdf'):\n"
            "    assert main(['build', '--example', 'cnn', '-o', sys.argv[1] + '.' + fmt]) == 0\n"
            "assert main(['check', 'example:jet_mlp', '--max-macs', '1000000000']) == 0\n"
            "assert main(['diff', 'example:jet_mlp', 'example:jet_mlp_v2', '-o', sys.argv[1] + '.d.json']) == 0\n"
            "assert 'tensorflow' not in sys.modules, 'TensorFlow imported'\n"
            "import keras; assert keras.backend.backend() == 'numpy'\n")
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    p = subprocess.run([sys.executable, "-c", code, str(tmp_path / "r")], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]


def test_a_sample_runs_without_tensorflow(example_paths, tmp_path):
    import numpy as np

    x = tmp_path / "x.npy"
    np.save(x, np.random.default_rng(0).uniform(0, 1, (8, 16)).astype("float32"))
    code = ("import sys\nfrom qreport.cli import main\n"
            "assert main(['build', '--example', 'jet_mlp', '--sample', sys.argv[1], '-o', sys.argv[2]]) == 0\n"
            "assert 'tensorflow' not in sys.modules, 'TensorFlow imported'\n"
            "import keras; assert keras.backend.backend() == 'numpy'\n")
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    p = subprocess.run([sys.executable, "-c", code, str(x), str(tmp_path / "r.json")], cwd=ROOT,
                       env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
