"""The one table that turns typed errors into one-line messages."""

from seiscli import errors

# What the user sees before the error's own message, most specific class first.
ERROR_TABLE: list[tuple[type[errors.SeisError], str]] = [
    (errors.DuplicateTraceError, "duplicate traces"),
    (errors.GeometryError, "bad geometry"),
    (errors.NotSegyError, "not a SEG-Y file"),
    (errors.TruncatedSegyError, "truncated SEG-Y"),
    (errors.UnsupportedSegyError, "unsupported SEG-Y"),
    (errors.InputNotFoundError, "input not found"),
    (errors.NotAnArtifactError, "wrong input"),
    (errors.GridMismatchError, "grids differ"),
    (errors.OutputExistsError, "output exists"),
    (errors.OutputBusyError, "output busy"),
    (errors.ConfigError, "bad option"),
    (errors.MissingDependencyError, "missing package"),
    (errors.SeisError, "error"),
]


def describe(error: errors.SeisError) -> str:
    """``error: <kind>: <message>`` and, on a second line, the hint."""
    kind = next(label for cls, label in ERROR_TABLE if isinstance(error, cls))
    text = f"error: {kind}: {error.message}"
    return text + (f"\n  hint: {error.hint}" if error.hint else "")
