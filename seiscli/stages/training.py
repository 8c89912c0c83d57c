"""What the training stages share (finetune, distill, pretrain): the run folder, the loaders, the engine.

A run folder holds ``best.safetensors`` and ``last.safetensors`` (weights + model card), the resumable
state beside the last one, and ``metrics.jsonl`` (one line per epoch). Under torchrun every rank
trains; only rank 0 prepares the folder and writes into it.
"""

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seiscli.config.training import TrainingConfig
from seiscli.errors import ConfigError, Interrupted, OutputExistsError
from seiscli.progress import Progress, SilentProgress

BEST, LAST, LOG = "best.safetensors", "last.safetensors", "metrics.jsonl"
RUN_FILES = (BEST, LAST, LOG, LAST + ".state.pt")  # what a run writes in its folder (--overwrite removes them)


@dataclass
class TrainingResult:
    path: Path
    epochs: int
    best: dict[str, Any]
    seconds: float
    calibration: dict[str, float] | None = None  # finetune of binary tasks: the decision threshold chosen on val
    parameters: dict[str, int] = field(default_factory=dict)  # total, trainable, adapters
    warnings: list[str] = field(default_factory=list)


def summarize_run(out: Path, seconds: float) -> TrainingResult:
    """What a run folder says about its run: epochs done, the best metric, the threshold, the parameters trained."""
    from seiscli.training.checkpoint import read_card

    lines = (out / LOG).read_text().splitlines() if (out / LOG).exists() else []
    last = json.loads(lines[-1]) if lines else {}
    calibration = read_card(out / BEST).get("calibration") if (out / BEST).is_file() else None
    parameters = read_card(out / LAST).get("parameters", {}) if (out / LAST).exists() else {}
    return TrainingResult(out, last.get("epoch", 0), last.get("best", {}), seconds, calibration, parameters)


def describe_parameters(counts: dict[str, int]) -> str:
    """ "trainable parameters: 12,290 of 70,306 (3,072 in LoRA adapters)"."""
    text = f"trainable parameters: {counts['trainable']:,} of {counts['total']:,}"
    return text + (f" ({counts['adapters']:,} in LoRA adapters)" if counts["adapters"] else "")


def start_run(cfg: TrainingConfig, progress: Progress | None, files: tuple[str, ...] = RUN_FILES):
    """Join the process group, prepare the run folder (rank 0), seed torch: (world, device, progress).

    Only rank 0 shows progress and writes; every rank waits until the folder is ready.
    """
    import torch

    from seiscli.training.distributed import barrier, current_world, init_process_group

    world = current_world()
    progress = (progress or SilentProgress()) if world.is_main else SilentProgress()
    device = init_process_group(world)
    if world.is_main:
        prepare_run_dir(cfg, files)
    barrier()
    torch.manual_seed(cfg.seed)
    return world, device, progress


def prepare_run_dir(cfg: TrainingConfig, files: tuple[str, ...] = RUN_FILES) -> None:
    """Check that the run folder OUT can be resumed, or start it afresh (``files`` removed on --overwrite)."""
    from seiscli.training.checkpoint import state_path

    if cfg.resume:
        if not state_path(cfg.out / LAST).is_file():
            raise ConfigError(f"nothing to resume in {cfg.out} (no {LAST}.state.pt)", "drop --resume to start afresh")
        return
    if cfg.out.exists() and any(cfg.out.iterdir()) and not cfg.overwrite:
        raise OutputExistsError(f"{cfg.out} already holds a run", "pass --resume to continue it or --overwrite")
    cfg.out.mkdir(parents=True, exist_ok=True)
    for name in files:
        (cfg.out / name).unlink(missing_ok=True)


