"""The HGQ2 and Keras classes the direct reader knows, and what each stores.

A class is matched on its ``class_name`` (or ``registered_name``), never on
its ``module``, which moved between hgq2 versions.  For each class: its
kind (what the analysis does with it), its own variables in the order the
layer makes them, its quantizers and its sub-layers.  Anything else is
refused with one line that names the class and says whether hls4ml 1.3.0
can convert it.
"""

from __future__ import annotations

#: HGQ2 classes read, by kind
HGQ_KINDS = {
    "QDense": "dense", "QBatchNormDense": "dense", "QConv1D": "conv", "QConv2D": "conv",
    "QEinsumDense": "einsum", "QEinsumDenseBatchnorm": "einsum",
    "QBatchNormalization": "batchnorm",
    "QAdd": "merge", "QSubtract": "merge", "QMultiply": "merge", "QMaximum": "merge",
    "QMinimum": "merge", "QAveragePow2": "merge",
    "QSum": "sum", "QMeanPow2": "sum",
    "QAveragePooling1D": "pool", "QAveragePooling2D": "pool", "QMaxPooling1D": "pool",
    "QMaxPooling2D": "pool", "QGlobalAveragePooling1D": "pool", "QGlobalAveragePooling2D": "pool",
    "QGlobalMaxPooling1D": "pool", "QGlobalMaxPooling2D": "pool",
    "Quantizer": "quantizer", "QSoftmax": "softmax", "QUnaryFunctionLUT": "lut",
    "QMultiHeadAttention": "attention", "QLinformerAttention": "attention",
}

#: Keras layers (``keras.layers``) and operations (``keras.src.ops``) read between them
KERAS_KINDS = {
    "InputLayer": "input", "Flatten": "shape", "Reshape": "shape", "Permute": "shape",
    "Dropout": "identity", "Identity": "identity", "Activation": "activation",
    "ReLU": "activation", "Softmax": "float", "Concatenate": "concat",
    "MaxPooling1D": "pool", "MaxPooling2D": "pool", "AveragePooling1D": "pool",
    "AveragePooling2D": "pool", "GlobalMaxPooling1D": "pool", "GlobalAveragePooling1D": "pool",
    "GlobalMaxPooling2D": "pool", "GlobalAveragePooling2D": "pool",
    "Add": "merge", "Subtract": "merge", "Multiply": "merge", "Maximum": "merge",
    "Minimum": "merge", "Average": "merge",
}
#: Keras operations recorded in a functional config (``keras.src.ops.*``)
OP_KINDS = {"GetItem": "getitem", "Add": "opconst", "Subtract": "opconst",
            "Multiply": "opconst", "Reshape": "shape", "Transpose": "shape"}

#: hls4ml 1.3.0's Keras-3 converter has a handler for these (converters/keras_v3)
HLS4ML_CONVERTS = {"QDense", "QBatchNormDense", "QConv1D", "QConv2D", "QEinsumDense",
                   "QEinsumDenseBatchnorm", "QBatchNormalization", "QAdd", "QSubtract",
                   "QMultiply", "QMaximum", "QMinimum", "QAveragePow2", "QDot", "QEinsum",
                   "QAveragePooling1D", "QAveragePooling2D", "QMaxPooling1D", "QMaxPooling2D",
                   "QGlobalAveragePooling1D", "QGlobalAveragePooling2D", "QGlobalMaxPooling1D",
                   "QGlobalMaxPooling2D", "Quantizer", "QSoftmax", "QUnaryFunctionLUT",
                   "QMultiHeadAttention", "QLinformerAttention"}

#: why a class is refused, where there is more to say than "not read"
REFUSED = {
    "QDenseT": "an HGQ-LUT table layer (each connection a trained sub-network turned into a "
               "lookup table), which qreport does not size; hls4ml 1.3.0 has no converter for "
               "it (da4ml's tracer does)",
    "QConvT1D": "an HGQ-LUT table layer; hls4ml 1.3.0 has no converter for it",
    "QConvT2D": "an HGQ-LUT table layer; hls4ml 1.3.0 has no converter for it",
    "QEinsumDenseT": "an HGQ-LUT table layer; hls4ml 1.3.0 has no converter for it",
    "QMultiHeadAttentionT": "attention with HGQ-LUT table projections; hls4ml 1.3.0 has no "
                            "converter for it",
}


