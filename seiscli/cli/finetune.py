"""``seis finetune DATASET OUT --task T``."""

import contextlib
import io
import os
import sys
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
    epochs: Annotated[int | None, typer.Option(help="Epochs (default 30).")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Samples per batch (default 32).")] = None,
    lr: Annotated[float | None, typer.Option(help="Peak learning rate (default 1e-3).")] = None,
    restarts: Annotated[int | None, typer.Option(help="Warm restarts of the cosine schedule (default 0).")] = None,
    accumulate: Annotated[int | None, typer.Option(help="Batches per optimizer step (default 1).")] = None,
    precision: Annotated[str | None, typer.Option(help="auto (bf16 where supported), bf16, fp16 or fp32.")] = None,
    ema: Annotated[float | None, typer.Option(help="EMA decay of the kept weights (default 0.999).")] = None,
    patience: Annotated[int | None, typer.Option(help="Stop after this many epochs without improvement.")] = None,
    augment: Annotated[bool | None, typer.Option(help="Random flips, shifts, gain and noise (default on).")] = None,
    calibrate: Annotated[
        bool | None, typer.Option(help="Salt, fault: pick the decision threshold on the val split (default on).")
    ] = None,
    workers: Annotated[int | None, typer.Option(help="Loader worker processes (default 2).")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed (default 0): same seed, same weights.")] = None,
    resume: Annotated[bool | None, typer.Option(help="Continue the run in OUT from its last complete epoch.")] = None,
    nproc_per_node: Annotated[
        int | None, typer.Option(help="Processes on this node: relaunches under torchrun.")
    ] = None,
    nnodes: Annotated[int | None, typer.Option(help="Nodes taking part (default 1).")] = None,
    node_rank: Annotated[int | None, typer.Option(help="This node's rank among --nnodes.")] = None,
    rdzv_endpoint: Annotated[str | None, typer.Option(help="HOST:PORT where the nodes meet.")] = None,
    overwrite: OverwriteOpt = None,
) -> None:
    """Train a task model on a dataset store; keeps the best and the last checkpoint."""
    flags = dict(dataset=dataset, out=out, task=task, model=model, weights=weights, init=init, freeze=freeze, lora=lora,
                 lora_rank=lora_rank, lora_alpha=lora_alpha, lora_mlp=lora_mlp, epochs=epochs,
                 batch_size=batch_size, lr=lr, restarts=restarts, accumulate=accumulate, augment=augment, calibrate=calibrate, precision=precision, ema=ema,
                 patience=patience, workers=workers, seed=seed, resume=resume, overwrite=overwrite,
                 nproc_per_node=nproc_per_node, nnodes=nnodes, node_rank=node_rank, rdzv_endpoint=rdzv_endpoint)  # fmt: skip

    def stage(progress):
        from seiscli.config.finetune import FinetuneConfig
        from seiscli.stages.finetune import run_finetune
        from seiscli.training.distributed import current_world

        cfg = resolve_config(FinetuneConfig, "finetune", common, flags)
        if cfg.wants_launch and current_world().size == 1:
            return _launch(cfg)
        return run_finetune(cfg, invocation(), progress)

    def report(r):
        from seiscli.stages.finetune import describe_parameters

        payload = {"path": str(r.path), "epochs": r.epochs, "best": r.best, "seconds": round(r.seconds, 1),
                   "calibration": r.calibration, "parameters": r.parameters}  # fmt: skip
        message = f"trained {r.epochs} epochs in {r.seconds / 60:.1f} min; best {r.best}"
        if r.calibration:
            message += f"; threshold {r.calibration['threshold']:.3f} (val miou {r.calibration['val_miou']:.4f})"
        return str(r.path), payload, message + (f"; {describe_parameters(r.parameters)}" if r.parameters else "")

    if os.environ.get(LAUNCHED) or not _is_main_rank():
        with contextlib.redirect_stdout(io.StringIO()):  # the launcher (or rank 0) reports the result
            run_command(common, stage, report)
    else:
        run_command(common, stage, report)


LAUNCHED = "SEIS_LAUNCHED_BY_SEIS"


def _is_main_rank() -> bool:
    from seiscli.training.distributed import current_world

    return current_world().is_main


def _launch(cfg):
    """Re-run this very command under torchrun; its ranks do the work, this process reports."""
    import subprocess
    import time

    from seiscli.errors import SeisError
    from seiscli.stages.finetune import summarize_run
    from seiscli.training.distributed import torchrun_command

    started = time.perf_counter()
    command = torchrun_command(sys.argv[1:], cfg.nproc_per_node, cfg.nnodes, cfg.node_rank, cfg.rdzv_endpoint)
    code = subprocess.call(command, env={**os.environ, LAUNCHED: "1"})
    if code != 0:
        raise SeisError(f"the distributed run failed (exit {code}); the ranks' messages are above")
    return summarize_run(cfg.out, time.perf_counter() - started)
