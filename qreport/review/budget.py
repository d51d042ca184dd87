"""Budgets: limits a model must stay within, and where it does not.

Pure: :class:`Budget` and :class:`~qreport.analysis.facts.ModelFacts` in, :class:`Violation`
tuples out.  ``qreport check`` reads the budget from flags or a TOML file.

The rules, chosen so that a model within budget is one the hardware can hold:

- ``max_accumulator_bits``: every operation's exact `bound` accumulator, in
  bits; an operation with no fixed width (a float operand, no weights)
  cannot be shown within budget, so it is a violation too;
- ``max_macs``: the model's multiply-accumulates per inference;
- ``max_weight_memory``: the memory of the stored parameters in bits,
  weights and biases (what a ROM must hold; the datasheet's "parameter
  memory");
- ``max_energy_pj``: the model's estimated energy per inference in pJ
  (:mod:`qreport.analysis.energy`; an estimate, so a budget on it compares designs, it does
  not sign off power);
- ``max_luts``, ``max_dsps``, ``max_latency_cycles``: the design's estimated
  LUTs, DSPs and latency (:mod:`qreport.analysis.hardware`; estimates, by the
  README's rules, for the strategy and reuse factor of the check); a weight
  layer without hardware figures cannot be shown within them, so it is a
  violation too;
- ``max_bram``: the BRAM_18K blocks of the weights (resource strategy);
- ``require_input_quantizer``: no input type may be assumed.

The TOML file may also name the design: ``strategy`` and ``reuse_factor``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields

from ..analysis.facts import ModelFacts
from ..contract import pj
from ..options import spelling

_UNITS = {"bit": 1, "bits": 1, "b": 1, "B": 8, "byte": 8, "bytes": 8,
          "KiB": 8 * 1024, "MiB": 8 * 1024 ** 2, "GiB": 8 * 1024 ** 3,
          "kB": 8 * 1000, "MB": 8 * 1000 ** 2, "Kib": 1024, "Mib": 1024 ** 2}


def parse_size(text) -> int:
    """A memory size in bits: ``"64KiB"``, ``"1.5 MiB"``, ``"12000 bits"``, ``"512B"``.

    A bare number is refused: bits or bytes must be said.

    Raises:
        ValueError: the text is not a size with a unit.
    """
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]+)\s*", str(text))
    if not m or m.group(2) not in _UNITS:
        raise ValueError(f"{text!r} is not a memory size: give a number and a unit "
                         f"(bits, B, KiB, MiB, kB, MB), e.g. 64KiB")
    bits = float(m.group(1)) * _UNITS[m.group(2)]
    if bits != int(bits):
        raise ValueError(f"{text!r} is not a whole number of bits")
    return int(bits)


@dataclass(frozen=True)
class Budget:
    """Limits; None means unlimited."""

    max_accumulator_bits: int | None = None
    max_macs: int | None = None
    max_weight_memory: int | None = None   # bits, weights + biases
    max_energy_pj: float | None = None
    max_luts: int | None = None
    max_dsps: int | None = None
    max_bram: int | None = None
    max_latency_cycles: int | None = None
    require_input_quantizer: bool = False

    @classmethod
    def keys(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    @classmethod
    def from_settings(cls, values: dict) -> Budget:
        """A Budget from settings as a file or flags give them (sizes as text with a unit).

        Raises:
            ValueError: an unknown key, a bad value, or no limit at all.
        """
        unknown = sorted(set(values) - set(cls.keys()))
        if unknown:
            raise ValueError(f"unknown key {unknown[0]!r} (known: {', '.join(cls.keys())})")
        values = dict(values)
        for k in ("max_accumulator_bits", "max_macs", "max_luts", "max_dsps", "max_bram",
                  "max_latency_cycles"):
            v = values.get(k)
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 0):
                raise ValueError(f"{k.replace('_', '-')}: {v!r} is not a whole number >= 0")
        if values.get("max_weight_memory") is not None:
            try:
                values["max_weight_memory"] = parse_size(values["max_weight_memory"])
            except ValueError as exc:
                raise ValueError(f"max-weight-memory: {exc}") from None
        e = values.get("max_energy_pj")
        if e is not None and (isinstance(e, bool) or not isinstance(e, (int, float))
                              or not e >= 0 or e == float("inf")):
            raise ValueError(f"max-energy-pj: {e!r} is not a number of pJ >= 0")
        rq = values.get("require_input_quantizer", False)
        if not isinstance(rq, bool):
            raise ValueError(f"require-input-quantizer: {rq!r} is not true or false")
        budget = cls(**values)
        if budget == cls():
            keys = ", ".join(k.replace("_", "-") for k in cls.keys())
            raise ValueError(f"check: no budget given ({keys})")
        return budget


@dataclass(frozen=True)
class Violation:
    """One figure over its limit: where, what, the value and the limit."""

    layer: str        # a layer, "model", or "input NAME"
    figure: str
    value: int | float | None
    limit: int | float | bool
    message: str


def _n(v: int) -> str:
    return f"{v:,}"


def check(facts: ModelFacts, budget: Budget) -> tuple[Violation, ...]:
    """Every figure of the model over its budget, in model order.

    Args:
        facts: the analysis.
        budget: the limits.

    Returns:
        The violations; empty when the model is within budget.
    """
    out: list[Violation] = []
    if budget.require_input_quantizer:
        out += [Violation(f"input {i.name}", "input type", None, True,
                          f"input {i.name}: type assumed ({i.type.config}); state it with "
                          f"{spelling('input_quantizers')}") for i in facts.inputs if i.assumed]
    lim = budget.max_accumulator_bits
    if lim is not None:
        for l in facts.layers:
            for o in l.operations:
                where = l.name + (f" ({o.part})" if o.part != "main" else "")
                b = o.accumulator.bound
                if b is None or b.width is None:
                    why = (b.reason if b is not None and b.reason else "no bound")
                    out.append(Violation(where, "accumulator bits", None, lim,
                                         f"{where}: accumulator has no fixed width ({why}); "
                                         f"limit {lim} bits"))
                elif b.width > lim:
                    out.append(Violation(where, "accumulator bits", b.width, lim,
                                         f"{where}: accumulator {b.fixed} is {b.width} bits > "
                                         f"limit {lim} bits"))
    t = facts.totals
    if budget.max_macs is not None and t.macs > budget.max_macs:
        out.append(Violation("model", "MACs", t.macs, budget.max_macs,
                             f"model: {_n(t.macs)} MACs > limit {_n(budget.max_macs)}"))
    if budget.max_weight_memory is not None and t.parameter_bits > budget.max_weight_memory:
        lim = budget.max_weight_memory
        out.append(Violation("model", "weight memory", t.parameter_bits, lim,
                             f"model: weight memory (weights + bias) {_n(t.parameter_bits)} bits "
                             f"> limit {_n(lim)} bits ({lim / 8192:,.2f} KiB)"))
    e = budget.max_energy_pj
    if e is not None and t.energy_pj > e:
        out.append(Violation("model", "energy pJ", pj(t.energy_pj), e,
                             f"model: estimated energy {t.energy_pj:,.2f} pJ per inference > "
                             f"limit {e:,g} pJ"))
    out += _hardware(facts, budget)
    return tuple(out)


#: budget key -> (ModelHardware field, the figure's name, estimate or exact)
HARDWARE_LIMITS = {"max_luts": ("lut", "LUTs", "estimated"), "max_dsps": ("dsp", "DSPs", "estimated"),
                   "max_bram": ("bram_18k", "BRAM_18K", "exact"),
                   "max_latency_cycles": ("latency_cycles", "latency cycles", "estimated")}


def _hardware(facts: ModelFacts, budget: Budget) -> list[Violation]:
    hw = facts.totals.hardware
    out = []
    for key, (attr, what, basis) in HARDWARE_LIMITS.items():
        lim = getattr(budget, key)
        if lim is None or hw is None:
            continue
        design = f"{hw.strategy}, reuse factor {hw.reuse_factor}"
        for name in hw.not_estimated:
            out.append(Violation(name, what, None, lim,
                                 f"{name}: no hardware figures ({_note(facts, name)}), so its "
                                 f"{what} cannot be shown within the limit {_n(lim)}"))
        v = getattr(hw, attr)
        if v > lim:
            out.append(Violation("model", what, v, lim,
                                 f"model: {basis} {what} {_n(v)} > limit {_n(lim)} ({design})"))
    return out


def _note(facts: ModelFacts, name: str) -> str:
    return next((l.hardware_note for l in facts.layers if l.name == name), None) or "not modelled"
