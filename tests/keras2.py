"""Keras-2 model files written by hand, as QKeras on Keras 2 wrote them.

hls4ml's example models are published as an architecture JSON (Keras 2's
``model.to_json()``) and a weights HDF5 (``model.save_weights``).  Keras 2
is not installed here, so the tests write both formats directly: the JSON
with Keras 2's layout (``batch_input_shape``, quantizers as
``{"class_name", "config"}`` dicts, ``keras_version`` 2.4.0) and the HDF5
with Keras 2's (``layer_names`` and ``weight_names`` attributes, datasets
at ``<layer>/<layer>/<var>:0``).
"""

import json

import h5py
import numpy as np


def qbits(bits, integer, alpha=1):
    return {"class_name": "quantized_bits",
            "config": {"bits": bits, "integer": integer, "symmetric": 0, "alpha": alpha,
                       "keep_negative": True, "use_stochastic_rounding": False,
                       "qnoise_factor": 1.0}}


def qdense(name, units, kq, bq, first_shape=None):
    cfg = {"name": name, "trainable": True, "dtype": "float32", "units": units,
           "activation": "linear", "use_bias": True,
           "kernel_initializer": {"class_name": "Zeros", "config": {}},
           "bias_initializer": {"class_name": "Zeros", "config": {}},
           "kernel_regularizer": None, "bias_regularizer": None, "activity_regularizer": None,
           "kernel_constraint": None, "bias_constraint": None,
           "kernel_quantizer": kq, "bias_quantizer": bq, "kernel_range": None, "bias_range": None}
    if first_shape is not None:
        cfg["batch_input_shape"] = [None, *first_shape]
    return {"class_name": "QDense", "config": cfg}


def qact(name, q):
    return {"class_name": "QActivation",
            "config": {"name": name, "trainable": True, "dtype": "float32", "activation": q}}


def mlp_config(units=(8, 4, 3), n_in=6, name="mlp"):
    """A Keras-2 Sequential QDense/QActivation network, the shape of hls4ml's 3-layer model."""
    layers = [{"class_name": "InputLayer",
               "config": {"batch_input_shape": [None, n_in], "dtype": "float32", "sparse": False,
                          "ragged": False, "name": "x"}}]
    for i, u in enumerate(units):
        layers.append(qdense(f"fc{i + 1}", u, qbits(6, 0), qbits(6, 0),
                             first_shape=(n_in,) if i == 0 else None))
        if i < len(units) - 1:
            layers.append(qact(f"relu{i + 1}", "quantized_relu(6)"))
    return {"class_name": "Sequential", "config": {"name": name, "layers": layers},
            "keras_version": "2.4.0", "backend": "tensorflow"}


def cnn_config(name="cnn"):
    """A Keras-2 functional CNN with a QDepthwiseConv2D that carries Keras 2.4's ``groups: 1``."""
    def conv(cls, lname, extra, inbound):
        cfg = {"name": lname, "trainable": True, "dtype": "float32", "kernel_size": [3, 3],
               "strides": [1, 1], "padding": "valid", "data_format": "channels_last",
               "dilation_rate": [1, 1], "groups": 1, "activation": "linear", "use_bias": True,
               "bias_initializer": {"class_name": "Zeros", "config": {}},
               "bias_quantizer": qbits(8, 3), **extra}
        return {"class_name": cls, "config": cfg, "name": lname, "inbound_nodes": [[[inbound, 0, 0, {}]]]}

    layers = [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 8, 8, 2], "dtype": "float32",
                                                "sparse": False, "ragged": False, "name": "img"},
         "name": "img", "inbound_nodes": []},
        conv("QConv2D", "c1", {"filters": 4, "kernel_quantizer": qbits(4, 0),
                               "kernel_initializer": {"class_name": "Zeros", "config": {}}}, "img"),
        {"class_name": "QActivation", "config": {"name": "r1", "trainable": True, "dtype": "float32",
                                                 "activation": "quantized_relu(4,2)"},
         "name": "r1", "inbound_nodes": [[["c1", 0, 0, {}]]]},
        conv("QDepthwiseConv2D", "dw", {"depth_multiplier": 1, "depthwise_quantizer": qbits(4, 0),
                                        "depthwise_initializer": {"class_name": "Zeros", "config": {}}},
             "r1"),
        {"class_name": "Flatten", "config": {"name": "flat", "trainable": True, "dtype": "float32",
                                             "data_format": "channels_last"},
         "name": "flat", "inbound_nodes": [[["dw", 0, 0, {}]]]},
        {**qdense("out", 3, qbits(6, 0), qbits(8, 3)), "name": "out",
         "inbound_nodes": [[["flat", 0, 0, {}]]]},
    ]
    return {"class_name": "Model",
            "config": {"name": name, "layers": layers, "input_layers": [["img", 0, 0]],
                       "output_layers": [["out", 0, 0]]},
            "keras_version": "2.4.0", "backend": "tensorflow"}


