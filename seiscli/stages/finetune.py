"""``seis finetune DATASET OUT --task T``: train a task model; best/last checkpoints in OUT."""

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seiscli.config.finetune import FinetuneConfig
from seiscli.errors import ConfigError, OutputExistsError
from seiscli.progress import Progress, SilentProgress
from seiscli.storage.provenance import Invocation, make_provenance

BEST, LAST, LOG = "best.safetensors", "last.safetensors", "metrics.jsonl"


@dataclass
class FinetuneResult:
    path: Path
    epochs: int
    best: dict[str, Any]
    seconds: float
    warnings: list[str] = field(default_factory=list)


def run_finetune(cfg: FinetuneConfig, invocation: Invocation | None = None,
                 progress: Progress | None = None) -> FinetuneResult:  # fmt: skip
    """Build data, task, model and engine; resume when asked; train; keep best and last."""
    import torch

    from seiscli.storage.dataset import open_dataset
    from seiscli.training.checkpoint import load_state
    from seiscli.training.distributed import barrier, current_world, init_process_group

    world = current_world()
    progress = (progress or SilentProgress()) if world.is_main else SilentProgress()
    started = time.perf_counter()
    dataset = open_dataset(cfg.dataset)
    _check_task(dataset.attrs, cfg)
    device = init_process_group(world)
    if world.is_main:
        _prepare_run_dir(cfg)
    barrier()
    torch.manual_seed(cfg.seed)
    task = _make_task(dataset.attrs, cfg)
    model = _make_model(cfg, dataset, task)
    trainer = _make_trainer(cfg, model, task, progress, world, device)
    if cfg.resume:
        trainer.load_state_dict(load_state(cfg.out / LAST))
    card = _card(cfg, dataset, task, model, invocation)
    trainer.fit(lambda report: _end_of_epoch(cfg, trainer, card, report) if world.is_main else None)
    barrier()
    return summarize_run(cfg.out, time.perf_counter() - started)


def summarize_run(out: Path, seconds: float) -> FinetuneResult:
    """What a run folder says about its run: epochs done and the best metric."""
    lines = (out / LOG).read_text().splitlines() if (out / LOG).exists() else []
    last = json.loads(lines[-1]) if lines else {}
    return FinetuneResult(out, last.get("epoch", 0), last.get("best", {}), seconds)


def _check_task(attrs: dict[str, Any], cfg: FinetuneConfig) -> None:
    if attrs["task"] != cfg.task:
        raise ConfigError(f"{cfg.dataset} was prepared for {attrs['task']!r}, not {cfg.task!r}",
                          f"use --task {attrs['task']} or preprocess the data for {cfg.task}")  # fmt: skip


def _prepare_run_dir(cfg: FinetuneConfig) -> None:
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


def _make_task(attrs: dict[str, Any], cfg: FinetuneConfig):
    from seiscli.training.tasks import make_task

    try:
        if cfg.task == "velocity":
            return make_task("velocity", **cfg.task_options)
        return make_task(cfg.task, class_names=attrs.get("classNames"),
                         class_frequencies=attrs.get("classFrequencies"), **cfg.task_options)  # fmt: skip
    except TypeError as error:
        raise ConfigError(f"task_options: {error}") from None


def _make_model(cfg: FinetuneConfig, dataset, task):
    from seiscli.models import create_model

    options = {"in_channels": dataset.x.shape[1], "num_classes": task.num_classes, **_output_size(cfg, dataset)}
    if cfg.weights is not None:
        options["weights"] = str(cfg.weights)
    model = create_model(cfg.model, **options)
    if cfg.init is not None:
        _load_init(model, cfg.init, task)
    if cfg.freeze:
        _freeze_backbone(model)
    return model


