"""The operations of a weight layer: operation type and name, facts and counts."""

from __future__ import annotations

from .accumulator import Bound, accumulators
from .facts import Counts, Operation, QFact
from .geometry import Part

# Reference operation table: weight mode (rows) x input mode (columns).
OP_TABLE = (
    ("mult", "barrel", "mux", "mux", "mux", "fmult"),
    ("barrel", "adder", "mux", "xor", "mux", "fmult"),
    ("mux", "mux", "mux", "mux", "xor", "fmult"),
    ("mux", "xor", "mux", "xor", "xor", "fmult"),
    ("mux", "mux", "xor", "xor", "xor", "fmult"),
    ("fmult", "fmult", "fmult", "fmult", "fmult", "fmult"),
)


def operation_type(w: QFact, x: QFact) -> str:
    """mult / barrel / mux / xor / adder / fmult, from the reference's table."""
    return OP_TABLE[w.mode][x.mode]


def operation_name(w: QFact, x: QFact) -> str:
    """``smult_4_8``: sign, type, weight bits, input bits (float counts 32, signed)."""
    signed = w.signed or x.signed
    return f"{'s' if signed else 'u'}{operation_type(w, x)}_{w.bits}_{x.bits}"


def operations(parts: list[Part], x: QFact, name: str) -> tuple[list[Operation], list[Bound]]:
    """The operation facts of a layer's parts reading type x, and their bounds."""
    accs, bounds = accumulators(parts, x, name)
    ops = [Operation(part=p.part, type=operation_type(p.weight, b.input),
                     name=operation_name(p.weight, b.input), macs=p.macs, terms=p.terms,
                     weight=p.weight, input=b.input, accumulator=a)
           for p, b, a in zip(parts, bounds, accs)]
    return ops, bounds


def counts(parts: list[Part], ops: list[Operation]) -> Counts:
    """Counts of a layer (SPEC section 3); float parameters count 32 bits."""
    last = parts[-1]
    nb = int(last.bias.size) if last.bias is not None else 0
    return Counts(
        macs=sum(o.macs for o in ops),
        weights=sum(int(p.native.size) for p in parts),
        bias=nb,
        weight_bits=sum(int(p.native.size) * p.weight.bits for p in parts),
        bias_bits=nb * (last.bias_fact.bits if last.bias_fact is not None else 32),
        zero_weights=None if any(p.zeros is None for p in parts) else sum(p.zeros for p in parts),
        bops=sum(o.macs * o.weight.bits * o.input.bits for o in ops))
