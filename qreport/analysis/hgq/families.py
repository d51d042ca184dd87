"""What the analysis does with each HGQ2 layer family (the registry of :mod:`..layers`, for HGQ2).

Weight families (Dense, Conv, EinsumDense, BatchNormalization, and the
attention's products of two tensors) give their operations; every other
family's output type was computed element by element when the model was
read (:mod:`.graph`), and its rule returns it.
"""

from __future__ import annotations

import numpy as np

from .. import geometry as geo
from ..facts import FLOAT
from ..layers import (_CONV_SETTINGS, _W, CONV, DENSE, DEPTHWISE, Family, KernelSpec, LayerKind)


def _computed(d, xs, warnings):
    """The output type the element pass computed (float: with the reason in the notes)."""
    warnings.extend(d.notes)
    t = d.output_fact if d.output_fact is not None else FLOAT
    x = xs[0] if len(xs) == 1 else None
    same = ("min", "max", "lsb", "bits", "signed", "is_float")
    if x is not None and all(getattr(t, a) == getattr(x, a) for a in same):
        return x   # moved elements, same type: nothing to report
    return t


def einsum_parts(d) -> list:
    """An EinsumDense: one operation of its own equation (:mod:`..einsum`)."""
    from ..einsum import parse

    k = d.kernels[0]
    e = parse(d.config["equation"], d.in_shape[1:], k.values.shape)
    return [geo._part(k, geo.same_layout, terms=e.terms, macs=e.macs,
                      equation=d.config["equation"])]


def products_parts(d) -> list:
    """An einsum of two tensors (an attention's scores and its combination): the second
    operand stands where a kernel would, with no stored weights."""
    from ..einsum import parse

    a, b = d.input_facts
    e = parse(d.config["equation"], d.in_shapes[0][1:], d.in_shapes[1][1:], batch="both")
    empty = np.zeros((0,))
    return [geo.Part(part="main", role="operand", weight=b, kernel=empty, native=empty,
                     macs=e.macs, terms=e.terms, w_frac=b.fractional_bits, zeros=0)]


_KERNEL = KernelSpec("main", "kernel", ("kernel",), "kq", geo.same_layout)
EINSUM = Family("einsum", (_KERNEL,), einsum_parts)
PRODUCTS = Family("products", (KernelSpec("main", "operand", (), "", geo.same_layout),),
                  products_parts)
COMPUTED = Family("hgq2", rule=_computed)

HGQ_FAMILIES: dict[str, LayerKind] = {
    "dense": LayerKind(DENSE, activation=_W),
    "conv": LayerKind(CONV, activation=_W, config=_CONV_SETTINGS),
    "batchnorm": LayerKind(DEPTHWISE, config=_CONV_SETTINGS),
    "einsum": LayerKind(EINSUM, activation=_W),
    "einsum2": LayerKind(PRODUCTS),
    "computed": LayerKind(COMPUTED),
}
