"""The CLI's one user-facing error type (its own module, so ``python -m nfvo.cli.main`` and
the ``nfv`` entry point share one class)."""


class CliError(Exception):
    """A failure worth one line to the user (no traceback); ``field`` names the bad element of
    the request when the server said which."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field
