"""The hardware figures as the pages show them: every estimate marked ≈ and labelled.

Formats :class:`~qreport.analysis.hardware.LayerHardware` and
:class:`~qreport.analysis.hardware.ModelHardware`; computes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..analysis.hardware import FIGURES
from ..analysis.hardware.estimates import error

#: The estimated figures whose measured error the pages state, and how they name them.
ESTIMATED = (("lut", "LUT"), ("ff", "FF"), ("dsp", "DSP"), ("bram_18k", "BRAM_18K"),
             ("latency_cycles", "latency"))

#: How a strategy is named on the page.
STRATEGY = {"latency": "latency", "resource": "resource",
            "distributed_arithmetic": "distributed arithmetic (da4ml)"}


def fig(name: str, v) -> str:
    """A figure's value, ``≈`` before an estimate, ``—`` when unknown."""
    if v is None:
        return "—"
    s = f"{round(v):,}" if isinstance(v, float) else f"{v:,}"
    return ("≈ " + s) if FIGURES[name][0] == "estimate" else s


def err(name: str, hw) -> str:
    """An estimate's measured error in the design's regime: ``±8 % median, ±12 % p90 (n = 207)``."""
    e = error(name, hw.strategy, hw.reuse_factor)
    return e.label() if e is not None else "unvalidated (no public synthesis data for this regime)"


def error_cells(hw) -> dict[str, str]:
    """Each estimated figure's measured error, short, for the row under the totals:
    ``±41% / ±100%`` (median / 90th percentile) or ``unvalidated``."""
    out = {}
    for name, _ in ESTIMATED:
        e = error(name, hw.strategy, hw.reuse_factor)
        out[name] = f"±{e.median:.0%} / ±{e.p90:.0%}" if e is not None else "unvalidated"
    return out


def error_sources(hw) -> tuple[str, ...]:
    """Where the errors were measured: each source once, with its figures and design count."""
    seen: dict[str, list[str]] = {}
    for name, label in ESTIMATED:
        e = error(name, hw.strategy, hw.reuse_factor)
        if e is not None:
            seen.setdefault(e.source, []).append((label, e.n))
    out = []
    for src, figs in seen.items():
        by_n: dict[int, list[str]] = {}
        for label, n in figs:
            by_n.setdefault(n, []).append(label)
        out.append("; ".join(f"{', '.join(ls)} (n = {n})" for n, ls in by_n.items()) + f": {src}")
    return tuple(out)


def errors_line(hw) -> str:
    """The errors in one line, for a sheet or the terminal: ``LUT ±8 % median, …``."""
    out = []
    for name, label in ESTIMATED:
        e = error(name, hw.strategy, hw.reuse_factor)
        out.append(f"{label} " + (f"±{e.median:.0%}/±{e.p90:.0%}" if e is not None else "unvalidated"))
    return "measured error (median/p90): " + ", ".join(out)


def cycles(n: int) -> str:
    return f"{n:,} cycle{'s' if n != 1 else ''}"


def kilo(v) -> str:
    """A cover figure: ``8,712``, ``87.2 k``, ``12.7 M`` (so it fits its box)."""
    if v >= 999_950:            # would print as 1000.0 k
        return f"{v / 1e6:.3g} M"
    return f"{v / 1000:.1f} k" if v >= 10_000 else f"{v:,}"


def design(hw) -> str:
    """``hls4ml latency strategy, reuse factor 1``."""
    return f"hls4ml {STRATEGY[hw.strategy]} strategy, reuse factor {hw.reuse_factor}"


def totals_rows(hw) -> list[tuple[str, str]]:
    """The design's totals as (figure, value) rows: Markdown's table, the terminal summary."""
    rows = [("multipliers (exact)", f"{hw.multipliers:,}"),
            (f"DSP (estimate, {err('dsp', hw)})", fig("dsp", hw.dsp)),
            (f"LUT (estimate, {err('lut', hw)})", fig("lut", hw.lut)),
            (f"FF (estimate, {err('ff', hw)})", fig("ff", hw.ff)),
            (f"BRAM_18K (estimate, {err('bram_18k', hw)})", fig("bram_18k", hw.bram_18k)),
            ("initiation interval (exact)", cycles(hw.initiation_interval)),
            (f"latency (estimate, {err('latency_cycles', hw)})",
             f"{fig('latency_cycles', hw.latency_cycles)} cycles")]
    if hw.lut_saved:
        rows.append(("LUTs the exact widths save (estimate)", fig("lut", hw.lut_saved)))
    return rows


@dataclass(frozen=True)
class HardwareRow:
    """A row of the hardware table (a layer, or the totals with ``name`` "total")."""

    name: str
    id: str
    multipliers: str
    dsp: str
    lut: str
    ff: str
    bram: str
    ii: str
    latency: str
    lut_saved: str
    note: str = ""


@dataclass(frozen=True)
class HardwareView:
    """The model's hardware: the cover figure, the table and the rules."""

    design: str
    cover: tuple[tuple[str, str, str], ...]  # the cover's figures: (value, label, detail)
    cover_label: str  # "≈ 87.2 k LUT · ≈ 136 DSP · II 1 · ≈ 16 cycles"
    rows: tuple[HardwareRow, ...]
    total: HardwareRow
    saved: str        # "≈ 14,606 LUTs and ≈ 1,816 FFs saved by the exact widths" or ""
    missing: str      # the weight layers without figures, or ""
    rules: tuple[tuple[str, str, str], ...]  # (figure, exact|estimate, rule)
    errors: dict | None = None                    # figure -> measured error (median / p90)
    error_sources: tuple[str, ...] = ()


