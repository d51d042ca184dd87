"""Number formatting shared by every renderer: one rule per kind of number.

Exact where the number is exact: a value on a binary grid prints with all
its digits (``repr``), never rounded; counts print with thousands
separators; only ratios (shares, compression) are rounded, and say so by
their unit.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from ..contract import KEY_PATH

MINUS = "\u2212"
THIN_SPACE = "\u2009"
_SUP = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def num(v) -> str:
    """Exact, shortest decimal for a float on a binary grid; integers without '.0'.

    Integers group their digits with a thin space; negative numbers carry a
    real minus sign; None is a dash.
    """
    if v is None:
        return "—"
    v = float(v)
    if v == 0:
        return "0"
    if v.is_integer() and abs(v) < 1e15:
        return f"{int(v):,}".replace(",", THIN_SPACE).replace("-", MINUS)
    return repr(v).replace("-", MINUS)


def integer(v) -> str:
    """A count: ``1,234``; None is a dash."""
    return "—" if v is None else f"{int(v):,}"


def pow2(v) -> str:
    """A grid step as 2ⁿ, with its decimal value when that is short."""
    if v is None:
        return "—"
    e = math.log2(v)
    if e.is_integer():
        p = "2" + str(int(e)).translate(_SUP)
        d = num(v)
        return p if len(d) > 10 or e == 0 else f"{p} = {d}"
    return num(v)


def interval(lo, hi) -> str:
    """``[lo, hi]`` with exact ends, or a dash when there is no range."""
    if lo is None:
        return "—"
    return f"[{num(lo)}, {num(hi)}]"


def shape(s) -> str:
    """A tensor shape, the batch axis as N."""
    return "(" + ", ".join("N" if d is None else str(d) for d in s) + ")"


def dims(s) -> str:
    """A tensor shape per sample, for a table: ``112×112×32`` (the batch axis left out)."""
    d = list(s)
    if d and d[0] is None:
        d = d[1:]
    return "\u00d7".join("?" if v is None else str(v) for v in d) or "1"


def kib(bits: int) -> str:
    """Memory in KiB (1 KiB = 8192 bits), two decimals."""
    return f"{bits / 8192:,.2f} KiB"


def percent(share: float | None) -> str:
    """A share as a percentage with one decimal; empty when there is none."""
    return "" if share is None else f"{share:.1%}"


def si(v, _pos=None) -> str:
    """A chart axis label: 1.5k, 2M, 3G (``_pos`` lets matplotlib call it)."""
    v = float(v)
    for div, suf in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= div:
            return f"{v / div:g}{suf}"
    return f"{v:g}"


def energy(pj: float | None) -> str:
    """An energy estimate with four significant digits in pJ, nJ, µJ or mJ (``—``: none)."""
    if pj is None:
        return "—"
    if pj == 0:
        return "0 pJ"
    for div, unit in ((1e9, "mJ"), (1e6, "µJ"), (1e3, "nJ")):
        if pj >= div:
            return f"{pj / div:.4g} {unit}"
    return f"{pj:.4g} pJ"


#: Where a layer's energy goes: the label and the :class:`Energy` field, in the order shown.
ENERGY_PARTS = (("inputs read", "inputs"), ("parameters read", "parameters"),
                ("operations", "operations"), ("outputs written", "outputs"))


def energy_parts(e) -> tuple[tuple[str, str], ...]:
    """Where a layer's energy goes, the parts it has (empty when not estimated)."""
    if e is None:
        return ()
    return tuple((k, energy(getattr(e, f))) for k, f in ENERGY_PARTS if getattr(e, f))


def mac_energy(m) -> str:
    """What one MAC of an operation costs: ``0.2041 pJ (0.151 multiply + 0.05313 add, 17 bits)``."""
    at = f"{m.add_bits} bits" if m.add_bits is not None else "fp32"
    return f"{energy(m.multiply + m.add)} ({m.multiply:.4g} multiply + {m.add:.4g} add, {at})"


#: What every page says of the energy figures.
ENERGY_CAVEAT = ("an estimate for comparing designs (Horowitz 45 nm, as QTools: arithmetic "
                 "and SRAM traffic), not a power sign-off")


def part_label(layer: str, part: str) -> str:
    """``layer`` for a layer's only operation, ``layer (pointwise)`` for a part."""
    return layer + (f" ({part})" if part != "main" else "")


def accumulator_cell(layer) -> str:
    """A layer's accumulator in a table: its bound's type, ``float``, or empty."""
    a = layer.accumulator
    if a is None or a.bound is None:
        return ""
    return a.bound.fixed or "float"


def inferred_cell(layer) -> str:
    """What hls4ml infers for a layer's accumulator (its `type` method): a type, ``float``, or empty."""
    a = layer.accumulator
    if a is None or a.type is None:
        return ""
    return a.type.fixed or "float"


def bits(n: int | None) -> str:
    """A count of bits: ``1 bit``, ``3 bits``; ``—`` when unknown."""
    if n is None:
        return "—"
    return f"{n:,} bit" + ("" if n == 1 else "s")


def counts_cells(layer) -> tuple[str, str, str]:
    """A layer's MACs, weights and weight bits for a table row (empty without counts)."""
    c = layer.counts
    return (integer(c.macs), integer(c.weights), integer(c.weight_bits)) if c else ("", "", "")


def saved_cell(layer) -> str:
    """Bits the layer's accumulator saves over what hls4ml infers (empty without operations)."""
    return integer(layer.operations[-1].bits_saved) if layer.operations else ""


