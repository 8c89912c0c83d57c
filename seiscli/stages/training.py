"""What the training stages share (``seis finetune``, ``seis pretrain``): the run folder, the engine, the writes.

A run folder holds ``best.safetensors`` and ``last.safetensors`` (weights + model card), the resumable
state beside the last one, and ``metrics.jsonl`` (one line per epoch). Under torchrun every rank
trains; only rank 0 prepares the folder and writes into it.
"""

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seiscli.config.training import TrainingConfig
from seiscli.errors import ConfigError, OutputExistsError
from seiscli.progress import Progress, SilentProgress

BEST, LAST, LOG = "best.safetensors", "last.safetensors", "metrics.jsonl"


@dataclass
class TrainingResult:
    path: Path
    epochs: int
    best: dict[str, Any]
    seconds: float
    warnings: list[str] = field(default_factory=list)


def summarize_run(out: Path, seconds: float) -> TrainingResult:
    """What a run folder says about its run: epochs done and the best metric."""
    lines = (out / LOG).read_text().splitlines() if (out / LOG).exists() else []
    last = json.loads(lines[-1]) if lines else {}
    return TrainingResult(out, last.get("epoch", 0), last.get("best", {}), seconds)


def start_run(cfg: TrainingConfig, progress: Progress | None):
    """Join the process group, prepare the run folder (rank 0), seed torch: (world, device, progress)."""
    import torch

    from seiscli.training.distributed import barrier, current_world, init_process_group

    world = current_world()
    progress = (progress or SilentProgress()) if world.is_main else SilentProgress()
    device = init_process_group(world)
    if world.is_main:
        _prepare_run_dir(cfg)
    barrier()
    torch.manual_seed(cfg.seed)
    return world, device, progress


def _prepare_run_dir(cfg: TrainingConfig) -> None:
    from seiscli.training.checkpoint import state_path

    if cfg.resume:
        if not state_path(cfg.out / LAST).is_file():
            raise ConfigError(f"nothing to resume in {cfg.out} (no {LAST}.state.pt)", "drop --resume to start afresh")
        return
    if cfg.out.exists() and any(cfg.out.iterdir()) and not cfg.overwrite:
        raise OutputExistsError(f"{cfg.out} already holds a run", "pass --resume to continue it or --overwrite")
    cfg.out.mkdir(parents=True, exist_ok=True)
    for name in (BEST, LAST, LOG, LAST + ".state.pt"):
        (cfg.out / name).unlink(missing_ok=True)


def make_trainer(cfg: TrainingConfig, datasets: str | list[str], model, task, progress: Progress, world, device,
                 inputs_only: bool = False):  # fmt: skip
    """Loaders of the train and val splits (sharded over the ranks), the model on ``device``, the engine.

    ``datasets`` is one store or several read as one; ``inputs_only`` leaves any targets unread.
    """
    from seiscli.data.augment import Augment, AugmentConfig
    from seiscli.data.loader import make_loader
    from seiscli.training.engine import EngineOptions, Trainer

    augment = None
    if cfg.augment:
        augment = Augment.for_task(task.name, cfg.augment if isinstance(cfg.augment, AugmentConfig) else None)
    common = {"rank": world.rank, "world": world.size, "inputs_only": inputs_only}
    train = make_loader(datasets, "train", cfg.batch_size, cfg.workers, augment, cfg.seed, drop_last=True, **common)
    val = make_loader(datasets, "val", cfg.batch_size, cfg.workers, None, cfg.seed, shuffle=False, **common)
    if len(train) == 0:
        where = datasets if isinstance(datasets, str) else " + ".join(datasets)
        raise ConfigError(f"{where} has fewer train samples than one batch ({cfg.batch_size})")
    options = EngineOptions(cfg.epochs, cfg.lr, cfg.weight_decay, cfg.warmup_epochs, cfg.min_lr_ratio, cfg.restarts,
                            cfg.clip_grad, cfg.accumulate, cfg.precision, cfg.ema, cfg.patience)  # fmt: skip
    model = model.to(device)
    if world.size > 1:
        from seiscli.training.global_batch import use_global_batchnorm

        model = use_global_batchnorm(model)  # batch statistics over the global batch, as one process has
    return Trainer(model, task, train, val if len(val) else None, options, device, progress,
                   ddp=world.size > 1)  # fmt: skip


def train(cfg: TrainingConfig, trainer, card: dict[str, Any], world) -> None:
    """Resume when asked and run the epochs, rank 0 writing checkpoints and the log after each.

    The caller ends with ``barrier()`` after whatever rank 0 still writes (a preview, a calibration).
    """
    from seiscli.training.checkpoint import load_state

    if cfg.resume:
        trainer.load_state_dict(load_state(cfg.out / LAST))
    trainer.fit(lambda report: _end_of_epoch(cfg, trainer, card, report) if world.is_main else None)


def _end_of_epoch(cfg: TrainingConfig, trainer, card: dict[str, Any], report) -> None:
    from seiscli.training.checkpoint import save_state, save_weights

    weights = trainer.evaluation_model().state_dict()
    metrics = {"epoch": report.epoch, "train_loss": report.train_loss, **report.metrics}
    if report.improved:
        save_weights(cfg.out / BEST, weights, {**card, "metrics": metrics})
    save_weights(cfg.out / LAST, weights, {**card, "metrics": metrics})
    save_state(cfg.out / LAST, trainer.state_dict())
    line = {"epoch": report.epoch, "train_loss": report.train_loss, "lr": report.lr, "seconds": report.seconds,
            "val": report.metrics, "best": {trainer.task.primary_metric: trainer.best}}  # fmt: skip
    with open(cfg.out / LOG, "a") as log:
        log.write(json.dumps(line, default=str) + "\n")
