"""Errors of the analysis: the model or the options cannot be analysed as given."""


class AnalysisError(ValueError):
    """The message says what is wrong and, where possible, what to do."""
