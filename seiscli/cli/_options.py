"""Options every command shares, as reusable annotated types."""

import functools
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from seiscli.cli._runner import Common

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout instead of the path.")]
ConfigOpt = Annotated[
    Path | None, typer.Option("--config", help="TOML or YAML file of options (flags win over it).", dir_okay=False)
]
VerboseOpt = Annotated[int, typer.Option("--verbose", "-v", count=True, help="More messages on stderr.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Only errors on stderr.")]
DebugOpt = Annotated[bool, typer.Option("--debug", help="Show tracebacks (also SEIS_DEBUG=1).")]
OverwriteOpt = Annotated[bool | None, typer.Option("--overwrite", help="Replace the output if it exists.")]


_COMMON_OPTIONS = {"json": JsonOpt, "config": ConfigOpt, "verbose": VerboseOpt, "quiet": QuietOpt, "debug": DebugOpt}
_COMMON_DEFAULTS = {"json": False, "config": None, "verbose": 0, "quiet": False, "debug": False}


def with_common_options(command: Callable[..., None]) -> Callable[..., None]:
    """Give ``command(common, ...)`` the options every command takes, gathered into one ``Common``."""
    signature = inspect.signature(command)
    own = [p for name, p in signature.parameters.items() if name != "common"]
    shared = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=_COMMON_DEFAULTS[name], annotation=annotation)
        for name, annotation in _COMMON_OPTIONS.items()
    ]

    @functools.wraps(command)
    def wrapper(**kwargs):
        common = Common(**{name: kwargs.pop(name) for name in _COMMON_OPTIONS})
        return command(common, **kwargs)

    wrapper.__signature__ = signature.replace(parameters=own + shared)
    wrapper.__annotations__ = {p.name: p.annotation for p in own + shared}
    return wrapper