def _row(name: str, lid: str, h, note: str = "") -> HardwareRow:
    return HardwareRow(name=name, id=lid, multipliers=fig("multipliers", h.multipliers),
                       dsp=fig("dsp", h.dsp), lut=fig("lut", h.lut), ff=fig("ff", h.ff),
                       bram=fig("bram_18k", h.bram_18k), ii=fig("initiation_interval",
                                                              h.initiation_interval),
                       latency=fig("latency_cycles", h.latency_cycles),
                       lut_saved=fig("lut", h.lut_saved) if h.lut_saved is not None else "—",
                       note=note)


def hardware_view(facts, ids: dict[str, str]) -> HardwareView | None:
    """The hardware section of a datasheet (None: the model has no weight layer)."""
    hw = facts.totals.hardware
    if hw is None or (hw.layers == 0 and not hw.not_estimated):
        return None
    rows = []
    for l in facts.layers:
        if l.hardware is not None:
            rows.append(_row(l.name, ids.get(l.name, ""), l.hardware,
                             "; ".join(l.hardware.notes)))
        elif l.hardware_note:
            rows.append(HardwareRow(l.name, ids.get(l.name, ""), *(["—"] * 8),
                                    note=l.hardware_note))
    lut = hw.lut
    cover_label = (f"≈ {kilo(lut)} LUT · {fig('dsp', hw.dsp)} DSP · II {hw.initiation_interval}"
                   f" · {fig('latency_cycles', hw.latency_cycles)} cycles")
    if hw.bram_18k:
        cover_label += f" · {hw.bram_18k} BRAM_18K"
    def short(name):
        e = error(name, hw.strategy, hw.reuse_factor)
        return f"±{e.median:.0%} median" if e is not None else "unvalidated"
    cover = [(f"≈ {kilo(lut)}", f"LUTs (estimate, {short('lut')})",
              f"≈ {kilo(hw.lut_saved)} saved by exact widths" if hw.lut_saved else ""),
             (fig("dsp", hw.dsp), f"DSPs (estimate, {short('dsp')})",
              f"{hw.multipliers:,} multipliers (exact)"),
             (f"II {hw.initiation_interval:,}", "cycles per input (exact)",
              f"latency {fig('latency_cycles', hw.latency_cycles)} cycles"),
             (fig("bram_18k", hw.bram_18k), f"BRAM_18K (estimate, {short('bram_18k')})",
              f"{hw.weight_storage_bits:,} weight bits"),
             (f"≈ {kilo(hw.ff)}", f"FFs (estimate, {short('ff')})", "registers")]
    saved = ""
    if hw.lut_saved:
        saved = (f"{fig('lut', hw.lut_saved)} LUTs and {fig('ff', hw.ff_saved)} FFs: what the exact "
                 "accumulator widths save over the types hls4ml infers (adders and registers)")
    missing = ""
    if hw.not_estimated:
        missing = (f"No hardware figures for {len(hw.not_estimated)} weight layer"
                   f"{'s' if len(hw.not_estimated) != 1 else ''} ({', '.join(hw.not_estimated)}): "
                   "the totals leave them out.")
    return HardwareView(
        design=design(hw), cover=tuple(cover), cover_label=cover_label,
        rows=tuple(rows), total=_row("total", "", hw), saved=saved, missing=missing,
        rules=tuple((k, b, r) for k, (b, r) in FIGURES.items()), errors=error_cells(hw),
        error_sources=error_sources(hw))


@dataclass(frozen=True)
class LayerHardwareView:
    """A layer sheet's hardware: a sentence of exact counts, and one row of figures."""

    design: str
    lines: tuple[str, ...]
    cells: tuple[tuple[str, str], ...]   # (heading, value); estimates marked ≈ in the value
    note: str = ""                       # why a weight layer has no figures


def layer_block(l) -> LayerHardwareView | None:
    """A layer sheet's hardware block (None: a layer without weights)."""
    h = l.hardware
    if h is None:
        return LayerHardwareView("", (), (), l.hardware_note) if l.hardware_note else None
    widths = ", ".join(f"{c:,} × {a}×{w} bits" for a, w, c in h.multipliers_by_width)
    adders = ", ".join(f"{c:,} × {w} bits" for w, c in h.adders_by_width)
    lines = [f"{h.multiplications:,} products: {h.zero_products:,} zero, "
             f"{h.shift_products:,} ±2^k, {h.multiplier_products:,} multiplied"
             + (f" (×{h.positions:,} positions in turn)" if h.positions > 1 else "") + "."]
    if widths:
        lines.append(f"Multipliers, data × weight: {widths}.")
    if adders:
        lines.append(f"Adders: {adders}.")
    if h.da_cost is not None:
        lines.append(f"da4ml: cost {h.da_cost:,.0f} LUT-equivalents, adder depth {h.da_depth}.")
    lines += list(h.notes)
    lines.append(errors_line(h) + ".")
    cells = (("multipliers", f"{h.multipliers:,}"), ("adders", f"{h.adders:,}"),
             ("BRAM_18K", fig("bram_18k", h.bram_18k)), ("II", cycles(h.initiation_interval)),
             ("DSP", fig("dsp", h.dsp)), ("LUT", fig("lut", h.lut)),
             ("LUT saved", fig("lut", h.lut_saved) if h.lut_saved is not None else "—"),
             ("FF", fig("ff", h.ff)),
             ("latency", fig("latency_cycles", h.latency_cycles) + " cyc."))
    return LayerHardwareView(design(h), tuple(lines), cells)
