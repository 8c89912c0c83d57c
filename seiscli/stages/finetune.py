"""``seis finetune DATASET OUT --task T``: train a task model; best/last checkpoints in OUT."""

import time
from pathlib import Path
from typing import Any

from seiscli.config.finetune import FinetuneConfig
from seiscli.errors import ConfigError
from seiscli.progress import Progress
from seiscli.stages.training import TrainingResult, make_trainer, start_run, summarize_run, train
from seiscli.storage.provenance import Invocation, make_provenance


def run_finetune(cfg: FinetuneConfig, invocation: Invocation | None = None,
                 progress: Progress | None = None) -> TrainingResult:  # fmt: skip
    """Build data, task, model and engine; resume when asked; train; keep best and last."""
    from seiscli.storage.dataset import open_dataset
    from seiscli.training.distributed import barrier

    started = time.perf_counter()
    dataset = open_dataset(cfg.dataset)
    _check_task(dataset.attrs, cfg)
    world, device, progress = start_run(cfg, progress)
    task = _make_task(dataset.attrs, cfg)
    model = _make_model(cfg, dataset, task)
    trainer = make_trainer(cfg, cfg.dataset, model, task, progress, world, device)
    train(cfg, trainer, _card(cfg, dataset, task, model, invocation), world)
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

    options = {"in_channels": dataset.x.shape[1], "num_classes": task.num_classes}
    if cfg.weights is not None:
        options["weights"] = str(cfg.weights)
    model = create_model(cfg.model, **options)
    if cfg.init is not None:
        _load_init(model, cfg.init, task)
    if cfg.freeze:
        _freeze_backbone(model)
    return model


HEAD_PREFIXES = ("decoder.", "ups.", "classifier.")  # Segmenter decoders; U-Net's upsampling path and classifier


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
    theirs = _fit_backbone(model, load_file(str(init)))
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
