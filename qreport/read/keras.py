"""Loading model files through Keras: QKeras objects registered, safe mode on.

The forms it reads:

- a Keras 3 ``.keras`` archive, or a full-model ``.h5`` (Keras 2 or 3);
- a Keras-2 architecture ``.json`` with its weights ``.h5`` (``--weights``,
  or found beside it as ``<stem>_weights.h5`` / ``<stem>.h5``), or with no
  weights at all (an architecture-only report).

Every file is vetted first (:mod:`.vet`).  While Keras builds the model,
no layer may allocate more values than the file's weights hold (a config
that declares a 10⁸-unit layer is refused before its kernel exists).
The user's files are only read.
"""

from __future__ import annotations

import contextlib
import math
import os

from ..backend import import_keras
from ..errors import QReportError
from ..options import spelling
from .vet import MAX_ARCHITECTURE_VALUES, check_model_path, custom_hint, first

#: values Keras may create beyond those stored (seed states, counters)
SLACK = 1 << 16


def custom_objects(extra: dict | None = None) -> dict:
    """QKeras layers and quantizers by class name, the repaired ones (repair.py) and ``extra``."""
    from qkeras.utils import _add_supported_quantized_objects

    from .repair import classes

    objs: dict = {}
    _add_supported_quantized_objects(objs)
    objs.update(classes())  # a copy: the cached dict is not changed
    objs.update(extra or {})
    return objs


def user_objects(path: str) -> dict:
    """The Keras layer classes defined at module level in the Python file ``path``.

    This runs the file: the CLI allows it only with --unsafe-load.
    """
    import importlib.util
    import inspect

    keras = import_keras()
    if not os.path.isfile(path) or not path.endswith(".py"):
        raise QReportError(f"{path}: {spelling('custom_objects')} needs a Python file (.py)")
    spec = importlib.util.spec_from_file_location("qreport_custom_objects", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # noqa: BLE001  the user's code, any error
        raise QReportError(f"{path}: cannot run the custom objects file "
                           f"({type(exc).__name__}: {first(' '.join(str(exc).split()))})") from None
    found = {n: c for n, c in vars(module).items()
             if inspect.isclass(c) and issubclass(c, keras.layers.Layer) and c.__module__ == module.__name__}
    if not found:
        raise QReportError(f"{path}: defines no Keras layer class")
    return found


def load_model(path: str, unsafe: bool = False):
    """Load a model file (any form :func:`load` reads); the model only."""
    return load(path, unsafe)[0]


def load(path: str, unsafe: bool = False, weights: str | None = None,
         custom: dict | None = None):
    """Load a model with safe mode on (unless ``unsafe``).

    Args:
        path: ``.keras``, ``.h5``/``.hdf5`` (a full model) or ``.json`` (architecture).
        unsafe: allow Lambda layers (and whatever else Keras's safe mode refuses).
        weights: for a ``.json``: its weights file (default: found beside it).
        custom: extra classes by name (``--custom-objects``).

    Returns:
        (model, name of the file the weights came from): the model file
        itself for ``.keras``/``.h5``; None when a ``.json`` came without
        weights (the model's weights are then its initializers').

    Raises:
        QReportError: the file cannot be loaded; the message says why and
            what to do next.
    """
    architecture = path.lower().endswith(".json")
    if weights is not None and not architecture:
        raise QReportError(f"{path}: {spelling('weights')} goes with an architecture .json; "
                           "this file holds its own weights")
    vetted = check_model_path(path, unsafe, tuple(custom or ()))
    stored = vetted.stored_values
    if architecture:
        from .hdf5probe import stored_elements
        from .legacy import load_architecture, weights_file

        weights = weights_file(path, weights)
        stored = stored_elements(weights) if weights is not None else None
    keras = import_keras()
    objs = custom_objects(custom)
    from keras.src.saving.serialization_lib import SafeModeScope

    from . import repair

    limit = MAX_ARCHITECTURE_VALUES if stored is None else stored + SLACK
    try:
        with keras.saving.custom_object_scope(objs), SafeModeScope(not unsafe), \
                repair.registered(repair.classes()), allocation_limit(keras, limit, path, stored):
            if architecture:
                return load_architecture(path, vetted.config, weights, objs)
            return keras.saving.load_model(path, compile=False, safe_mode=not unsafe,
                                           custom_objects=objs), os.path.basename(path)
    except QReportError:
        raise
    except Exception as exc:  # Keras raises many types; translate them all
        raise QReportError(_explain(path, exc)) from exc


@contextlib.contextmanager
def allocation_limit(keras, limit: int, path: str, stored: int | None):
    """While Keras builds the model, its layers may create at most ``limit`` values in all.

    Every weight Keras creates for a model it loads is one the file stores,
    so a layer that asks for more than the file holds has a declared shape
    the stored weights cannot fill; it is refused before the variable exists.
    """
    layer_cls = keras.layers.Layer
    original = layer_cls.add_weight
    used = 0

    def add_weight(self, *args, shape=None, **kw):
        nonlocal used
        dims = shape if shape is not None else (args[0] if args else ())
        try:
            n = math.prod(int(d) for d in (dims or ()))
        except (TypeError, ValueError):
            n = 0
        used += n
        if used > limit:
            held = (f"the file's weights hold {stored:,} values" if stored is not None else
                    f"qreport allows {limit:,} values for a model without weights")
            raise QReportError(f"{path}: layer {self.name!r} declares a weight of shape "
                               f"{tuple(dims)} ({n:,} values), more than the model can have: "
                               f"{held}; refused before it is allocated")
        return original(self, *args, shape=shape, **kw)

    layer_cls.add_weight = add_weight
    try:
        yield
    finally:
        layer_cls.add_weight = original


def _explain(path: str, exc: Exception) -> str:
    msg = " ".join(str(exc).split())
    low = msg.lower()
    if "lambda" in low and ("safe_mode" in low or "unsafe" in low or "deserializ" in low):
        return (f"{path}: the model contains a Lambda layer, which runs arbitrary code; "
                f"refused in safe mode (pass {spelling('unsafe_load')} only if you trust the file)")
    if "could not locate" in low or "unknown layer" in low or ("not found" in low and "class" in low):
        import re

        m = (re.search(r"could not locate (?:class|function) '([^']+)'", msg, re.I)
             or re.search(r"unknown layer:?\s*'([^']+)'", msg, re.I))
        name = m.group(1) if m else "?"
        return (f"{path}: the model uses the class {name!r}, which is neither Keras nor QKeras; "
                f"pass the Python file defining it with {custom_hint()}")
    return f"{path}: cannot load model: {type(exc).__name__}: {first(msg)}"
