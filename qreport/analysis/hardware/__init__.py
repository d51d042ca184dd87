"""What hls4ml instantiates for a design, and what it may cost on the FPGA.

A design is a model plus hls4ml's implementation choice (:class:`Design`:
the strategy and the reuse factor, as hls4ml names them).

- :mod:`.design`: the design and hls4ml's reuse-factor rules;
- :mod:`.figures`: the facts (:class:`LayerHardware`, :class:`ModelHardware`) and
  every figure's basis and rule (:data:`FIGURES`);
- :mod:`.counts`: exact counts of what hls4ml writes for a dense-like kernel;
- :mod:`.da`: da4ml's adder graph for ``distributed_arithmetic``;
- :mod:`.layer`: an analysed layer (Dense, Conv, depthwise, EinsumDense) to its figures.

Nothing here imports Keras.
"""

from .counts import Kernel2D, bram_18k, constant_widths, layer_hardware
from .da import da_cost
from .design import (DA_LIMIT, DSP_MIN_BITS, LEVELS_PER_CYCLE, STRATEGIES, Design,
                     closest_reuse_factor, valid_reuse_factor)
from .figures import FIGURES, LayerHardware, ModelHardware, totals
from .layer import DA_CLASSES, SUPPORTED, da_traced, kernel_2d, layer_design

__all__ = ["DA_CLASSES", "DA_LIMIT", "DSP_MIN_BITS", "FIGURES", "LEVELS_PER_CYCLE", "STRATEGIES",
           "SUPPORTED", "Design", "Kernel2D", "LayerHardware", "ModelHardware", "bram_18k",
           "closest_reuse_factor", "constant_widths", "da_cost", "da_traced", "kernel_2d",
           "layer_design", "layer_hardware", "totals", "valid_reuse_factor"]