def write_weights(path, config, weights: dict, seed=None):
    """The Keras-2 weights HDF5 of config: {layer: [arrays in Keras's order]}.

    ``weights`` names every layer that has weights; layers not named get an
    empty ``weight_names`` (as Keras 2 wrote activations and inputs).
    """
    names = [l["config"]["name"] for l in config["config"]["layers"]
             if config["class_name"] != "Sequential" or l["class_name"] != "InputLayer"]
    var_names = {"QDense": ("kernel", "bias"), "QConv2D": ("kernel", "bias"),
                 "QDepthwiseConv2D": ("depthwise_kernel", "bias")}
    cls = {l["config"]["name"]: l["class_name"] for l in config["config"]["layers"]}
    with h5py.File(path, "w") as h:
        h.attrs["layer_names"] = np.array([n.encode() for n in names])
        h.attrs["backend"] = b"tensorflow"
        h.attrs["keras_version"] = b"2.4.0"
        for n in names:
            g = h.create_group(n)
            ws = weights.get(n, [])
            wn = [f"{n}/{v}:0".encode() for v in var_names.get(cls[n], ())][:len(ws)]
            g.attrs["weight_names"] = np.array(wn) if wn else np.array([], dtype=np.float64)
            for key, w in zip(wn, ws):
                g.create_dataset(key.decode(), data=np.asarray(w, dtype=np.float32))


def random_weights(config, seed=0, scale=0.5):
    """{layer: [kernel, bias]} of the right shapes for mlp_config/cnn_config networks."""
    rng = np.random.default_rng(seed)
    out, shape = {}, None
    for l in config["config"]["layers"]:
        c = l["config"]
        if l["class_name"] == "InputLayer":
            shape = tuple(c["batch_input_shape"][1:])
        elif l["class_name"] == "QDense":
            n_in = int(np.prod(shape))
            out[c["name"]] = [rng.normal(0, scale, (n_in, c["units"])), rng.normal(0, scale, c["units"])]
            shape = (c["units"],)
        elif l["class_name"] == "QConv2D":
            out[c["name"]] = [rng.normal(0, scale, (3, 3, shape[-1], c["filters"])),
                              rng.normal(0, scale, c["filters"])]
            shape = (shape[0] - 2, shape[1] - 2, c["filters"])
        elif l["class_name"] == "QDepthwiseConv2D":
            out[c["name"]] = [rng.normal(0, scale, (3, 3, shape[-1], 1)), rng.normal(0, scale, shape[-1])]
            shape = (shape[0] - 2, shape[1] - 2, shape[-1])
    return out


def write_pair(directory, stem, config, weights, weights_name=None, double=False):
    """Write <stem>.json (and its weights, <stem>_weights.h5 by default); the JSON's path."""
    text = json.dumps(config)
    p = directory / f"{stem}.json"
    p.write_text(json.dumps(text) if double else text)
    if weights is not None:
        write_weights(directory / (weights_name or f"{stem}_weights.h5"), config, weights)
    return p
