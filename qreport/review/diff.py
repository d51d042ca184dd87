"""What changed between two models: layer by layer and in the totals (``qreport diff``).

Pure: two :class:`~qreport.analysis.facts.ModelFacts` in, a :class:`ModelDiff` out.  Layers
are matched by name.  A change is named by its *fact path*, the dotted path
of the fact in the ``qreport/1`` layer object (:mod:`qreport.contract`) (``accumulator.bound.width``,
``quantizers.kernel.config``, ``operations.1.name``): list items of objects
by their index, lists of plain values (shapes, warnings, per-channel
widths) compared whole.

A change of a cost figure is a *regression* when it grows and an
*improvement* when it shrinks: accumulator widths, MACs, weights and bias
(counts and memory bits), BOPs and energy.  Other changes (a quantizer's
config, an operation's name, a range) are stated without a verdict: they
are causes, and the cost figures they move carry the verdict.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import contract
from ..analysis.facts import ModelFacts

STATUSES = ("added", "removed", "changed", "same")
REGRESSION, IMPROVEMENT = "regression", "improvement"

def verdict(path: str, old, new) -> str | None:
    """``regression``/``improvement`` for a cost figure that moved, else None."""
    if not contract.COST_PATH.search(path) or not _number(old) or not _number(new) or old == new:
        return None
    return REGRESSION if new > old else IMPROVEMENT


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def flatten(obj, prefix: str = "") -> dict[str, object]:
    """{fact path: value}: objects by key, lists of objects by index, other lists whole."""
    if isinstance(obj, dict):
        out: dict[str, object] = {}
        for k, v in obj.items():
            out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    if isinstance(obj, list) and any(isinstance(v, (dict, list)) for v in obj):
        out = {}
        for i, v in enumerate(obj):
            out.update(flatten(v, f"{prefix}.{i}"))
        return out
    return {prefix: obj}


def _union(a: dict, b: dict) -> list[str]:
    """The paths of both, the new object's order first."""
    return list(b) + [p for p in a if p not in b]


@dataclass(frozen=True)
class Change:
    """One fact that differs: its path, old and new values, and its verdict.

    ``alias`` marks a path that restates another of the same layer (the last
    operation's accumulator is the layer's ``accumulator``; ``energy.total_pj``
    is ``counts.energy_pj``): listed in the JSON, not shown or counted twice.
    """

    path: str
    old: object
    new: object
    verdict: str | None = None
    alias: bool = False


def changes(old: dict, new: dict) -> tuple[Change, ...]:
    """Every fact path whose value differs, in the new object's order (then the old's)."""
    a, b = flatten(old), flatten(new)
    paths = _union(a, b)
    alias_a, alias_b = contract.alias_path(old), contract.alias_path(new)
    out = []
    for p in paths:
        if a.get(p) == b.get(p):
            continue
        alias = bool(alias_b.match(p) if p in b else alias_a.match(p))
        out.append(Change(p, a.get(p), b.get(p), None if alias else verdict(p, a.get(p), b.get(p)),
                          alias))
    return tuple(out)


@dataclass(frozen=True)
class LayerDiff:
    """One layer name's fate: added, removed, changed or the same."""

    name: str
    status: str
    class_name: str
    changes: tuple[Change, ...] = ()

    def count(self, what: str) -> int:
        return sum(1 for c in self.changes if c.verdict == what)


@dataclass(frozen=True)
class TotalDiff:
    """One model total, old and new; delta and percent for numbers."""

    fact: str
    old: object
    new: object
    verdict: str | None

    @property
    def delta(self):
        return self.new - self.old if _number(self.old) and _number(self.new) else None

    @property
    def percent(self) -> float | None:
        d = self.delta
        return d / abs(self.old) * 100 if d is not None and self.old else None


@dataclass(frozen=True)
class ModelDiff:
    """Two models compared; ``old``/``new`` are their analyses."""

    old: ModelFacts
    new: ModelFacts
    layers: tuple[LayerDiff, ...]
    totals: tuple[TotalDiff, ...]

    @property
    def changed(self) -> bool:
        return any(l.status != "same" for l in self.layers) or \
            any(t.old != t.new for t in self.totals)

    def count(self, what: str) -> int:
        """Regressions or improvements over the layers and the totals."""
        return sum(l.count(what) for l in self.layers) + \
            sum(1 for t in self.totals if t.verdict == what)

    def status_count(self, status: str) -> int:
        return sum(1 for l in self.layers if l.status == status)


def diff(old: ModelFacts, new: ModelFacts) -> ModelDiff:
    """Compare two analyses.

    Layers come in the new model's order; a removed layer comes after the
    layer that preceded it in the old model.
    """
    olds = {l.name: l for l in old.layers}
    news = {l.name: l for l in new.layers}
    old_order = [l.name for l in old.layers]
    position = {name: i for i, name in enumerate(old_order)}
    out: list[LayerDiff] = []
    emitted: set[str] = set()

    def removed_from(i: int) -> None:
        """The removed layers that follow old layer i-1 (up to the next kept one)."""
        for name in old_order[i:]:
            if name in news:
                return
            if name not in emitted:
                emitted.add(name)
                out.append(LayerDiff(name, "removed", olds[name].class_name))

    removed_from(0)
    for l in new.layers:
        if l.name in olds:
            cs = changes(contract.layer(olds[l.name]), contract.layer(l))
            out.append(LayerDiff(l.name, "changed" if cs else "same", l.class_name, cs))
            removed_from(position[l.name] + 1)
        else:
            out.append(LayerDiff(l.name, "added", l.class_name))
    a, b = flatten(contract.totals(old.totals)), flatten(contract.totals(new.totals))
    facts = [p for p in _union(a, b) if not contract.DIFF_SKIP.search(p)]
    totals = tuple(TotalDiff(p, a.get(p), b.get(p), verdict(p, a.get(p), b.get(p))) for p in facts)
    return ModelDiff(old, new, tuple(out), totals)
