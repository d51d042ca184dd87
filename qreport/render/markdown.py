"""GitHub-flavoured Markdown for a pull-request comment (``-o report.md``).

Every string that comes from a model (names, classes, quantizer configs,
types, warnings) is set in code: a code span in a table cell, a fenced
block for the warnings.  Nothing in code is read as Markdown, HTML or a
link, so a layer name cannot inject any.  The text stays under
:data:`LIMIT` characters (GitHub refuses longer comments): past it, the
layer table is cut with a line that says how many layers were left out.
"""

from __future__ import annotations

import re

from ..analysis.facts import ModelFacts
from ..provenance import Provenance
from . import text as T
from .hardware import design, fig, totals_rows

LIMIT = 60_000


def code(s) -> str:
    """A code span holding ``s`` literally, also inside a table cell."""
    s = T.one_line(s).replace("|", "\\|")
    if not s:
        return ""
    run = max((len(m) for m in re.findall(r"`+", s)), default=0)
    fence = "`" * (run + 1)
    pad = " " if s.startswith("`") or s.endswith("`") or (s.startswith(" ") and s.endswith(" ")) else ""
    return f"{fence}{pad}{s}{pad}{fence}"


def _fenced(lines: list[str]) -> list[str]:
    body = [T.one_line(s) for s in lines]
    run = max((len(m) for s in body for m in re.findall(r"`{3,}|~{3,}", s)), default=2)
    fence = "`" * max(3, run + 1)
    return [fence + "text", *body, fence]


def _table(head: tuple[str, ...], rows: list[tuple[str, ...]], right: set[int]) -> list[str]:
    align = ["---:" if i in right else "---" for i in range(len(head))]
    return ["| " + " | ".join(head) + " |", "| " + " | ".join(align) + " |",
            *("| " + " | ".join(r) + " |" for r in rows)]


def _layer_rows(facts: ModelFacts) -> list[tuple[str, ...]]:
    rows = []
    for i, l in enumerate(facts.layers):
        acc, inferred = T.accumulator_cell(l), T.inferred_cell(l)
        rows.append((str(i + 1), code(l.name), code(l.class_name),
                     " + ".join(code(o.name) for o in l.operations), *T.counts_cells(l),
                     code(acc) if acc else "", code(inferred) if inferred else "",
                     T.saved_cell(l), T.energy(l.energy.total) if l.energy is not None else "",
                     *_hw_cells(l))
                    + ((T.integer(l.ebops) if l.ebops is not None else "",)
                       if facts.library == "hgq2" else ()))
    return rows


def _hw_cells(l) -> tuple[str, ...]:
    h = l.hardware
    if h is None:
        return ("", "", "", "")
    return (f"{h.multipliers:,}", fig("dsp", h.dsp), fig("lut", h.lut),
            fig("latency_cycles", h.latency_cycles))


def _longest(doc, n: int, limit: int) -> str:
    """doc(k) with the most table rows k <= n that keeps it within limit characters."""
    lo, hi = 0, n
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if len(doc(mid)) <= limit:
            lo = mid
        else:
            hi = mid - 1
    return doc(lo)


