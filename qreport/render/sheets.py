"""The layer sheets' page data: frozen views of strings, one per layer.

Every number is formatted here (by :mod:`.text`'s rules); the templates
only lay out strings they are given (coverage.py's split).  The page
around the sheets is :mod:`.views`.
"""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup

from ..analysis.facts import METHODS, LayerFacts, QFact
from . import text as T
from .figures import layer_charts
from .hardware import LayerHardwareView, layer_block

MULTIPLIERS = {
    "mult": "{w}-bit × {x}-bit fixed-point multiplier",
    "barrel": "barrel shifter: a power-of-two operand turns the product into a shift",
    "mux": "multiplexer: a ternary/binary operand selects +x, −x or 0",
    "xor": "XOR gate: binary operands multiply by sign",
    "adder": "adder: power-of-two × power-of-two adds exponents",
    "fmult": "floating-point multiplier: an operand is float",
}
METHOD_NOTES = {
    "bound": "inputs free over their whole type range: provably safe",
    "conservative": "inputs over the range observed on the sample",
    "sampled": "accumulator values observed on the sample",
    "type": "from the types alone, as hls4ml infers it",
}

@dataclass(frozen=True)
class QuantizerRow:
    """One row of a sheet's quantizer table."""

    role: str
    kind: str
    config: str
    fixed: str
    range: str
    lsb: str
    bits: str
    signed: str
    scale: str
    notes: tuple[str, ...]


@dataclass(frozen=True)
class AccRow:
    """One accumulator method of an operation."""

    method: str
    note: str                   # what the method assumes
    min: str
    max: str
    integer: str                # I, sign bit included
    fractional: str             # F
    width: str                  # W = I + F
    fixed: str
    reason: str                 # why there is no width, when there is none
    default: bool               # the method shown first (bound)


@dataclass(frozen=True)
class OperationView:
    """One operation of a sheet: its multiplier and accumulator table."""

    part: str
    name: str
    type: str
    multiplier: str
    macs: str
    terms: str
    weight: str
    weight_fixed: str
    input: str
    input_fixed: str
    acc: tuple[AccRow, ...]
    scale: str
    headroom: str
    spread: str
    inferred: str   # the `type` accumulator: what hls4ml infers from the types alone
    bound: str      # the exact `bound` accumulator's type
    saved: str      # bits the bound saves over it ("" when either has no width)
    mac_energy: str  # what one MAC costs ("" without an energy estimate)


@dataclass(frozen=True)
class LayerView:
    """One layer's row in the layer table and, when ``sheet``, its sheet."""

    id: str
    number: str
    name: str
    class_name: str
    inputs: str
    input_shape: str
    output_shape: str
    quantizers: tuple[QuantizerRow, ...]
    operations: tuple[OperationView, ...]
    counts: tuple[tuple[str, str], ...]
    energy: tuple[tuple[str, str], ...]   # where the energy goes (empty: none or not estimated)
    energy_total: str                     # "" when not estimated
    warnings: tuple[str, ...]
    charts: tuple[Markup, ...]
    op_names: tuple[str, ...]   # one per operation (a separable layer has two)
    macs: str
    weights: str
    weight_bits: str
    acc: str
    inferred: str
    saved: str
    mac: bool
    sheet: bool
    hardware: LayerHardwareView | None = None   # weight layers: what hls4ml instantiates
    input_dims: str = ""                         # the layer table's shapes, per sample
    output_dims: str = ""
    keys: SortKeys | None = None                 # the layer table's sort and filter values
    formats: tuple[tuple[str, ...], ...] = ()    # HGQ2: one row per per-element quantizer
    hls4ml_type: str = ""                        # HGQ2: the accum_t hls4ml's BitExact derives
    ebops: str = ""                              # HGQ2: its stored EBOPs ("" when none)
    tables: tuple[tuple[str, ...], ...] = ()     # HGQ2: its lookup tables, one row each


@dataclass(frozen=True)
class SortKeys:
    """A layer-table row's numbers for sorting and filtering (``data-v``; "" when none).

    Widths are in bits; a float accumulator (or one with no fixed width)
    counts as 32, so ``acc>20`` finds it.
    """

    macs: str
    weights: str
    weight_bits: str
    acc: str
    inferred: str
    saved: str


def _width_key(r) -> str:
    if r is None:
        return ""
    return str(r.width if r.width is not None else 32)


def sort_keys(l: LayerFacts) -> SortKeys:
    c, a = l.counts, l.accumulator
    return SortKeys(
        macs=str(c.macs) if c else "", weights=str(c.weights) if c else "",
        weight_bits=str(c.weight_bits) if c else "",
        acc=_width_key(a.bound if a is not None else None),
        inferred=_width_key(a.type if a is not None else None),
        saved=str(l.operations[-1].bits_saved) if l.operations and l.operations[-1].bits_saved is not None else "")


