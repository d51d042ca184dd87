"""HGQ2 models: the direct reader's plain data turned into the seam's :class:`..read.LayerData`.

- :mod:`.quant`: each quantizer's per-element ranges, widths and quantized values;
- :mod:`.elements`: per-element ranges through the graph;
- :mod:`.weights`: Dense, Conv, EinsumDense and BatchNormalization, as einsums;
- :mod:`.units`: every layer without a kernel (merges, sums, pooling, shapes,
  quantizers, softmax and unary tables, einsums of two tensors);
- :mod:`.graph`: the pass over the model;
- :mod:`.families`: what propagation does with each family;
- :mod:`.bitexact`: the ``accum_t`` hls4ml's BitExact pass derives.

Nothing here reads a file or imports Keras.
"""

from .bitexact import hls4ml_accumulators
from .graph import read_layers
from .quant import LIBRARY

__all__ = ["LIBRARY", "hls4ml_accumulators", "read_layers"]
