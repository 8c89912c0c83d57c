"""``seis export SOURCE OUT``."""

from pathlib import Path
from typing import Annotated

import typer

from seiscli.cli._options import OverwriteOpt, with_common_options
from seiscli.cli._runner import Common, resolve_config, run_command


@with_common_options
def export(
    common: Common,
    source: Annotated[Path, typer.Argument(help="Volume or prediction store to export.")],
    out: Annotated[Path, typer.Argument(help="SEG-Y file to write.")],
    variable: Annotated[
        str | None, typer.Option(help="Variable to write (default: amplitude, or a prediction store's class ids).")
    ] = None,  # fmt: skip
    overwrite: OverwriteOpt = None,
) -> None:
    """Write a volume store (or a prediction store, as 4-byte floats) back to SEG-Y with its original headers."""
    flags = dict(source=source, out=out, variable=variable, overwrite=overwrite)

    def stage(progress):
        from seiscli.config.export import ExportConfig
        from seiscli.stages.export import run_export

        return run_export(resolve_config(ExportConfig, "export", common, flags), progress)

    def report(r):
        payload = {"path": str(r.path), "traces": r.traces, "bytes": r.bytes_written, "seconds": round(r.seconds, 3),
                   "variable": r.variable}  # fmt: skip
        return str(r.path), payload, f"wrote {r.traces} traces ({r.bytes_written / 1e6:.1f} MB) in {r.seconds:.1f} s"

    run_command(common, stage, report)
