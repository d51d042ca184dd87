"""qreport's hardware estimates against public Vivado results: the fit and the measured errors.

    .venv/bin/python bench/vivado.py             # the error tables (Markdown), from the shipped fit
    .venv/bin/python bench/vivado.py --fit       # refit on the 2-layer runs, write the package's
                                                 # calibration.json and errors.json, print the tables

Data, read from ``bench/data/`` (ignored by git: wa-hls4ml is CC-BY-NC, so its rows stay
out of this Apache-2.0 project; the aggregate errors are committed):

- wa-hls4ml (arXiv 2511.05615): its CSV exports of hls4ml ``Resource`` runs on Vivado
  2023.2 / xcu250, github.com/jdweitz/wa-hls4ml ``data/concatenated_json_to_csv.csv``
  (2-layer: the fit) and ``data/concatenated_3layer_json_to_csv.csv`` (3-layer: held out,
  never used to fit), or any CSV with their columns whose name says ``2layer``/``3layer``;
  QKeras Dense layers with ``quantized_bits(p, 0, alpha=1)`` kernels and biases, inputs and
  float tensors at hls4ml's ``ap_fixed<16,6>``; BRAM in 36 Kb tiles (×2 for BRAM_18K);
- JEDI-linear (github.com/calad0i/JEDI-linear, ``official_result_reports.tar.gz``):
  da4ml's ``cost`` beside Vivado's post-route LUTs for 20 designs, in ``bench/data/jedi-linear``;
- hls4ml's own committed synthesis baselines (``bench/synthesis.json``, via
  ``bench/synthesis.py``): the latency strategy.

Every prediction is qreport's own code path (``layer_hardware``) on the rebuilt design; the
fit only chooses the resource model's coefficients (non-negative least squares on relative
error).  hls4ml versions differ: wa-hls4ml ran hls4ml 0.8.1, qreport models 1.3.0, whose
``dense_resource`` and reuse-factor rules are the same (its latency is matched exactly).
"""

from __future__ import annotations

import argparse
import csv
import glob
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))

from qreport.analysis.accumulator import type_accumulator  # noqa: E402
from qreport.analysis.facts import QFact  # noqa: E402
from qreport.analysis.hardware import Design, Kernel2D, closest_reuse_factor, layer_hardware  # noqa: E402
from qreport.analysis.hardware import estimates  # noqa: E402

PKG = os.path.join(HERE, "..", "qreport", "analysis", "hardware")
DATA = os.path.join(HERE, "data")
FIGS = ("lut", "ff", "dsp", "bram_18k", "latency_cycles")
WA = "wa-hls4ml (arXiv 2511.05615) Vivado 2023.2 synthesis, xcu250, hls4ml 0.8.1 Resource, RF 1024-4093"


def fact(w: int, i: int) -> QFact:
    return QFact(kind="quantized_bits", config=f"ap_fixed<{w},{i}>", mode=0, bits=w, integer=i - 1,
                 signed=True, min=-(2.0 ** (i - 1)), max=2.0 ** (i - 1) - 2.0 ** (i - w),
                 lsb=2.0 ** (i - w), fixed=f"ap_fixed<{w},{i}>", hls_type=(w, i, True))


DATA16 = fact(16, 6)


def load(kind: str) -> list[dict]:
    """The designs of the 2-layer (fit) or 3-layer (held-out) CSVs found in bench/data."""
    names = {"2layer": ("concatenated_json_to_csv.csv",), "3layer": ("concatenated_3layer_json_to_csv.csv",)}
    files = [f for f in glob.glob(os.path.join(DATA, "*.csv"))
             if kind in os.path.basename(f) or os.path.basename(f) in names[kind]]
    out, seen = [], set()
    for f in sorted(files):
        for r in csv.DictReader(open(f, newline="")):
            if r.get("hls_synth_success", "TRUE").upper() != "TRUE" or r.get("strategy", "resource") != "resource":
                continue
            key = (r["model_string"], r["prec"], r["rf"], r.get("model_file", ""), r["LUT_hls"])
            if key in seen:
                continue
            seen.add(key)
            out.append({"sizes": [int(x) for x in r["model_string"].split("-")], "p": int(r["prec"]),
                        "rf": int(r["rf"]), "latency_cycles": float(r["WorstLatency_hls"]),
                        "bram_18k": 2 * float(r["BRAM_18K_hls"]), "dsp": float(r["DSP_hls"]),
                        "ff": float(r["FF_hls"]), "lut": float(r["LUT_hls"])})
    return out


def layers(d: dict):
    """Each Dense layer: (n_in, n_out, hls4ml's reuse factor, its accumulator type's width)."""
    w = fact(d["p"], 1)   # quantized_bits(p, 0, alpha=1): p bits, the sign its only integer bit
    for a, b in zip(d["sizes"][:-1], d["sizes"][1:]):
        yield a, b, closest_reuse_factor(a, b, d["rf"]), type_accumulator(w, DATA16, w, a).width


