"""The facts in a notebook: a short repr, an HTML view, the terminal summary.

Formats :class:`~qreport.analysis.facts.ModelFacts` only.  Every string from
the model goes through Jinja2's autoescape, as in the HTML report.
"""

from __future__ import annotations

from . import text as T
from .hardware import hardware_view



def facts_html(facts) -> str:
    """The cover figures and the layer table, for Jupyter's ``_repr_html_``."""
    from .html import env

    s = T.summary(facts)
    hw = hardware_view(facts, {})
    figures = [(s.macs, "MACs per inference"), (s.memory, "parameter memory"),
               (s.widest, "widest accumulator"), (s.bits_saved, "saved vs hls4ml"),
               (s.energy, "energy (estimate)")]
    if hw is not None:
        figures += [(hw.cover[0][0], "LUTs (estimate)"), (hw.cover[1][0], "DSPs (estimate)")]
    rows = []
    for i, l in enumerate(facts.layers):
        h = l.hardware
        rows.append((str(i + 1), l.name, l.class_name, " + ".join(o.name for o in l.operations),
                     *T.counts_cells(l), T.accumulator_cell(l), T.inferred_cell(l),
                     T.saved_cell(l),
                     *(((f"{h.lut:,}", f"{h.dsp:,}") if h is not None else ("", ""))
                       if hw is not None else ())))
    return env().get_template("notebook.html").render(name=facts.name, n=len(facts.layers),
                      mac=sum(1 for l in facts.layers if l.operations), figures=figures,
                      rows=rows, hw=hw is not None, warnings=len(facts.warnings))


def short_repr(facts) -> str:
    """``<ModelFacts 'jet_mlp': 7 layers (4 with MACs), 4,256 MACs, …>``."""
    t = facts.totals
    w = t.widest_accumulator
    parts = [f"{len(facts.layers)} layers ({sum(1 for l in facts.layers if l.operations)} "
             f"with MACs)", f"{t.macs:,} MACs", f"{t.parameter_bits:,} parameter bits"]
    if w is not None:
        parts.append(f"widest accumulator {w.fixed} ({w.layer})")
    hw = t.hardware
    if hw is not None and hw.layers:
        parts.append(f"≈ {hw.lut:,} LUT, ≈ {hw.dsp:,} DSP ({hw.strategy}, RF {hw.reuse_factor})")
    if facts.warnings:
        parts.append(f"{len(facts.warnings)} warning{'s' if len(facts.warnings) != 1 else ''}")
    return f"<ModelFacts {facts.name!r}: " + ", ".join(parts) + ">"
