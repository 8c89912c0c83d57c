"""``seis finetune DATASET OUT --task T``."""

from pathlib import Path
from typing import Annotated

import typer

from seiscli.cli._options import OverwriteOpt, with_common_options
from seiscli.cli._runner import Common, invocation, resolve_config, run_command


@with_common_options
def finetune(
    common: Common,
    dataset: Annotated[str, typer.Argument(help="Dataset store (seis preprocess).")],
    out: Annotated[Path, typer.Argument(help="Run folder: best and last checkpoints, metrics.jsonl.")],
    task: Annotated[str | None, typer.Option(help="salt, fault, facies or velocity.")] = None,
    model: Annotated[str | None, typer.Option(help="Registered model (default unet); see seis info --models.")] = None,
    weights: Annotated[
        Path | None, typer.Option(help="Backbone weights file (timm state dict or safetensors).")
    ] = None,
    init: Annotated[Path | None, typer.Option(help="Start from another checkpoint's weights.")] = None,
    epochs: Annotated[int | None, typer.Option(help="Epochs (default 30).")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Samples per batch (default 32).")] = None,
    lr: Annotated[float | None, typer.Option(help="Peak learning rate (default 1e-3).")] = None,
    accumulate: Annotated[int | None, typer.Option(help="Batches per optimizer step (default 1).")] = None,
    precision: Annotated[str | None, typer.Option(help="auto (bf16 where supported), bf16, fp16 or fp32.")] = None,
    ema: Annotated[float | None, typer.Option(help="EMA decay of the kept weights (default 0.999).")] = None,
    patience: Annotated[int | None, typer.Option(help="Stop after this many epochs without improvement.")] = None,
    workers: Annotated[int | None, typer.Option(help="Loader worker processes (default 2).")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed (default 0): same seed, same weights.")] = None,
    resume: Annotated[bool | None, typer.Option(help="Continue the run in OUT from its last complete epoch.")] = None,
    overwrite: OverwriteOpt = None,
) -> None:
    """Train a task model on a dataset store; keeps the best and the last checkpoint."""
    flags = dict(dataset=dataset, out=out, task=task, model=model, weights=weights, init=init, epochs=epochs,
                 batch_size=batch_size, lr=lr, accumulate=accumulate, precision=precision, ema=ema,
                 patience=patience, workers=workers, seed=seed, resume=resume, overwrite=overwrite)  # fmt: skip

    def stage(progress):
        from seiscli.config.finetune import FinetuneConfig
        from seiscli.stages.finetune import run_finetune

        return run_finetune(resolve_config(FinetuneConfig, "finetune", common, flags), invocation(), progress)

    def report(r):
        payload = {"path": str(r.path), "epochs": r.epochs, "best": r.best, "seconds": round(r.seconds, 1)}
        return str(r.path), payload, f"trained {r.epochs} epochs in {r.seconds / 60:.1f} min; best {r.best}"

    run_command(common, stage, report)
