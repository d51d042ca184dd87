"""Drop-in replacements for ``qkeras.estimate``, values corrected.

The functions keep the reference's names and return shapes so existing
scripts keep working; the numbers come from qreport's analysis (exact
quantizer ranges, quantized BN-folded kernels, the right channel axis,
depth multipliers, transposed and nested layers).  Differences in
behaviour are listed in README.md ("Drop-in API").
"""

from __future__ import annotations

from collections import defaultdict

from .analysis.accumulator import bound_chain
from .analysis.layers import kind_of
from .analysis.model import analyse, analyse_internals
from .analysis.operations import operation_type
from .analysis.quantizers import quantizer_fact

__all__ = ["get_quant_mode", "get_operation_type", "create_activation_cache",
           "extract_model_operations", "print_qstats", "analyze_accumulator",
           "analyze_accumulator_from_sample"]


def get_quant_mode(quant):
    """(mode, bits, sign) of a quantizer, a quantizer string, or None (float).

    Unlike the reference, ``sign`` is the real range's (binary(use_01=True)
    and keep_negative=False are unsigned) and every QKeras kind is known.

    Args:
        quant: a QKeras quantizer, a string such as ``"quantized_bits(4,0,1)"``, or None.

    Returns:
        (mode, bits, sign) with the reference's mode codes.

    Raises:
        QuantizerError: the string is not a QKeras quantizer (a ValueError).
    """
    f = quantizer_fact(quant)
    return f.mode, f.bits, int(f.signed)


def create_activation_cache(model, input_quantizers=None):
    """{layer name: input type} for every layer with an operation.

    The reference keys its cache by Keras tensor; this one is keyed by layer
    name (``outer/inner`` in nested models) and holds quantizer facts.

    Args:
        model: a built Keras model.
        input_quantizers: as :func:`qreport.analyse`.

    Returns:
        {layer name: QFact of the layer's input}.

    Raises:
        AnalysisError: as :func:`qreport.analyse`.
    """
    facts = analyse(model, input_quantizers)
    return {l.name: l.operations[0].input for l in facts.layers if l.operations}


def get_operation_type(layer, output_cache):
    """(type, (w_mode, x_mode), (w_bits, x_bits), (w_sign, x_sign)) of a layer.

    Args:
        layer: a weight layer of the model.
        output_cache: the dict of :func:`create_activation_cache`.

    Returns:
        The operation type and its operands' modes, bits and signs.

    Raises:
        ValueError: the layer has no operation (as the reference).
    """
    x = output_cache.get(layer.name)
    family = kind_of(type(layer).__name__).family
    if x is None or not family.has_weights:
        raise ValueError(f"Cannot find suitable quantization candidates for {layer.name}")
    w = quantizer_fact(getattr(layer, family.kernels[0].quantizer, None))
    return (operation_type(w, x), (w.mode, x.mode), (w.bits, x.bits),
            (int(w.signed), int(x.signed)))


def _mode(f):
    return f.mode, f.bits, int(f.signed)


def extract_model_operations(model, input_quantizers=None):
    """Operations, counts and types of every weight layer, as the reference returns them.

    Args:
        model: a built Keras model.
        input_quantizers: as :func:`qreport.analyse`.

    Returns:
        {layer name: {"type", "number_of_operations", "number_of_weights",
        "number_of_bias", "type_of_weights", "type_of_bias"}}.

    Raises:
        AnalysisError: as :func:`qreport.analyse`.
    """
    facts = analyse(model, input_quantizers)
    out = {}
    for l in facts.layers:
        if not l.operations:
            continue
        o = l.operations[0]
        w, x = o.weight, o.input
        if len(l.operations) > 1:
            n_weights = [_kernel_size(l, p.part) for p in l.operations]
            w_types = [_mode(p.weight) for p in l.operations]
        else:
            n_weights, w_types = l.counts.weights, _mode(w)
        b = l.quantizer("bias")
        out[l.name] = {
            "type": (o.type, (w.mode, x.mode), (w.bits, x.bits), (int(w.signed), int(x.signed))),
            "number_of_operations": l.counts.macs,
            "number_of_weights": n_weights,
            "number_of_bias": l.counts.bias,
            "type_of_weights": w_types,
            "type_of_bias": _mode(b) if b is not None else (5, 32, 1),
        }
    return out


