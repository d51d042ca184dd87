"""qreport benchmarks: whole-process times against the floor, measured in one run.

    make bench                 # or: .venv/bin/python bench/run.py [--runs N] [--models a,b] [--smoke]

For every model it measures, as whole processes (median of N runs, peak RSS
of the child): the floor (import keras + qkeras and load the model),
`qreport build` to .json, .html and .pdf, and the reference
`qkeras.estimate.print_qstats` on the same model; in-process, the analysis
alone and the reference's print_qstats alone.  It prints the ratios with
their targets and writes bench/results/<date>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

TARGETS = {  # ratio <= target
    "json/floor": 1.25, "html/floor": 1.6, "pdf/floor": 2.5,
    "analysis/reference": 0.5, "peak RSS/floor": 1.5,
}

FLOOR = """
import os, sys
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras, qkeras
from qkeras.utils import _add_supported_quantized_objects
co = {}
_add_supported_quantized_objects(co)
keras.saving.load_model(sys.argv[1], compile=False, custom_objects=co)
"""

REFERENCE = """
import contextlib, io, os, sys, time
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras, qkeras
from qkeras.estimate import print_qstats
from qkeras.utils import _add_supported_quantized_objects
co = {}
_add_supported_quantized_objects(co)
m = keras.saving.load_model(sys.argv[1], compile=False, custom_objects=co)
t = time.perf_counter()
try:
    with contextlib.redirect_stdout(io.StringIO()):
        print_qstats(m)
    print("OK", time.perf_counter() - t)
except Exception as e:
    print("FAIL", time.perf_counter() - t, type(e).__name__, str(e)[:200].replace(chr(10), " "))
"""

ANALYSIS = """
import os, sys, time
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
from qreport.loader import load_model
from qreport import analyse
m = load_model(sys.argv[1])
analyse(m)                      # warm-up: first TF op dispatch
ts = []
for _ in range(int(sys.argv[2])):
    t = time.perf_counter(); analyse(m); ts.append(time.perf_counter() - t)
