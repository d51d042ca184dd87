"""The errors qreport raises: one base class, the CLI's one line and exit code 1.

Messages say what is wrong and, where possible, what to do.  They name a
setting by :func:`qreport.options.spelling`, so the command line and the
Python API each read their own spelling of it.
"""


class QReportError(Exception):
    """Bad input or a failed build; the message is shown to the user as is.

    ``option`` names the setting at fault (``"input_quantizers"``,
    ``"sample"``) or is None; the CLI names its flag for it.
    """

    def __init__(self, message: str, option: str | None = None):
        super().__init__(message)
        self.option = option


class AnalysisError(QReportError, ValueError):
    """The model or the options cannot be analysed as given."""


class GraphError(AnalysisError):
    """The model is not a graph qreport can walk."""


class QuantizerError(AnalysisError):
    """A quantizer string or object qreport cannot interpret."""
