"""``seis export SOURCE OUT``."""

from pathlib import Path
from typing import Annotated

import typer

from seiscli.cli._options import OverwriteOpt, with_common_options
from seiscli.cli._runner import Common, resolve_config, run_command


@with_common_options
def export(
    common: Common,
    source: Annotated[Path, typer.Argument(help="Checkpoint (to ONNX), or volume or prediction store (to SEG-Y).")],
    out: Annotated[Path, typer.Argument(help="OUT.onnx for a checkpoint, OUT.sgy for a store.")],
    variable: Annotated[
        str | None, typer.Option(help="SEG-Y: variable to write (default: amplitude, or a prediction's class ids).")
    ] = None,  # fmt: skip
    fp16: Annotated[bool | None, typer.Option("--fp16", help="ONNX: store the weights as float16.")] = None,
    tolerance: Annotated[
        float | None, typer.Option(help="ONNX: largest relative difference from torch (default 1e-3, fp16 1e-2).")
    ] = None,  # fmt: skip
    overwrite: OverwriteOpt = None,
) -> None:
    """Export a checkpoint to ONNX (checked in ONNX Runtime), or a volume or prediction store to SEG-Y."""
    flags = dict(source=source, out=out, variable=variable, fp16=fp16, tolerance=tolerance, overwrite=overwrite)

    def stage(progress):
        from seiscli.config.export import ExportConfig
        from seiscli.stages.export import run_export

        return run_export(resolve_config(ExportConfig, "export", common, flags), progress)

    def report(r):
        from seiscli.deploy.export import OnnxExport

        if isinstance(r, OnnxExport):
            payload = {"path": str(r.path), "bytes": r.bytes, "seconds": round(r.seconds, 3), "fp16": r.fp16,
                       "difference": r.difference, "tolerance": r.tolerance, "sample_shape": r.sample_shape}  # fmt: skip
            return str(r.path), payload, (f"exported {r.bytes / 1e6:.1f} MB of ONNX in {r.seconds:.1f} s; "
                                          f"ONNX Runtime vs torch: {r.difference:.1e} (tolerance {r.tolerance:.0e})")  # fmt: skip
        payload = {"path": str(r.path), "traces": r.traces, "bytes": r.bytes_written, "seconds": round(r.seconds, 3),
                   "variable": r.variable}  # fmt: skip
        return str(r.path), payload, f"wrote {r.traces} traces ({r.bytes_written / 1e6:.1f} MB) in {r.seconds:.1f} s"

    run_command(common, stage, report)
