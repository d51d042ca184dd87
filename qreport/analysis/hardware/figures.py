"""What the hardware facts are: per layer, per model, and every figure's basis and rule."""

from __future__ import annotations

from dataclasses import dataclass, field

from .design import DSP_MIN_BITS, LEVELS_PER_CYCLE, Design

#: Every figure: whether it is an exact count or an estimate, and its rule.
FIGURES = {
    "multiplications": ("exact", "products hls4ml writes per inference: positions × kernel size"),
    "zero_products": ("exact", "products with a zero weight: removed (hls4ml's n_zeros; Vivado folds "
                               "the constant)"),
    "shift_products": ("exact", "products with a weight ±2^k (±1 included; po2, binary and ternary "
                                "weights always): a shift or a negation, no multiplier"),
    "multiplier_products": ("exact", "products that need a multiplier: the rest"),
    "multipliers": ("exact", "multipliers instantiated: latency: the products needing one, at most "
                             "hls4ml's multiplier_limit = ceil(n_in·n_out/RF) − n_zeros/RF; resource "
                             "with RF > 1: block_factor = ceil(n_in·n_out/RF), weights read from ROM"),
    "adders": ("exact", "two-input adds of the accumulation: per output, its nonzero products and "
                        "nonzero bias less one; resource with RF > 1: one per multiplier"),
    "weight_storage_bits": ("exact", "kernel elements × the weight type's width"),
    "bram_18k": ("estimate", "resource with RF > 1: the kernel reshaped to depth RF and width "
                             "block_factor × weight bits (hls4ml's ROM_nP_BRAM), in 18 Kb blocks "
                             "36 bits wide up to depth 512, 18 to 1024, 9 to 2048, 4 to 4096, 2 to "
                             "8192, 1 to 16384; Vivado may place it, or an activation table, "
                             "elsewhere"),
    "initiation_interval": ("exact", "cycles between inputs: RF per kernel pass, times the output "
                                     "positions a convolution computes one after another"),
    "latency_cycles": ("estimate", "latency: (positions − 1) · RF + 1 multiply stage + "
                                   f"ceil(adder-tree levels / {LEVELS_PER_CYCLE}) at 200 MHz; "
                                   "resource with RF > 1: positions · RF + 3 per layer, 1 less "
                                   "for the model (measured)"),
    "dsp": ("estimate", f"latency: a constant multiplier whose operands are both at least "
                        f"{DSP_MIN_BITS} bits wide (the weight trimmed to its odd part) is one DSP; "
                        "resource with RF > 1: a ROM-fed multiplier whose data and weight types "
                        "are both at least 7 bits wide (measured)"),
    "lut": ("estimate", "latency: adders one LUT per bit; a constant multiplier in fabric: "
                        "(nonzero CSD digits − 1) adders of data + constant width; a shared "
                        "multiplier: data·weight/2 and an RF-to-1 mux, one LUT per bit per 4 "
                        "inputs; resource with RF > 1: the fitted model Σ c·term over "
                        "accumulator, input, output, fabric-multiplier and ROM bits "
                        "(README 'Estimates'); a convolution adds its positions-to-1 window mux"),
    "ff": ("estimate", "latency: a register per pipeline stage on every output sum, and the "
                       "layer's output array; resource with RF > 1: the fitted model over "
                       "accumulator, input, pipeline and output bits"),
    "da_cost": ("estimate", "da4ml's adder graph, in its LUT-equivalent cost"),
    "da_depth": ("exact", "da4ml's adder graph: adders on the longest path"),
}


@dataclass(frozen=True)
class LayerHardware:
    """What hls4ml instantiates for one weight layer, and its estimated cost.

    Counts are per inference (``multiplications`` and the product classes)
    or per instance of the layer's hardware (multipliers, adders: a
    convolution's kernel hardware is reused for every output position).
    ``*_by_width`` are ``(data bits, weight bits, count)`` and ``(width,
    count)``.  ``lut_type``/``ff_type`` are the same estimates with the
    accumulator types hls4ml infers instead of the exact ones.
    """

    strategy: str
    reuse_factor: int
    positions: int
    multiplications: int
    zero_products: int
    shift_products: int
    multiplier_products: int
    multipliers: int
    multipliers_by_width: tuple[tuple[int, int, int], ...]
    adders: int
    adders_by_width: tuple[tuple[int, int], ...]
    weight_storage_bits: int
    bram_18k: int
    initiation_interval: int
    latency_cycles: int
    dsp: int
    lut: int
    ff: int
    lut_type: int | None = None
    ff_type: int | None = None
    da_cost: float | None = None
    da_depth: int | None = None
    notes: tuple[str, ...] = ()

    @property
    def lut_saved(self) -> int | None:
        return None if self.lut_type is None else self.lut_type - self.lut

    @property
    def ff_saved(self) -> int | None:
        return None if self.ff_type is None else self.ff_type - self.ff


@dataclass(frozen=True)
class ModelHardware:
    """The design's totals over the layers with a hardware estimate.

    ``initiation_interval`` is the slowest layer's (io_parallel pipelines
    the whole model); ``latency_cycles`` the sum over those layers.
    ``not_estimated`` names the weight layers without one.
    """

    strategy: str
    reuse_factor: int
    multipliers: int
    dsp: int
    lut: int
    ff: int
    bram_18k: int
    weight_storage_bits: int
    initiation_interval: int
    latency_cycles: int
    lut_saved: int | None
    ff_saved: int | None
    da_cost: float | None
    layers: int
    not_estimated: tuple[str, ...] = field(default=())


def totals(per_layer: list[LayerHardware], design: Design,
           not_estimated: tuple[str, ...]) -> ModelHardware:
    s = lambda k: sum(getattr(h, k) for h in per_layer)  # noqa: E731
    saved_l = [h.lut_saved for h in per_layer]
    saved_f = [h.ff_saved for h in per_layer]
    das = [h.da_cost for h in per_layer if h.da_cost is not None]
    latency = s("latency_cycles")
    if any(h.strategy == "resource" and h.reuse_factor > 1 for h in per_layer):
        from .estimates import resource_latency

        latency += resource_latency()[1]   # the layers' handshakes overlap by a cycle
    return ModelHardware(
        strategy=design.strategy,
        reuse_factor=design.reuse_factor if design.strategy != "distributed_arithmetic" else 1,
        multipliers=s("multipliers"), dsp=s("dsp"), lut=s("lut"), ff=s("ff"),
        bram_18k=s("bram_18k"), weight_storage_bits=s("weight_storage_bits"),
        initiation_interval=max((h.initiation_interval for h in per_layer), default=0),
        latency_cycles=latency,
        lut_saved=None if not per_layer or None in saved_l else sum(saved_l),
        ff_saved=None if not per_layer or None in saved_f else sum(saved_f),
        da_cost=sum(das) if das else None, layers=len(per_layer), not_estimated=not_estimated)
