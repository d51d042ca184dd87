"""The one place Keras and QKeras are imported, and on which backend.

qreport runs a model only for ``--sample``; everything else (reading the
file, quantizing the kernels, the bounds) needs Keras's layers and QKeras's
quantizers but no TensorFlow.  So Keras is imported on its **numpy**
backend unless the model must run (:func:`use`), and TensorFlow is never
imported then: a build starts in a fraction of the time and memory.

qkeras-v3's ``ops_portable`` tries ``import tensorflow`` whatever the
backend (inside ``try/except``).  While Keras and QKeras are imported on the
numpy backend, ``sys.modules["tensorflow"]`` is None, which is how Python
lets a program decline a module: that import raises ImportError and
QKeras takes its backend-neutral path.  The entry is removed afterwards.

For ``--sample`` the backend is TensorFlow: it gives the same numbers and
runs a real conv model faster than the numpy backend (README, "Backends").
The choice holds for the process once Keras is imported.
"""

from __future__ import annotations

import os
import sys

_RUN = {"run": False}


def use(run: bool) -> None:
    """Say, before Keras is first imported, whether this process will run a model."""
    _RUN["run"] = _RUN["run"] or run


def backend() -> str:
    """The Keras backend of this process (imported or to be)."""
    if "keras" in sys.modules:
        return sys.modules["keras"].backend.backend()
    return "tensorflow" if _RUN["run"] else "numpy"


def import_keras():
    """Import keras and qkeras on :func:`backend`, their start-up logging silenced.

    TensorFlow writes absl/oneDNN banners (and jax a GPU notice) straight to
    file descriptor 2 while it is imported, whatever TF_CPP_MIN_LOG_LEVEL
    says; a CLI must print one line on error and nothing on success, so fd 2
    points at /dev/null for the duration of the import only.
    """
    if "keras" in sys.modules and "qkeras" in sys.modules:
        return sys.modules["keras"]
    name = backend()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if "keras" not in sys.modules:
        os.environ["KERAS_BACKEND"] = name
    block = name != "tensorflow" and "tensorflow" not in sys.modules
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
        if block:
            sys.modules["tensorflow"] = None
        import keras
        import qkeras  # noqa: F401  (registers the QKeras classes)

        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            tf.get_logger().setLevel("ERROR")
            # First op creation prints the oneDNN/cuda banner: trigger it now.
            tf.constant(0.0) + 1.0
    finally:
        if block and sys.modules.get("tensorflow", 0) is None:
            del sys.modules["tensorflow"]
        os.dup2(saved, 2)
        os.close(saved)
    return keras
