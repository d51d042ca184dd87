"""An HDF5 weights file that declares far more than it stores is refused from its metadata.

A 92 KB file can declare a 40,000 × 40,000 float32 kernel whose chunks were
never written: reading it allocates 6.4 GB of fill values.  Both readers (the
HGQ2 reader and the Keras path, in .keras archives and legacy .h5 files) must
refuse it in under a second and 200 MB, with one line.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import zipfile

import pytest

from .conftest import ROOT

HGQ2 = os.path.join(ROOT, "tests", "hgq2", "hgq_dense.keras")
N = 40_000


def _bomb_h5(f, path: str):
    del f[path]
    f.create_dataset(path, shape=(N, N), dtype="f4", chunks=(1000, 1000))  # never written


def _archive(src: str, dst: str, path: str) -> str:
    import h5py

    with zipfile.ZipFile(src) as z:
        members = {n: z.read(n) for n in z.namelist()}
    buf = io.BytesIO(members["model.weights.h5"])
    with h5py.File(buf, "r+") as f:
        _bomb_h5(f, path)
    members["model.weights.h5"] = buf.getvalue()
    with zipfile.ZipFile(dst, "w") as z:
        for n, v in members.items():
            z.writestr(n, v)
    return dst


def _first_dataset(f) -> str:
    import h5py

    found = []
    f.visititems(lambda n, o: found.append(n) if isinstance(o, h5py.Dataset) and o.ndim == 2
                 and not found else None)
    return found[0]


def _qkeras_archive(dst: str) -> str:
    import h5py

    from qreport.read import example_path

    src = example_path("jet_mlp")
    with zipfile.ZipFile(src) as z, h5py.File(io.BytesIO(z.read("model.weights.h5"))) as f:
        path = _first_dataset(f)
    return _archive(src, dst, path)


def _legacy_h5(dst: str) -> str:
    import h5py

    shutil.copy(os.path.join(ROOT, "tests", "hgq2", "hgq_seq-0.2.0.h5"), dst)
    with h5py.File(dst, "r+") as f:
        _bomb_h5(f, "model_weights/" + _first_dataset(f["model_weights"]))
    return dst


CASES = {
    "HGQ2 .keras": lambda d: _archive(HGQ2, d + "/h.keras", "layers/q_dense/vars/0"),
    "QKeras .keras": lambda d: _qkeras_archive(d + "/q.keras"),
    "HGQ2 legacy .h5": lambda d: _legacy_h5(d + "/l.h5"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_refused_in_under_a_second_and_200_mb(case, tmp_path):
    bad = CASES[case](str(tmp_path))
    assert os.path.getsize(bad) < 400_000
    out = tmp_path / "r.json"
    # the build in a fresh process, which reports its own time and peak memory in KiB: its
    # VmHWM (ru_maxrss would carry this process's high-water mark across exec) and its
    # forked probe's ru_maxrss
    code = ("import time,sys,re,resource as r; t=time.monotonic(); from qreport.cli import main; "
            f"c=main(['build', {bad!r}, '-o', {str(out)!r}]); "
            "hwm=int(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1)); "
            "m=max(hwm, r.getrusage(r.RUSAGE_CHILDREN).ru_maxrss); "
            "sys.stderr.write('MEASURED %.3f %d\\n' % (time.monotonic()-t, m)); sys.exit(c)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    lines = [l for l in r.stderr.strip().splitlines() if not l.startswith("MEASURED")]
    secs, kib = next(l for l in r.stderr.splitlines() if l.startswith("MEASURED")).split()[1:]
    assert r.returncode != 0 and not out.exists()
    assert len(lines) == 1 and "declares" in lines[0] and "Traceback" not in r.stderr, r.stderr
    assert float(secs) < 1.0, secs
    assert int(kib) < 200 * 1024, kib
