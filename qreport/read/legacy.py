"""Keras-2 architecture JSON plus weights, as hls4ml's example models are published.

Keras 3 reads the old layout through its legacy deserializer (old class
names, ``batch_input_shape``, dict-style quantizers) and the old weights
layout (``layer_names`` / ``weight_names`` attributes) through its legacy
HDF5 reader.  A few things published files carry that qkeras-v3 refuses
are repaired in the config, in memory, before Keras sees it.
"""

from __future__ import annotations

import copy
import os

from ..errors import QReportError

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def repair_config(config: dict) -> dict:
    """A copy of a Keras-2 model config with what qkeras-v3 refuses removed.

    - ``groups`` in a QDepthwiseConv2D config (Keras 2.4 wrote ``groups: 1``
      for every convolution; qkeras-v3's QDepthwiseConv2D takes no such argument).
    """
    config = copy.deepcopy(config)
    stack = [config]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node.get("class_name") in ("QDepthwiseConv2D", "DepthwiseConv2D") \
                    and isinstance(node.get("config"), dict) and node["config"].get("groups", 1) == 1:
                node["config"].pop("groups", None)
            stack.extend(v for v in node.values() if isinstance(v, (dict, list)))
        elif isinstance(node, list):
            stack.extend(v for v in node if isinstance(v, (dict, list)))
    return config


def weights_beside(path: str) -> str | None:
    """``<stem>_weights.h5`` or ``<stem>.h5`` (also .hdf5) next to the JSON, if one exists."""
    stem = os.path.splitext(path)[0]
    for cand in (f"{stem}_weights.h5", f"{stem}.h5", f"{stem}_weights.hdf5", f"{stem}.hdf5"):
        if os.path.isfile(cand):
            return cand
    return None


def weights_file(path: str, weights: str | None) -> str | None:
    """The weights file of the architecture ``path`` (given, or found beside it), checked
    to be HDF5 and probed (:mod:`.hdf5probe`); None when there is none.

    Raises:
        QReportError: the given file is missing, or is not a readable HDF5 file.
    """
    from .hdf5probe import probe

    if weights is not None and not os.path.isfile(weights):
        raise QReportError(f"{weights}: weights file not found")
    weights = weights or weights_beside(path)
    if weights is None:
        return None
    with open(weights, "rb") as f:
        if f.read(8) != HDF5_SIGNATURE:
            raise QReportError(f"{weights}: not an HDF5 weights file")
    probe(weights)
    return weights


def load_architecture(path: str, config: dict, weights: str | None, objects: dict):
    """(model, weights file name or None) from a vetted Keras-2 config and the
    :func:`weights_file` found for it.

    Raises:
        QReportError: the weights do not fit the architecture.
    """
    import h5py
    from keras.src.legacy.saving import legacy_h5_format, saving_utils

    model = saving_utils.model_from_config(repair_config(config), custom_objects=objects)
    if weights is None:
        return model, None
    try:
        with h5py.File(weights, "r") as h:
            group = h["model_weights"] if "model_weights" in h else h  # a full-model .h5 works too
            if "layer_names" not in group.attrs:
                raise QReportError(f"{weights}: not a Keras weights file (no layer_names: saved "
                                   "by Keras 3? use the .keras file instead)")
            legacy_h5_format.load_weights_from_hdf5_group(group, model)
    except QReportError:
        raise
    except Exception as exc:  # noqa: BLE001  h5py and Keras raise many types
        msg = " ".join(str(exc).split())
        raise QReportError(f"{weights}: the weights do not fit {os.path.basename(path)} "
                           f"({type(exc).__name__}: {msg[:240]})") from None
    return model, os.path.basename(weights)