def make_loaders(cfg: TrainingConfig, datasets: str | list[str], task_name: str, world, inputs_only: bool = False):
    """This rank's (train loader, val loader or None when the val split is empty).

    ``datasets`` is one store or several read as one corpus; ``inputs_only`` leaves any targets unread.
    """
    from seiscli.data.augment import Augment, AugmentConfig
    from seiscli.data.loader import make_loader

    augment = None
    if cfg.augment:
        augment = Augment.for_task(task_name, cfg.augment if isinstance(cfg.augment, AugmentConfig) else None)
    common = {"rank": world.rank, "world": world.size, "inputs_only": inputs_only}
    train = make_loader(datasets, "train", cfg.batch_size, cfg.workers, augment, cfg.seed, drop_last=True, **common)
    val = make_loader(datasets, "val", cfg.batch_size, cfg.workers, None, cfg.seed, shuffle=False, **common)
    if len(train) == 0:
        where = datasets if isinstance(datasets, str) else " + ".join(datasets)
        raise ConfigError(f"{where} has fewer train samples than one batch ({cfg.batch_size})")
    return train, val if len(val) else None


def make_trainer(cfg: TrainingConfig, model, task, loaders, progress: Progress, world, device):
    """The engine for ``model`` and ``task`` on (train, val) ``loaders``, under DDP with several ranks."""
    from seiscli.training.engine import EngineOptions, Trainer

    train, val = loaders
    options = EngineOptions(cfg.epochs, cfg.lr, cfg.weight_decay, cfg.warmup_epochs, cfg.min_lr_ratio, cfg.restarts,
                            cfg.clip_grad, cfg.accumulate, cfg.precision, cfg.ema, cfg.patience,
                            cfg.layer_decay)  # fmt: skip
    model = model.to(device)
    if world.size > 1:
        from seiscli.training.global_batch import use_global_batchnorm

        model = use_global_batchnorm(model)  # batch statistics over the global batch, as one process has
    return Trainer(model, task, train, val, options, device, progress, ddp=world.size > 1)


def train(cfg: TrainingConfig, trainer, card: dict[str, Any], world, kept=lambda model: model) -> None:
    """Resume when asked, then run the epochs, rank 0 writing checkpoints of ``kept(model)`` and the log.

    The caller ends with ``barrier()`` after whatever rank 0 still writes (a calibration, a preview).
    """
    from seiscli.training.checkpoint import load_state, state_path

    if cfg.resume:
        trainer.load_state_dict(load_state(cfg.out / LAST))
    try:
        trainer.fit(lambda report: end_of_epoch(cfg.out, trainer, card, report, kept) if world.is_main else None)
    except KeyboardInterrupt:
        if not state_path(cfg.out / LAST).is_file():
            raise
        raise Interrupted(
            f"interrupted: {cfg.out} keeps its last complete epoch; rerun with --resume to go on"
        ) from None


def make_card(cfg: TrainingConfig, dataset, task, model, provenance: dict[str, Any]) -> dict[str, Any]:
    """The model card of a checkpoint of ``model`` trained for ``task`` on ``dataset``."""
    from seiscli.models.lora import parameter_counts

    attrs = dataset.attrs
    return {
        "model": model.card_args,
        "parameters": parameter_counts(model),
        "task": task.spec(),
        "classes": task.class_names,
        "in_channels": dataset.x.shape[1],
        "sample_shape": list(dataset.x.shape[1:]),
        "normalization": attrs.get("normalization"),
        "patch": attrs.get("patch"),
        "training": cfg.model_dump(mode="json"),
        "provenance": provenance,
    }


def end_of_epoch(out: Path, trainer, card: dict[str, Any], report, kept=lambda model: model) -> None:
    """Best and last checkpoints of ``kept(evaluated model)``, the resumable state, a line of the log."""
    from seiscli.training.checkpoint import save_state, save_weights

    weights = kept(trainer.evaluation_model()).state_dict()
    metrics = {"epoch": report.epoch, "train_loss": report.train_loss, **report.metrics}
    if report.improved:
        save_weights(out / BEST, weights, {**card, "metrics": metrics})
    save_weights(out / LAST, weights, {**card, "metrics": metrics})
    save_state(out / LAST, trainer.state_dict())
    line = {"epoch": report.epoch, "train_loss": report.train_loss, "lr": report.lr, "seconds": report.seconds,
            "val": report.metrics, "best": {trainer.task.primary_metric: trainer.best}}  # fmt: skip
    with open(out / LOG, "a") as log:
        log.write(json.dumps(line, default=str) + "\n")
