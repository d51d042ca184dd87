"""The JSON contract: every fact as the plain data of ``qreport/1`` (SPEC section 5).

This is the one place that says how a fact is written: the JSON report,
the HTML's embedded JSON, the diff (which compares reports fact path by
fact path), ``qreport check --format json`` and the Markdown read it.  It
also declares the fact paths other code relies on (:data:`COST_PATH`,
:data:`KEY_PATH`).  Schemas: ``qreport/schema/``.
"""

from __future__ import annotations

import json
import re

from .analysis.facts import (METHODS, Accumulator, AccRange, Counts, Energy, LayerFacts, MacEnergy,
                             ModelFacts, Operation, QFact, Totals, Widest)
from .analysis.hardware import FIGURES, LayerHardware, ModelHardware
from .provenance import Provenance

SCHEMA = "qreport/1"
DIFF_SCHEMA = "qreport-diff/1"
CHECK_SCHEMA = "qreport-check/1"
COMPARE_SCHEMA = "qreport-compare/1"

#: Fact paths whose growth costs hardware, in a layer object or in the totals:
#: a diff calls their growth a regression and their shrinking an improvement.
COST_PATH = re.compile(
    r"(^|\.)accumulator\.(bound|conservative|sampled|type)\.width$"
    r"|^(counts|operations\.\d+)\.macs$"
    r"|^counts\.(weights|bias|weight_bits|bias_bits|bops|energy_pj)$"
    r"|^energy\.total_pj$"
    r"|^(macs|weights|bias|weight_bits|bias_bits|bops|energy_pj)$"
    r"|^widest_accumulator\.width$"
    r"|^hardware\.(multipliers|adders|dsp|lut|ff|bram_18k|initiation_interval|latency_cycles"
    r"|da_cost|da_depth|weight_storage_bits)\.value$")

#: The fact paths of a layer that a diff's tables show (the JSON has them all).
KEY_PATH = re.compile(
    r"^quantizers\.[^.]+\.(config|fixed)$|^operations\.\d+\.name$|^counts\.\w+$"
    r"|^(operations\.\d+\.)?accumulator\.(bound|type|conservative|sampled)\.(width|fixed)$"
    r"|^energy\.total_pj$|^class$"
    r"|^hardware\.(multipliers|dsp|lut|ff|bram_18k|initiation_interval|latency_cycles|da_cost)"
    r"\.value$")


#: Paths of the totals a diff leaves out: the hardware rules and each figure's basis say how
#: a figure is counted, the same for every model; they are not figures.
DIFF_SKIP = re.compile(r"^hardware\.rules\.|^hardware\.[a-z_0-9]+\.basis$")


def alias_path(layer: dict) -> re.Pattern:
    """The paths of a layer object that restate another of it: the last operation's
    accumulator (it is the layer's ``accumulator``) and ``energy.total_pj`` (it is
    ``counts.energy_pj``)."""
    ops = layer.get("operations") or []
    alts = [rf"operations\.{len(ops) - 1}\.accumulator\."] if ops else []
    if layer.get("counts") is not None:
        alts.append(r"energy\.total_pj$")
    return re.compile("^(" + "|".join(alts) + ")") if alts else re.compile(r"(?!)")


def pj(v: float) -> float:
    """An energy in the JSON: to 1e-6 pJ, so that the last bits of a libm call never show."""
    return round(v, 6)


def qfact(f: QFact) -> dict:
    return {"kind": f.kind, "config": f.config, "mode": f.mode, "bits": f.bits,
            "integer": f.integer, "signed": f.signed, "min": f.min, "max": f.max, "lsb": f.lsb,
            "fixed": f.fixed, "scale": f.scale, "notes": list(f.notes)}


def acc_range(r: AccRange) -> dict:
    d = {k: getattr(r, k) for k in
         ("min", "max", "integer_bits", "fractional_bits", "width", "signed", "fixed")}
    if r.reason:
        d["reason"] = r.reason
    return d


def accumulator(a: Accumulator) -> dict:
    d = {m: (acc_range(getattr(a, m)) if getattr(a, m) is not None else None) for m in METHODS}
    d["per_channel_width"] = list(a.per_channel_width)
    d["headroom"] = a.headroom
    d["scale"] = a.scale
    return d


def operation(o: Operation) -> dict:
    return {"part": o.part, "type": o.type, "name": o.name, "macs": o.macs, "terms": o.terms,
            "weight": qfact(o.weight), "input": qfact(o.input),
            "accumulator": accumulator(o.accumulator), "bits_saved": o.bits_saved}


def counts(c: Counts) -> dict:
    return {k: getattr(c, k) for k in
            ("macs", "weights", "bias", "weight_bits", "bias_bits", "zero_weights", "bops")}


def mac_energy(m: MacEnergy) -> dict:
    return {"part": m.part, "multiply_pj": pj(m.multiply), "add_pj": pj(m.add),
            "add_bits": m.add_bits}


def energy(e: Energy) -> dict:
    return {"inputs_pj": pj(e.inputs), "parameters_pj": pj(e.parameters),
            "operations_pj": pj(e.operations), "outputs_pj": pj(e.outputs),
            "total_pj": pj(e.total), "per_mac": [mac_energy(m) for m in e.per_mac]}


