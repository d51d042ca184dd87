"""A sweep compared: one row of headline figures per model, the Pareto front, the budget.

Pure: (ModelFacts, Provenance) pairs in, a :class:`Comparison` out.
Quantization is chosen by comparing variants of one network (bit-width
scans, AutoQKeras runs); each row has the figures that size the hardware,
every one of them a cost (smaller is better), so a model is on the
*Pareto front* of two figures when no other model is at most as costly in
both and cheaper in one.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..analysis.facts import ModelFacts
from ..provenance import Provenance
from .budget import Budget, check

#: The figures of a row: (key, label, unit). Every one is a cost: smaller is better.
FIGURES = (
    ("macs", "MACs", ""),
    ("bops", "BOPs", ""),
    ("weight_memory_bits", "weight memory", "bits"),
    ("widest_accumulator_bits", "widest accumulator", "bits"),
    ("bits_saved", "bits saved", "bits"),
    ("energy_pj", "energy estimate", "pJ"),
    ("lut", "LUTs (est.)", ""),
    ("dsp", "DSPs (est.)", ""),
    ("ff", "FFs (est.)", ""),
    ("bram_18k", "BRAM_18K", ""),
    ("latency_cycles", "latency cycles (est.)", ""),
)
#: bits saved is the one figure where more is better
_MORE_IS_BETTER = {"bits_saved"}
KEYS = tuple(k for k, _, _ in FIGURES)


@dataclass(frozen=True)
class Row:
    """One model of the sweep."""

    name: str           # the file's stem and a short content hash: "jet_mlp@2e7a9f90"
    file: str
    sha256: str
    model: str          # the model's own name
    figures: tuple[tuple[str, float | int | None], ...]
    within_budget: bool | None   # None: no budget given
    violations: tuple[str, ...]
    pareto: bool

    def figure(self, key: str):
        return dict(self.figures)[key]


@dataclass(frozen=True)
class Comparison:
    """The rows in the order given, the two figures of the front, and the budget."""

    rows: tuple[Row, ...]
    x: str
    y: str
    budget: Budget | None

    @property
    def front(self) -> tuple[Row, ...]:
        return tuple(r for r in self.rows if r.pareto)


def figures(facts: ModelFacts) -> tuple[tuple[str, float | int | None], ...]:
    """A model's headline figures, in :data:`FIGURES` order."""
    t = facts.totals
    w = t.widest_accumulator
    values = {"macs": t.macs, "bops": t.bops, "weight_memory_bits": t.parameter_bits,
              "widest_accumulator_bits": w.width if w is not None else None,
              "bits_saved": t.bits_saved, "energy_pj": round(t.energy_pj, 6)}
    hw = t.hardware
    for k in ("lut", "dsp", "ff", "bram_18k", "latency_cycles"):
        values[k] = getattr(hw, k) if hw is not None and hw.layers else None
    return tuple((k, values[k]) for k in KEYS)


def pareto(points: list[tuple[float | None, float | None]]) -> list[bool]:
    """For each (x, y), True when no other point is <= in both and < in one (None: off it)."""
    out = []
    for i, (x, y) in enumerate(points):
        if x is None or y is None:
            out.append(False)
            continue
        out.append(not any(j != i and a is not None and b is not None and a <= x and b <= y
                           and (a < x or b < y) for j, (a, b) in enumerate(points)))
    return out


def _cost(key: str, v):
    return -v if v is not None and key in _MORE_IS_BETTER else v


def compare(models: list[tuple[ModelFacts, Provenance]], x: str = "weight_memory_bits",
            y: str = "energy_pj", budget: Budget | None = None) -> Comparison:
    """Compare analysed models.

    Args:
        models: (facts, provenance) of each model, in the order to show.
        x, y: the two figures of the Pareto front (keys of :data:`FIGURES`).
        budget: if given, each row says whether the model is within it.

    Raises:
        ValueError: x or y is not a figure.
    """
    for k in (x, y):
        if k not in KEYS:
            raise ValueError(f"{k!r} is not a figure; use one of {', '.join(KEYS)}")
    figs = [figures(f) for f, _ in models]
    front = pareto([(_cost(x, dict(g)[x]), _cost(y, dict(g)[y])) for g in figs])
    rows = []
    for (facts, prov), g, on in zip(models, figs, front):
        found = check(facts, budget) if budget is not None else ()
        stem = prov.file.rsplit(".", 1)[0]
        rows.append(Row(f"{stem}@{prov.sha256[:8]}", prov.file, prov.sha256, prov.name, g,
                        None if budget is None else not found,
                        tuple(v.message for v in found), on))
    return Comparison(tuple(rows), x, y, budget)
