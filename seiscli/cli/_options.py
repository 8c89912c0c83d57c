"""Options every command shares, as reusable annotated types."""

import functools
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

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


def gathered_options(parameter: str, options: dict[str, Any], defaults: dict[str, Any], gather: Callable[..., Any]):
    """A decorator that gives ``command(..., <parameter>)`` the annotated ``options``, their values
    gathered into one ``gather(**values)`` passed as ``parameter``."""

    def decorate(command: Callable[..., None]) -> Callable[..., None]:
        signature = inspect.signature(command)
        own = [p for name, p in signature.parameters.items() if name != parameter]
        shared = [
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=defaults.get(name), annotation=annotation)
            for name, annotation in options.items()
        ]

        @functools.wraps(command)
        def wrapper(**kwargs):
            gathered = gather(**{name: kwargs.pop(name) for name in options})
            return command(**{parameter: gathered}, **kwargs)

        wrapper.__signature__ = signature.replace(parameters=own + shared)
        wrapper.__annotations__ = {p.name: p.annotation for p in own + shared}
        return wrapper

    return decorate


# Give ``command(common, ...)`` the options every command takes, gathered into one ``Common``.
with_common_options = gathered_options("common", _COMMON_OPTIONS, _COMMON_DEFAULTS, Common)
