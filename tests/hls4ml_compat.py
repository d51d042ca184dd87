"""Test-side workarounds for hls4ml 1.3.0 on Keras 3 with QKeras layers.

Test code only: qreport never patches hls4ml, and the configuration it
exports is plain data any hls4ml user can use.
"""
import importlib
from types import FunctionType

import numpy as np


def patch_hls4ml():
    """hls4ml 1.3.0's Keras-3 parser hands QActivation, and Q layers whose
    ``activation=`` is a quantizer, to its Keras-2 handlers, then asserts the
    activation is a plain function ("Activation function for layer X is not a
    function").  This replacement of ``KerasV3HandlerDispatcher.v2_call`` runs
    the same Keras-2 handler and, for a quantizer activation, adds the node
    hls4ml's Keras-2 converter adds: ``<layer>_<quantizer class>``, parsed by
    its QActivation handler.
    """
    import keras
    if not hasattr(np, "product"):
        # hls4ml 1.3.0 writes an ApplyAlpha node's po2 scale with np.product, gone in NumPy 2
        np.product = np.prod
    v3 = importlib.import_module("hls4ml.converters.keras_v3_to_hls")
    if getattr(v3.KerasV3HandlerDispatcher.v2_call, "_qreport_patched", False):
        return
    original = v3.KerasV3HandlerDispatcher.v2_call

    def v2_call(self, layer, inp_tensors, out_tensors):
        act = getattr(layer, "activation", None)
        if act is None or act is keras.activations.linear or isinstance(act, FunctionType):
            return original(self, layer, inp_tensors, out_tensors)
        handler = self.v2_layer_handlers.get(layer.__class__.__name__)
        if handler is None:
            return None

        class Reader:
            def get_weights_data(self, layer_name, var_name):
                for w in layer.weights:
                    if var_name in w.name:
                        return np.array(w)
                return None

        out_names = [t.name for t in out_tensors]
        in_names = [t.name for t in inp_tensors]
        node, shape = handler({"config": layer.get_config(), "class_name": layer.__class__.__name__},
                              in_names, [list(t.shape) for t in inp_tensors], Reader())
        node["input_keras_tensor_names"] = in_names
        node["output_keras_tensor_names"] = out_names
        if layer.__class__.__name__ == "QActivation":
            return (node,)
        mid = f"{out_names[0]}_activation"
        node["output_keras_tensor_names"] = [mid]
        name = f"{layer.name}_{act.__class__.__name__}"
        act_node, _ = self.v2_layer_handlers["QActivation"](
            {"class_name": "QActivation", "config": {"name": name, "activation": act}}, None, [shape], None)
        act_node["input_keras_tensor_names"] = [mid]
        act_node["output_keras_tensor_names"] = out_names
        return (node, act_node)

    v2_call._qreport_patched = True
    v3.KerasV3HandlerDispatcher.v2_call = v2_call
