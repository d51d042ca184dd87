"""Energy per inference: Horowitz's 45 nm figures, as QKeras's QTools uses them.

An estimate for comparing two designs, not a power sign-off: it counts
arithmetic and SRAM traffic with the polynomial fits QTools ships for its
``horowitz`` process (``qkeras/qtools/config_public.py``), and nothing of
control, clocking, leakage or the interconnect.  The README's "Energy
estimate" section is the model written out; this module is the model.

Per layer, in pJ for one inference (batch 1):

- ``inputs``: reading every input tensor from SRAM;
- ``parameters``: reading the weights and the bias from SRAM;
- ``operations``: per MAC one multiply (by operand kinds and widths) and one
  add at the accumulator's width (the exact ``bound``; the ``type`` width
  when the weights are not known); pooling and merge additions;
- ``outputs``: writing the output tensor to SRAM.

Which of them a layer counts follows QTools' ``include_energy`` rules.
"""

from __future__ import annotations

import math

from .facts import (MODE_01, MODE_BINARY, MODE_FIXED, MODE_FLOAT, MODE_PO2, MODE_TERNARY,
                    Energy, LayerFacts, MacEnergy, Operation, QFact)
from .fixed import fractional_bits_of_step, width_for_range
from .types import derived_fact
from .layers import is_linear, pool_area

#: Every SRAM is at least this many bits (16 MiB, QTools' own example setting).
MIN_SRAM_BITS = 8 * 16 * 1024 * 1024
#: Bits moved per SRAM access.
WORD_BITS = 64
#: Relative energy of a gate against a 1-bit add (QTools' gate factors).
MUX_BINARY, MUX_TERNARY, XOR, AND = 0.3, 0.6, 0.3, 0.1
FP32_ADD_PJ, FP32_MUL_PJ = 0.9, 3.7


def add_pj(bits: float) -> float:
    """A fixed-point add of ``bits`` bits (Horowitz: 0.03 pJ for 8 bits, linear)."""
    return 0.003125 * bits


def mul_pj(weight_bits: int, input_bits: int) -> float:
    """A fixed-point multiply of two widths, by their geometric mean g."""
    g = math.sqrt(weight_bits * input_bits)
    return 0.002994791667 * g * g + 0.001041666667 * g


def sram_access_pj(size_bits: int) -> float:
    """One 64-bit access to an SRAM of ``size_bits`` (at least MIN_SRAM_BITS)."""
    s = math.log2(max(size_bits, MIN_SRAM_BITS))
    return max(((9.02427321e-04 * s - 2.68847858e-02) * s + 2.08900804e-01) * s, 0.0)