def class_of(entry: dict) -> tuple[str, str]:
    """(class name, registry prefix) of a config entry: ``hgq>QDense`` -> (QDense, hgq)."""
    cls = str(entry.get("class_name") or "")
    reg = str(entry.get("registered_name") or "")
    if ">" in cls:                      # a legacy .h5 config names ``hgq>QDense``
        reg, cls = cls, cls.split(">", 1)[1]
    prefix = reg.split(">", 1)[0] if ">" in reg else ""
    return cls, prefix


def refusal(cls: str, prefix: str, module: str) -> str | None:
    """Why a class is not read (None: it is)."""
    if prefix.startswith("hgq/"):
        return (f"class {cls!r} is HGQ2's QKeras compatibility layer ({prefix}>{cls}), whose "
                "quantized_bits is not QKeras's: not read")
    if cls in REFUSED:
        return f"class {cls!r} is {REFUSED[cls]}"
    if prefix in ("hgq", "hgq2") or cls == "Quantizer" and module.startswith("hgq"):
        if cls in HGQ_KINDS:
            return None
        conv = "hls4ml 1.3.0 converts it" if cls in HLS4ML_CONVERTS else \
            "hls4ml 1.3.0 has no converter for it either"
        return f"class {cls!r} ({prefix or 'hgq'}) is not one qreport reads yet; {conv}"
    if module.startswith("keras.src.ops"):
        if cls in OP_KINDS:
            return None
        return (f"the Keras operation {cls!r} is not one qreport reads in HGQ2 models "
                f"({', '.join(sorted(OP_KINDS))})")
    if cls in KERAS_KINDS and not prefix:
        return None
    return (f"class {cls!r} is not one qreport reads in HGQ2 models (HGQ2: "
            f"{', '.join(sorted(HGQ_KINDS))}; Keras: {', '.join(sorted(KERAS_KINDS))})")


def kind_of(cls: str, prefix: str, module: str) -> str:
    if module.startswith("keras.src.ops"):
        return OP_KINDS[cls]
    if prefix in ("hgq", "hgq2") or (cls == "Quantizer" and module.startswith("hgq")):
        return HGQ_KINDS[cls]
    return KERAS_KINDS[cls]


def own_order(cls: str, c: dict, ebops: bool) -> list[str]:
    """A layer's own variables in the order it makes them: trainable first."""
    pair = ["beta", "ebops"] if ebops else []
    if cls in ("QDense", "QConv1D", "QConv2D"):
        return ["kernel"] + (["bias"] if c.get("use_bias", True) else []) + pair
    if cls == "QEinsumDense":
        return ["kernel"] + (["bias"] if c.get("bias_axes") else []) + pair
    if cls == "QBatchNormDense":
        return ["kernel", "bias"] + (["bn_gamma"] if c.get("scale", True) else []) + pair + \
            ["moving_mean", "moving_variance"]
    if cls == "QEinsumDenseBatchnorm":   # its batch-norm arguments are not saved: scale=True
        return ["kernel", "bias", "bn_gamma"] + pair + ["moving_mean", "moving_variance"]
    if cls == "QBatchNormalization":
        return (["bn_gamma"] if c.get("scale", True) else []) + \
            (["bn_beta"] if c.get("center", True) else []) + \
            ["moving_mean", "moving_variance"] + pair
    return pair


def roles(cls: str, kind: str, c: dict) -> list[str]:
    """The quantizer roles a layer stores (besides its input quantizers)."""
    out = []
    if kind in ("dense", "conv", "einsum", "batchnorm"):
        out.append("kq")
        bias = c.get("bias_axes") if kind == "einsum" else c.get("use_bias", True)
        if kind == "batchnorm" or cls == "QEinsumDenseBatchnorm" or bias:
            out.append("bq")
    if c.get("enable_oq", False):
        out.append("oq")
    return out
