"""The JSON of a diff (schema ``qreport-diff/1``, qreport/schema/qreport-diff-1.schema.json)."""

from __future__ import annotations

from ..analysis.diff import ModelDiff
from .jsonreport import model_block

SCHEMA = "qreport-diff/1"


def _r(v):
    """A float difference to 1e-6 (what the report's own figures carry), an int as it is."""
    return round(v, 6) if isinstance(v, float) else v


def diff_dict(d: ModelDiff, old_meta: dict, new_meta: dict) -> dict:
    """The diff as plain data.

    ``layers[].changes`` maps each fact path that differs to ``[old, new]``;
    ``regressions``/``improvements`` list the paths of cost figures that grew
    or shrank.  ``totals`` maps every model total to ``[old, new]``;
    ``deltas`` gives new − old and the percentage for those that moved.
    """
    return {
        "schema": SCHEMA,
        "old": model_block(d.old, old_meta),
        "new": model_block(d.new, new_meta),
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
