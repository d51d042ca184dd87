"""Vetting a model file before Keras reads any of it.

- the file's form (suffix, zip or HDF5 signature, zip-bomb limits);
- the config: no Lambda without ``unsafe_load``, quantizer strings and
  dicts that are QKeras quantizers with literal arguments, classes only from
  Keras, QKeras or the user's custom objects, no absurd nesting or sizes;
- every HDF5 file read whole in a forked child first (:mod:`.hdf5probe`).

:func:`check_model_path` returns the :class:`Vetted` file: its config and
how many values its weights hold, which bounds what loading may allocate
(:mod:`.keras`).
"""

from __future__ import annotations

import json
import os
import zipfile
from dataclasses import dataclass

from ..errors import QReportError
from ..options import spelling
from .hdf5probe import probe, stored_elements

SUFFIXES = (".keras", ".h5", ".hdf5", ".json")
MAX_JSON = 64 << 20                  # an architecture JSON larger than 64 MiB is refused
MAX_UNCOMPRESSED = 8 << 30           # an archive that inflates beyond 8 GiB is refused
MAX_RATIO = 200                      # ... or that inflates 200x (a zip bomb), above 64 MiB
MAX_DEPTH = 64                       # a config nested deeper is not a model config
MAX_DIM = 1 << 24                    # a declared size (units, filters, a dimension) above it is refused
MAX_TENSOR = 1 << 28                 # an input of more elements than this is refused
#: Values a model without a weights file may allocate (256 MiB of float32).
MAX_ARCHITECTURE_VALUES = 1 << 26
QUANTIZER_FIELDS = ("quantizer", "activation")  # config keys that QKeras turns into quantizers
ALLOWED_MODULES = ("keras", "qkeras")
#: config keys whose integers size a layer's weights or a tensor
SIZE_KEYS = ("units", "filters", "kernel_size", "depth_multiplier", "input_dim", "output_dim",
             "batch_shape", "batch_input_shape", "shape", "target_shape", "size", "pool_size",
             "strides", "dilation_rate", "num_heads", "key_dim", "value_dim")
MODEL_CLASSES = ("Sequential", "Functional", "Model")


@dataclass(frozen=True)
class Vetted:
    """A model file that passed the checks: its config and the values its weights hold
    (None: no weights stored in it)."""

    config: dict
    stored_values: int | None


def _config_json(raw, path: str, what: str) -> dict:
    try:
        return json.loads(raw.decode() if isinstance(raw, bytes) else raw)
    except RecursionError:
        raise QReportError(f"{path}: not a model config ({what} is nested too deeply)") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise QReportError(f"{path}: {what} is not valid JSON ({exc})") from None


def check_model_path(path: str, unsafe: bool = False, custom=(), allow=()) -> Vetted:
    """Cheap checks before Keras is imported.

    Raises:
        QReportError: the file is not a model qreport may load; the message says why.
    """
    if not os.path.exists(path):
        raise QReportError(f"{path}: no such file")
    if os.path.isdir(path):
        raise QReportError(f"{path}: is a directory, not a model file")
    if not path.lower().endswith(SUFFIXES):
        raise QReportError(f"{path}: unknown model format (expected {', '.join(SUFFIXES)})")
    if os.path.getsize(path) == 0:
        raise QReportError(f"{path}: file is empty")
    if path.lower().endswith(".json"):
        config = read_architecture(path)
        vet_config(config, path, unsafe, custom)
        return Vetted(config, None)
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
            config = _config_json(z.read("config.json"), path, "config.json")
        vet_config(config, path, unsafe, custom, allow)
        if "model.weights.h5" not in names:
            return Vetted(config, None)
        probe(path, "model.weights.h5", f"{path}: model.weights.h5")
        return Vetted(config, stored_elements(path, "model.weights.h5", f"{path}: model.weights.h5"))
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
        config = _config_json(raw, path, "model_config")
        vet_config(config, path, unsafe, custom, allow)
        return Vetted(config, stored_elements(path))


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
    except RecursionError:
        raise QReportError(f"{path}: not a model config (nested too deeply)") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise QReportError(f"{path}: not valid JSON ({first(str(exc), 160)})") from None
    if not (isinstance(config, dict) and config.get("class_name") in MODEL_CLASSES
            and isinstance(config.get("config"), dict)):
        raise QReportError(f"{path}: not a Keras model architecture (expected a JSON object with "
                           f"class_name {', '.join(MODEL_CLASSES)} and a config)")
    return config



