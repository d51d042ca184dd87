"""qreport: hardware datasheets for quantized Keras models.

The analysis is importable without rendering::

    from qreport import analyse
    facts = analyse(model)               # qreport.analysis.model.ModelFacts

and ``qreport.estimate`` is a drop-in for ``qkeras.estimate`` users.
"""

__all__ = ["analyse"]


def analyse(model, input_quantizers=None, sample=None, batch_size=256):
    """Analyse a built Keras model; see :func:`qreport.analysis.model.analyse`."""
    from .analysis.model import analyse as _analyse

    return _analyse(model, input_quantizers, sample, batch_size)
