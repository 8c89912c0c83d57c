"""``seis quantize MODEL.onnx OUT.onnx --calibration DATASET``."""

from pathlib import Path
from typing import Annotated

import typer

from seiscli.cli._options import OverwriteOpt, with_common_options
from seiscli.cli._runner import Common, resolve_config, run_command


@with_common_options
def quantize(
    common: Common,
    model: Annotated[Path, typer.Argument(help="ONNX model exported by seis export.")],
    out: Annotated[Path, typer.Argument(help="Quantized ONNX model to write.")],
    calibration: Annotated[
        str, typer.Option(help="Dataset store: calibration samples (train) and the accuracy gate (--split).")
    ],
    mode: Annotated[
        str | None,
        typer.Option(
            help="static (INT8 QDQ), dynamic (INT8 matmuls), fp16, or auto (default): "
            "static and dynamic both tried, the faster that passes kept."
        ),
    ] = None,
    max_drop: Annotated[
        float | None, typer.Option(help="Largest drop of the task's metric allowed (default 0.01).")
    ] = None,
    force: Annotated[bool | None, typer.Option("--force", help="Write the model even past --max-drop.")] = None,
    split: Annotated[str | None, typer.Option(help="Split the metric is compared on (default val).")] = None,
    calibration_samples: Annotated[
        int | None, typer.Option(help="Train samples to calibrate on (default 256).")
    ] = None,
    batch_size: Annotated[int | None, typer.Option(help="Samples per batch (default 32).")] = None,
    workers: Annotated[int | None, typer.Option(help="Loader worker processes (default 2).")] = None,
    overwrite: OverwriteOpt = None,
) -> None:
    """Quantize an ONNX model with ONNX Runtime; keep it only if the metric holds on the dataset."""
    flags = dict(model=model, out=out, calibration=calibration, mode=mode, max_drop=max_drop, force=force,
                 split=split, calibration_samples=calibration_samples, batch_size=batch_size, workers=workers,
                 overwrite=overwrite)  # fmt: skip

    def stage(progress):
        from seiscli.config.quantize import QuantizeConfig
        from seiscli.stages.quantize import run_quantize

        return run_quantize(resolve_config(QuantizeConfig, "quantize", common, flags), progress)

    def report(r):
        summary = (f"{r.mode}: {r.metric} {r.before:.4f} -> {r.after:.4f} (drop {r.drop:+.4f}); "
                   f"{r.bytes_before / 1e6:.1f} -> {r.bytes_after / 1e6:.1f} MB; "
                   f"{r.ms_before:.2f} -> {r.ms_after:.2f} ms/sample ({r.speedup:.2f}x)"
                   + ("; kept past --max-drop (--force)" if r.forced else "")
                   + "".join(f"; {o['mode']}: drop {o['drop']:+.4f}, {o['speedup']:.2f}x"
                             for o in r.others))  # fmt: skip
        return str(r.path), r.as_dict(), summary

    run_command(common, stage, report)
