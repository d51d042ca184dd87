"""Tensor types the analysis derives: an accumulator, a merge, an average.

Each is a :class:`.facts.QFact` of kind ``derived``, built from an exact
fixed-point type or from an exact range and grid step.
"""

from __future__ import annotations

import math

from .facts import MODE_FIXED, QFact
from .fixed import FixedType, fractional_bits_of_step, width_for_range


def derived_fact(ft: FixedType, config: str) -> QFact:
    """A tensor type computed by the analysis (an accumulator, a merge, …)."""
    return QFact(
        kind="derived", config=config, mode=MODE_FIXED, bits=ft.width,
        integer=ft.integer_bits, signed=ft.signed, min=ft.min, max=ft.max,
        lsb=math.ldexp(1.0, -ft.fractional_bits), fixed=ft.fixed,
        hls_type=(ft.width, ft.integer_bits, ft.signed),
    )


def derived_range_fact(lo: float, hi: float, lsb: float | None, config: str) -> QFact:
    """A derived type from an exact range and grid step (None: no grid)."""
    if lsb is None:
        return QFact(kind="derived", config=config, mode=MODE_FIXED, bits=32, integer=None,
                     signed=lo < 0, min=lo, max=hi, lsb=None, fixed=None,
                     hls_reason="values are not on a power-of-two grid")
    return derived_fact(width_for_range(lo, hi, fractional_bits_of_step(lsb)), config)
