"""The analysis, end to end: a built Keras model in, :class:`ModelFacts` out.

    read (the Keras seam)  ->  propagate (types, operations, counts)
                           ->  sampling (optional: conservative, sampled)
"""

from __future__ import annotations

from .errors import AnalysisError
from .facts import LayerFacts, ModelFacts
from .propagate import propagate, totals
from .read import input_types, read_model

__all__ = ["analyse", "analyse_internals", "AnalysisError", "LayerFacts", "ModelFacts"]


def analyse(model, input_quantizers=None, sample=None, batch_size: int = 256) -> ModelFacts:
    """Analyse a built Keras model.

    The model is read, never changed: kernels are quantized by fresh copies
    of their quantizers, and a sample run restores every quantizer's state.

    Args:
        model: a functional or Sequential Keras 3 model (QKeras layers or plain).
        input_quantizers: quantizer strings/objects for the model inputs, in
            order or as ``"name=quantized_bits(8,0,1)"``; default
            ``quantized_relu(8,0)`` (:data:`.facts.DEFAULT_INPUT`) for every input.
        sample: optional list of arrays, one per model input, for the
            ``conservative`` and ``sampled`` accumulator methods.
        batch_size: sample rows run at once.

    Returns:
        ModelFacts: every layer worth reporting, the totals and the warnings.

    Raises:
        AnalysisError: the model, its quantizers or the options cannot be
            analysed; the message says why and ``option`` names the argument
            at fault (GraphError and QuantizerError are AnalysisErrors).
    """
    return analyse_internals(model, input_quantizers, sample, batch_size)[0]


def analyse_internals(model, input_quantizers=None, sample=None, batch_size: int = 256):
    """analyse(), plus {layer name: WeightLayer} (the parts, for the drop-in API).

    Args, Raises: as :func:`analyse`.

    Returns:
        (ModelFacts, {layer name: propagate.WeightLayer}).
    """
    graph, data = read_model(model)
    inputs, input_qs = input_types(graph.input_names, graph.input_shapes, input_quantizers)
    layers, warnings, work = propagate(data, graph.input_keys, inputs)
    if sample is not None:
        from .sampling import with_samples

        layers = with_samples(graph, data, layers, work, input_qs, sample, batch_size)
    facts = ModelFacts(name=model.name, inputs=tuple(inputs), layers=tuple(layers),
                       totals=totals(layers), warnings=tuple(warnings))
    return facts, work