def terms(d: dict) -> dict:
    """The resource model's terms, summed over the design's layers (the accumulator hls4ml built)."""
    tot: dict[str, float] = {}
    for a, b, rf, acc in layers(d):
        block = -(-a * b // rf)
        t = estimates.resource_terms(a, b, rf, block, 16, d["p"], acc, 16,
                                     on_dsp=min(16, d["p"]) >= estimates.shared_dsp_bits())
        for k, v in t.items():
            tot[k] = tot.get(k, 0.0) + v
    return tot


def predict(d: dict, seed: int = 0) -> dict:
    """qreport's figures for the design, through ``layer_hardware`` (what the datasheet says)."""
    rng = np.random.default_rng(seed)
    design = Design("resource", d["rf"])
    out = {k: 0.0 for k in FIGS}
    hs = []
    for a, b, rf, acc in layers(d):
        lim = np.sqrt(6 / (a + b))
        ints = np.round(np.clip(rng.uniform(-lim, lim, (a, b)), -1, 1 - 2.0 ** (1 - d["p"]))
                        * 2 ** (d["p"] - 1)).astype(np.int64)
        k = Kernel2D(ints=ints, bias_nonzero=np.ones(b, bool), positions=1)
        h = layer_hardware(k, DATA16, fact(d["p"], 1), np.full(b, acc), acc, design, 16)
        hs.append(h)
        out["lut"] += h.lut_type
        out["ff"] += h.ff_type
        for f in ("dsp", "bram_18k", "latency_cycles"):
            out[f] += getattr(h, f)
    out["latency_cycles"] += estimates.resource_latency()[1]
    return out


def stats(pred, meas) -> dict:
    e = np.abs(np.asarray(pred) - np.asarray(meas)) / np.maximum(np.asarray(meas), 1)
    return {"median": round(float(np.median(e)), 4), "p90": round(float(np.percentile(e, 90)), 4),
            "n": int(len(e))}


def fit(designs: list[dict]) -> dict:
    from scipy.optimize import nnls

    cal = {}
    for fig, names in (("lut", estimates.LUT_TERMS), ("ff", estimates.FF_TERMS)):
        X = np.array([[terms(d)[k] for k in names] for d in designs])
        y = np.array([d[fig] for d in designs])
        c, _ = nnls(X / y[:, None], np.ones(len(y)))
        cal[fig] = {k: round(float(v), 4) for k, v in zip(names, c)}
    return cal


def latency_errors() -> dict:
    """The latency strategy against hls4ml's committed baselines (bench/synthesis.py's designs)."""
    import synthesis

    pub = json.load(open(os.path.join(HERE, "synthesis.json")))
    rel = {"dsp": [], "lut": [], "ff": [], "latency_cycles": []}
    for name, rec in pub["designs"].items():
        est = synthesis.estimate(name, 16)
        for r in rec["results"]:
            for fig, key in (("dsp", "dsp"), ("lut", "lut"), ("ff", "ff"), ("latency_cycles", "latency")):
                if r.get(key):
                    rel[fig].append((est[key][0], r[key]))
    src = "hls4ml's committed synthesis baselines (bench/synthesis.json): mostly HLS csynth estimates"
    return {f: {**stats([p for p, _ in v], [m for _, m in v]), "source": src} for f, v in rel.items() if v}


def da_errors() -> dict | None:
    files = glob.glob(os.path.join(DATA, "jedi-linear", "*.json"))
    rows = [v for f in files for v in json.load(open(f)).values()]
    if not rows:
        return None
    return {"lut": {**stats([r["cost"] for r in rows], [r["LUT"] for r in rows]),
                    "source": "JEDI-linear's published Vivado post-route reports: da4ml's cost "
                              "against the LUTs of its own RTL designs"}}


def table(title: str, rows: dict) -> str:
    out = [f"| {title} | median error | 90th percentile | designs |", "| --- | ---: | ---: | ---: |"]
    for f, s in rows.items():
        out.append(f"| {f} | {s['median']:.1%} | {s['p90']:.1%} | {s['n']} |")
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fit", action="store_true", help="refit and write the package's JSON files")
    args = ap.parse_args(argv)
    two, three = load("2layer"), load("3layer")
    if not two or not three:
        print(f"no wa-hls4ml CSVs in {DATA}: see this script's docstring", file=sys.stderr)
        return 2
    if args.fit:
        cal = json.load(open(os.path.join(PKG, "calibration.json")))
        cal["resource"].update(fit(two))
        cal["resource"]["fit_on"] = f"{len(two)} 2-layer designs of {WA}"
        rfs = [rf for d in two + three for _, _, rf, _ in layers(d)]
        cal["resource"]["reuse_factors"] = [min(rfs), max(rfs)]
        with open(os.path.join(PKG, "calibration.json"), "w") as f:
            json.dump(cal, f, indent=1, sort_keys=True)
            f.write("\n")
        estimates.calibration.cache_clear()
    fit_p = [predict(d) for d in two]
    held = [predict(d) for d in three]
    res_fit = {f: stats([p[f] for p in fit_p], [d[f] for d in two]) for f in FIGS}
    res_held = {f: stats([p[f] for p in held], [d[f] for d in three]) for f in FIGS}
    regimes = {"resource": {f: {**s, "source": f"{WA}; 3-layer designs held out of the fit"}
                            for f, s in res_held.items()},
               "latency": latency_errors()}
    da = da_errors()
    if not da:   # without JEDI-linear's reports the shipped DA error stands
        da = json.load(open(os.path.join(PKG, "errors.json")))["regimes"].get("distributed_arithmetic")
    if da:
        regimes["distributed_arithmetic"] = da
    print("### Resource strategy, fit (2-layer wa-hls4ml designs)\n")
    print(table("figure", res_fit))
    print("\n### Resource strategy, held out (3-layer wa-hls4ml designs, never fitted)\n")
    print(table("figure", res_held))
    print("\n### Latency strategy (hls4ml's committed baselines)\n")
    print(table("figure", regimes["latency"]))
    if da:
        print("\n### Distributed arithmetic (JEDI-linear, da4ml's own RTL)\n")
        print(table("figure", da))
    if args.fit:
        with open(os.path.join(PKG, "errors.json"), "w") as f:
            json.dump({"regimes": regimes}, f, indent=1, sort_keys=True)
            f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
