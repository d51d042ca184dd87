"""The one exception the CLI turns into a one-line message and exit code 1."""


class QReportError(Exception):
    """Bad input or a failed build; the message is shown to the user as is."""
