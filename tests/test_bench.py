"""The benchmark's code path, on a tiny model (asserts nothing about time)."""

import json
import os
import subprocess
import sys

from .conftest import ROOT


def test_bench_smoke():
    p = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "run.py"), "--smoke"],
                       capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert p.returncode == 0, p.stderr[-2000:]
    for line in ("floor (import + load)", "qreport build .json", "qreport build .pdf",
                 "reference print_qstats", "analysis alone", "json/floor", "peak PSS/floor", "pages/s"):
        assert line in p.stdout
    result = p.stdout.strip().splitlines()[-2].split("results: ")[1]
    data = json.load(open(result))
    r = data["results"][0]
    assert r["model"] == "jet_mlp" and r["floor_s"] > 0 and r["analysis_s"] > 0
    assert set(r["ratios"]) == set(data["targets"])
    assert r["pages"] >= 2 and r["pdf_pages_per_s"] > 0 and r["peak_pss_kib"] > 0
    os.unlink(result)


def test_many_models_bench_smoke():
    p = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "many.py"), "--smoke"],
                       capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert p.returncode == 0, p.stderr[-2000:]
    for line in ("check/floor", "batch20/20 floors", "sample mem big/small", "all targets met"):
        assert line in p.stdout


def test_runs_go_in_rounds(tmp_path):
    """Each round runs every command once, in turn; the memory-sampled runs come last."""
    sys.path.insert(0, os.path.join(ROOT, "bench"))
    try:
        import run as bench
    finally:
        sys.path.pop(0)
    log = tmp_path / "log"

    def cmd(name):
        return [sys.executable, "-c", f"open({str(log)!r}, 'a').write({name!r}); print(1.5)"]

    done = bench.interleaved({"floor": (cmd("f"), 3), "pdf": (cmd("p"), 3), "analysis": (cmd("a"), 1)})
    assert log.read_text() == "fpa" "fp" "fp" "fpa"
    assert len(done["pdf"][4]) == 3 and len(done["analysis"][4]) == 1
    assert done["floor"][0] > 0 and done["analysis"][2].split() == ["1.5"]
