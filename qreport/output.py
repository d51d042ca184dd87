"""Atomic report writing: a complete new file or the old one untouched."""

from __future__ import annotations

import os
import tempfile

from .errors import QReportError


def check_output_path(out: str, model_path: str | None, formats: tuple[str, ...]) -> str:
    """The output format from the extension, after checking the path is usable."""
    ext = os.path.splitext(out)[1].lower().lstrip(".")
    if ext not in formats:
        raise QReportError(f"{out}: unknown output format '.{ext}' (use {', '.join('.' + f for f in formats)})")
    d = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(d):
        raise QReportError(f"{out}: output directory {d} does not exist")
    if os.path.isdir(out):
        raise QReportError(f"{out}: is a directory")
    if model_path and os.path.exists(out) and os.path.exists(model_path) \
            and os.path.samefile(out, model_path):
        raise QReportError(f"{out}: output path is the model file itself")
    if not os.access(d, os.W_OK):
        raise QReportError(f"{out}: output directory {d} is not writable")
    return ext


def write_atomic(path: str, data: bytes) -> None:
    """Write to a temporary file beside ``path``, fsync, then rename over it."""
    d = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix=".qreport-", suffix=".tmp", dir=d)
    except OSError as exc:
        raise QReportError(f"{path}: cannot write report: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if os.path.exists(path):
            os.chmod(tmp, os.stat(path).st_mode & 0o777)
        else:
            os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise QReportError(f"{path}: cannot write report: {exc.strerror or exc}") from None
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
