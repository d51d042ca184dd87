"""HGQ2 models read directly: no hgq2, no Keras, nothing in the file run.

hgq2 cannot share qreport's install (its wheel puts a ``qkeras`` package
over qkeras-v3's), so its models are read as files: the graph and each
quantizer's modes from the model config, the weights and the trained bit
widths from the weights file, in both forms HGQ2 users publish:

- a ``.keras`` archive (``config.json`` + ``model.weights.h5``);
- a legacy Keras-3 ``.h5`` (``model_config`` + ``model_weights``);

functional or Sequential, saved by hgq2 0.1.x or 0.2.x.  What this package
hands over is plain data (:class:`.raw.RawModel`); :mod:`qreport.analysis.hgq`
gives it meaning.  Every class, shape, width and mode is checked; anything
else is one clear error (:class:`~qreport.errors.QReportError`).
"""

from __future__ import annotations

import io
import zipfile

from . import classes
from .nodes import layer
from .raw import RawLayer, RawModel, RawQuantizer, TensorRef, fail
from .store import Store

__all__ = ["RawLayer", "RawModel", "RawQuantizer", "TensorRef", "is_hgq2_config", "read_hgq2"]


def is_hgq2_config(config: dict) -> bool:
    """True when a model config holds a layer registered by HGQ2 (``hgq>…``, ``hgq2>…``)."""
    layers = (config.get("config") or {}).get("layers") if isinstance(config, dict) else None
    if not isinstance(layers, list):
        return False
    for l in layers:
        if not isinstance(l, dict):
            continue
        names = (str(l.get("registered_name") or ""), str(l.get("class_name") or ""))
        if any(n.startswith(("hgq>", "hgq2>", "hgq/")) for n in names) or \
                str(l.get("module") or "").startswith("hgq."):
            return True
    return False


def _open(path: str, form: str):
    import h5py

    try:
        if form == "keras":
            with zipfile.ZipFile(path) as z:
                if "model.weights.h5" not in z.namelist():
                    raise fail(path, "an HGQ2 archive without model.weights.h5: its trained bit "
                                     "widths are weights, so there is nothing to report")
                return h5py.File(io.BytesIO(z.read("model.weights.h5")), "r")
        return h5py.File(path, "r")
    except (OSError, KeyError, ValueError) as exc:
        raise fail(path, f"damaged weights file ({type(exc).__name__})") from None


def read_hgq2(path: str, config: dict, form: str = "keras") -> RawModel:
    """The model's graph, weights and quantizers, read from the file (already vetted).

    Args:
        path: the ``.keras`` archive or the legacy ``.h5`` file.
        config: its model config.
        form: ``"keras"`` or ``"h5"``.

    Raises:
        QReportError: a class qreport does not read, a missing or malformed
            variable, a width out of range; the message names it.
    """
    kind = config.get("class_name")
    cfg = config.get("config") or {}
    entries = cfg.get("layers")
    if kind not in ("Functional", "Model", "Sequential") or not isinstance(entries, list):
        raise fail(path, f"the model is a {str(kind)[:40]!r}; qreport reads functional and "
                         "Sequential HGQ2 models")
    if kind == "Sequential":
        entries = _chained(entries, path)
    store = Store(_open(path, form), form, path)
    rename: dict[str, str] = {}
    out, inputs = [], []
    with store.h5:
        for e in entries:
            if not isinstance(e, dict):
                raise fail(path, "a layer entry is not an object")
            cls, _ = classes.class_of(e)
            c = e.get("config") or {}
            name = str(e.get("name") or c.get("name"))
            if cls == "InputLayer":
                shape = c.get("batch_shape") or c.get("batch_input_shape")
                if not isinstance(shape, list) or not all(isinstance(s, int) and s > 0
                                                          for s in shape[1:]):
                    raise fail(path, f"input {name!r}: its shape {shape!r} is not fixed")
                inputs.append((name, (None,) + tuple(shape[1:])))
                continue
            ops = str(e.get("module") or "").startswith("keras.src.ops") or \
                (not e.get("module") and e.get("registered_name") == cls)
            vars_ = None if ops else store.layer(name, cls)
            out.extend(layer(e, vars_, rename, path))
    outs = []
    for o in cfg.get("output_layers") or []:
        if isinstance(o, list) and len(o) == 3 and isinstance(o[0], str):
            outs.append(TensorRef(rename.get(o[0], o[0]), int(o[1]), int(o[2])))
    if kind == "Sequential" and out:
        outs = [TensorRef(rename.get(out[-1].name, out[-1].name))]
    return RawModel(str(cfg.get("name", "model")), tuple(inputs), tuple(outs), tuple(out), form)


def _chained(entries: list, path: str) -> list:
    """A Sequential model's layers as a functional config: each reads the one before it."""
    entries = [dict(e) for e in entries if isinstance(e, dict)]
    if not entries:
        raise fail(path, "an empty Sequential model")
    if classes.class_of(entries[0])[0] != "InputLayer":
        c = entries[0].get("config") or {}
        shape = c.get("batch_input_shape") or c.get("batch_shape") or \
            ((entries[0].get("build_config") or {}).get("input_shape"))
        entries.insert(0, {"class_name": "InputLayer", "name": "input_layer",
                           "config": {"batch_shape": shape, "name": "input_layer"}})
    prev = None
    for e in entries:
        c = e.get("config") or {}
        e.setdefault("name", c.get("name"))
        if prev is not None:
            e["inbound_nodes"] = [{"args": [{"class_name": "__keras_tensor__",
                                             "config": {"keras_history": [prev, 0, 0]}}],
                                   "kwargs": {}}]
        prev = e["name"]
    return entries
