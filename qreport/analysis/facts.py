"""The facts: what qreport states about a model (SPEC sections 1-5).

Frozen dataclasses of plain values, nothing else: every output (JSON, HTML,
PDF, the terminal summary, the drop-in API) reads these and computes no
number of its own.  Nothing here imports Keras.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from .fixed import FixedType, fractional_bits_of_step

if TYPE_CHECKING:
    from .hardware import LayerHardware, ModelHardware

#: The input type assumed when the user states none (SPEC section 2).
DEFAULT_INPUT = "quantized_relu(8,0)"

# Mode codes, as in the reference's get_quant_mode.
MODE_FIXED, MODE_PO2, MODE_TERNARY, MODE_BINARY, MODE_01, MODE_FLOAT = range(6)

#: Accumulator methods, in the order every output shows them (SPEC section 4).
METHODS = ("bound", "conservative", "sampled", "type")


# ------------------------------------------------------------------ types

@dataclass(frozen=True)
class QFact:
    """What a quantizer (or a derived tensor type) produces, exactly.

    Attributes mirror SPEC section 5's QFACT.  ``min``/``max`` are the
    exact extreme values ``q(x)`` can produce; ``lsb`` is the grid step (the
    largest power of two dividing every value) or None when the values are
    not on a power-of-two grid (u-law) or the type is float.  For kernel
    quantizers with a per-channel ``alpha`` (``"auto"``/``"auto_po2"``) the
    range is the unscaled grid and ``scale`` says how the scale is applied.
    """

    kind: str
    config: str
    mode: int
    bits: int
    integer: int | None
    signed: bool
    min: float | None
    max: float | None
    lsb: float | None
    fixed: str | None
    scale: str | None = None
    notes: tuple[str, ...] = ()
    # hls4ml's precision for this type, (W, I, signed), or None with a reason;
    # used by the accumulator's `type` method.
    hls_type: tuple[int, int, bool] | None = field(default=None, compare=False)
    hls_reason: str | None = field(default=None, compare=False)

    @property
    def is_float(self) -> bool:
        return self.mode == MODE_FLOAT

    @property
    def fractional_bits(self) -> int | None:
        """F of the grid (``lsb == 2**-F``), None when there is no grid."""
        if self.lsb is None:
            return None
        return fractional_bits_of_step(self.lsb)


FLOAT = QFact(kind="float", config="float", mode=MODE_FLOAT, bits=32, integer=None,
              signed=True, min=None, max=None, lsb=None, fixed=None,
              hls_reason="float type: no fixed-point precision")


def float_fact(config: str = "float") -> QFact:
    """The fact for an unquantized (float32) tensor or parameter."""
    return FLOAT if config == "float" else QFact(**{**FLOAT.__dict__, "config": config})


# ------------------------------------------------------------------ accumulators

@dataclass(frozen=True)
class AccRange:
    """One method's accumulator: exact range and the fixed-point type holding it.

    ``width``/``fractional_bits``/``fixed`` are None with a ``reason`` when
    no fixed width exists (float operands, values off a power-of-two grid).
    """

    min: float | None
    max: float | None
    integer_bits: int | None
    fractional_bits: int | None
    width: int | None
    signed: bool | None
    fixed: str | None
    reason: str | None = None


    @classmethod
    def from_fixed(cls, ft: FixedType) -> AccRange:
        return cls(ft.min, ft.max, ft.integer_bits, ft.fractional_bits, ft.width,
                   ft.signed, ft.fixed)

    @classmethod
    def unknown(cls, reason: str) -> AccRange:
        return cls(None, None, None, None, None, None, None, reason)


@dataclass(frozen=True)
class Accumulator:
    """All methods for one operation; ``per_channel_width`` is the bound's."""

    bound: AccRange | None
    type: AccRange | None
    conservative: AccRange | None = None
    sampled: AccRange | None = None
    per_channel_width: tuple[int, ...] = ()
    headroom: int | None = None
    scale: str | None = None
    # Two sums a per-channel scale makes hls4ml compute instead of the bound
    # (None without a scale): Σ w·x over the unscaled kernel without the bias
    # (Dense/Conv, whose scale and bias hls4ml moves into an ApplyAlpha node),
    # and Σ (s·w)·x + b over the scaled kernel (depthwise, which keeps it).
    unscaled_sum: AccRange | None = None
    scaled_sum: AccRange | None = None


# ------------------------------------------------------------------ layers