def sram_pj(bits: int) -> float:
    """Moving a tensor of ``bits`` bits to or from SRAM, in 64-bit accesses."""
    return -(-bits // WORD_BITS) * sram_access_pj(bits) if bits > 0 else 0.0


def multiply_pj(w: QFact, x: QFact) -> float:
    """One weight × input multiply, by the hardware the operand kinds call for.

    QTools' table (weight mode × input mode): fixed × fixed a multiplier;
    a ±1 or ternary operand a mux over the other operand's bits; ±1 × ±1 an
    xor; a 0/1 operand an and gate; po2 × fixed a shifter; po2 × po2 an adder
    of the exponents; a float operand an fp32 multiply.
    """
    wm, xm = w.mode, x.mode
    if MODE_FLOAT in (wm, xm):
        return FP32_MUL_PJ
    if MODE_01 in (wm, xm):
        return AND * add_pj(max(w.bits, x.bits))
    if wm == MODE_BINARY and xm == MODE_BINARY:
        return XOR * add_pj(1)
    if wm in (MODE_TERNARY, MODE_BINARY):
        return (MUX_BINARY if wm == MODE_BINARY else MUX_TERNARY) * add_pj(x.bits)
    if xm in (MODE_TERNARY, MODE_BINARY):
        return (MUX_BINARY if xm == MODE_BINARY else MUX_TERNARY) * add_pj(w.bits)
    if wm == MODE_PO2 and xm == MODE_PO2:
        return add_pj(max(w.bits, x.bits) + 1)
    if MODE_PO2 in (wm, xm):
        po2, other = (w, x) if wm == MODE_PO2 else (x, w)
        b = math.sqrt(2 ** po2.bits * other.bits)
        return add_pj(b * math.log10(b))
    assert wm == xm == MODE_FIXED
    return mul_pj(w.bits, x.bits)


def accumulate_bits(op: Operation) -> int | None:
    """The width the MAC's add is charged at: the exact bound, else the type rule; None: float."""
    a = op.accumulator
    for r in (a.bound, a.type):
        if r is not None and r.width is not None:
            return r.width
    return None


def mac_energy(op: Operation) -> MacEnergy:
    """One multiply-accumulate of an operation: its multiply and its add."""
    bits = accumulate_bits(op)
    return MacEnergy(op.part, multiply_pj(op.weight, op.input),
                     add_pj(bits) if bits is not None else FP32_ADD_PJ, bits)


def _elements(shape) -> int:
    return math.prod(int(d) for d in shape[1:]) if shape else 0


def _tensor_pj(shape, t: QFact) -> float:
    return sram_pj(_elements(shape) * t.bits)


def _adds_pj(n: int, t: QFact) -> float:
    return n * (FP32_ADD_PJ if t.is_float else add_pj(t.bits))


def _input_types(l: LayerFacts) -> list[QFact]:
    return [f for role, f in l.quantizers if role == "input" or role.startswith("input ")]


def layer_energy(l: LayerFacts, d) -> Energy | None:
    """The energy of one layer call; None for a layer qreport does not analyse.

    Args:
        l: the layer's facts (types, operations, counts).
        d: the layer's plain data from the seam (:class:`.read.LayerData`):
            its input shapes (batch axis first) and settings.
    """
    family, in_shapes = d.kind.family.name, d.in_shapes
    xs = _input_types(l)
    if family == "unknown":
        return None
    if l.counts is not None:  # a weight layer: inputs, parameters, operations
        macs = tuple(mac_energy(o) for o in l.operations)
        return Energy(
            inputs=sum(_tensor_pj(s, x) for s, x in zip(in_shapes, xs)),
            parameters=sram_pj(l.counts.weight_bits) + sram_pj(l.counts.bias_bits),
            operations=sum(o.macs * (m.multiply + m.add) for o, m in zip(l.operations, macs)),
            per_mac=macs)
    if family in ("activation", "keras activation"):
        if is_linear(l.activation):  # the identity: wiring
            return Energy()
        return Energy(outputs=_tensor_pj(l.output_shape, l.output_type))
    if family == "average pooling":
        x = xs[0]
        area = pool_area(d)
        window = _window_sum(x, area)
        return Energy(inputs=_tensor_pj(in_shapes[0], x),
                      operations=_adds_pj(_elements(l.output_shape) * (area - 1), window))
    if family == "merge":
        n, out = len(xs), _elements(l.output_shape)
        if l.class_name in ("Add", "Subtract", "Average"):
            return Energy(operations=_adds_pj(out * (n - 1), l.output_type))
        inputs = sum(_tensor_pj(s, x) for s, x in zip(in_shapes, xs))
        if l.class_name == "Multiply":
            each = (FP32_MUL_PJ if any(x.is_float for x in xs)
                    else mul_pj(xs[0].bits, max(x.bits for x in xs[1:])))
            return Energy(inputs=inputs, operations=out * (n - 1) * each)
        return Energy(inputs=inputs)  # Concatenate, Maximum, Minimum: wiring and compares
    return Energy()  # shapes and padding: wiring


def _window_sum(x: QFact, area: int) -> QFact:
    """The type an adder tree over ``area`` inputs of type x works in (float: float)."""
    if x.is_float or x.min is None or x.lsb is None:
        return x
    return derived_fact(width_for_range(area * x.min, area * x.max,
                                        fractional_bits_of_step(x.lsb)), "window sum")


__all__ = ["layer_energy", "multiply_pj", "mac_energy", "sram_pj", "add_pj", "mul_pj",
           "sram_access_pj", "accumulate_bits"]
