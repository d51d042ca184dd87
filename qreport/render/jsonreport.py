"""The JSON report (SPEC section 5, schema ``qreport/1``)."""

from __future__ import annotations

import json

from ..analysis.facts import LayerFacts, ModelFacts

SCHEMA = "qreport/1"


def layer_dict(l: LayerFacts) -> dict:
    a = l.accumulator
    return {
        "name": l.name,
        "class": l.class_name,
        "inputs": list(l.inputs),
        "input_shape": list(l.input_shape),
        "output_shape": list(l.output_shape),
        "quantizers": {role: f.to_json() for role, f in l.quantizers},
        "operations": [o.to_json() for o in l.operations],
        "counts": l.counts.to_json() if l.counts is not None else None,
        "accumulator": a.to_json() if a is not None else None,
        "warnings": list(l.warnings),
    }


def report_dict(facts: ModelFacts, meta: dict) -> dict:
    """The whole report as plain data, in the contract's field order.

    Args:
        facts: the analysis.
        meta: the model block (name, file, sha256, tool versions, sample).

    Returns:
        A dict of JSON types (schema ``qreport/1``, qreport/schema/).
    """
    t = facts.totals
    return {
        "schema": SCHEMA,
        "model": {**meta, "inputs": [
            {"name": i.name, "shape": list(i.shape), "type": i.type.to_json(),
             "assumed": i.assumed} for i in facts.inputs]},
        "layers": [layer_dict(l) for l in facts.layers],
        "totals": {
            "macs": t.macs, "macs_by_operation": dict(t.macs_by_operation),
            "weights": t.weights, "bias": t.bias, "weight_bits": t.weight_bits,
            "bias_bits": t.bias_bits, "zero_weights": t.zero_weights,
            "sparsity": t.sparsity, "bops": t.bops,
            "float32_bits": t.float32_bits, "compression": t.compression,
            "widest_accumulator": (t.widest_accumulator.to_json()
                                   if t.widest_accumulator is not None else None),
            "bits_saved": t.bits_saved,
        },
        "warnings": list(facts.warnings),
    }


def dumps(data: dict) -> str:
    """Deterministic JSON text (no NaN, stable key order, trailing newline)."""
    return json.dumps(data, indent=1, ensure_ascii=False, allow_nan=False) + "\n"
