"""``seis pretrain DATASET... OUT``."""

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
def pretrain(
    common: Common,
    datasets: Annotated[list[str], typer.Argument(help="Dataset store(s) (seis preprocess), read as one corpus.")],
    out: Annotated[Path, typer.Argument(help="Run folder: best and last checkpoints, metrics.jsonl.")],
    model: Annotated[
        str | None, typer.Option(help="Masked autoencoder (default mae_vit_s16); its card names the finetune models.")
    ] = None,
    mask_ratio: Annotated[
        float | None, typer.Option(help="Share of patches hidden from the encoder (default 0.75).")
    ] = None,
    epochs: Annotated[int | None, typer.Option(help="Epochs (default 30).")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Samples per batch (default 64).")] = None,
    lr: Annotated[float | None, typer.Option(help="Peak learning rate (default 5e-4).")] = None,
    restarts: RestartsOpt = None,
    accumulate: AccumulateOpt = None,
    precision: PrecisionOpt = None,
    ema: EmaOpt = None,
    patience: PatienceOpt = None,
    augment: AugmentOpt = None,
    workers: WorkersOpt = None,
    seed: SeedOpt = None,
    resume: ResumeOpt = None,
    preview: Annotated[
        Path | None, typer.Option(help="PNG of a few val samples: input, visible patches, reconstruction.")
    ] = None,
    nproc_per_node: NprocOpt = None,
    nnodes: NnodesOpt = None,
    node_rank: NodeRankOpt = None,
    rdzv_endpoint: RdzvOpt = None,
    overwrite: OverwriteOpt = None,
) -> None:
    """Pretrain a ViT encoder as a masked autoencoder on unlabelled samples; seis finetune --init takes it."""
    flags = dict(datasets=datasets, out=out, model=model, mask_ratio=mask_ratio, epochs=epochs, batch_size=batch_size,
                 lr=lr, restarts=restarts, accumulate=accumulate, precision=precision, ema=ema, patience=patience,
                 augment=augment, workers=workers, seed=seed, resume=resume, preview=preview,
                 nproc_per_node=nproc_per_node, nnodes=nnodes, node_rank=node_rank, rdzv_endpoint=rdzv_endpoint,
                 overwrite=overwrite)  # fmt: skip

    def load():
        from seiscli.config.pretrain import PretrainConfig
        from seiscli.stages.pretrain import run_pretrain

        return PretrainConfig, run_pretrain

    run_training(common, "pretrain", flags, load)
