"""Errors of the analysis: the model or the options cannot be analysed as given.

Every error the analysis raises is an :class:`AnalysisError`, so a caller
catches one class.  ``option`` names the argument of :func:`qreport.analyse`
the message is about (``"input_quantizers"``, ``"sample"``), or is None; a
command line adds its own flag name for it.
"""


class AnalysisError(ValueError):
    """The message says what is wrong and, where possible, what to do."""

    def __init__(self, message: str, option: str | None = None):
        super().__init__(message)
        self.option = option


class GraphError(AnalysisError):
    """The model is not a graph qreport can walk."""


class QuantizerError(AnalysisError):
    """A quantizer string or object qreport cannot interpret."""
