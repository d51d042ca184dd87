"""--sample streams: peak memory stays flat as the sample grows, numbers do not depend on it."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
from qkeras import QActivation, QConv2D, QDense, quantized_bits

from .conftest import ROOT, set_weights

CHILD = """
import json, resource, sys, time
from qreport.cli import main
t = time.perf_counter()
code = main(["build", sys.argv[1], "--sample", sys.argv[2], "-o", sys.argv[3], "--quiet"])
print(json.dumps({"code": code, "s": time.perf_counter() - t,
                  "rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


@pytest.fixture(scope="module")
def conv_model(tmp_path_factory):
    """A conv model whose activations take about 1.5 MB per image."""
    q = quantized_bits(6, 0, alpha=1)
    x = keras.Input((64, 64, 8), name="img")
    h = QConv2D(16, 3, padding="same", kernel_quantizer=q, bias_quantizer=q, name="c1")(x)
    h = QActivation("quantized_relu(6,2)", name="r1")(h)
    h = QConv2D(16, 3, padding="same", kernel_quantizer=q, bias_quantizer=q, name="c2")(h)
    h = QActivation("quantized_relu(6,2)", name="r2")(h)
    h = keras.layers.GlobalAveragePooling2D(name="gap")(h)
    y = QDense(4, kernel_quantizer=q, bias_quantizer=q, name="out")(h)
    m = set_weights(keras.Model(x, y, name="streamed"), seed=4, scale=0.3)
    path = tmp_path_factory.mktemp("m") / "streamed.keras"
    m.save(path)
    return str(path)


def _run(model, n, tmp_path):
    x = tmp_path / f"x{n}.npy"
    rng = np.random.default_rng(n)
    np.save(x, rng.uniform(0, 1, (n, 64, 64, 8)).astype("float32"))
    out = tmp_path / f"r{n}.json"
    p = subprocess.run([sys.executable, "-c", CHILD, model, str(x), str(out)], cwd=ROOT,
                       capture_output=True, text=True, timeout=600,
                       env={k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"})
    assert p.returncode == 0, p.stderr[-2000:]
    r = json.loads(p.stdout.strip().splitlines()[-1])
    assert r["code"] == 0
    return r, json.loads(out.read_text())


def test_peak_memory_stays_flat_as_the_sample_grows(conv_model, tmp_path):
    small, _ = _run(conv_model, 16, tmp_path)
    big, report = _run(conv_model, 600, tmp_path)    # 600 images: 79 MB of sample
    print(f"16 images: {small['s']:.1f} s, {small['rss_kib'] / 1024:.0f} MiB; "
          f"600 images: {big['s']:.1f} s, {big['rss_kib'] / 1024:.0f} MiB")
    assert big["rss_kib"] <= 1.3 * small["rss_kib"], (small, big)
    assert report["layers"][0]["accumulator"]["sampled"]["width"] is not None


def test_the_numbers_do_not_depend_on_the_batch(example_paths):
    """Running extremes over batches of 1, 7 and all rows: the same accumulators."""
    from qreport import analyse
    from qreport.read.keras import load

    m, _ = load(example_paths["conv1d"])
    x = np.random.default_rng(1).uniform(-1, 1, (50, 128, 2)).astype("float32")
    got = [analyse(m, sample=[x], batch_size=b) for b in (1, 7, 256)]
    for f in got[1:]:
        for a, b in zip(got[0].layers, f.layers):
            assert [o.accumulator for o in a.operations] == [o.accumulator for o in b.operations]