ts.sort()
print("OK", ts[len(ts) // 2])
"""


def run_rss(cmd: list[str]) -> tuple[float, int, str]:
    """Like run(), with the child's own peak RSS from wait4()."""
    t = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        p = subprocess.Popen(cmd, stdout=out, stderr=err, text=True,
                             env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
        _, status, ru = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - t
        out.seek(0)
        err.seek(0)
        if p.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd[:4])}… exit {p.returncode}: {err.read().strip()[-400:]}")
        return wall, int(ru.ru_maxrss), out.read()


def median_of(cmd, runs):
    walls, rss, out = [], [], ""
    for _ in range(runs):
        w, r, out = run_rss(cmd)
        walls.append(w)
        rss.append(r)
    return statistics.median(walls), max(rss), out


def bench_model(name: str, path: str, runs: int, tmp: str) -> dict:
    py = sys.executable
    qreport = [py, "-m", "qreport", "build", "--quiet", path, "-o"]
    res: dict = {"model": name, "file": os.path.basename(path),
                 "size_bytes": os.path.getsize(path)}
    res["floor_s"], res["floor_rss_kib"], _ = median_of([py, "-c", FLOOR, path], runs)
    for fmt in ("json", "html", "pdf"):
        w, r, _ = median_of(qreport + [os.path.join(tmp, f"{name}.{fmt}")], runs)
        res[f"{fmt}_s"], res[f"{fmt}_rss_kib"] = w, r
    w, r, out = median_of([py, "-c", REFERENCE, path], runs)
    parts = out.split()
    res["reference_process_s"] = w
    res["reference_ok"] = bool(parts) and parts[0] == "OK"
    res["reference_s"] = float(parts[1]) if len(parts) > 1 else None
    if not res["reference_ok"]:
        res["reference_error"] = " ".join(parts[2:])
    _, _, out = run_rss([py, "-c", ANALYSIS, path, str(max(runs, 3))])
    res["analysis_s"] = float(out.split()[1])
    res["peak_rss_kib"] = max(res[f"{f}_rss_kib"] for f in ("json", "html", "pdf"))
    f = res["floor_s"]
    res["ratios"] = {
        "json/floor": res["json_s"] / f, "html/floor": res["html_s"] / f,
        "pdf/floor": res["pdf_s"] / f,
        "analysis/reference": (res["analysis_s"] / res["reference_s"]
                               if res["reference_ok"] and res["reference_s"] else None),
        "peak RSS/floor": res["peak_rss_kib"] / res["floor_rss_kib"],
    }
    return res


def table(results: list[dict], scaling: dict | None) -> tuple[str, bool]:
    ok_all = True
    lines = []
    for r in results:
        lines.append(f"\n{r['model']} ({r['size_bytes'] / 1e6:.1f} MB)")
        lines.append(f"  floor (import + load)   {r['floor_s']:7.2f} s   peak RSS {r['floor_rss_kib'] / 1024:7.0f} MiB")
        for fmt in ("json", "html", "pdf"):
            lines.append(f"  qreport build .{fmt:<5}   {r[fmt + '_s']:7.2f} s   peak RSS {r[fmt + '_rss_kib'] / 1024:7.0f} MiB")
        ref = (f"{r['reference_s']:.3f} s in-process" if r["reference_ok"]
               else f"FAILED ({r.get('reference_error', '')[:90]})")
        lines.append(f"  reference print_qstats  {r['reference_process_s']:7.2f} s   ({ref})")
        lines.append(f"  analysis alone          {r['analysis_s']:7.3f} s   (median, in-process)")
        for k, target in TARGETS.items():
            v = r["ratios"][k]
            if v is None:
                lines.append(f"  {k:<22} {'n/a':>7}     target <= {target}  (reference failed)")
                continue
            ok = v <= target
            ok_all &= ok
            lines.append(f"  {k:<22} {v:7.2f}     target <= {target:<5} {'ok' if ok else 'MISSED'}")
    if scaling:
        ok = scaling["ratio"] <= 2.2 * scaling["param_ratio"] / 2
        ok_all &= ok
        lines.append(f"\nscaling: {scaling['small']} -> {scaling['big']}: parameters x{scaling['param_ratio']:.2f}, "
                     f"analysis x{scaling['ratio']:.2f}   target <= x{2.2 * scaling['param_ratio'] / 2:.2f} "
                     f"{'ok' if ok else 'MISSED'}")
    return "\n".join(lines), ok_all


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--models", default="mobilenet,mlp300")
    ap.add_argument("--smoke", action="store_true",
                    help="tiny models, one run: exercises the code path, asserts nothing about time")
    args = ap.parse_args(argv)
    import models

    if args.smoke:
        paths = {"jet_mlp": os.path.join(ROOT, "examples", "models", "jet_mlp.keras")}
        runs, scaling = 1, None
    else:
        names = args.models.split(",")
        paths = models.build(names + ["mobilenet", "mobilenet2x"])
        paths = {n: paths[n] for n in names}
        runs = args.runs
    with tempfile.TemporaryDirectory() as tmp:
        results = [bench_model(n, p, runs, tmp) for n, p in paths.items()]
    scaling = None
    if not args.smoke:
        py = sys.executable
        a = {n: float(run_rss([py, "-c", ANALYSIS, models.build([n])[n], "5"])[2].split()[1])
             for n in ("mobilenet", "mobilenet2x")}
        params = {}
        for n in ("mobilenet", "mobilenet2x"):
            out = run_rss([py, "-c", "import os,sys;os.environ['TF_CPP_MIN_LOG_LEVEL']='3';"
                           "from qreport.loader import load_model;print(load_model(sys.argv[1]).count_params())",
                           models.build([n])[n]])[2]
            params[n] = int(out.split()[-1])
        scaling = {"small": "mobilenet", "big": "mobilenet2x",
                   "param_ratio": params["mobilenet2x"] / params["mobilenet"],
                   "ratio": a["mobilenet2x"] / a["mobilenet"], "analysis_s": a, "params": params}
    text, ok = table(results, scaling)
    print(text)
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = os.path.join(HERE, "results", f"{'smoke-' if args.smoke else ''}{stamp}.json")
    with open(out, "w") as f:
        json.dump({"results": results, "scaling": scaling, "targets": TARGETS, "all_met": ok,
                   "cpu_count": os.cpu_count()}, f, indent=1)
    print(f"\nresults: {out}\nall targets met: {ok}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
