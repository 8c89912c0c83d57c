"""``seis finetune DATASET OUT --task T``."""

from pathlib import Path
from typing import Annotated, Any

import typer

from seiscli.cli._options import with_common_options
from seiscli.cli._runner import Common, invocation, resolve_config
from seiscli.cli._training import launch_or_run, run_training_command, with_training_options


@with_common_options
@with_training_options()
def finetune(
    common: Common,
    training: dict[str, Any],
    dataset: Annotated[str, typer.Argument(help="Dataset store (seis preprocess).")],
    out: Annotated[Path, typer.Argument(help="Run folder: best and last checkpoints, metrics.jsonl.")],
    task: Annotated[str | None, typer.Option(help="salt, fault, facies or velocity.")] = None,
    model: Annotated[str | None, typer.Option(help="Registered model (default unet); see seis info --models.")] = None,
    weights: Annotated[
        Path | None, typer.Option(help="Backbone weights file (timm state dict or safetensors).")
    ] = None,
    init: Annotated[Path | None, typer.Option(help="Start from another checkpoint's weights.")] = None,
    freeze: Annotated[bool | None, typer.Option(help="Train the decoder/head only; the backbone stays fixed.")] = None,
    lora: Annotated[
        bool | None, typer.Option(help="LoRA adapters on the backbone's attention; it stays fixed, the decoder trains.")
    ] = None,
    lora_rank: Annotated[int | None, typer.Option(help="Rank of the LoRA adapters (default 8).")] = None,
    lora_alpha: Annotated[
        float | None, typer.Option(help="LoRA scale: adapter updates weigh alpha / rank (default 16).")
    ] = None,
    lora_mlp: Annotated[
        bool | None, typer.Option(help="LoRA on the MLP layers too (a ConvNeXt has no others).")
    ] = None,
    calibrate: Annotated[
        bool | None, typer.Option(help="Salt, fault: pick the decision threshold on the val split (default on).")
    ] = None,
) -> None:
    """Train a task model on a dataset store; keeps the best and the last checkpoint."""
    flags = dict(dataset=dataset, out=out, task=task, model=model, weights=weights, init=init, freeze=freeze, lora=lora,
                 lora_rank=lora_rank, lora_alpha=lora_alpha, lora_mlp=lora_mlp, calibrate=calibrate, **training)  # fmt: skip

    def stage(progress):
        from seiscli.config.finetune import FinetuneConfig
        from seiscli.stages.finetune import run_finetune
        from seiscli.stages.training import summarize_run

        cfg = resolve_config(FinetuneConfig, "finetune", common, flags)
        return launch_or_run(cfg, lambda: run_finetune(cfg, invocation(), progress), summarize_run)

    def report(r):
        from seiscli.stages.training import describe_parameters

        payload = {"path": str(r.path), "epochs": r.epochs, "best": r.best, "seconds": round(r.seconds, 1),
                   "calibration": r.calibration, "parameters": r.parameters}  # fmt: skip
        message = f"trained {r.epochs} epochs in {r.seconds / 60:.1f} min; best {r.best}"
        if r.calibration:
            message += f"; threshold {r.calibration['threshold']:.3f} (val miou {r.calibration['val_miou']:.4f})"
        return str(r.path), payload, message + (f"; {describe_parameters(r.parameters)}" if r.parameters else "")

    run_training_command(common, stage, report)
