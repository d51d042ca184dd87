"""A design: hls4ml's strategy and reuse factor, and its rules for valid reuse factors."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ...errors import AnalysisError

STRATEGIES = ("latency", "resource", "distributed_arithmetic")


#: A product goes to a DSP when both operands are at least this wide: the data
#: operand's type, and the constant weight once Vivado has trimmed it (the
#: signed width of its odd part).  Fitted to hls4ml's committed csynth baselines
#: (README, "Hardware cost"): 6 gives 72 DSP for 73 and 826 for 792.
DSP_MIN_BITS = 6


#: Kernels with more products are "too large to unroll" for da4ml here: a
#: 16×64 kernel takes 0.14 s, a 128×128 one 67 s.
DA_LIMIT = 4096


#: Adder-tree levels Vivado fits in one 5 ns cycle (the latency rule).
LEVELS_PER_CYCLE = 2


@dataclass(frozen=True)
class Design:
    """hls4ml's implementation choice for every layer, and the estimate rules' settings.

    Raises:
        AnalysisError: a strategy hls4ml does not have, a reuse factor below 1, or
            ``distributed_arithmetic`` with a reuse factor other than 1 (hls4ml raises).
    """

    strategy: str = "latency"
    reuse_factor: int = 1
    dsp_min_bits: int = DSP_MIN_BITS
    da_limit: int = DA_LIMIT

    def __post_init__(self):
        if self.strategy not in STRATEGIES:
            raise AnalysisError(f"{self.strategy!r} is not an hls4ml strategy (one of "
                                f"{', '.join(STRATEGIES)})", option="strategy")
        if isinstance(self.reuse_factor, bool) or not isinstance(self.reuse_factor, int) \
                or self.reuse_factor < 1:
            raise AnalysisError(f"{self.reuse_factor!r} is not a reuse factor (a whole number "
                                ">= 1)", option="reuse_factor")
        if self.strategy == "distributed_arithmetic" and self.reuse_factor != 1:
            raise AnalysisError(f"distributed_arithmetic needs reuse factor 1, not "
                                f"{self.reuse_factor} (hls4ml refuses it)", option="reuse_factor")
        if isinstance(self.dsp_min_bits, bool) or not isinstance(self.dsp_min_bits, int) \
                or self.dsp_min_bits < 1:
            raise AnalysisError(f"{self.dsp_min_bits!r} is not a width in bits (>= 1)",
                                option="dsp_min_bits")


def valid_reuse_factor(n_in: int, n_out: int, rf: int) -> bool:
    """hls4ml's rule for a dense-like kernel's reuse factor (FPGABackend._validate_reuse_factor)."""
    mult = min(n_in, rf)
    limit = -(-(n_in * n_out) // mult)
    ok = (limit % n_out == 0) or (rf >= n_in)
    ok = ok and ((rf % n_in == 0) or (rf < n_in))
    return ok and (n_in * n_out) % rf == 0


def closest_reuse_factor(n_in: int, n_out: int, rf: int) -> int:
    """The reuse factor hls4ml's resource strategy uses for ``rf``: the closest valid one,
    the smaller of two equally close (FPGABackend.get_closest_reuse_factor)."""
    if valid_reuse_factor(n_in, n_out, rf):
        return rf
    total = n_in * n_out
    valid = [r for r in _divisors(total) if valid_reuse_factor(n_in, n_out, r)]
    return min(valid, key=lambda r: (abs(r - rf), r))


def _divisors(n: int) -> list[int]:
    small = [d for d in range(1, math.isqrt(n) + 1) if n % d == 0]
    return sorted(set(small + [n // d for d in small]))
