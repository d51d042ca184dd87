"""The one place Keras and QKeras are imported, and on which backend.

qreport needs Keras's layers and QKeras's quantizers to read a model and
quantize its kernels, and runs the model only for ``--sample``; none of it
needs TensorFlow.  Keras is imported on its **numpy** backend and
TensorFlow is never imported: a build starts in a fraction of the time and
memory.

qkeras-v3's ``ops_portable`` tries ``import tensorflow`` whatever the
backend (inside ``try/except``).  While Keras and QKeras are imported on the
numpy backend, ``sys.modules["tensorflow"]`` is None, which is how Python
lets a program decline a module: that import raises ImportError and
QKeras takes its backend-neutral path.  The entry is removed afterwards.

``--sample`` runs on the numpy backend too: on the MobileNet-sized bench
model it gives the same numbers as TensorFlow and is faster and smaller
(64 images: 23.2 s and 602 MiB against 30.2 s and 1,009 MiB; README,
"Backends").  :func:`use` picks another backend before Keras is first
imported (the tests run TensorFlow in process, and both in the
differential test); the choice holds for the process once Keras is imported.
"""

from __future__ import annotations

import os
import sys

_CHOICE = {"name": "numpy"}


def use(name: str) -> None:
    """Pick the Keras backend (``numpy`` or ``tensorflow``) before Keras is first imported."""
    if name not in ("numpy", "tensorflow"):
        raise ValueError(f"backend {name!r}: numpy or tensorflow")
    _CHOICE["name"] = name


def backend() -> str:
    """The Keras backend of this process (imported or to be)."""
    if "keras" in sys.modules:
        return sys.modules["keras"].backend.backend()
    return _CHOICE["name"]


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
