"""Read a whole HDF5 file in a forked child first: h5py can crash on a damaged file.

A damaged or hostile HDF5 file (a flipped byte in an attribute's header)
can make the HDF5 C library read out of bounds and kill the process with
SIGSEGV: no exception, no message, a half-finished run.  Before qreport's
own process (or Keras, for it) reads an HDF5 file, a forked child reads
every attribute and dataset of it; if the child dies, the file is refused
with one clear line.  The fork costs a few milliseconds and imports nothing.

Before it reads any data, the child checks every dataset's declared size
against the bytes the file stores for it: a 92 KB file can declare a
40,000 × 40,000 kernel whose chunks were never written, and reading it
allocates 6.4 GB of fill values.  A dataset declaring far more than it
stores, or a file declaring more than :data:`MAX_DECLARED` in all, is
refused from its metadata alone, in milliseconds.
"""

from __future__ import annotations

import io
import os
import signal
import time

from ..errors import QReportError

TIMEOUT = 60.0
_EXCEPTION = 3   # the child's exit code when h5py raised (the parent will say why itself)
_DECLARED = 4    # the child's exit code when a declared size was refused (it says why)
#: the most bytes a weights file may declare in all (a model for an FPGA is far smaller)
MAX_DECLARED = 2 << 30
#: a dataset may declare at most this many times the bytes it stores (plus SLACK):
#: Keras writes its weights uncompressed, so a legitimate file stores what it declares
MAX_UNSTORED_RATIO = 64
SLACK = 1 << 20
_checked: dict = {}


def declared_sizes(f) -> str | None:
    """Why the open HDF5 file's declared sizes are refused (None: they are not).

    Reads metadata only: shapes, types and the storage each dataset has.
    """
    import h5py

    total = 0
    bad = []

    def visit(name, obj):
        nonlocal total
        if not isinstance(obj, h5py.Dataset) or bad:
            return
        declared = int(obj.size or 0) * int(obj.dtype.itemsize)
        total += declared
        stored = int(obj.id.get_storage_size())
        if declared > SLACK + MAX_UNSTORED_RATIO * stored:
            bad.append(f"the dataset {name!r} declares {declared:,} bytes "
                       f"{tuple(obj.shape)} but stores {stored:,} (never written, or a "
                       "compression bomb); refused before reading it")

    f.visititems(visit)
    if bad:
        return bad[0]
    if total > MAX_DECLARED:
        return (f"its datasets declare {total:,} bytes, over the {MAX_DECLARED:,} qreport "
                "reads; refused before reading them")
    return None


def _read_all(path: str, member: str | None) -> None:
    import zipfile

    import h5py

    def visit(_name, obj):
        for k in obj.attrs:
            obj.attrs[k]
        if isinstance(obj, h5py.Dataset):
            obj[()]

    if member is None:
        source = path
    else:
        with zipfile.ZipFile(path) as z:
            source = io.BytesIO(z.read(member))
    with h5py.File(source, "r") as f:
        why = declared_sizes(f)
        if why is not None:
            return why
        for k in f.attrs:
            f.attrs[k]
        f.visititems(visit)
    return None


def probe(path: str, member: str | None = None, what: str | None = None) -> None:
    """Raise QReportError if reading the HDF5 file (or zip member) kills a process.

    Args:
        path: the file, or the zip archive holding it.
        member: the archive member, for an HDF5 file inside a .keras archive.
        what: how to name the file in the message (default: path).
    """
    if not hasattr(os, "fork"):  # pragma: no cover  (qreport's platforms all fork)
        return
    import h5py  # noqa: F401  imported before the fork: the child only reads

    try:
        st = os.stat(path)
        key = (os.path.abspath(path), member, st.st_mtime_ns, st.st_size)
    except OSError:
        key = None
    if key is not None and key in _checked:   # the same file, already read in a child
        return
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: read everything, say nothing (but a refused size)
        code = 0
        os.close(rfd)
        try:
            import faulthandler

            faulthandler.disable()  # a crash here is the answer, not something to report
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 1)
            os.dup2(null, 2)
            why = _read_all(path, member)
            if why is not None:
                os.write(wfd, why.encode()[:2000])
                code = _DECLARED
        except BaseException:  # noqa: BLE001
            code = _EXCEPTION
        os._exit(code)
    os.close(wfd)
    deadline = time.monotonic() + TIMEOUT
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            os.close(rfd)
            raise QReportError(f"{what or path}: reading this HDF5 file did not finish in "
                               f"{TIMEOUT:.0f} s; refused as damaged")
        time.sleep(0.005)
    said = os.read(rfd, 4096).decode(errors="replace")
    os.close(rfd)
    if os.WIFSIGNALED(status):
        name = signal.Signals(os.WTERMSIG(status)).name
        raise QReportError(f"{what or path}: damaged HDF5 file (reading it makes the HDF5 "
                           f"library crash with {name}); refused")
    if os.WIFEXITED(status) and os.WEXITSTATUS(status) == _DECLARED:
        raise QReportError(f"{what or path}: {said}")
    if key is not None and os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0:
        _checked[key] = True


def stored_elements(path: str, member: str | None = None, what: str | None = None) -> int:
    """The number of values the HDF5 file's datasets hold (their shapes only, nothing read).

    Call it after :func:`probe`: the file is then known not to crash a reader.

    Raises:
        QReportError: h5py cannot open or walk the file.
    """
    import zipfile

    import h5py

    total = 0

    def visit(_name, obj):
        nonlocal total
        if isinstance(obj, h5py.Dataset):
            total += int(obj.size or 0)

    if member is None:
        source = path
    else:
        with zipfile.ZipFile(path) as z:
            source = io.BytesIO(z.read(member))
    try:
        with h5py.File(source, "r") as f:
            f.visititems(visit)
    except Exception as exc:  # noqa: BLE001  h5py raises OSError/KeyError/... on damaged files
        msg = " ".join(str(exc).split())[:200]
        raise QReportError(f"{what or path}: damaged HDF5 file ({type(exc).__name__}: {msg})") from None
    return total
