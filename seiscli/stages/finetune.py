"""``seis finetune DATASET OUT --task T``: train a task model; best/last checkpoints in OUT."""

import time
from pathlib import Path
from typing import Any

from seiscli.config.finetune import FinetuneConfig
from seiscli.errors import ConfigError
from seiscli.progress import Progress
from seiscli.stages.training import (
    BEST,
    LAST,
    TrainingResult,
    describe_parameters,
    make_card,
    make_loaders,
    make_trainer,
    start_run,
    summarize_run,
    train,
)
from seiscli.storage.provenance import Invocation, make_provenance


def run_finetune(cfg: FinetuneConfig, invocation: Invocation | None = None,
                 progress: Progress | None = None) -> TrainingResult:  # fmt: skip
    """Build data, task, model and engine; resume when asked; train; keep best and last; calibrate."""
    from seiscli.storage.dataset import open_dataset
    from seiscli.training.distributed import barrier

    started = time.perf_counter()
    dataset = open_dataset(cfg.dataset)
    _check_task(dataset.attrs, cfg)
    world, device, progress = start_run(cfg, progress)
    task = _make_task(dataset.attrs, cfg)
    model = _make_model(cfg, dataset, task)
    trainer = make_trainer(cfg, model, task, make_loaders(cfg, cfg.dataset, task.name, world), progress, world, device)
    provenance = make_provenance(invocation or Invocation("seis finetune"), cfg, [cfg.dataset], cfg.seed)
    card = make_card(cfg, dataset, task, model, provenance)
    progress.log(describe_parameters(card["parameters"]))
    train(cfg, trainer, card, world)
    if world.is_main and cfg.calibrate and _is_binary(task) and (cfg.out / BEST).is_file():
        _calibrate_threshold(cfg, device)
    barrier()
    return summarize_run(cfg.out, time.perf_counter() - started)


def _check_task(attrs: dict[str, Any], cfg: FinetuneConfig) -> None:
    if attrs["task"] != cfg.task:
        raise ConfigError(f"{cfg.dataset} was prepared for {attrs['task']!r}, not {cfg.task!r}",
                          f"use --task {attrs['task']} or preprocess the data for {cfg.task}")  # fmt: skip


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
    from seiscli.models.segmenter import vit_grid_options

    options = {"in_channels": dataset.x.shape[1], "num_classes": task.num_classes, **_output_size(cfg, dataset)}
    options.update(vit_grid_options(cfg.model, tuple(dataset.x.shape[2:]), **options))
    if cfg.weights is not None:
        options["weights"] = str(cfg.weights)
    model = create_model(cfg.model, **options)
    if cfg.init is not None:
        _load_init(model, cfg.init, task)
    if cfg.freeze:
        _freeze_backbone(model)
    if cfg.lora:
        from seiscli.models.lora import ATTENTION, MLP, LoraSettings, apply_lora

        targets = ATTENTION + MLP if cfg.lora_mlp else ATTENTION
        apply_lora(model, LoraSettings(cfg.lora_rank, cfg.lora_alpha, cfg.lora_dropout, targets))
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
    """Another checkpoint's weights: everything whose name and shape match (a new head stays new).

    A LoRA checkpoint gives its merged weights, so a run (LoRA or not) starts from what it had learnt.
    """
    from seiscli.training.checkpoint import plain_weights

    theirs = _fit_backbone(model, plain_weights(init))  # a clear error when it is not a seis checkpoint
    ours = model.state_dict()
    matching = {k: v for k, v in theirs.items() if k in ours and ours[k].shape == v.shape}
    if not matching:
        raise ConfigError(f"--init {init}: no weights match the {model.card_args['name']} model")
    model.load_state_dict(matching, strict=False)


def _fit_backbone(model, theirs: dict) -> dict:
    """The checkpoint's ``backbone.*`` tensors fitted to our backbone: a ViT pretrained on another token
    grid gets its position embedding resampled instead of dropped (``fit_state`` of the backbone)."""
    fit = getattr(getattr(model, "backbone", None), "fit_state", None)
    if fit is None:
        return theirs
    prefix = "backbone."
    inner = {k.removeprefix(prefix): v for k, v in theirs.items() if k.startswith(prefix)}
    return {**theirs, **{prefix + k: v for k, v in fit(inner).items()}}


def _is_binary(task) -> bool:
    from seiscli.training.tasks import BinarySegmentationTask

    return isinstance(task, BinarySegmentationTask)


def _calibrate_threshold(cfg: FinetuneConfig, device) -> None:
    """Choose the best checkpoint's decision threshold on the val split; record it in its card (and last's)."""
    from safetensors.torch import load_file

    from seiscli.data.loader import make_loader
    from seiscli.training.calibration import best_threshold, probability_histograms
    from seiscli.training.checkpoint import load_checkpoint, read_card, save_weights
    from seiscli.training.engine import autocast_context

    val = make_loader(cfg.dataset, "val", cfg.batch_size, cfg.workers, None, shuffle=False)
    if len(val) == 0:
        return
    card, model = load_checkpoint(cfg.out / BEST, merge=True)
    autocast, _ = autocast_context(device, cfg.precision)
    calibration = best_threshold(probability_histograms(model.to(device), val, device, autocast))
    for name in (BEST, LAST):
        card = read_card(cfg.out / name)
        card["task"] = {**card["task"], "threshold": calibration["threshold"]}
        save_weights(cfg.out / name, load_file(str(cfg.out / name)), {**card, "calibration": calibration})
