"""``seis pretrain DATASET... OUT``."""

from pathlib import Path
from typing import Annotated, Any

import typer

from seiscli.cli._options import with_common_options
from seiscli.cli._runner import Common, invocation, resolve_config
from seiscli.cli._training import launch_or_run, run_training_command, with_training_options


@with_common_options
@with_training_options(batch_size=64, lr="5e-4")
def pretrain(
    common: Common,
    training: dict[str, Any],
    datasets: Annotated[list[str], typer.Argument(help="Dataset store(s) (seis preprocess), read as one corpus.")],
    out: Annotated[Path, typer.Argument(help="Run folder: best and last checkpoints, metrics.jsonl.")],
    model: Annotated[
        str | None, typer.Option(help="Masked autoencoder (default mae_vit_s16); its card names the finetune models.")
    ] = None,
    mask_ratio: Annotated[
        float | None, typer.Option(help="Share of patches hidden from the encoder (default 0.75).")
    ] = None,
    preview: Annotated[
        Path | None, typer.Option(help="PNG of a few val samples: input, visible patches, reconstruction.")
    ] = None,
) -> None:
    """Pretrain a ViT encoder as a masked autoencoder on unlabelled samples; seis finetune --init takes it."""
    flags = dict(datasets=datasets, out=out, model=model, mask_ratio=mask_ratio, preview=preview, **training)

    def stage(progress):
        from seiscli.config.pretrain import PretrainConfig
        from seiscli.stages.pretrain import run_pretrain
        from seiscli.stages.training import summarize_run

        cfg = resolve_config(PretrainConfig, "pretrain", common, flags)
        return launch_or_run(cfg, lambda: run_pretrain(cfg, invocation(), progress), summarize_run)

    def report(r):
        payload = {"path": str(r.path), "epochs": r.epochs, "best": r.best, "seconds": round(r.seconds, 1)}
        return str(r.path), payload, f"pretrained {r.epochs} epochs in {r.seconds / 60:.1f} min; best {r.best}"

    run_training_command(common, stage, report)