@dataclass(frozen=True)
class Histogram:
    """Quantized values of one kernel on its grid: values and their counts.

    ``part`` is the operation the kernel belongs to, ``role`` its quantizer's
    key in :attr:`LayerFacts.quantizers` (``kernel``, ``depthwise``, …).
    """

    part: str
    role: str
    values: tuple[float, ...]
    counts: tuple[int, ...]


@dataclass(frozen=True)
class BitWidths:
    """The trained widths of one per-element (HGQ2) quantizer: their distribution.

    ``widths``/``counts`` is the histogram of stored widths (k + i + f; 0 for
    an element that can hold only 0, i.e. pruned); ``pruned_channels`` the
    output channels whose weights are all pruned (kernels only); ``widest``
    and ``narrowest`` the formats of the widest and narrowest live element.
    """

    role: str
    q_type: str
    round_mode: str
    overflow_mode: str
    widths: tuple[int, ...]
    counts: tuple[int, ...]
    elements: int
    pruned: int
    pruned_channels: int | None
    widest: str | None
    narrowest: str | None
    total_bits: int


@dataclass(frozen=True)
class Table:
    """A lookup table a layer builds in hardware (HGQ2's softmax and unary functions).

    Its address is the input quantizer's width (``input_bits``), so it has
    ``depth`` = 2^input_bits entries of ``width`` bits: ``bits`` of memory.
    HGQ2 does not store the entries: hls4ml computes them from the quantizers.
    """

    name: str
    input_bits: int
    depth: int
    width: int
    input_type: str
    output_type: str
    evaluated: bool = False   # the entries were computed (a function qreport knows by name)

    @property
    def bits(self) -> int:
        return self.depth * self.width


@dataclass(frozen=True)
class Operation:
    """One multiply-accumulate operation of a layer (separable layers have two)."""

    part: str
    type: str
    name: str
    macs: int
    terms: int
    weight: QFact
    input: QFact
    accumulator: Accumulator

    @property
    def bits_saved(self) -> int | None:
        """Accumulator bits the `bound` saves over the `type` rule (what hls4ml infers).

        None when either has no fixed width (float operands, no weights).
        """
        b, t = self.accumulator.bound, self.accumulator.type
        if b is None or t is None or b.width is None or t.width is None:
            return None
        return t.width - b.width


def _sparsity(zeros: int | None, weights: int) -> float | None:
    if zeros is None:
        return None
    return zeros / weights if weights else 0.0


@dataclass(frozen=True)
class Counts:
    """Counts of one weight layer (SPEC section 3)."""

    macs: int
    weights: int
    bias: int
    weight_bits: int
    bias_bits: int
    zero_weights: int | None    # None: the weights' values are not known
    bops: int

    @property
    def sparsity(self) -> float | None:
        """Zero weights / weights (0 for a layer without weights, None when unknown)."""
        return _sparsity(self.zero_weights, self.weights)


@dataclass(frozen=True)
class MacEnergy:
    """What one multiply-accumulate of an operation costs: its multiply and its add, in pJ.

    ``add_bits`` is the width the add is charged at (the `bound` accumulator's,
    else the `type`'s); None for a float accumulator (an fp32 add).
    """

    part: str
    multiply: float
    add: float
    add_bits: int | None


@dataclass(frozen=True)
class Energy:
    """A layer's energy per inference, in pJ, by where it goes (:mod:`.energy`).

    An estimate for comparing designs (Horowitz 45 nm, as QTools), not a
    power sign-off.  A part the layer kind does not count is 0.
    """

    inputs: float = 0.0      # reading the input tensors from SRAM
    parameters: float = 0.0  # reading weights and bias from SRAM
    operations: float = 0.0  # multiplies and adds
    outputs: float = 0.0     # writing the output tensor to SRAM
    per_mac: tuple[MacEnergy, ...] = ()  # a weight layer's MAC costs, one per operation

    @property
    def total(self) -> float:
        return self.inputs + self.parameters + self.operations + self.outputs


