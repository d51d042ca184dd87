"""Float layers with a given type: what hls4ml does to a float tensor or weight (``--float-type``).

hls4ml gives every float tensor and parameter of a model its configured
precision (``ap_fixed<16,6>`` by default).  ``FixedCast`` stands where a
QKeras quantizer would, so that a float model is analysed as hls4ml will
build it: its kernels on the type's grid, its float outputs in that type.
"""

from __future__ import annotations

import re

import numpy as np

from ..errors import QuantizerError
from .facts import MODE_FIXED, QFact
from .fixed import fixed_name


_AP = re.compile(r"\s*(?:ap_)?(u?)fixed\s*<\s*(\d+)\s*,\s*(-?\d+)\s*>\s*")


class FixedCast:
    """What hls4ml does to a float tensor or weight given a type ``ap_fixed<W,I>``.

    Its default rounding and overflow modes, ``AP_TRN`` and ``AP_WRAP``:
    ``floor(x · 2^F)`` wrapped into the type's W bits.  A callable on numpy
    arrays, standing where a QKeras quantizer would (``--float-type``).
    """

    def __init__(self, spec: str):
        m = _AP.fullmatch(spec or "")
        if not m:
            raise QuantizerError(f"{spec!r} is not a fixed-point type: give ap_fixed<W,I> or "
                                 "ap_ufixed<W,I>, e.g. ap_fixed<16,6>", option="float_type")
        self.signed = m.group(1) != "u"
        self.width, self.integer = int(m.group(2)), int(m.group(3))
        if not 1 <= self.width <= 64 or not -64 <= self.integer <= 64 or \
                (self.signed and self.width < 1):
            raise QuantizerError(f"{spec!r}: width {self.width} and integer bits {self.integer} "
                                 "are not a type", option="float_type")
        self.frac = self.width - self.integer
        self.spec = fixed_name(self.width, self.integer, self.signed)

    def __call__(self, x):
        k = np.floor(np.asarray(x, dtype=np.float64) * 2.0 ** self.frac)
        span = 2.0 ** self.width
        lo = -(span / 2) if self.signed else 0.0
        k = np.mod(k - lo, span) + lo
        return k * 2.0 ** -self.frac

    def fact(self) -> QFact:
        lsb = 2.0 ** -self.frac
        lo = -(2.0 ** (self.integer - 1)) if self.signed else 0.0
        hi = (2.0 ** (self.integer - 1) if self.signed else 2.0 ** self.integer) - lsb
        return QFact(kind="fixed", config=self.spec, mode=MODE_FIXED, bits=self.width,
                     integer=self.integer - int(self.signed), signed=self.signed, min=lo, max=hi,
                     lsb=lsb, fixed=self.spec,
                     notes=("a float tensor or weight typed by --float-type (hls4ml's AP_TRN, "
                            "AP_WRAP)",),
                     hls_type=(self.width, self.integer, self.signed))
