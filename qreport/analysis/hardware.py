"""What hls4ml instantiates for a design, and what it may cost on the FPGA.

A design is a model plus hls4ml's implementation choice (:class:`Design`:
the strategy and the reuse factor, as hls4ml names them).  For every
Dense, Conv1D/Conv2D and depthwise layer this module counts, from the
quantized kernel's real values and the exact operand types:

* exact counts of what hls4ml 1.3.0 writes (``nnet_dense_latency.h``,
  ``nnet_dense_resource.h``, ``nnet_conv2d_latency.h`` and the
  ``multiplier_limit`` of ``core_templates.py``): products, the products
  that need no multiplier (zero weights, ±2^k), the multipliers
  instantiated at this reuse factor by operand widths, the adders of the
  accumulation at their exact widths, weight storage, BRAM_18K blocks of the
  ``resource`` layout, the initiation interval;
* estimates, each by a rule written in :data:`FIGURES` and the README:
  DSPs, LUTs, FFs and the latency in cycles;
* for ``distributed_arithmetic``, the cost of da4ml's adder graph, computed
  the way hls4ml's own DA pass does (:func:`da_cost`).

Everything is vectorized over the kernel; nothing here imports Keras.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np

from ..errors import AnalysisError
from .facts import MODE_BINARY, MODE_PO2, MODE_TERNARY, QFact

STRATEGIES = ("latency", "resource", "distributed_arithmetic")

#: A product goes to a DSP when both operands are at least this wide: the data
#: operand's type, and the constant weight once Vivado has trimmed it (the
#: signed width of its odd part).  Fitted to hls4ml's committed csynth baselines
#: (README, "Hardware cost"): 6 gives 72 DSP for 73 and 826 for 792.
DSP_MIN_BITS = 6
#: Kernels with more products are "too large to unroll" for da4ml here: a
#: 16×64 kernel takes 0.14 s, a 128×128 one 67 s.
DA_LIMIT = 4096
#: Adder-tree levels Vivado fits in one 5 ns cycle (the latency rule).
LEVELS_PER_CYCLE = 2

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
    "bram_18k": ("exact", "resource with RF > 1: hls4ml reshapes the kernel to depth RF and width "
                          "block_factor × weight bits (ROM_nP_BRAM); an 18 Kb block is 36 bits wide "
                          "up to depth 512, 18 to 1024, 9 to 2048, 4 to 4096, 2 to 8192, 1 to 16384"),
    "initiation_interval": ("exact", "cycles between inputs: RF per kernel pass, times the output "
                                     "positions a convolution computes one after another"),
    "latency_cycles": ("estimate", "(positions − 1) · RF + 1 multiply stage + ceil(adder-tree levels "
                                   f"/ {LEVELS_PER_CYCLE}) at 200 MHz"),
    "dsp": ("estimate", f"a multiplier whose operands are both at least {DSP_MIN_BITS} bits wide "
                        "(the constant weight trimmed to its odd part) is one DSP"),
    "lut": ("estimate", "adders: one LUT per bit; a constant multiplier in fabric: (nonzero CSD "
                        "digits − 1) adders of data + constant width; a shared multiplier in fabric: "
                        "data·weight/2; an RF-to-1 input mux, and a convolution's "
                        "positions-to-1 window mux: one LUT per bit per 4 inputs"),
    "ff": ("estimate", "a register per pipeline stage on every output sum, and the layer's output "
                       "array"),
    "da_cost": ("estimate", "da4ml's adder graph, in its LUT-equivalent cost"),
    "da_depth": ("exact", "da4ml's adder graph: adders on the longest path"),
}


@dataclass(frozen=True)
class Design:
    """hls4ml's implementation choice for every layer, and the estimate rules' settings.

    Raises:
        AnalysisError: a strategy hls4ml does not have, a reuse factor below 1, or
            ``distributed_arithmetic`` with a reuse factor other than 1 (hls4ml raises).
    """

    strategy: str = "latency"
    reuse_factor: int = 1
    dsp_min_bits: int = DSP_MIN_BITS
    da_limit: int = DA_LIMIT

    def __post_init__(self):
        if self.strategy not in STRATEGIES:
            raise AnalysisError(f"{self.strategy!r} is not an hls4ml strategy (one of "
                                f"{', '.join(STRATEGIES)})", option="strategy")
        if isinstance(self.reuse_factor, bool) or not isinstance(self.reuse_factor, int) \
                or self.reuse_factor < 1:
            raise AnalysisError(f"{self.reuse_factor!r} is not a reuse factor (a whole number "
                                ">= 1)", option="reuse_factor")
        if self.strategy == "distributed_arithmetic" and self.reuse_factor != 1:
            raise AnalysisError(f"distributed_arithmetic needs reuse factor 1, not "
                                f"{self.reuse_factor} (hls4ml refuses it)", option="reuse_factor")
        if isinstance(self.dsp_min_bits, bool) or not isinstance(self.dsp_min_bits, int) \
                or self.dsp_min_bits < 1:
            raise AnalysisError(f"{self.dsp_min_bits!r} is not a width in bits (>= 1)",
                                option="dsp_min_bits")


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


# ------------------------------------------------------------------ reuse factor

def valid_reuse_factor(n_in: int, n_out: int, rf: int) -> bool:
    """hls4ml's rule for a dense-like kernel's reuse factor (FPGABackend._validate_reuse_factor)."""
    mult = min(n_in, rf)
    limit = -(-(n_in * n_out) // mult)
    ok = (limit % n_out == 0) or (rf >= n_in)
    ok = ok and ((rf % n_in == 0) or (rf < n_in))
    return ok and (n_in * n_out) % rf == 0


def closest_reuse_factor(n_in: int, n_out: int, rf: int) -> int:
    """The reuse factor hls4ml's resource strategy uses for ``rf``: the closest valid one,
    the smaller of two equally close (FPGABackend.get_closest_reuse_factor)."""
    if valid_reuse_factor(n_in, n_out, rf):
        return rf
    total = n_in * n_out
    valid = [r for r in _divisors(total) if valid_reuse_factor(n_in, n_out, r)]
    return min(valid, key=lambda r: (abs(r - rf), r))


def _divisors(n: int) -> list[int]:
    small = [d for d in range(1, math.isqrt(n) + 1) if n % d == 0]
    return sorted(set(small + [n // d for d in small]))


# ------------------------------------------------------------------ constants

def constant_widths(ints: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(needs a multiplier, the constant's trimmed signed width, its nonzero CSD digits).

    ``ints`` are the weights as integers on their grid.  A zero or ±2^k
    needs no multiplier.  The trimmed width is the signed width of the odd
    part (Vivado shifts trailing zeros out); the CSD (non-adjacent form)
    digit count is ``popcount(x XOR 3x)``.
    """
    a = np.abs(ints.astype(np.int64))
    low = a & -a
    odd = np.where(a > 0, a // np.maximum(low, 1), 0)
    need = odd > 1
    width = np.where(a > 0, np.frexp(odd.astype(np.float64))[1] + 1, 0)
    csd = np.bitwise_count(a ^ (3 * a)).astype(np.int64)
    return need, width.astype(np.int64), csd


def bram_18k(width_bits: int, depth: int) -> int:
    """18 Kb blocks for a ROM of ``depth`` words of ``width_bits`` (the widest port that fits)."""
    if width_bits <= 0 or depth <= 0:
        return 0
    for limit, port in ((512, 36), (1024, 18), (2048, 9), (4096, 4), (8192, 2), (16384, 1)):
        if depth <= limit:
            return -(-width_bits // port)
    return width_bits * -(-depth // 16384)


def _width(f: QFact) -> int | None:
    if f is None or f.is_float:
        return None
    return f.hls_type[0] if f.hls_type is not None else f.bits


# ------------------------------------------------------------------ one layer

@dataclass(frozen=True)
class Kernel2D:
    """A weight layer's kernel as hls4ml multiplies it: rows are the inputs of one output."""

    ints: np.ndarray          # (rows, cols) integers on the weight grid
    bias_nonzero: np.ndarray  # (cols,) bool: a bias to add
    positions: int            # output positions computed one after another


def layer_hardware(k: Kernel2D, data: QFact, weight: QFact, widths: np.ndarray,
                   type_width: int | None, design: Design, out_bits: int | None) -> LayerHardware:
    """The hardware of one weight layer.

    Args:
        k: the kernel, as integers on its grid.
        data: the input type (the data operand of every product).
        weight: the weight type.
        widths: (cols,) the exact accumulator width of every output.
        type_width: the accumulator width hls4ml infers (None: unknown).
        design: strategy and reuse factor.
        out_bits: the output type's width (for the output register), None: unknown.
    """
    notes: list[str] = []
    rows, cols = k.ints.shape
    kernel = rows * cols
    dw, ww = _width(data), _width(weight)
    need, cwidth, csd = constant_widths(k.ints)
    zero = k.ints == 0
    n_zero, n_need = int(zero.sum()), int(need.sum())
    n_shift = kernel - n_zero - n_need
    free_type = weight.mode in (MODE_PO2, MODE_BINARY, MODE_TERNARY)
    strategy, rf = design.strategy, design.reuse_factor
    if strategy == "resource":
        rf2 = closest_reuse_factor(rows, cols, rf)
        if rf2 != rf:
            notes.append(f"hls4ml's resource strategy takes reuse factor {rf2} here: {rf} is not "
                         f"valid for a {rows}×{cols} kernel")
        rf = rf2
    if strategy == "distributed_arithmetic":
        rf = 1
    positions = k.positions
    t = design.dsp_min_bits

    # the accumulation, per output: nonzero products + nonzero bias - 1 adds
    per_out = np.maximum((~zero).sum(axis=0) + k.bias_nonzero.astype(np.int64) - 1, 0)
    limit = -(-kernel // rf) - n_zero // rf  # hls4ml's multiplier_limit
    resource_rom = strategy == "resource" and rf > 1
    if strategy == "distributed_arithmetic":
        mults, by_width, lut_mul, dsp = 0, (), 0, 0
    elif resource_rom or (rf > 1 and n_need > limit):
        # shared multipliers of the declared widths: resource reads its weights from
        # ROM (only the data is multiplexed), latency multiplexes weights and data
        if resource_rom:
            mults, muxed = (0 if free_type else -(-kernel // rf)), dw
            per_out = None
        else:
            mults, muxed = limit, dw + ww
            notes.append(f"{n_need} products share {limit} multipliers (hls4ml's multiplier_limit "
                         f"at reuse factor {rf}): their weights are multiplexed, not constants")
        by_width = ((dw, ww, mults),) if mults else ()
        dsp = mults if (dw >= t and ww >= t) else 0
        lut_mul = (mults - dsp) * (dw * ww // 2) + mults * muxed * -(-rf // 4)
    else:
        mults = n_need
        w = cwidth[need]
        vals, counts = np.unique(w, return_counts=True)
        by_width = tuple((dw, int(v), int(c)) for v, c in zip(vals, counts))
        on_dsp = need & (cwidth >= t) if dw >= t else np.zeros_like(need)
        dsp = int(on_dsp.sum())
        fabric = need & ~on_dsp
        lut_mul = int(((csd[fabric] - 1) * (dw + cwidth[fabric])).sum())

    if per_out is None:  # resource, RF > 1: one accumulating adder per multiplier
        n_add = -(-kernel // rf)
        wmax = int(widths.max())
        add_hist = ((wmax, n_add),)
        add_bits = n_add * wmax
        add_bits_type = n_add * type_width if type_width is not None else None
        levels = 1
    else:
        n_add = int(per_out.sum())
        vals = np.unique(widths)
        add_hist = tuple((int(v), int(per_out[widths == v].sum())) for v in vals
                         if per_out[widths == v].sum())
        add_bits = int((per_out * widths).sum())
        add_bits_type = int(per_out.sum()) * type_width if type_width is not None else None
        levels = int(math.ceil(math.log2(int(per_out.max()) + 1))) if per_out.size and per_out.max() else 0

    storage = kernel * (ww or 0)
    bram = bram_18k(-(-kernel // rf) * (ww or 0), rf) if resource_rom else 0
    ii = rf * positions
    depth = (1 if mults else 0) + -(-levels // LEVELS_PER_CYCLE)
    latency = positions * rf - 1 + max(depth, 1)

    stages = max(depth, 1)
    out_reg = cols * positions * (out_bits or 0)
    ff = stages * int(widths.sum()) + out_reg
    ff_type = stages * cols * type_width + out_reg if type_width is not None else None
    # a convolution feeds its kernel hardware one window after another: a
    # positions-to-1 mux per kernel input bit (one LUT6 per 4 inputs)
    lut_mux = rows * dw * -(-positions // 4) if positions > 1 else 0
    lut = add_bits + lut_mul + lut_mux
    lut_type = add_bits_type + lut_mul + lut_mux if add_bits_type is not None else None
    if free_type:
        notes.append(f"{weight.config}: hls4ml uses its {_product_name(weight)} product, no multiplier")
    return LayerHardware(
        strategy=strategy, reuse_factor=rf, positions=positions,
        multiplications=kernel * positions, zero_products=n_zero * positions,
        shift_products=n_shift * positions, multiplier_products=n_need * positions,
        multipliers=mults, multipliers_by_width=by_width, adders=n_add, adders_by_width=add_hist,
        weight_storage_bits=storage, bram_18k=bram, initiation_interval=ii,
        latency_cycles=int(latency), dsp=int(dsp), lut=int(lut), ff=int(ff),
        lut_type=None if lut_type is None else int(lut_type),
        ff_type=None if ff_type is None else int(ff_type), notes=tuple(notes))


def _product_name(weight: QFact) -> str:
    return {MODE_PO2: "weight_exponential (shift)", MODE_BINARY: "weight_binary (negate)",
            MODE_TERNARY: "weight_ternary (negate or zero)"}[weight.mode]


# ------------------------------------------------------------------ distributed arithmetic

def da_cost(kernel: np.ndarray, bias: np.ndarray | None, kif: tuple[int, int, int]):
    """(cost, depth, two-input adders) of da4ml's adder graph for ``x @ kernel + bias``, as hls4ml's DA pass.

    ``kif`` is the input type: signed, integer bits without the sign, fractional
    bits.  The solver options are hls4ml 1.3.0's (``hard_dc`` 2, every decomposition
    searched).  Deterministic.
    """
    from da4ml.trace import FixedVariableArray, HWConfig, comb_trace

    n_in = kernel.shape[0]
    k, i, f = (np.full(n_in, v, dtype=np.int64) for v in kif)
    inp = FixedVariableArray.from_kif(k, i, f, HWConfig(1, -1, -1),
                                      solver_options={"hard_dc": 2, "search_all_decompose_dc": True})
    out = inp @ kernel
    if bias is not None:
        out = out + bias
    sol = comb_trace(inp, out)
    adders = sum(1 for op in sol.ops if op.opcode in (0, 1))
    return float(sol.cost), int(sol.latency[1]), adders


# ------------------------------------------------------------------ the model

def totals(per_layer: list[LayerHardware], design: Design,
           not_estimated: tuple[str, ...]) -> ModelHardware:
    s = lambda k: sum(getattr(h, k) for h in per_layer)  # noqa: E731
    saved_l = [h.lut_saved for h in per_layer]
    saved_f = [h.ff_saved for h in per_layer]
    das = [h.da_cost for h in per_layer if h.da_cost is not None]
    return ModelHardware(
        strategy=design.strategy,
        reuse_factor=design.reuse_factor if design.strategy != "distributed_arithmetic" else 1,
        multipliers=s("multipliers"), dsp=s("dsp"), lut=s("lut"), ff=s("ff"),
        bram_18k=s("bram_18k"), weight_storage_bits=s("weight_storage_bits"),
        initiation_interval=max((h.initiation_interval for h in per_layer), default=0),
        latency_cycles=s("latency_cycles"),
        lut_saved=None if not per_layer or None in saved_l else sum(saved_l),
        ff_saved=None if not per_layer or None in saved_f else sum(saved_f),
        da_cost=sum(das) if das else None, layers=len(per_layer), not_estimated=not_estimated)


# ------------------------------------------------------------------ the glue

#: Layer classes hls4ml 1.3.0 implements with the dense/conv kernels modelled here.
SUPPORTED = {"Dense", "QDense", "QDenseBatchnorm", "Conv1D", "Conv2D", "QConv1D", "QConv2D",
             "QConv2DBatchnorm", "DepthwiseConv1D", "DepthwiseConv2D", "QDepthwiseConv2D",
             "QDepthwiseConv2DBatchnorm"}
DA_CLASSES = {"Dense", "QDense", "QDenseBatchnorm", "Conv1D", "Conv2D", "QConv1D", "QConv2D",
              "QConv2DBatchnorm"}


def kernel_2d(part, op) -> Kernel2D | str:
    """The part's kernel as hls4ml multiplies it, or why there is none."""
    if not part.known:
        return "needs the weights (architecture only)"
    if part.w_frac is None:
        return "the kernel is not on a fixed-point grid (float or a non-power-of-two scale)"
    kern = np.asarray(part.kernel, dtype=np.float64)
    rows, cols = int(np.prod(kern.shape[:-1], dtype=np.int64)), int(kern.shape[-1])
    ints = np.rint(kern.reshape(rows, cols) * 2.0 ** part.w_frac).astype(np.int64)
    bias = np.zeros(cols, dtype=bool)
    if part.bias is not None:
        bias = np.asarray(part.bias, dtype=np.float64).reshape(-1)[:cols] != 0
    positions = max(op.macs // max(rows * cols, 1), 1)
    return Kernel2D(ints=ints, bias_nonzero=bias, positions=positions)


def _exact_widths(acc, cols: int) -> np.ndarray | None:
    if acc.unscaled_sum is not None and acc.unscaled_sum.width is not None:
        return np.full(cols, acc.unscaled_sum.width, dtype=np.int64)
    if len(acc.per_channel_width) == cols:
        return np.asarray(acc.per_channel_width, dtype=np.int64)
    if acc.bound is not None and acc.bound.width is not None:
        return np.full(cols, acc.bound.width, dtype=np.int64)
    return None


def _kif(f: QFact) -> tuple[int, int, int]:
    w, i, s = f.hls_type
    k = int(bool(s))
    return k, i - k, w - i


def da_traced(layer, design: Design) -> bool:
    """Whether da4ml traces this layer for the design: a Dense/Conv kernel within the limit."""
    return (design.strategy == "distributed_arithmetic" and layer.class_name in DA_CLASSES
            and len(layer.operations) == 1 and layer.counts is not None
            and layer.counts.weights <= design.da_limit)


def layer_design(layer, part, design: Design, progress=None) -> LayerHardware | str:
    """The hardware of one analysed weight layer (its facts and its working part), or why not."""
    if layer.class_name not in SUPPORTED:
        return f"{layer.class_name}: hls4ml's implementation of it is not modelled"
    if len(layer.operations) != 1:
        return "a layer of several operations is not modelled"
    op = layer.operations[0]
    data, weight = layer.quantizer("input"), op.weight
    if data is None or _width(data) is None or data.hls_type is None:
        return "the input is float: hls4ml would use its default precision"
    if _width(weight) is None:
        return "the kernel is float"
    k = kernel_2d(part, op)
    if isinstance(k, str):
        return k
    widths = _exact_widths(op.accumulator, k.ints.shape[1])
    if widths is None:
        return "the accumulator has no exact fixed-point width"
    t = op.accumulator.type
    type_width = t.width if t is not None else None
    notes = []
    da = da_traced(layer, design)
    if design.strategy == "distributed_arithmetic" and not da:
        if layer.class_name not in DA_CLASSES:
            notes.append(f"hls4ml 1.3.0's DA pass does not take a {layer.class_name} (it raises); "
                         "estimated as the latency strategy")
        else:
            notes.append(f"too large to unroll for da4ml here ({k.ints.size:,} products > the "
                         f"limit {design.da_limit:,}); estimated as the latency strategy")
        design = dataclasses.replace(design, strategy="latency")
    out_bits = _width(layer.output_type)
    h = layer_hardware(k, data, weight, widths, type_width, design, out_bits)
    if da:
        kern = k.ints.astype(np.float64) * 2.0 ** -part.w_frac
        bias = None
        if part.bias is not None and part.scale is None:
            bias = np.asarray(part.bias, dtype=np.float64).reshape(-1)
        cost, depth, adders = da_cost(kern, bias, _kif(data))
        if progress is not None:
            progress()
        stages = max(-(-depth // LEVELS_PER_CYCLE), 1)
        out_reg = k.ints.shape[1] * k.positions * (out_bits or 0)
        h = dataclasses.replace(h, adders=adders, adders_by_width=(), lut=int(round(cost)),
                                lut_type=None, ff_type=None,
                                ff=stages * int(widths.sum()) + out_reg,
                                latency_cycles=k.positions - 1 + stages, da_cost=cost,
                                da_depth=depth)
    return dataclasses.replace(h, notes=tuple(notes) + h.notes) if notes else h