def _output_size(cfg: FinetuneConfig, dataset) -> dict[str, Any]:
    """``out_size`` for a model that maps its input to maps of another size (shot gathers to velocity)."""
    from seiscli.models import list_models, model_entry

    inputs = tuple(dataset.x.shape[2:])  # (N, C, *S)
    targets = tuple(dataset.y.shape[-len(inputs) :])  # class ids (N, *S) or values (N, 1, *S)
    if model_entry(cfg.model).takes_out_size:
        return {"out_size": list(targets)}
    if targets != inputs:
        sized = [name for name in list_models() if model_entry(name).takes_out_size]
        message = f"{cfg.model} predicts maps of its input's size {inputs}, but {cfg.dataset} has targets of {targets}"
        raise ConfigError(message, f"choose a model that maps to another size: {', '.join(sized)}")
    return {}


HEAD_PREFIXES = ("decoder.", "ups.", "classifier.")  # decoders (Segmenter, ShotUNet, InversionNet); U-Net's up path


def _freeze_backbone(model) -> None:
    """Everything but the decoder/head stops learning (the encoder keeps its --init/--weights)."""
    frozen = 0
    for name, parameter in model.named_parameters():
        if not name.startswith(HEAD_PREFIXES):
            parameter.requires_grad_(False)
            frozen += 1
    if frozen == 0:
        raise ConfigError(f"--freeze: {model.card_args['name']} has no backbone to freeze")


def _load_init(model, init: Path, task) -> None:
    """Another checkpoint's weights: everything whose name and shape match (a new head stays new)."""
    from safetensors.torch import load_file

    from seiscli.training.checkpoint import read_card

    read_card(init)  # a clear error when it is not a seis checkpoint
    theirs = load_file(str(init))
    ours = model.state_dict()
    matching = {k: v for k, v in theirs.items() if k in ours and ours[k].shape == v.shape}
    if not matching:
        raise ConfigError(f"--init {init}: no weights match the {model.card_args['name']} model")
    model.load_state_dict(matching, strict=False)


def _make_trainer(cfg: FinetuneConfig, model, task, progress: Progress, world, device):
    from seiscli.data.augment import Augment, AugmentConfig
    from seiscli.data.loader import make_loader
    from seiscli.training.engine import EngineOptions, Trainer

    augment = None
    if cfg.augment:
        augment = Augment.for_task(task.name, cfg.augment if isinstance(cfg.augment, AugmentConfig) else None)
    shard = {"rank": world.rank, "world": world.size}
    train = make_loader(cfg.dataset, "train", cfg.batch_size, cfg.workers, augment, cfg.seed, drop_last=True, **shard)
    val = make_loader(cfg.dataset, "val", cfg.batch_size, cfg.workers, None, cfg.seed, shuffle=False, **shard)
    if len(train) == 0:
        raise ConfigError(f"{cfg.dataset} has fewer train samples than one batch ({cfg.batch_size})")
    options = EngineOptions(cfg.epochs, cfg.lr, cfg.weight_decay, cfg.warmup_epochs, cfg.min_lr_ratio, cfg.restarts,
                            cfg.clip_grad, cfg.accumulate, cfg.precision, cfg.ema, cfg.patience)  # fmt: skip
    model = model.to(device)
    if world.size > 1:
        from seiscli.training.global_batch import use_global_batchnorm

        model = use_global_batchnorm(model)  # batch statistics over the global batch, as one process has
    return Trainer(model, task, train, val if len(val) else None, options, device, progress,
                   ddp=world.size > 1)  # fmt: skip


def _card(cfg: FinetuneConfig, dataset, task, model, invocation: Invocation | None) -> dict[str, Any]:
    attrs = dataset.attrs
    return {
        "model": model.card_args,
        "task": task.spec(),
        "classes": task.class_names,
        "in_channels": dataset.x.shape[1],
        "sample_shape": list(dataset.x.shape[1:]),
        "normalization": attrs.get("normalization"),
        "patch": attrs.get("patch"),
        "training": cfg.model_dump(mode="json"),
        "provenance": make_provenance(invocation or Invocation("seis finetune"), cfg, [cfg.dataset], cfg.seed),
    }


def _end_of_epoch(cfg: FinetuneConfig, trainer, card: dict[str, Any], report) -> None:
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
