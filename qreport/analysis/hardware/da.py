"""Distributed arithmetic: the cost of da4ml's adder graph, computed as hls4ml's DA pass does."""

from __future__ import annotations

import numpy as np

def da_cost(kernel: np.ndarray, bias: np.ndarray | None, kif: tuple[int, int, int]):
    """(cost, depth, two-input adders) of da4ml's adder graph for ``x @ kernel + bias``, as hls4ml's DA pass.

    ``kif`` is the input type: signed, integer bits without the sign, fractional
    bits.  The solver options are hls4ml 1.3.0's (``hard_dc`` 2, every decomposition
    searched).  Deterministic.
    """
    from da4ml.trace import FixedVariableArray, HWConfig, comb_trace

    n_in = kernel.shape[0]
    k, i, f = (np.full(n_in, v, dtype=np.int64) for v in kif)
    inp = FixedVariableArray.from_kif(k, i, f, HWConfig(1, -1, -1),
                                      solver_options={"hard_dc": 2, "search_all_decompose_dc": True})
    out = inp @ kernel
    if bias is not None:
        out = out + bias
    sol = comb_trace(inp, out)
    adders = sum(1 for op in sol.ops if op.opcode in (0, 1))
    return float(sol.cost), int(sol.latency[1]), adders
