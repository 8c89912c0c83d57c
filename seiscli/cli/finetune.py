"""``seis finetune DATASET OUT --task T``."""

from pathlib import Path
from typing import Annotated

import typer

from seiscli.cli._options import OverwriteOpt, with_common_options
from seiscli.cli._runner import Common
from seiscli.cli._training import (
    AccumulateOpt,
    AugmentOpt,
    EmaOpt,
    NnodesOpt,
    NodeRankOpt,
    NprocOpt,
    PatienceOpt,
    PrecisionOpt,
    RdzvOpt,
    RestartsOpt,
    ResumeOpt,
    SeedOpt,
    WorkersOpt,
    run_training,
)


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
    freeze: Annotated[bool | None, typer.Option(help="Train the decoder/head only; the backbone stays fixed.")] = None,
    epochs: Annotated[int | None, typer.Option(help="Epochs (default 30).")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Samples per batch (default 32).")] = None,
    lr: Annotated[float | None, typer.Option(help="Peak learning rate (default 1e-3).")] = None,
    restarts: RestartsOpt = None,
    accumulate: AccumulateOpt = None,
    precision: PrecisionOpt = None,
    ema: EmaOpt = None,
    patience: PatienceOpt = None,
    augment: AugmentOpt = None,
    workers: WorkersOpt = None,
    seed: SeedOpt = None,
    resume: ResumeOpt = None,
    nproc_per_node: NprocOpt = None,
    nnodes: NnodesOpt = None,
    node_rank: NodeRankOpt = None,
    rdzv_endpoint: RdzvOpt = None,
    overwrite: OverwriteOpt = None,
) -> None:
    """Train a task model on a dataset store; keeps the best and the last checkpoint."""
    flags = dict(dataset=dataset, out=out, task=task, model=model, weights=weights, init=init, freeze=freeze, epochs=epochs,
                 batch_size=batch_size, lr=lr, restarts=restarts, accumulate=accumulate, augment=augment, precision=precision, ema=ema,
                 patience=patience, workers=workers, seed=seed, resume=resume, overwrite=overwrite,
                 nproc_per_node=nproc_per_node, nnodes=nnodes, node_rank=node_rank, rdzv_endpoint=rdzv_endpoint)  # fmt: skip

    def load():
        from seiscli.config.finetune import FinetuneConfig
        from seiscli.stages.finetune import run_finetune

        return FinetuneConfig, run_finetune

    run_training(common, "finetune", flags, load)
