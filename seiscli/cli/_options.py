"""Options every command shares, as reusable annotated types."""

from pathlib import Path
from typing import Annotated

import typer

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout instead of the path.")]
ConfigOpt = Annotated[
    Path | None, typer.Option("--config", help="TOML or YAML file of options (flags win over it).", dir_okay=False)
]
VerboseOpt = Annotated[int, typer.Option("--verbose", "-v", count=True, help="More messages on stderr.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Only errors on stderr.")]
DebugOpt = Annotated[bool, typer.Option("--debug", help="Show tracebacks (also SEIS_DEBUG=1).")]
OverwriteOpt = Annotated[bool | None, typer.Option("--overwrite", help="Replace the output if it exists.")]
