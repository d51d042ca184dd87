"""qreport's hardware rules against every public synthesis number we could rebuild the model of.

    .venv/bin/python bench/synthesis.py            # the README's table (Markdown)
    .venv/bin/python bench/synthesis.py --seeds 8  # fewer kernels per design (the test's smoke run)

The designs are the hls4ml repository's own synthesis tests
(``bench/synthesis.json`` says which file each number comes from).  Their
kernels are random draws of a Keras initializer whose seed was not kept,
so each design's kernel is drawn again ``--seeds`` times from the same
distribution, quantized as hls4ml quantizes a float weight to
``ap_fixed<16,6>`` (truncation: ``floor(w · 2^10)``), and every figure is
the mean over the draws (the spread is printed beside it).  Only the rules
of :mod:`qreport.analysis.hardware` run here, on the same operand types
the hls4ml configuration gave: nothing is fitted in this script.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from qreport.analysis.facts import QFact  # noqa: E402
from qreport.analysis.hardware import Design, Kernel2D, layer_hardware  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
FIX16 = QFact(kind="quantized_bits", config="ap_fixed<16,6>", mode=0, bits=16, integer=5,
              signed=True, min=-32.0, max=32 - 2 ** -10, lsb=2 ** -10, fixed="ap_fixed<16,6>",
              hls_type=(16, 6, True))
FIGS = ("dsp", "lut", "ff", "latency", "ii")


def _glorot(rng, fan_in, fan_out, shape):
    lim = np.sqrt(6 / (fan_in + fan_out))
    return rng.uniform(-lim, lim, shape)


#: design -> (kernel draw (rng) -> (rows, cols) float kernel, positions, strategy,
#:            accumulator width as configured)
DESIGNS = {
    "dense_1x2": (lambda r: r.uniform(1, 10, (1, 2)), 1, "latency", 16),
    "dense_16x5": (lambda r: _glorot(r, 16, 5, (16, 5)), 1, "latency", 16),
    "conv2d_48x32": (lambda r: r.normal(0, 0.05, (48, 32)), 49, "resource", 16),
    # DepthwiseConv1D(3) on 3 channels: fan_in = fan_out = 3; hls4ml infers
    # 16 + 16 + ceil(log2 3) = 34 bits, one more for the bias
    "depthwise1d_3x3": (lambda r: _glorot(r, 3, 3, (3, 3)), 30, "latency", 35),
}


def estimate(name: str, seeds: int) -> dict[str, tuple[float, float]]:
    draw, positions, strategy, acc = DESIGNS[name]
    got = {k: [] for k in FIGS}
    for seed in range(seeds):
        w = draw(np.random.default_rng(seed))
        ints = np.floor(w * 2 ** 10).astype(np.int64)
        k = Kernel2D(ints=ints, bias_nonzero=np.zeros(ints.shape[1], dtype=bool),
                     positions=positions)
        h = layer_hardware(k, FIX16, FIX16, np.full(ints.shape[1], acc), acc,
                           Design(strategy, 1), 16)
        for key, v in (("dsp", h.dsp), ("lut", h.lut), ("ff", h.ff),
                       ("latency", h.latency_cycles), ("ii", h.initiation_interval)):
            got[key].append(v)
    return {k: (float(np.mean(v)), float(np.std(v))) for k, v in got.items()}


def table(seeds: int) -> tuple[str, dict]:
    with open(os.path.join(HERE, "synthesis.json")) as f:
        data = json.load(f)
    lines = ["| design | tool | figure | published | qreport (mean ± sd) | error |",
             "| --- | --- | --- | ---: | ---: | ---: |"]
    notes = []
    errors: dict[str, list[float]] = {k: [] for k in FIGS}
    for name, d in data["designs"].items():
        est = estimate(name, seeds)
        if d.get("left_out"):
            notes.append(f"- {name}: {d['model']}. Not in qreport's figures: {d['left_out']}.")
        else:
            notes.append(f"- {name}: {d['model']}.")
        for r in d["results"]:
            for key in FIGS:
                if key not in r:
                    continue
                pub = r[key]
                m, sd = est[key]
                err = (m - pub) / pub if pub else float("nan")
                errors[key].append(abs(err))
                lines.append(f"| {name} | {r['tool']} | {key} | {pub:,} | {m:,.0f} ± {sd:,.0f} | "
                             f"{err:+.0%} |")
    lines += ["", *notes, "", "| figure | designs × tools | median abs. error | worst abs. error |",
              "| --- | ---: | ---: | ---: |"]
    for key, e in errors.items():
        if e:
            lines.append(f"| {key} | {len(e)} | {np.median(e):.0%} | {max(e):.0%} |")
    return "\n".join(lines), errors


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=64)
    a = ap.parse_args(argv)
    text, _ = table(a.seeds)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