def figure(name: str, value, h=None) -> dict:
    """One hardware figure: its value, whether it is an exact count or an estimate, and an
    estimate's measured error in the design's regime (``"unvalidated"`` where no public
    synthesis data covers it)."""
    if isinstance(value, float):
        value = round(value, 6)
    d = {"value": value, "basis": FIGURES[name][0]}
    if d["basis"] == "estimate" and h is not None:
        from .analysis.hardware.estimates import error

        e = error(name, h.strategy, h.reuse_factor)
        d["error"] = ({"median": e.median, "p90": e.p90, "n": e.n, "source": e.source}
                      if e is not None else "unvalidated")
    return d


_LAYER_FIGURES = ("multiplications", "zero_products", "shift_products", "multiplier_products",
                  "multipliers", "adders", "weight_storage_bits", "bram_18k",
                  "initiation_interval", "latency_cycles", "dsp", "lut", "ff", "da_cost", "da_depth")


def layer_hardware(h: LayerHardware) -> dict:
    """A layer's ``hardware`` object: what hls4ml instantiates, every figure marked."""
    d = {"strategy": h.strategy, "reuse_factor": h.reuse_factor, "positions": h.positions}
    d.update({k: figure(k, getattr(h, k), h) for k in _LAYER_FIGURES})
    d["multipliers_by_width"] = [{"data_bits": a, "weight_bits": b, "count": c}
                                 for a, b, c in h.multipliers_by_width]
    d["adders_by_width"] = [{"width": w, "count": c} for w, c in h.adders_by_width]
    d["inferred"] = {"lut": figure("lut", h.lut_type, h), "ff": figure("ff", h.ff_type, h)}
    d["lut_saved"] = figure("lut", h.lut_saved, h)
    d["ff_saved"] = figure("ff", h.ff_saved, h)
    d["notes"] = list(h.notes)
    return d


def model_hardware(h: ModelHardware) -> dict:
    """``totals.hardware``: the design's sums, and every figure's rule."""
    d = {"strategy": h.strategy, "reuse_factor": h.reuse_factor}
    for k in ("multipliers", "dsp", "lut", "ff", "bram_18k", "weight_storage_bits",
              "initiation_interval", "latency_cycles", "da_cost"):
        d[k] = figure(k, getattr(h, k), h)
    d["lut_saved"] = figure("lut", h.lut_saved, h)
    d["ff_saved"] = figure("ff", h.ff_saved, h)
    d["layers"] = h.layers
    d["not_estimated"] = list(h.not_estimated)
    d["rules"] = {k: {"basis": b, "rule": r} for k, (b, r) in FIGURES.items()}
    return d


def bit_widths(b) -> dict:
    return {"role": b.role, "q_type": b.q_type, "round_mode": b.round_mode,
            "overflow_mode": b.overflow_mode,
            "histogram": {str(w): c for w, c in zip(b.widths, b.counts)},
            "elements": b.elements, "pruned": b.pruned, "pruned_channels": b.pruned_channels,
            "widest": b.widest, "narrowest": b.narrowest, "total_bits": b.total_bits}


def table(t) -> dict:
    return {"name": t.name, "input_bits": t.input_bits, "depth": t.depth, "width": t.width,
            "bits": t.bits, "input_type": t.input_type, "output_type": t.output_type,
            "entries": "computed" if t.evaluated else "not stored"}


def layer(l: LayerFacts, hgq2: bool = False) -> dict:
    """The layer object (an HGQ2 model's also has ``bit_widths``, ``hls4ml_accum_t``,
    ``ebops`` and ``tables``)."""
    d = _layer(l)
    if hgq2:
        d["bit_widths"] = [bit_widths(b) for b in l.bit_widths]
        d["hls4ml_accum_t"] = l.hls4ml_type
        d["ebops"] = l.ebops
        d["tables"] = [table(t) for t in l.tables]
    return d


def _layer(l: LayerFacts) -> dict:
    a = l.accumulator
    return {
        "name": l.name,
        "class": l.class_name,
        "inputs": list(l.inputs),
        "input_shape": list(l.input_shape),
        "output_shape": list(l.output_shape),
        "quantizers": {role: qfact(f) for role, f in l.quantizers},
        "operations": [operation(o) for o in l.operations],
        "counts": ({**counts(l.counts), "energy_pj": pj(l.energy.total)}
                   if l.counts is not None else None),
        "accumulator": accumulator(a) if a is not None else None,
        "energy": energy(l.energy) if l.energy is not None else None,
        "hardware": layer_hardware(l.hardware) if l.hardware is not None else None,
        "hardware_note": l.hardware_note,
        "warnings": list(l.warnings),
    }


def widest(w: Widest) -> dict:
    return {"layer": w.layer, "part": w.part, "width": w.width, "fixed": w.fixed}


