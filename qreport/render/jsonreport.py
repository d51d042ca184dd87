"""The JSON report (SPEC section 5, schema ``qreport/1``)."""

from __future__ import annotations

import json

from ..analysis.facts import ModelFacts

SCHEMA = "qreport/1"


def model_block(facts: ModelFacts, meta: dict) -> dict:
    """The report's ``model`` object: the meta block and the inputs' types."""
    return {**meta, "inputs": [
        {"name": i.name, "shape": list(i.shape), "type": i.type.to_json(),
         "assumed": i.assumed} for i in facts.inputs]}


def report_dict(facts: ModelFacts, meta: dict) -> dict:
    """The whole report as plain data, in the contract's field order.

    Args:
        facts: the analysis.
        meta: the model block (name, file, sha256, tool versions, sample).

    Returns:
        A dict of JSON types (schema ``qreport/1``, qreport/schema/).
    """
    return {
        "schema": SCHEMA,
        "model": model_block(facts, meta),
        "layers": [l.to_json() for l in facts.layers],
        "totals": facts.totals.to_json(),
        "warnings": list(facts.warnings),
    }


def dumps(data: dict) -> str:
    """Deterministic JSON text (no NaN, stable key order, trailing newline)."""
    return json.dumps(data, indent=1, ensure_ascii=False, allow_nan=False) + "\n"