def _kernel_size(layer, part: str) -> int:
    """Weights of one kernel of a layer: its histogram counts every entry once."""
    for h in layer.histograms:
        if h.part == part:
            return int(sum(h.counts))
    return 0


def print_qstats(model, input_quantizers=None):
    """Print operations per layer, per operation type, and weight profiling.

    Args:
        model: a built Keras model.
        input_quantizers: as :func:`qreport.analyse`.

    Returns:
        The ModelFacts printed.

    Raises:
        AnalysisError: as :func:`qreport.analyse`.
    """
    facts = analyse(model, input_quantizers)
    print("\nNumber of operations in model:")
    table = defaultdict(int)
    for l in sorted(facts.layers, key=lambda l: l.name):
        for o in l.operations:
            table[o.name] += o.macs
            print(f"    {l.name + ('/' + o.part if o.part != 'main' else ''):30}: {o.macs:5} ({o.name})")
    print("\nNumber of operation types in model:")
    for k in sorted(table):
        print(f"    {k:30}: {table[k]}")
    print("\nWeight profiling:")
    for l in sorted(facts.layers, key=lambda l: l.name):
        if l.counts is None:
            continue
        for o in l.operations:
            n = _kernel_size(l, o.part)
            print(f"    {l.name + '_weights' + ('_' + o.part if o.part != 'main' else ''):30}: "
                  f"{n:5} ({o.weight.bits}-bit unit)")
        b = l.quantizer("bias")
        print(f"    {l.name + '_bias':30}: {l.counts.bias:5} ({b.bits if b else 32}-bit unit)")
    t = facts.totals
    print(f"\nWeight sparsity:\n    Total Sparsity                : {t.sparsity:.4f}\n")
    return facts


def analyze_accumulator(in_model, x, verbose=False):
    """{layer name: accumulator integer bits (sign included)} for input ranges x.

    Returns:
        {layer name: integer bits of the layer's (last) accumulator}.

    Raises:
        AnalysisError: as :func:`qreport.analyse`.


    Args:
        in_model: the model.
        x: {layer name: (min, max)} input range of each layer to size; layers
            not in x use their input type's full range (the `bound` method).
        verbose: print each layer's range and type.
    """
    facts, work = analyse_internals(in_model)
    out = {}
    for l in facts.layers:
        if not l.operations or l.name not in work:
            continue
        if l.name in x:
            lo, hi = (float(v) for v in x[l.name])
            r = bound_chain(list(work[l.name].parts), l.operations[0].input, lo, hi,
                            name=l.name)[-1].range
        else:
            r = l.accumulator.bound
        out[l.name] = r.integer_bits
        if verbose:
            print(f"{l.name}: input range {x.get(l.name, 'type')}, accumulator "
                  f"[{r.min}, {r.max}] -> {r.integer_bits} integer bits ({r.fixed or r.reason})")
    return out


def analyze_accumulator_from_sample(in_model, x_sample, mode="conservative", verbose=False):
    """{layer name: integer bits} from a sample: "conservative" or "sampled".

    Returns:
        {layer name: integer bits of the chosen method}.

    Raises:
        ValueError: mode is neither (the reference built this error and forgot to raise it).


    Args:
        in_model: the model.
        x_sample: one array, or one per model input.
        mode: ``conservative`` or ``sampled``.
        verbose: print each layer's type.
    """
    if mode not in ("conservative", "sampled"):
        raise ValueError("'mode' has to be 'conservative' or 'sampled'")
    sample = list(x_sample) if isinstance(x_sample, (list, tuple)) else [x_sample]
    facts = analyse(in_model, sample=sample)
    out = {}
    for l in facts.layers:
        a = l.accumulator
        if a is not None and getattr(a, mode) is not None:
            out[l.name] = getattr(a, mode).integer_bits
            if verbose:
                print(f"{l.name}: {mode} {getattr(a, mode).fixed}")
    return out