def totals(t: Totals, hgq2: bool = False) -> dict:
    """The totals object (an HGQ2 model's also has ``ebops`` and ``table_bits``)."""
    w = t.widest_accumulator
    extra = {"ebops": t.ebops, "table_bits": t.table_bits} if hgq2 else {}
    return {
        "macs": t.macs, "macs_by_operation": dict(t.macs_by_operation),
        "weights": t.weights, "bias": t.bias, "weight_bits": t.weight_bits,
        "bias_bits": t.bias_bits, "zero_weights": t.zero_weights,
        "sparsity": t.sparsity, "bops": t.bops,
        "float32_bits": t.float32_bits, "compression": t.compression,
        "widest_accumulator": widest(w) if w is not None else None,
        "bits_saved": t.bits_saved,
        "energy_pj": pj(t.energy_pj),
        "hardware": model_hardware(t.hardware) if t.hardware is not None else None,
        **extra,
    }


def provenance(p: Provenance) -> dict:
    """The provenance part of the model object (the weights only for an architecture file)."""
    d = {"name": p.name, "file": p.file, "sha256": p.sha256,
         "keras": p.keras, "qkeras": p.qkeras, "qreport": p.qreport}
    if p.architecture:
        d["weights"] = p.weights
    if p.sample:
        d["sample"] = p.sample
    return d


def model_block(facts: ModelFacts, prov: Provenance) -> dict:
    """The report's ``model`` object: where it came from and the inputs' types."""
    lib = {"library": "hgq2"} if facts.library == "hgq2" else {}
    return {**provenance(prov), **lib, "inputs": [
        {"name": i.name, "shape": list(i.shape), "type": qfact(i.type), "assumed": i.assumed}
        for i in facts.inputs]}


def content_sha256(data: dict) -> str:
    """The hash of a report's own layers and totals: the ``sha256`` of a model with no file
    (the same model gives the same value, a changed one another)."""
    import hashlib

    body = dumps({"layers": data["layers"], "totals": data["totals"]})
    return hashlib.sha256(body.encode()).hexdigest()


def report(facts: ModelFacts, prov: Provenance) -> dict:
    """The whole ``qreport/1`` report as plain data, in the contract's field order."""
    return {
        "schema": SCHEMA,
        "model": model_block(facts, prov),
        "layers": [layer(l, facts.library == "hgq2") for l in facts.layers],
        "totals": totals(facts.totals, facts.library == "hgq2"),
        "warnings": list(facts.warnings),
    }


def _r(v):
    """A float difference to 1e-6 (what the report's own figures carry), an int as it is."""
    return round(v, 6) if isinstance(v, float) else v


def diff(d, old: Provenance, new: Provenance) -> dict:
    """A :class:`~qreport.review.diff.ModelDiff` as ``qreport-diff/1`` data.

    ``layers[].changes`` maps each fact path that differs to ``[old, new]``;
    ``regressions``/``improvements`` list the paths of cost figures that grew
    or shrank.  ``totals`` maps every model total to ``[old, new]``;
    ``deltas`` gives new − old and the percentage for those that moved.
    """
    return {
        "schema": DIFF_SCHEMA,
        "old": model_block(d.old, old),
        "new": model_block(d.new, new),
        "changed": d.changed,
        "layers": [{
            "name": l.name, "status": l.status, "class": l.class_name,
            "changes": {c.path: [c.old, c.new] for c in l.changes},
            "regressions": [c.path for c in l.changes if c.verdict == "regression"],
            "improvements": [c.path for c in l.changes if c.verdict == "improvement"],
        } for l in d.layers],
        "totals": {t.fact: [t.old, t.new] for t in d.totals},
        "deltas": {t.fact: {"delta": _r(t.delta), "percent": _r(t.percent), "verdict": t.verdict}
                   for t in d.totals if t.delta},
        "summary": {"regressions": d.count("regression"), "improvements": d.count("improvement"),
                    **{s: d.status_count(s) for s in ("added", "removed", "changed", "same")}},
    }


def check(prov: Provenance, budget, violations) -> dict:
    """The verdict of ``qreport check`` as ``qreport-check/1`` data."""
    return {
        "schema": CHECK_SCHEMA,
        "model": {"name": prov.name, "file": prov.file, "sha256": prov.sha256},
        "budget": {k: getattr(budget, k) for k in budget.keys()},
        "within_budget": not violations,
        "violations": [{"layer": v.layer, "figure": v.figure, "value": v.value,
                        "limit": v.limit, "message": v.message} for v in violations]}


def compare(c) -> dict:
    """A :class:`~qreport.review.compare.Comparison` as ``qreport-compare/1`` data."""
    return {
        "schema": COMPARE_SCHEMA,
        "pareto": {"x": c.x, "y": c.y},
        "budget": ({k: getattr(c.budget, k) for k in c.budget.keys()}
                   if c.budget is not None else None),
        "models": [{"name": r.name, "file": r.file, "sha256": r.sha256, "model": r.model,
                    **dict(r.figures), "pareto": r.pareto, "within_budget": r.within_budget,
                    "violations": list(r.violations)} for r in c.rows],
    }


def dumps(data: dict) -> str:
    """Deterministic JSON text (no NaN, stable key order, trailing newline)."""
    return json.dumps(data, indent=1, ensure_ascii=False, allow_nan=False) + "\n"