def vet_config(config, path: str, unsafe: bool = False, custom=(), allow=()) -> None:
    """Refuse a model config that reaches outside Keras/QKeras, or is absurd, before Keras reads it.

    QKeras turns quantizer strings into objects with its own parser, which
    calls any module-level function of qkeras.quantizers by name; qreport
    does not rely on it: every quantizer string must be a literal call of a
    QKeras quantizer (or a plain Keras activation name), and every
    ``module`` a config names must be Keras or QKeras.  A config nested
    deeper than :data:`MAX_DEPTH`, a declared size over :data:`MAX_DIM` or an
    input of more than :data:`MAX_TENSOR` values is not a model qreport reads.
    """
    from ..analysis.quantizers import QUANTIZER_KINDS, QuantizerError, parse_quantizer

    unsafe_hint = f"pass {spelling('unsafe_load')} only if you trust the file"
    stack = [(config, "", 0)]
    seen = 0
    while stack:
        node, where, depth = stack.pop()
        seen += 1
        if seen > 2_000_000:
            raise QReportError(f"{path}: config.json is unreasonably large")
        if depth > MAX_DEPTH:
            raise QReportError(f"{path}: not a model config (nested more than {MAX_DEPTH} "
                               "levels deep)")
        if isinstance(node, dict):
            if node.get("class_name") == "Lambda":
                if not unsafe:
                    raise QReportError(f"{path}: the model contains a Lambda layer{where}, which "
                                       f"runs arbitrary code; refused in safe mode ({unsafe_hint})")
                continue  # trusted by the user: its code (and its module) are its own
            mod, cls = node.get("module"), node.get("class_name")
            if isinstance(mod, str) and mod.split(".")[0] not in ALLOWED_MODULES + tuple(allow) \
                    and cls not in custom:
                what = f"the class {cls!r} from module {mod!r}" if isinstance(cls, str) else f"module {mod!r}"
                raise QReportError(f"{path}: the model config refers to {what}{where}; qreport "
                                   "loads Keras and QKeras classes, and others only from a file "
                                   f"given with {custom_hint()}")
            for k, v in node.items():
                if isinstance(k, str) and k in SIZE_KEYS:
                    _vet_size(k, v, where, path)
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
                    stack.append((v, f" (in {name!r})" if name else where, depth + 1))
        elif isinstance(node, list):
            stack.extend((v, where, depth + 1) for v in node if isinstance(v, (dict, list)))


def custom_hint() -> str:
    """How to give qreport a class that is neither Keras nor QKeras."""
    return (f"{spelling('custom_objects')} (runs that file: needs {spelling('unsafe_load')})")


def _vet_size(key: str, value, where: str, path: str) -> None:
    """A declared size: every integer in it at most MAX_DIM, an input shape at most MAX_TENSOR values."""
    values = value if isinstance(value, list) else [value]
    ints = [v for v in values if isinstance(v, int) and not isinstance(v, bool)]
    big = [v for v in ints if v > MAX_DIM]
    if big:
        raise QReportError(f"{path}: the config declares {key} = {big[0]:,}{where}, over the "
                           f"{MAX_DIM:,} qreport accepts; refused before anything is built")
    if key in ("batch_shape", "batch_input_shape", "shape"):
        n = 1
        for v in ints:
            n *= max(v, 1)
        if n > MAX_TENSOR:
            raise QReportError(f"{path}: the config declares an input of {n:,} values{where}, "
                               f"over the {MAX_TENSOR:,} qreport accepts; refused before "
                               "anything is built")


def _vet_quantizer_string(text, where, path, parse, error, kinds):
    import re

    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", text) and text not in kinds:
        return  # a plain activation name ("relu", "linear"): Keras looks it up by name
    try:
        parse(text)
    except error as exc:
        raise QReportError(f"{path}: refused quantizer string{where}: {exc}") from None




def first(msg: str, n: int = 300) -> str:
    """``msg`` cut to ``n`` characters, with an ellipsis when cut."""
    return msg if len(msg) <= n else msg[: n - 1] + "…"
