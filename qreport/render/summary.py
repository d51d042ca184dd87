"""The terminal summary: one row per layer and a totals block."""

from __future__ import annotations

from ..analysis.facts import ModelFacts


def _acc(l) -> str:
    a = l.accumulator
    if a is None or a.bound is None:
        return ""
    return a.bound.fixed or "float"


def summary_text(facts: ModelFacts, meta: dict) -> str:
    rows = [("layer", "class", "operation", "MACs", "weights", "weight bits", "accumulator")]
    for l in facts.layers:
        c = l.counts
        rows.append((l.name, l.class_name, " + ".join(o.name for o in l.operations),
                     f"{c.macs:,}" if c else "", f"{c.weights:,}" if c else "",
                     f"{c.weight_bits:,}" if c else "", _acc(l)))
    w = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    right = {3, 4, 5}
    fmt = lambda r: "  ".join(s.rjust(w[i]) if i in right else s.ljust(w[i])  # noqa: E731
                              for i, s in enumerate(r)).rstrip()
    out = [f"{meta['name']}  ({meta['file']})", fmt(rows[0]), "-" * (sum(w) + 2 * (len(w) - 1))]
    out += [fmt(r) for r in rows[1:]]
    t = facts.totals
    out += ["", "totals:",
            f"  MACs           {t.macs:,}"]
    out += [f"    {k:<14} {v:,}" for k, v in t.macs_by_operation]
    out += [f"  weights        {t.weights:,}  ({t.weight_bits:,} bits)",
            f"  bias           {t.bias:,}  ({t.bias_bits:,} bits)",
            f"  zero weights   {t.zero_weights:,}  (sparsity {t.sparsity:.1%})",
            f"  BOPs           {t.bops:,}"]
    if t.compression:
        out.append(f"  memory         {(t.weight_bits + t.bias_bits) / 8192:,.2f} KiB "
                   f"vs {t.float32_bits / 8192:,.2f} KiB float32 ({t.compression:.1f}x smaller)")
    if facts.warnings:
        out += ["", "warnings:"] + [f"  - {m}" for m in facts.warnings]
    return "\n".join(out) + "\n"
