"""The terminal summary: one row per layer and a totals block."""

from __future__ import annotations

from ..analysis.facts import ModelFacts
from ..provenance import Provenance
from .hardware import design, totals_rows
from .text import (accumulator_cell, bits, counts_cells, energy, inferred_cell, integer, kib,
                   part_label, percent)


def summary_text(facts: ModelFacts, prov: Provenance) -> str:
    """The terminal summary of a model.

    Args:
        facts: the analysis.
        prov: where the facts came from (``name`` and ``file`` are shown).

    Returns:
        Plain text, one line per layer, then totals and warnings.
    """
    rows = [("layer", "class", "operation", "MACs", "weights", "weight bits", "accumulator",
             "hls4ml infers")]
    for l in facts.layers:
        rows.append((l.name, l.class_name, " + ".join(o.name for o in l.operations),
                     *counts_cells(l), accumulator_cell(l), inferred_cell(l)))
    w = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    right = {3, 4, 5}
    fmt = lambda r: "  ".join(s.rjust(w[i]) if i in right else s.ljust(w[i])  # noqa: E731
                              for i, s in enumerate(r)).rstrip()
    out = [f"{prov.name}  ({prov.file})", fmt(rows[0]), "-" * (sum(w) + 2 * (len(w) - 1))]
    out += [fmt(r) for r in rows[1:]]
    t = facts.totals
    out += ["", "totals:",
            f"  MACs           {integer(t.macs)}"]
    out += [f"    {k:<14} {integer(v)}" for k, v in t.macs_by_operation]
    out += [f"  weights        {integer(t.weights)}  ({integer(t.weight_bits)} bits)",
            f"  bias           {integer(t.bias)}  ({integer(t.bias_bits)} bits)",
            f"  zero weights   {integer(t.zero_weights)}  (sparsity {percent(t.sparsity) or '—, no weights'})",
            f"  BOPs           {integer(t.bops)}"]
    if t.ebops is not None:
        out.append(f"  EBOPs (HGQ2)   {integer(t.ebops)}  (as the file stores them)")
    if t.table_bits:
        out.append(f"  tables         {integer(t.table_bits)} bits")
    if t.compression:
        out.append(f"  memory         {kib(t.parameter_bits)} vs {kib(t.float32_bits)} float32 "
                   f"({t.compression:.1f}x smaller)")
    w = t.widest_accumulator
    if w is not None:
        out.append(f"  widest acc.    {w.fixed}  ({part_label(w.layer, w.part)})")
    if t.bits_saved is not None:
        out.append(f"  bits saved     {bits(t.bits_saved)} of accumulator vs what hls4ml infers")
    out.append(f"  energy         {energy(t.energy_pj)} per inference (estimate; not a power sign-off)")
    hw = t.hardware
    if hw is not None and hw.layers:
        out += ["", f"hardware ({design(hw)}; ≈ an estimate, not a synthesis result):"]
        rows = totals_rows(hw)
        pad = max(len(k) for k, _ in rows)
        out += [f"  {k:<{pad}}  {v}" for k, v in rows]
        if hw.not_estimated:
            out.append(f"  {'not estimated':<{pad}}  {', '.join(hw.not_estimated)}")
    if facts.warnings:
        out += ["", "warnings:"] + [f"  - {m}" for m in facts.warnings]
    return "\n".join(out) + "\n"