@dataclass(frozen=True)
class LayerFacts:
    """Everything the report says about one layer call."""

    name: str
    class_name: str
    inputs: tuple[str, ...]
    input_shape: tuple
    output_shape: tuple
    quantizers: tuple[tuple[str, QFact], ...]
    operations: tuple[Operation, ...]
    counts: Counts | None
    output_type: QFact
    histograms: tuple[Histogram, ...] = ()
    warnings: tuple[str, ...] = ()
    activation: QFact | None = None  # the layer's activation= (None: it has none)
    reported: bool = True  # False: it changes nothing (a Flatten, a Dropout)
    energy: Energy | None = None  # None: a layer qreport does not analyse
    hardware: LayerHardware | None = None  # what hls4ml instantiates (weight layers)
    hardware_note: str | None = None       # why a weight layer has no hardware figures
    bit_widths: tuple[BitWidths, ...] = ()  # per-element quantizers' widths (HGQ2)
    hls4ml_type: str | None = None          # what hls4ml's BitExact pass derives (HGQ2)
    ebops: int | None = None                # HGQ2's own stored EBOPs (None: not stored)
    tables: tuple[Table, ...] = ()          # lookup tables (HGQ2 softmax, unary functions)

    @property
    def accumulator(self) -> Accumulator | None:
        return self.operations[-1].accumulator if self.operations else None

    def quantizer(self, role: str) -> QFact | None:
        return dict(self.quantizers).get(role)


@dataclass(frozen=True)
class InputFacts:
    name: str
    shape: tuple
    type: QFact
    assumed: bool  # True when DEFAULT_INPUT was assumed


@dataclass(frozen=True)
class Widest:
    """The widest `bound` accumulator of the model: where it is and its type."""

    layer: str
    part: str
    width: int
    fixed: str


@dataclass(frozen=True)
class Totals:
    macs: int
    macs_by_operation: tuple[tuple[str, int], ...]
    weights: int
    bias: int
    weight_bits: int
    bias_bits: int
    zero_weights: int | None
    bops: int
    widest_accumulator: Widest | None = None
    bits_saved: int | None = None  # sum of the operations' bits_saved (None: none known)
    energy_pj: float = 0.0  # sum of the layers' energy (those qreport analyses)
    hardware: ModelHardware | None = None  # the design's totals (:mod:`.hardware`)
    ebops: int | None = None  # HGQ2's stored EBOPs over the reported layers (None: none stored)
    table_bits: int = 0       # memory of every lookup table

    @property
    def sparsity(self) -> float | None:
        """Zero weights / weights (None when the weights' values are not known)."""
        return _sparsity(self.zero_weights, self.weights)

    @property
    def parameter_bits(self) -> int:
        return self.weight_bits + self.bias_bits

    @property
    def float32_bits(self) -> int:
        return 32 * (self.weights + self.bias)

    @property
    def compression(self) -> float | None:
        bits = self.parameter_bits
        return self.float32_bits / bits if bits else None

    def macs_share(self, n: int) -> float | None:
        """n MACs as a share of all MACs (None when the model has none)."""
        return n / self.macs if self.macs else None


@dataclass(frozen=True)
class ModelFacts:
    """The analysis of one model.

    ``every_layer`` is every layer call in graph order, pass-through layers
    (Flatten, MaxPooling, Dropout, …) included, for exports that need one
    entry per node; ``layers`` are those worth reporting.
    """

    name: str
    inputs: tuple[InputFacts, ...]
    every_layer: tuple[LayerFacts, ...]
    totals: Totals
    warnings: tuple[str, ...]
    sample: str | None = None
    library: str = "qkeras"   # what made the model: "qkeras" (QKeras/Keras) or "hgq2"

    @cached_property
    def layers(self) -> tuple[LayerFacts, ...]:
        """The layers worth reporting: weights, a changed type, a warning or a merge."""
        return tuple(l for l in self.every_layer if l.reported)

    # In a notebook: a one-line repr, an HTML view, the JSON report.  They only
    # format the facts (qreport.render.notebook, qreport.contract).

    def __repr__(self) -> str:
        from ..render.notebook import short_repr

        return short_repr(self)

    def _repr_html_(self) -> str:
        from ..render.notebook import facts_html

        return facts_html(self)

    def to_json(self, provenance=None) -> str:
        """The ``qreport/1`` report as JSON text, as ``qreport build … -o x.json`` writes it.

        ``provenance`` is where the facts came from (``pipeline.analyse_file``
        returns it); without it, the facts of a model in memory
        (:func:`qreport.provenance.in_memory`), hashed by their own content.
        """
        from .. import contract
        from ..provenance import in_memory

        data = contract.report(self, provenance or in_memory(self.name))
        if provenance is None:
            data["model"]["sha256"] = contract.content_sha256(data)
        return contract.dumps(data)
