"""Every way a model gets in: vetting, the Keras path, Keras-2 formats, repairs, samples.

:func:`load_file` is the door: a model file and its :class:`~qreport.options.LoadOptions`
in, a Keras model out, after :mod:`.vet` has passed the file.
"""

from __future__ import annotations

from importlib import resources

from ..errors import QReportError
from ..options import LoadOptions, spelling


def load_file(path: str, opts: LoadOptions = LoadOptions()):
    """Load a model file as the options say.

    Returns:
        (model, weights): the Keras model, and the name of the file its
        weights came from (None for an architecture without weights).

    Raises:
        QReportError: the file cannot be loaded; the message says why.
    """
    from .keras import load, user_objects

    custom = None
    if opts.custom_objects:
        if not opts.unsafe_load:
            raise QReportError(f"{opts.custom_objects}: {spelling('custom_objects').split()[0]} "
                               f"runs that Python file; pass {spelling('unsafe_load')} too if "
                               "you trust it")
        custom = user_objects(opts.custom_objects)
    return load(path, unsafe=opts.unsafe_load, weights=opts.weights, custom=custom)


def hgq2_file(path: str) -> bool:
    """True for a ``.keras`` archive or a legacy ``.h5`` whose config holds HGQ2 layers
    (read without Keras).  An ``.h5`` is read in a forked child first (:mod:`.hdf5probe`)."""
    import json
    import zipfile

    from .hgq2 import is_hgq2_config
    from .vet import MAX_JSON

    if path.lower().endswith((".h5", ".hdf5")):
        return _hgq2_h5(path)
    if not path.lower().endswith(".keras") or not zipfile.is_zipfile(path):
        return False
    try:
        with zipfile.ZipFile(path) as z:
            info = z.getinfo("config.json")
            if info.file_size > MAX_JSON:
                return False
            return is_hgq2_config(json.loads(z.read("config.json")))
    except (KeyError, ValueError, OSError, RecursionError, zipfile.BadZipFile, EOFError):
        return False


def _hgq2_h5(path: str) -> bool:
    import json
    import os

    from .hdf5probe import probe
    from .hgq2 import is_hgq2_config

    try:
        with open(path, "rb") as f:
            if f.read(8) != b"\x89HDF\r\n\x1a\n":
                return False
    except OSError:
        return False
    if os.path.getsize(path) == 0:
        return False
    probe(path)   # a damaged or hostile file is refused here, before h5py reads it in-process
    try:
        import h5py

        with h5py.File(path, "r") as h:
            raw = h.attrs.get("model_config")
        if raw is None or len(raw) > (64 << 20):
            return False
        return is_hgq2_config(json.loads(raw.decode() if isinstance(raw, bytes) else raw))
    except Exception:  # noqa: BLE001  not an HGQ2 file: the usual path says why
        return False


def load_hgq2(path: str, opts: LoadOptions = LoadOptions()):
    """An HGQ2 archive vetted and read directly (:mod:`.hgq2`): nothing in it is imported or run.

    Raises:
        QReportError: the file fails the checks or holds what qreport does not read.
    """
    from .hgq2 import read_hgq2
    from .vet import check_model_path

    if opts.custom_objects or opts.weights:
        raise QReportError(f"{path}: an HGQ2 model is read directly; "
                           f"{spelling('custom_objects').split()[0]} and "
                           f"{spelling('weights').split()[0]} do not apply")
    # nothing named in the file is imported on this path: a module name ("hgq.layers",
    # or "builtins" for an activation saved as a function) is only a label here
    vetted = check_model_path(path, allow=("hgq", "builtins"))
    return read_hgq2(path, vetted.config, "keras" if path.lower().endswith(".keras") else "h5")


def examples() -> dict[str, str]:
    """Bundled example models: name -> path inside the installed package."""
    root = resources.files("qreport.bundled")
    return {p.name[:-6]: str(p) for p in sorted(root.iterdir(), key=lambda p: p.name)
            if p.name.endswith(".keras")}


def example_path(name: str) -> str:
    """The bundled example ``name``'s file.

    Raises:
        QReportError: there is no such example.
    """
    ex = examples()
    if name not in ex:
        raise QReportError(f"unknown example {name!r}; available: {', '.join(ex)}")
    return ex[name]


def model_path(arg: str) -> str:
    """A model argument: a file, or ``example:NAME`` for a bundled example."""
    return example_path(arg.split(":", 1)[1]) if arg.startswith("example:") else arg
