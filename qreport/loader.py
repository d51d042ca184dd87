"""Loading model files: QKeras objects registered, Keras safe mode on.

The forms it reads:

- a Keras 3 ``.keras`` archive, or a full-model ``.h5`` (Keras 2 or 3);
- a Keras-2 architecture ``.json`` with its weights ``.h5`` (``--weights``,
  or found beside it as ``<stem>_weights.h5`` / ``<stem>.h5``), or with no
  weights at all (an architecture-only report).

Every config is vetted before Keras reads it (:func:`vet_config`), and
every HDF5 file is read whole in a forked child first (:mod:`.hdf5probe`).
The user's files are only read.
"""

from __future__ import annotations

import json
import os
import zipfile

from .errors import QReportError
from .hdf5probe import probe

SUFFIXES = (".keras", ".h5", ".hdf5", ".json")
MAX_JSON = 64 << 20                  # an architecture JSON larger than 64 MiB is refused
MAX_UNCOMPRESSED = 8 << 30           # an archive that inflates beyond 8 GiB is refused
MAX_RATIO = 200                      # ... or that inflates 200x (a zip bomb), above 64 MiB
QUANTIZER_FIELDS = ("quantizer", "activation")  # config keys that QKeras turns into quantizers
ALLOWED_MODULES = ("keras", "qkeras")


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
        raise QReportError(f"{path}: --custom-objects needs a Python file (.py)")
    spec = importlib.util.spec_from_file_location("qreport_custom_objects", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # noqa: BLE001  the user's code, any error
        raise QReportError(f"{path}: cannot run the custom objects file "
                           f"({type(exc).__name__}: {_first(' '.join(str(exc).split()))})") from None
    found = {n: c for n, c in vars(module).items()
             if inspect.isclass(c) and issubclass(c, keras.layers.Layer) and c.__module__ == module.__name__}
    if not found:
        raise QReportError(f"{path}: defines no Keras layer class")
    return found


def check_model_path(path: str, unsafe: bool = False, custom=()) -> None:
    """Cheap checks before importing TensorFlow; QReportError on failure."""
    if not os.path.exists(path):
        raise QReportError(f"{path}: no such file")
    if os.path.isdir(path):
        raise QReportError(f"{path}: is a directory, not a model file")
    if not path.lower().endswith(SUFFIXES):
        raise QReportError(f"{path}: unknown model format (expected {', '.join(SUFFIXES)})")
    if os.path.getsize(path) == 0:
        raise QReportError(f"{path}: file is empty")
    if path.lower().endswith(".json"):
        vet_config(read_architecture(path), path, unsafe, custom)
        return
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
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
            total = sum(i.file_size for i in infos)
            packed = sum(i.compress_size for i in infos) or 1
            if total > MAX_UNCOMPRESSED or (total > 64 << 20 and total / packed > MAX_RATIO):
                raise QReportError(f"{path}: archive inflates to {total / 2**30:.1f} GiB "
                                   f"({total / packed:.0f}x its size); refused as a likely zip bomb")
            try:
                config = json.loads(z.read("config.json"))
            except (ValueError, UnicodeDecodeError) as exc:
                raise QReportError(f"{path}: config.json is not valid JSON ({exc})") from None
        vet_config(config, path, unsafe, custom)
        if "model.weights.h5" in names:
            probe(path, "model.weights.h5", f"{path}: model.weights.h5")
    else:
        with open(path, "rb") as f:
            if f.read(8) != b"\x89HDF\r\n\x1a\n":
                raise QReportError(f"{path}: not an HDF5 file")
        probe(path)
        try:
            import h5py

            with h5py.File(path, "r") as h:
                raw = h.attrs.get("model_config")
        except Exception as exc:  # h5py raises OSError/KeyError/... on damaged files
            raise QReportError(f"{path}: damaged HDF5 file ({type(exc).__name__}: {exc})") from None
        if raw is None:
            raise QReportError(f"{path}: HDF5 file holds no Keras model (no model_config)")
        try:
            config = json.loads(raw.decode() if isinstance(raw, bytes) else raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise QReportError(f"{path}: model_config is not valid JSON ({exc})") from None
        vet_config(config, path, unsafe, custom)


def read_architecture(path: str) -> dict:
    """The model config of a Keras-2 architecture JSON, decoded once more if double-encoded.

    Raises:
        QReportError: not a Keras model config.
    """
    if os.path.getsize(path) > MAX_JSON:
        raise QReportError(f"{path}: architecture JSON larger than {MAX_JSON >> 20} MiB; refused")
    try:
        with open(path, encoding="utf-8") as f:
            config = json.load(f)
        if isinstance(config, str):  # published files: the JSON text stored as a JSON string
            config = json.loads(config)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise QReportError(f"{path}: not valid JSON ({_first(str(exc), 160)})") from None
    if not (isinstance(config, dict) and config.get("class_name") in MODEL_CLASSES
            and isinstance(config.get("config"), dict)):
        raise QReportError(f"{path}: not a Keras model architecture (expected a JSON object with "
                           f"class_name {', '.join(MODEL_CLASSES)} and a config)")
    return config


MODEL_CLASSES = ("Sequential", "Functional", "Model")


def vet_config(config, path: str, unsafe: bool = False, custom=()) -> None:
    """Refuse a model config that reaches outside Keras/QKeras, before Keras reads it.

    QKeras turns quantizer strings into objects with its own parser, which
    calls any module-level function of qkeras.quantizers by name; qreport
    does not rely on it: every quantizer string must be a literal call of a
    QKeras quantizer (or a plain Keras activation name), and every
    ``module`` a config names must be Keras or QKeras.
    """
    from .analysis.quantizers import QUANTIZER_KINDS, QuantizerError, parse_quantizer

    stack = [(config, "")]
    seen = 0
    while stack:
        node, where = stack.pop()
        seen += 1
        if seen > 2_000_000:
            raise QReportError(f"{path}: config.json is unreasonably large")
        if isinstance(node, dict):
            if node.get("class_name") == "Lambda":
                if not unsafe:
                    raise QReportError(f"{path}: the model contains a Lambda layer{where}, which "
                                       "runs arbitrary code; refused in safe mode (pass "
                                       "--unsafe-load only if you trust the file)")
                continue  # trusted by the user: its code (and its module) are its own
            mod, cls = node.get("module"), node.get("class_name")
            if isinstance(mod, str) and mod.split(".")[0] not in ALLOWED_MODULES and cls not in custom:
                what = f"the class {cls!r} from module {mod!r}" if isinstance(cls, str) else f"module {mod!r}"
                raise QReportError(f"{path}: the model config refers to {what}{where}; qreport "
                                   "loads Keras and QKeras classes, and others only from a file "
                                   "given with --custom-objects FILE.py (runs that file: needs "
                                   "--unsafe-load)")
            for k, v in node.items():
                if isinstance(v, str) and isinstance(k, str) and k.endswith(QUANTIZER_FIELDS):
                    _vet_quantizer_string(v, f"{where} {k}", path, parse_quantizer,
                                          QuantizerError, QUANTIZER_KINDS)
                elif isinstance(v, dict) and isinstance(k, str) and k.endswith("quantizer") \
                        and v.get("class_name") not in QUANTIZER_KINDS + (None,):
                    # qkeras looks a quantizer dict's class_name up among all the names of
                    # its module: only quantizer classes may be named there
                    raise QReportError(f"{path}: refused quantizer{where} {k}: "
                                       f"{str(v.get('class_name'))[:60]!r} is not a QKeras quantizer")
                elif isinstance(v, (dict, list)):
                    name = node.get("name") if isinstance(node.get("name"), str) else None
                    stack.append((v, f" (in {name!r})" if name else where))
        elif isinstance(node, list):
            stack.extend((v, where) for v in node if isinstance(v, (dict, list)))


def _vet_quantizer_string(text, where, path, parse, error, kinds):
    import re

    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", text) and text not in kinds:
        return  # a plain activation name ("relu", "linear"): Keras looks it up by name
    try:
        parse(text)
    except error as exc:
        raise QReportError(f"{path}: refused quantizer string{where}: {exc}") from None


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
    if weights is not None and not path.lower().endswith(".json"):
        raise QReportError(f"{path}: --weights goes with an architecture .json; "
                           "this file holds its own weights")
    check_model_path(path, unsafe, tuple(custom or ()))
    keras = import_keras()
    objs = custom_objects(custom)
    from keras.src.saving.serialization_lib import SafeModeScope

    from . import repair

    try:
        with keras.saving.custom_object_scope(objs), SafeModeScope(not unsafe), \
                repair.registered(repair.classes()):
            if path.lower().endswith(".json"):
                from .legacy import load_architecture

                return load_architecture(path, read_architecture(path), weights, objs)
            return keras.saving.load_model(path, compile=False, safe_mode=not unsafe,
                                           custom_objects=objs), os.path.basename(path)
    except QReportError:
        raise
    except Exception as exc:  # Keras raises many types; translate them all
        raise QReportError(_explain(path, exc)) from exc


def _explain(path: str, exc: Exception) -> str:
    msg = " ".join(str(exc).split())
    low = msg.lower()
    if "lambda" in low and ("safe_mode" in low or "unsafe" in low or "deserializ" in low):
        return (f"{path}: the model contains a Lambda layer, which runs arbitrary code; "
                "refused in safe mode (pass --unsafe-load only if you trust the file)")
    if "could not locate" in low or "unknown layer" in low or ("not found" in low and "class" in low):
        import re

        m = (re.search(r"could not locate (?:class|function) '([^']+)'", msg, re.I)
             or re.search(r"unknown layer:?\s*'([^']+)'", msg, re.I))
        name = m.group(1) if m else "?"
        return (f"{path}: the model uses the class {name!r}, which is neither Keras nor QKeras; "
                "pass the Python file defining it with --custom-objects FILE.py (runs that "
                "file: needs --unsafe-load)")
    return f"{path}: cannot load model: {type(exc).__name__}: {_first(msg)}"


def _first(msg: str, n: int = 300) -> str:
    return msg if len(msg) <= n else msg[: n - 1] + "…"