def markdown(facts: ModelFacts, prov: Provenance, limit: int = LIMIT) -> str:
    """The Markdown report of a model.

    Args:
        facts: the analysis.
        prov: where the facts came from (name, file, sha256, tool versions).
        limit: the most characters the text may have.

    Returns:
        Markdown text, at most ``limit`` characters.
    """
    t, f = facts.totals, T.summary(facts)
    head = [f"## qreport datasheet: {code(prov.name)}", "",
            f"Model {code(prov.file)}, sha256 {code(prov.sha256)}; "
            f"Keras {code(prov.keras or '?')}, QKeras {code(prov.qkeras or '?')}, "
            f"qreport {code(prov.qreport or '?')}.", ""]
    ins = [(code(i.name), code(T.shape(i.shape)), code(i.type.config), code(i.type.fixed or "float"),
            "assumed default" if i.assumed else "given") for i in facts.inputs]
    head += _table(("input", "shape", "quantizer", "type", "type is"), ins, set()) + [""]
    w = t.widest_accumulator
    buys = [
        f"- **{f.compression}** smaller than float32 ({f.memory} vs {f.float_memory})",
        f"- **{f.macs}** MACs per inference, {f.bops} BOPs",
        f"- widest accumulator **{f.widest}**" + (f" ({code(w.fixed)}, {code(f.widest_where)})"
                                                   if w is not None else ""),
        f"- **{f.bits_saved}** of accumulator saved vs what hls4ml infers ({f.saved_where})",
        f"- zero weights **{f.sparsity}** ({f.zero_weights} of {f.weights})",
        f"- **{f.energy}** per inference, {T.ENERGY_CAVEAT}",
    ]
    head += ["### What quantization buys", "", *buys, ""]
    totals = [("MACs", f.macs), ("bit operations (BOPs)", f.bops)]
    totals += [("HGQ2's stored EBOPs", f.ebops)] if f.ebops else []
    totals += [("lookup-table memory", f.table_bits)] if f.table_bits else []
    totals += [("weights", f.weights),
              ("bias", f.bias), ("weight memory", f"{f.weight_bits} bits"),
              ("bias memory", f"{f.bias_bits} bits"), ("parameter memory", f.memory),
              ("energy per inference (estimate)", f.energy)]
    totals += [(f"MACs {code(k)}", n) for k, n, _ in f.macs_by_operation]
    head += ["### Totals", "", *_table(("total", "value"), totals, {1}), ""]
    hw = t.hardware
    if hw is not None and hw.layers:
        head += [f"### Hardware: {design(hw)}", "",
                 *_table(("figure", "value"), totals_rows(hw), {1}), "",
                 "≈ marks an estimate by the README's rules, not a synthesis result."
                 + (f" No figures for {', '.join(code(n) for n in hw.not_estimated)}."
                    if hw.not_estimated else ""), ""]
    tail = []
    if facts.warnings:
        tail = ["### Warnings", "", *_fenced([f"- {m}" for m in facts.warnings]), ""]
    tail += ["<sub>accumulator: the exact bound (every value Σ w·x + b can take); hls4ml: what "
             "hls4ml infers from the types alone. Generated by qreport.</sub>", ""]
    rows = _layer_rows(facts)
    layer_head = ("#", "layer", "class", "operation", "MACs", "weights", "weight bits",
                  "accumulator", "hls4ml", "bits saved", "energy (est.)", "multipliers", "DSP",
                  "LUT", "latency")
    right = {0, 4, 5, 6, 9, 10, 11, 12, 13, 14, 15}
    if facts.library == "hgq2":
        layer_head += ("EBOPs (HGQ2, stored)",)

    def doc(n_rows: int) -> str:
        table = _table(layer_head, rows[:n_rows], right)
        if n_rows < len(rows):
            left = len(rows) - n_rows
            table += ["", f"*{left} more layer{'s' if left != 1 else ''} left out to stay under "
                          f"{limit:,} characters: the HTML, PDF and JSON reports have them all.*"]
        return "\n".join(head + ["### Layers", "", *table, ""] + tail)

    if len(doc(0)) > limit and facts.warnings:  # the warnings alone are too long
        tail[:4 + len(facts.warnings)] = [
            "### Warnings", "", *_fenced([f"- {len(facts.warnings)} warnings, too long for "
                                          "this comment: the JSON report lists them"]), ""]
    return _longest(doc, len(rows), limit)


def diff_markdown(d, old: Provenance, new: Provenance, limit: int = LIMIT) -> str:
    """The Markdown of a diff: verdict, totals old → new, then each layer's key changes.

    Args:
        d: the :class:`..analysis.diff.ModelDiff`.
        old, new: where the two models came from.
        limit: the most characters the text may have.
    """
    head = [f"## qreport diff: {code(old.name)} → {code(new.name)}", "",
            f"Old {code(old.file)} (sha256 {code(old.sha256[:12])}), "
            f"new {code(new.file)} (sha256 {code(new.sha256[:12])}).", ""]
    if not d.changed:
        return "\n".join(head + ["**No changes**: every layer and every total is the same.", ""])
    n = {s: d.status_count(s) for s in ("added", "removed", "changed", "same")}
    head += [f"**{d.count('regression')} regressions, {d.count('improvement')} improvements** "
             f"(cost figures: accumulator widths, MACs, memory, energy). Layers: {n['changed']} "
             f"changed, {n['added']} added, {n['removed']} removed, {n['same']} the same.", ""]
    rows = [(code(t.fact), t.old, t.new, t.change, t.mark) for t in T.total_rows(d, moved_only=True)]
    head += ["### Totals", "", *_table(("total", "old", "new", "change", ""), rows, {1, 2, 3}), ""]
    changes = [(code(c.layer), c.status, code(c.fact), code(c.old), code(c.new), c.mark)
               for c in T.change_rows(d)]
    tail = ["<sub>Only the key facts of each layer are listed; the JSON diff "
            "(`-o diff.json`, schema `qreport-diff/1`) has every changed fact. Energy is "
            f"{T.ENERGY_CAVEAT}. Generated by qreport.</sub>", ""]

    def doc(k: int) -> str:
        table = _table(("layer", "status", "fact", "old", "new", ""), changes[:k], set())
        if k < len(changes):
            left = len(changes) - k
            table += ["", f"*{left} more change{'s' if left != 1 else ''} left out to stay under "
                          f"{limit:,} characters: the JSON diff has them all.*"]
        return "\n".join(head + ["### Layer changes", "", *table, ""] + tail)

    return _longest(doc, len(changes), limit)
