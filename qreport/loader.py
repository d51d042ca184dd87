"""Loading model files: QKeras objects registered, Keras safe mode on."""

from __future__ import annotations

import os
import zipfile

from .errors import QReportError

SUFFIXES = (".keras", ".h5", ".hdf5")


def import_keras():
    """Import keras/qkeras with TensorFlow's C++ start-up logging silenced.

    TensorFlow writes absl/oneDNN banners straight to file descriptor 2 while
    it is imported, whatever TF_CPP_MIN_LOG_LEVEL says; a CLI must print one
    line on error and nothing on success, so fd 2 points at /dev/null for the
    duration of the import only.
    """
    import sys

    if "keras" in sys.modules and "qkeras" in sys.modules:
        return sys.modules["keras"]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
        import keras
        import qkeras  # noqa: F401  (registers the QKeras classes)
        import tensorflow as tf

        tf.get_logger().setLevel("ERROR")
        # First op creation prints the oneDNN/cuda banner: trigger it now.
        tf.constant(0.0) + 1.0
    finally:
        os.dup2(saved, 2)
        os.close(saved)
    return keras


def custom_objects() -> dict:
    """QKeras layers and quantizers, by class name."""
    from qkeras.utils import _add_supported_quantized_objects

    objs: dict = {}
    _add_supported_quantized_objects(objs)
    return objs


def check_model_path(path: str) -> None:
    """Cheap checks before importing TensorFlow; QReportError on failure."""
    if not os.path.exists(path):
        raise QReportError(f"{path}: no such file")
    if os.path.isdir(path):
        raise QReportError(f"{path}: is a directory, not a model file")
    if not path.lower().endswith(SUFFIXES):
        raise QReportError(f"{path}: unknown model format (expected {', '.join(SUFFIXES)})")
    if os.path.getsize(path) == 0:
        raise QReportError(f"{path}: file is empty")
    if path.lower().endswith(".keras"):
        if not zipfile.is_zipfile(path):
            raise QReportError(f"{path}: not a .keras archive (not a zip file)")
        try:
            with zipfile.ZipFile(path) as z:
                names = set(z.namelist())
                bad = z.testzip()
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise QReportError(f"{path}: corrupted .keras archive ({exc})") from None
        if bad is not None:
            raise QReportError(f"{path}: corrupted .keras archive (bad member {bad})")
        if "config.json" not in names:
            raise QReportError(f"{path}: not a .keras archive (no config.json)")
    else:
        with open(path, "rb") as f:
            if f.read(8) != b"\x89HDF\r\n\x1a\n":
                raise QReportError(f"{path}: not an HDF5 file")


def load_model(path: str, unsafe: bool = False):
    """Load a Keras 3 model file with safe mode on (unless ``unsafe``).

    Raises:
        QReportError: the file cannot be loaded; the message says why and
            what to do next.
    """
    check_model_path(path)
    keras = import_keras()

    try:
        return keras.saving.load_model(path, compile=False, safe_mode=not unsafe,
                                       custom_objects=custom_objects())
    except Exception as exc:  # Keras raises many types; translate them all
        raise QReportError(_explain(path, exc)) from exc


def _explain(path: str, exc: Exception) -> str:
    msg = " ".join(str(exc).split())
    low = msg.lower()
    if "lambda" in low and ("safe_mode" in low or "unsafe" in low or "deserializ" in low):
        return (f"{path}: the model contains a Lambda layer, which runs arbitrary code; "
                "refused in safe mode (pass --unsafe-load only if you trust the file)")
    bn = [c for c in ("QDenseBatchnorm", "QDepthwiseConv2DBatchnorm")
          if c.lower() in low.replace("_", "").replace(" ", "") or c in msg]
    if bn:
        return (f"{path}: cannot load its {bn[0]} layer: qkeras-v3 1.2.1 cannot reload "
                "QDenseBatchnorm/QDepthwiseConv2DBatchnorm from a saved file; analyse the "
                "in-memory model with qreport.analyse(model) instead")
    if "could not locate" in low or "unknown layer" in low or ("not found" in low and "class" in low):
        import re

        m = (re.search(r"could not locate (?:class|function) '([^']+)'", msg, re.I)
             or re.search(r"unknown layer:?\s*'([^']+)'", msg, re.I))
        name = m.group(1) if m else "?"
        return (f"{path}: the model uses the class {name!r}, which is neither Keras nor QKeras "
                "and is not registered; qreport cannot load custom layers")
    return f"{path}: cannot load model: {type(exc).__name__}: {_first(msg)}"


def _first(msg: str, n: int = 300) -> str:
    return msg if len(msg) <= n else msg[: n - 1] + "…"
