"""The one exception the CLI turns into a one-line message and exit code 1."""


class QReportError(Exception):
    """Bad input or a failed build; the message is shown to the user as is.

    ``option`` names the build option at fault (``"input_quantizers"``,
    ``"sample"``) or is None; the CLI names its flag for it.
    """

    def __init__(self, message: str, option: str | None = None):
        super().__init__(message)
        self.option = option