def one_line(text) -> str:
    """Text from a model on one line: control and line-breaking characters become spaces."""
    return re.sub(r"[\x00-\x1f\x7f\u2028\u2029\x85]", " ", str(text))


@dataclass(frozen=True)
class Summary:
    """The cover's and the totals table's numbers."""

    macs: str
    bops: str
    macs_by_operation: tuple[tuple[str, str, str], ...]
    weights: str
    bias: str
    weight_bits: str
    bias_bits: str
    memory: str
    float_memory: str
    compression: str
    zero_weights: str
    sparsity: str
    widest: str
    widest_where: str
    bits_saved: str
    saved_where: str
    energy: str
    ebops: str = ""        # HGQ2: the layers' stored EBOPs ("" for other models)
    table_bits: str = ""   # HGQ2: lookup-table memory ("" when none)


def summary(facts) -> Summary:
    """The model's figures as the cover, the totals table and the Markdown show them."""
    t = facts.totals
    w = t.widest_accumulator
    return Summary(
        macs=integer(t.macs), bops=integer(t.bops),
        macs_by_operation=tuple((k, integer(v), percent(t.macs_share(v)))
                                for k, v in t.macs_by_operation),
        weights=integer(t.weights), bias=integer(t.bias),
        weight_bits=integer(t.weight_bits), bias_bits=integer(t.bias_bits),
        memory=kib(t.parameter_bits), float_memory=kib(t.float32_bits),
        compression=f"{t.compression:.1f}×" if t.compression else "—",
        zero_weights=integer(t.zero_weights), sparsity=percent(t.sparsity) or "—",
        widest=f"{w.width} bits" if w is not None else "—",
        widest_where=part_label(w.layer, w.part) if w is not None else "",
        bits_saved=bits(t.bits_saved),
        saved_where=_saved_where(facts),
        energy=energy(t.energy_pj),
        ebops=integer(t.ebops) if t.ebops is not None else "",
        table_bits=f"{integer(t.table_bits)} bits" if t.table_bits else "")


def table_row(t) -> tuple[str, ...]:
    """A lookup table's row: name, address, entries, width, memory, types, entries known."""
    return (t.name, f"{t.input_bits} bits ({t.input_type})", integer(t.depth),
            f"{t.width} bits ({t.output_type})", f"{integer(t.bits)} bits",
            "computed" if t.evaluated else "not stored")


def _saved_where(facts) -> str:
    """Over how many accumulators the bits are saved, for the cover."""
    n = sum(1 for l in facts.layers for o in l.operations if o.bits_saved is not None)
    return f"{n} accumulator{'s' if n != 1 else ''}" if n else "no fixed widths"


def fact_value(v, path: str = "") -> str:
    """A fact's value in a diff: numbers exact, energies in pJ/nJ, lists joined, None a dash."""
    if path.endswith("_pj") and isinstance(v, (int, float)) and not isinstance(v, bool):
        return energy(v)
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return num(v) if len(repr(v)) <= 12 else f"{v:,.6g}"
    if isinstance(v, list):
        return "[" + ", ".join(fact_value(x) for x in v) + "]"
    return str(v)


def delta(d, pct, path: str = "") -> str:
    """A total's change: ``+1,024 (+12.5%)``, ``+305.9 pJ (+12.8%)``; empty when it did not move."""
    if not d:
        return ""
    sign = "+" if d > 0 else MINUS
    if path.endswith("_pj"):
        mag = energy(abs(d))
    else:
        mag = f"{abs(d):,}" if isinstance(d, int) else f"{abs(d):,.6g}"
    return f"{sign}{mag}" + (f" ({sign}{abs(pct):.1f}%)" if pct is not None else "")


#: How a diff marks a cost figure's move.
VERDICT_MARK = {"regression": "▲ worse", "improvement": "▼ better", None: ""}


@dataclass(frozen=True)
class DiffRow:
    """A row of a diff's tables as text: a layer's key fact, or a model total."""

    layer: str      # "" for a total
    status: str     # the layer's status ("" for a total)
    fact: str
    old: str
    new: str
    change: str     # new - old for a total that moved, else ""
    verdict: str    # regression, improvement or ""
    mark: str


def change_rows(d) -> tuple[DiffRow, ...]:
    """The key changes of each layer of a diff (added and removed layers one row each)."""
    rows = []
    for l in d.layers:
        if l.status in ("added", "removed"):
            old, new = ("—", l.class_name) if l.status == "added" else (l.class_name, "—")
            rows.append(DiffRow(l.name, l.status, f"layer {l.status}", old, new, "", "", ""))
        rows += [DiffRow(l.name, l.status, c.path, fact_value(c.old, c.path),
                         fact_value(c.new, c.path), "", c.verdict or "", VERDICT_MARK[c.verdict])
                 for c in l.changes if KEY_PATH.search(c.path) and not c.alias]
    return tuple(rows)


def total_rows(d, moved_only: bool = False) -> tuple[DiffRow, ...]:
    """The model totals of a diff, old and new (only those that moved, if asked)."""
    return tuple(DiffRow("", "", t.fact, fact_value(t.old, t.fact), fact_value(t.new, t.fact),
                         delta(t.delta, t.percent, t.fact), t.verdict or "", VERDICT_MARK[t.verdict])
                 for t in d.totals if not (moved_only and t.old == t.new))
