"""Sweeps on a dask.distributed cluster: a scheduler and a worker on 127.0.0.1, as processes."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest

from .conftest import ROOT

distributed = pytest.importorskip("distributed")
DASK = [sys.executable, "-m", "distributed.cli"]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cli(*args):
    env = {k: v for k, v in os.environ.items() if k not in ("KERAS_BACKEND", "CI")}
    return subprocess.run([sys.executable, "-m", "qreport", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A scheduler and two workers (a process each, one thread) on loopback; stopped by pid."""
    port = _port()
    addr = f"tcp://127.0.0.1:{port}"
    log = tmp_path_factory.mktemp("dask")
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    env["PYTHONPATH"] = ROOT
    procs = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host",
                               "127.0.0.1", "--port", str(port), "--no-dashboard"],
                              stdout=open(log / "s.log", "w"), stderr=subprocess.STDOUT, env=env)]
    procs.append(subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", addr,
                                   "--nworkers", "2", "--nthreads", "1", "--no-dashboard",
                                   "--memory-limit", "0", "--name", "w1"],
                                  stdout=open(log / "w.log", "w"), stderr=subprocess.STDOUT,
                                  env=env, cwd=ROOT))
    try:
        client = None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                client = distributed.Client(addr, timeout=5)
                if len(client.scheduler_info()["workers"]) == 2:
                    break
            except OSError:
                pass
            time.sleep(0.5)
        assert client is not None and client.scheduler_info()["workers"], \
            (log / "s.log").read_text()[-2000:] + (log / "w.log").read_text()[-2000:]
        client.close()
        yield addr
    finally:
        for p in procs[::-1]:          # stop them by their process ids
            try:
                os.kill(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for p in procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.kill(p.pid, signal.SIGKILL)
                p.wait()


def test_a_sweep_on_the_cluster_is_byte_identical_to_a_local_run(cluster, tmp_path, example_paths):
    for name in ("jet_mlp", "conv1d"):
        shutil.copy(example_paths[name], tmp_path)
    (tmp_path / "broken.keras").write_bytes(b"not a zip")
    models = [str(tmp_path / f) for f in ("jet_mlp.keras", "broken.keras", "conv1d.keras")]
    local, remote = tmp_path / "local", tmp_path / "remote"
    a = _cli("build", *models, "-o", f"{local}/", "--format", "json,md")
    b = _cli("build", *models, "-o", f"{remote}/", "--format", "json,md", "--scheduler", cluster)
    assert a.returncode == b.returncode == 1, b.stderr
    assert a.stderr == b.stderr and a.stderr.count("\n") == 1 and "broken.keras" in a.stderr
    assert sorted(os.listdir(local)) == sorted(os.listdir(remote)) == \
        ["conv1d.json", "conv1d.md", "jet_mlp.json", "jet_mlp.md"]
    for f in os.listdir(local):
        assert (local / f).read_bytes() == (remote / f).read_bytes(), f
    c = _cli("compare", models[0], models[2], "-o", str(tmp_path / "l.json"))
    d = _cli("compare", models[0], models[2], "-o", str(tmp_path / "r.json"), "--scheduler", cluster)
    assert c.returncode == d.returncode == 0, d.stderr
    assert (tmp_path / "l.json").read_bytes() == (tmp_path / "r.json").read_bytes()


def test_a_sample_is_sharded_over_the_workers_and_merged_exactly(cluster, tmp_path, example_paths):
    import numpy as np

    x = tmp_path / "x.npy"
    np.save(x, np.random.default_rng(7).uniform(-1, 1, (301, 128, 2)).astype("float32"))
    model = str(tmp_path / "conv1d.keras")
    shutil.copy(example_paths["conv1d"], model)
    (tmp_path / "jet_mlp.keras").write_bytes(b"")   # a second model: -o DIR/ mode, one fails
    models = [model, str(tmp_path / "jet_mlp.keras")]
    local, remote = tmp_path / "local", tmp_path / "remote"
    a = _cli("build", *models, "--sample", str(x), "-o", f"{local}/")
    b = _cli("build", *models, "--sample", str(x), "-o", f"{remote}/", "--scheduler", cluster)
    assert a.returncode == b.returncode == 1 and a.stderr == b.stderr, b.stderr
    got = (remote / "conv1d.json").read_bytes()
    assert got == (local / "conv1d.json").read_bytes()
    import json

    r = json.loads(got)
    assert r["model"]["sample"] == "x.npy" and r["layers"][0]["accumulator"]["sampled"]["width"]


def test_shards_cover_the_sample_once(tmp_path):
    import numpy as np

    from qreport.options import AnalysisOptions, Options
    from qreport.sweep import _shards

    x = tmp_path / "x.npy"
    np.save(x, np.zeros((301, 2), "float32"))
    opts = Options(analysis=AnalysisOptions(sample=str(x)))
    for k in (2, 3, 7):
        cuts = _shards(opts, k)
        assert len(cuts) == k and cuts[0][0] == 0 and cuts[-1][1] == 301
        assert all(a[1] == b[0] and a[0] < a[1] for a, b in zip(cuts, cuts[1:]))
    assert _shards(opts, 1) is None and _shards(Options(), 4) is None


def test_an_unreachable_scheduler_is_one_line_within_the_time_out(tmp_path, example_paths):
    t = time.monotonic()
    p = _cli("compare", example_paths["jet_mlp"], "-o", str(tmp_path / "s.json"),
             "--scheduler", f"tcp://127.0.0.1:{_port()}")
    assert p.returncode == 1 and p.stderr.count("\n") == 1 and "cannot reach" in p.stderr, p.stderr
    assert time.monotonic() - t < 40
    assert not (tmp_path / "s.json").exists()


def test_a_model_that_kills_its_workers_fails_with_one_line(cluster, tmp_path, example_paths):
    from .test_batch import boom_model

    boom, marker = boom_model(tmp_path, "boomlayers")
    marker.write_text("")
    shutil.copy(example_paths["jet_mlp"], tmp_path)
    t = time.monotonic()
    p = _cli("compare", str(tmp_path / "jet_mlp.keras"), str(tmp_path / "boom.keras"),
             "-o", str(tmp_path / "s.json"), "--scheduler", cluster,
             "--custom-objects", str(boom), "--unsafe-load")
    marker.unlink()
    assert p.returncode == 1, p.stderr
    assert p.stderr.count("\n") == 1 and "boom.keras" in p.stderr and "died" in p.stderr, p.stderr
    assert time.monotonic() - t < 280
    import json

    assert [m["model"] for m in json.loads((tmp_path / "s.json").read_text())["models"]] == ["jet_mlp"]
