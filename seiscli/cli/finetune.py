"""``seis finetune DATASET OUT --task T``."""

from pathlib import Path
from typing import Annotated, Any

import typer

from seiscli.cli._options import with_common_options
from seiscli.cli._runner import Common, invocation, resolve_config
from seiscli.cli._training import launch_or_run, run_training_command, with_training_options


@with_common_options
@with_training_options
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
) -> None:
    """Train a task model on a dataset store; keeps the best and the last checkpoint."""
    flags = dict(
        dataset=dataset, out=out, task=task, model=model, weights=weights, init=init, freeze=freeze, **training
    )

    def stage(progress):
        from seiscli.config.finetune import FinetuneConfig
        from seiscli.stages.finetune import run_finetune, summarize_run

        cfg = resolve_config(FinetuneConfig, "finetune", common, flags)
        return launch_or_run(cfg, lambda: run_finetune(cfg, invocation(), progress), summarize_run)

    def report(r):
        payload = {"path": str(r.path), "epochs": r.epochs, "best": r.best, "seconds": round(r.seconds, 1)}
        return str(r.path), payload, f"trained {r.epochs} epochs in {r.seconds / 60:.1f} min; best {r.best}"

    run_training_command(common, stage, report)