def _format_row(b) -> tuple[str, ...]:
    """A per-element quantizer's row: role, modes, elements, pruned, narrowest … widest, bits."""
    ch = f" ({b.pruned_channels} channels)" if b.pruned_channels else ""
    span = f"{b.narrowest} … {b.widest}" if b.widest else "all pruned"
    return (b.role, f"{b.q_type} {b.round_mode} {b.overflow_mode}", T.integer(b.elements),
            T.integer(b.pruned) + ch, span, T.integer(b.total_bits))


def _qrow(role: str, f: QFact) -> QuantizerRow:
    return QuantizerRow(role=role, kind=f.kind, config=f.config, fixed=f.fixed or "—",
                        range=T.interval(f.min, f.max), lsb=T.pow2(f.lsb), bits=str(f.bits),
                        signed="signed" if f.signed else "unsigned", scale=f.scale or "",
                        notes=tuple(f.notes))


def _acc_rows(a) -> tuple[AccRow, ...]:
    rows = []
    for m in METHODS:
        r = getattr(a, m)
        if r is None:
            continue
        rows.append(AccRow(method=m, note=METHOD_NOTES[m], min=T.num(r.min), max=T.num(r.max),
                           integer=T.integer(r.integer_bits), fractional=T.integer(r.fractional_bits),
                           width=T.integer(r.width), fixed=r.fixed or "—", reason=r.reason or "",
                           default=m == "bound"))
    return tuple(rows)


def _op_view(o, mac) -> OperationView:
    a = o.accumulator
    pcw = a.per_channel_width
    return OperationView(
        part=o.part, name=o.name, type=o.type,
        multiplier=MULTIPLIERS[o.type].format(w=o.weight.bits, x=o.input.bits),
        macs=T.integer(o.macs), terms=T.integer(o.terms),
        weight=o.weight.config, weight_fixed=o.weight.fixed or "float",
        input=o.input.config, input_fixed=o.input.fixed or ("float" if o.input.is_float else "—"),
        acc=_acc_rows(a), scale=a.scale or "",
        headroom="" if a.headroom is None else f"{a.headroom} bits",
        spread=f"{min(pcw)}–{max(pcw)} bits over {len(pcw)} channels" if pcw else "",
        inferred=a.type.fixed or "" if a.type is not None else "",
        bound=a.bound.fixed or "" if a.bound is not None else "",
        saved="" if o.bits_saved is None else T.bits(o.bits_saved),
        mac_energy=T.mac_energy(mac) if mac is not None else "")


def layer_view(i: int, l: LayerFacts, chart, sheet: bool) -> LayerView:
    c = l.counts
    counts = ()
    if c is not None:
        counts = (("MACs", T.integer(c.macs)), ("weights", T.integer(c.weights)),
                  ("bias", T.integer(c.bias)), ("weight bits", T.integer(c.weight_bits)),
                  ("bias bits", T.integer(c.bias_bits)),
                  ("zero weights", f"{T.integer(c.zero_weights)} ({T.percent(c.sparsity) or 'no weights'})"),
                  ("BOPs", T.integer(c.bops)))
        if l.ebops is not None:
            counts += (("HGQ2 EBOPs (stored)", T.integer(l.ebops)),)
    row = T.counts_cells(l)
    macs = dict((m.part, m) for m in l.energy.per_mac) if l.energy is not None else {}
    return LayerView(
        id=f"layer-{i}", number=str(i + 1), name=l.name, class_name=l.class_name,
        inputs=", ".join(l.inputs) or "—", input_shape=T.shape(l.input_shape),
        output_shape=T.shape(l.output_shape), input_dims=T.dims(l.input_shape),
        output_dims=T.dims(l.output_shape),
        quantizers=tuple(_qrow(role, f) for role, f in l.quantizers),
        operations=tuple(_op_view(o, macs.get(o.part)) for o in l.operations),
        counts=counts, energy=T.energy_parts(l.energy),
        energy_total=T.energy(l.energy.total) if l.energy is not None else "", warnings=tuple(l.warnings),
        charts=layer_charts(l, chart) if chart is not None and sheet else (),
        op_names=tuple(o.name for o in l.operations),
        macs=row[0], weights=row[1], weight_bits=row[2],
        acc=T.accumulator_cell(l), inferred=T.inferred_cell(l),
        saved=T.saved_cell(l),
        mac=bool(l.operations), sheet=sheet, hardware=layer_block(l), keys=sort_keys(l),
        formats=tuple(_format_row(b) for b in l.bit_widths), hls4ml_type=l.hls4ml_type or "",
        ebops=T.integer(l.ebops) if l.ebops is not None else "",
        tables=tuple(T.table_row(t) for t in l.tables))


SHEETS = ("all", "mac", "none")
