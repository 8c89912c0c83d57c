"""``seis infer MODEL VOLUME OUT``."""

from pathlib import Path
from typing import Annotated

import typer

from seiscli.cli._options import OverwriteOpt, with_common_options
from seiscli.cli._runner import Common, invocation, resolve_config, run_command


@with_common_options
def infer(
    common: Common,
    model: Annotated[Path, typer.Argument(help="Task checkpoint (.safetensors) or its ONNX export (seis export).")],
    volume: Annotated[str, typer.Argument(help="Volume store to predict (seis ingest).")],
    out: Annotated[Path | None, typer.Argument(help="Prediction store to write (omit with --into).")] = None,
    patch: Annotated[str | None, typer.Option(help="Window HxW or DxHxW (default: the model's patch).")] = None,
    axis: Annotated[
        str | None,
        typer.Option(help="2D models: inline, crossline or sample sections (default: the first trained on)."),
    ] = None,  # fmt: skip
    overlap: Annotated[
        float | None, typer.Option(help="Fraction of a window shared by neighbours (default 0.5).")
    ] = None,  # fmt: skip
    blend: Annotated[str | None, typer.Option(help="Window weights: gaussian (default), hann or constant.")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Windows per model call (default 16).")] = None,
    tta: Annotated[bool | None, typer.Option(help="Average with the mirrored prediction.")] = None,
    precision: Annotated[str | None, typer.Option(help="auto (bf16 where the CPU has it), bf16 or fp32.")] = None,
    probabilities: Annotated[bool | None, typer.Option(help="Also write float16 class probabilities.")] = None,
    into: Annotated[bool | None, typer.Option(help="Write the prediction into the volume store itself.")] = None,
    resume: Annotated[
        bool | None, typer.Option(help="Finish an interrupted prediction: skip chunks already written.")
    ] = None,  # fmt: skip
    part: Annotated[
        str | None, typer.Option(help="i/n: predict chunks i, i+n, ... (0-based) of a shared store.")
    ] = None,  # fmt: skip
    workers: Annotated[
        int | None, typer.Option(help="Threads reading chunks ahead of the model (default 1).")
    ] = None,  # fmt: skip
    overwrite: OverwriteOpt = None,
) -> None:
    """Predict a whole volume with a task checkpoint, chunk by chunk, into a co-registered prediction store."""
    flags = dict(model=model, volume=volume, out=out, patch=patch, axis=axis, overlap=overlap, blend=blend,
                 batch_size=batch_size, tta=tta, precision=precision, probabilities=probabilities, into=into,
                 resume=resume, part=part, workers=workers, overwrite=overwrite)  # fmt: skip

    def stage(progress):
        from seiscli.config.infer import InferConfig
        from seiscli.stages.infer import run_infer

        return run_infer(resolve_config(InferConfig, "infer", common, flags), invocation(), progress)

    def report(r):
        payload = {"path": str(r.path), "variables": r.variables, "chunks": r.chunks, "chunks_done": r.chunks_done,
                   "chunks_skipped": r.chunks_skipped, "remaining": r.remaining, "windows": r.windows,
                   "seconds": round(r.seconds, 3), "windows_per_second": round(r.windows_per_second, 2),
                   "mb_per_second": round(r.mb_per_second, 3)}  # fmt: skip
        summary = (f"predicted {r.chunks_done} of {r.chunks} chunks ({r.windows} windows, {r.windows_per_second:.1f}"
                   f" windows/s, {r.mb_per_second:.2f} MB/s) in {r.seconds:.1f} s"
                   + (f"; {r.remaining} chunk(s) still to predict" if r.remaining else ""))  # fmt: skip
        return str(r.path), payload, summary

    run_command(common, stage, report)
