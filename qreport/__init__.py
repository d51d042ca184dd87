"""qreport: hardware datasheets for quantized Keras models.

The analysis is importable without rendering::

    from qreport import analyse
    facts = analyse(model)               # qreport.analysis.facts.ModelFacts

and ``qreport.estimate`` is a drop-in for ``qkeras.estimate`` users.
"""

__all__ = ["analyse", "summary"]


def analyse(model, input_quantizers=None, sample=None, batch_size=256, weights=True, *,
            strategy="latency", reuse_factor=1, dsp_min_bits=6, float_type=None):
    """Analyse a built Keras model (it is read, never changed).

    Args:
        model: a functional or Sequential Keras 3 model (QKeras layers or plain).
        input_quantizers: quantizer strings/objects for the model inputs, in
            order or as ``"name=quantized_bits(8,0,1)"``; default
            ``quantized_relu(8,0)`` for every input.
        sample: optional list of arrays, one per model input, for the
            ``conservative`` and ``sampled`` accumulator methods.
        batch_size: sample rows run at once.
        weights: False for a model whose weights are not real (an architecture
            without its weights file): no bound, zero weights or histograms.
        strategy, reuse_factor: the hls4ml design the hardware figures describe
            (``"latency"``, ``"resource"`` or ``"distributed_arithmetic"``; README
            "Hardware cost"); dsp_min_bits: the DSP estimate's width rule.
        float_type: e.g. ``"ap_fixed<16,6>"``: float layers typed as hls4ml's
            default precision types them (None: they stay float).

    Returns:
        ModelFacts (``qreport.analysis.facts``): layers, totals, warnings.

    Raises:
        AnalysisError (``qreport.analysis.errors``, a ValueError): the model,
            its quantizers or the options cannot be analysed; ``option`` names
            the argument at fault, if one is.
    """
    from .analysis.hardware import Design
    from .analysis.model import analyse as _analyse

    return _analyse(model, input_quantizers, sample, batch_size, weights,
                    design=Design(strategy, reuse_factor, dsp_min_bits), float_type=float_type)


def summary(model, **kwargs) -> None:
    """Print the terminal summary of a model (as ``qreport summary``); kwargs as :func:`analyse`.

    For a notebook: ``qreport.summary(model)``, like ``larq.models.summary``.
    """
    from .provenance import in_memory
    from .render.summary import summary_text

    facts = analyse(model, **kwargs)
    print(summary_text(facts, in_memory(facts.name)), end="")
