"""Typed errors: one class per thing a user can get wrong.

Stages raise these; ``seiscli.cli._errors`` turns each into a one-line message and exit code 1.
"""


class SeisError(Exception):
    """Base of every user-facing error. ``hint`` says how to fix it."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint


class Interrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM) in a stage that keeps its finished work: ``message`` says what is kept and how to go on."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class ConfigError(SeisError):
    """An option or config file value is invalid."""


class InputNotFoundError(SeisError):
    """An input path does not exist."""


class NotSegyError(SeisError):
    """The input is not a SEG-Y file."""


class TruncatedSegyError(SeisError):
    """The SEG-Y file ends in the middle of a trace."""


class UnsupportedSegyError(SeisError):
    """A valid SEG-Y feature seis cannot read (sample format, variable trace length ...)."""


class GeometryError(SeisError):
    """The trace header keys do not form an inline/crossline (or CDP) grid."""


class DuplicateTraceError(GeometryError):
    """Two traces share the same grid position."""


class NotAnArtifactError(SeisError):
    """A path is not the kind of seis artifact the command needs."""


class OutputExistsError(SeisError):
    """The output exists and --overwrite was not given."""


class OutputBusyError(SeisError):
    """Another process is writing the same output right now."""


class MissingDependencyError(SeisError):
    """An optional package needed for this feature is not installed."""


class GridMismatchError(SeisError):
    """Two stores that should share a grid (a volume and its labels) do not."""
