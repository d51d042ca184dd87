"""Many models, fast (issue #22): ratios against the TensorFlow-backend floor, in one run.

    .venv/bin/python bench/many.py [--runs N] [--images N] [--smoke]

Measured as whole processes (median of N runs; peak memory as the summed
PSS of the process and its workers, sampled every 20 ms: a child's
``ru_maxrss`` starts at its parent's high-water mark, so it would measure
this script, not qreport):
- the floor: Keras on TensorFlow, `import keras, qkeras` and `load_model`,
  for the small model (jet_mlp) and for the MobileNet-sized one;
- `qreport check`, `build -o .json` and `build -o .md` of the small model;
- `build -o .json` of the MobileNet-sized model;
- one `qreport build` of 20 small models into a directory, against 20 floors;
- `--sample` on the MobileNet-sized model with 16 and with --images images
  (peak memory, and time per image).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from run import FLOOR, run_rss  # noqa: E402

TARGETS = {"check/floor": 0.6, "check mem/floor": 0.5, "json/floor": 0.6, "md/floor": 0.6,
           "big json/floor": 0.7, "batch20/20 floors": 0.2, "sample mem big/small": 1.3}


def _median(cmd, runs):
    got = [run_rss(cmd) for _ in range(runs)]
    return statistics.median(g[0] for g in got), max(g[3] for g in got)


def _sample(path: str, n: int, shape) -> None:
    """An .npy of n random images, written in chunks (this process stays small)."""
    import numpy as np

    with open(path, "wb") as f:
        np.lib.format.write_array_header_1_0(
            f, {"descr": "<f4", "fortran_order": False, "shape": (n, *shape)})
        for s in range(0, n, 16):
            k = min(16, n - s)
            f.write(np.random.default_rng(s).uniform(0, 1, (k, *shape)).astype("<f4").tobytes())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--images", type=int, default=1000)
    ap.add_argument("--smoke", action="store_true", help="small sizes, one run: the code path only")
    args = ap.parse_args(argv)
    py, q = sys.executable, [sys.executable, "-m", "qreport"]
    small = os.path.join(ROOT, "examples", "models", "jet_mlp.keras")
    runs = 1 if args.smoke else args.runs
    if args.smoke:
        big, images = os.path.join(ROOT, "examples", "models", "cnn.keras"), 32
    else:
        # built in a child: this process never imports Keras, so it stays small
        import subprocess

        big = subprocess.run([py, "-c", "import sys; sys.path.insert(0, sys.argv[1]); import models;"
                              "print(models.build(['mobilenet'])['mobilenet'])", HERE],
                             capture_output=True, text=True, check=True).stdout.split()[-1]
        images = args.images
    r: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        many = []
        for i in range(20 if not args.smoke else 4):
            many.append(os.path.join(tmp, f"m{i:02d}.keras"))
            shutil.copy(small, many[-1])
        shape = (224, 224, 3) if not args.smoke else (32, 32, 3)
        for n in (16, images):
            _sample(os.path.join(tmp, f"x{n}.npy"), n, shape)
        cmds = {"floor": [py, "-c", FLOOR, small],
                "check": q + ["check", small, "--max-accumulator-bits", "64"],
                "json": q + ["build", small, "-o", f"{tmp}/s.json"],
                "md": q + ["build", small, "-o", f"{tmp}/s.md"],
                "big json": q + ["build", big, "-o", f"{tmp}/b.json"],
                "batch20": q + ["build", *many, "-o", f"{tmp}/out/"],
                **{f"sample {n}": q + ["build", big, "--sample", f"{tmp}/x{n}.npy", "-o",
                                       f"{tmp}/x{n}.json"] for n in (16, images)}}
        if not args.smoke:
            cmds["big floor"] = [py, "-c", FLOOR, big]
        # measured one after the other; the smoke run (the code path only) two at a time
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(2 if args.smoke else 1) as pool:
            got = dict(zip(cmds, pool.map(
                lambda k: _median(cmds[k], 1 if k.startswith("sample") else runs), cmds)))
        r.update(got)
        if args.smoke:   # its "big" model is small: its floor is the small one's
            r["big floor"] = r["floor"]
    f, frss = r["floor"]
    ratios = {"check/floor": r["check"][0] / f, "check mem/floor": r["check"][1] / frss,
              "json/floor": r["json"][0] / f, "md/floor": r["md"][0] / f,
              "big json/floor": r["big json"][0] / r["big floor"][0],
              "batch20/20 floors": r["batch20"][0] / (len(many) * f),
              "sample mem big/small": r[f"sample {images}"][1] / r["sample 16"][1]}
    for k, (s, rss) in r.items():
        print(f"  {k:<22} {s:7.2f} s   peak PSS {rss / 1024:7.0f} MiB")
    ok_all = True
    for k, v in ratios.items():
        ok = v <= TARGETS[k]
        ok_all &= ok
        print(f"  {k:<22} {v:7.2f}x   target <= {TARGETS[k]:<5} {'ok' if ok else 'MISSED'}")
    s16, sn = r["sample 16"][0], r[f"sample {images}"][0]
    print(f"  sample time per image: {(sn - s16) / (images - 16):.3f} s ({images} vs 16 images)")
    print(f"all targets met: {ok_all}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
