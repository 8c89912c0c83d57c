"""``seis evaluate MODEL DATASET``: a checkpoint's metrics on one split."""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seiscli.config.evaluate import EvaluateConfig
from seiscli.errors import ConfigError
from seiscli.progress import Progress, SilentProgress


@dataclass
class EvaluateResult:
    model: Path
    dataset: str
    split: str
    task: str
    samples: int
    metrics: dict[str, Any]


def run_evaluate(cfg: EvaluateConfig, progress: Progress | None = None) -> EvaluateResult:
    """Predict every sample of the split (optionally with flip TTA) and accumulate the task's metrics."""
    import torch

    from seiscli.deploy.runtime import load_model
    from seiscli.inference.optimize import prepare_for_inference
    from seiscli.training.engine import autocast_context

    card, model = load_model(cfg.model)  # a checkpoint (LoRA adapters folded in) or an ONNX export
    _, precision = autocast_context(torch.device("cpu"), cfg.precision)
    model = prepare_for_inference(model, precision)  # BatchNorm folded, channels-last: same results, faster
    samples, metrics = evaluate_model(card, model, cfg, progress)
    return EvaluateResult(cfg.model, cfg.dataset, cfg.split, card["task"]["name"], samples, metrics)


def evaluate_model(card: dict[str, Any], model, cfg: EvaluateConfig,
                   progress: Progress | None = None) -> tuple[int, dict[str, Any]]:  # fmt: skip
    """(samples, metrics) of ``model`` (torch or ONNX) with its ``card`` on ``cfg``'s dataset split."""
    import torch

    from seiscli.data.augment import Augment
    from seiscli.data.loader import make_loader
    from seiscli.storage.dataset import open_dataset
    from seiscli.training.engine import autocast_context
    from seiscli.training.tasks import make_task

    progress = progress or SilentProgress()
    if card["task"]["name"] == "pretrain":
        raise ConfigError(f"{cfg.model} is a pretrained encoder: it has no task to evaluate",
                          "fine-tune it first: seis finetune DATASET OUT --task T --init CHECKPOINT")  # fmt: skip
    dataset = open_dataset(cfg.dataset)
    task = make_task(**card["task"])
    if dataset.attrs["task"] != task.name:
        raise ConfigError(f"{cfg.model} is a {task.name} model; {cfg.dataset} holds {dataset.attrs['task']} data",
                          "evaluate a model on data prepared for its own task")  # fmt: skip
    _check_shapes(card, dataset, cfg)
    # The mirror of a shot record also reverses its shots, as in training (velocity: the shots are channels).
    mirror = (1, -1) if Augment.for_task(task.name).mirror_channels else (-1,)
    loader = make_loader(cfg.dataset, cfg.split, cfg.batch_size, cfg.workers, None, shuffle=False)
    autocast, _ = autocast_context(torch.device("cpu"), cfg.precision)
    meter = task.new_meter()
    progress.start(f"evaluating on {cfg.split}", len(loader))
    with torch.no_grad():
        for x, y in loader:
            with autocast:
                output = model(x).float()
                if cfg.tta:
                    output = (output + model(x.flip(mirror)).float().flip(-1)) / 2
            meter.update(task.predict(output), y)
            progress.advance()
    return len(loader.dataset), meter.as_dict()


def primary_score(card: dict[str, Any], model, cfg: EvaluateConfig, progress: Progress | None = None) -> float:
    """The task's primary metric (what picks a best checkpoint) of ``model`` on ``cfg``'s split."""
    from seiscli.training.tasks import make_task

    samples, metrics = evaluate_model(card, model, cfg, progress)
    if samples == 0:
        raise ConfigError(f"{cfg.dataset} has no {cfg.split} samples to compare the models on",
                          "choose another --split")  # fmt: skip
    return float(metrics[make_task(**card["task"]).primary_metric])


def _check_shapes(card: dict[str, Any], dataset, cfg: EvaluateConfig) -> None:
    """The model's input channels and, for a model with its own output size, the target size fit the data."""
    hint = "evaluate on data prepared like its training data"
    if card["in_channels"] != dataset.x.shape[1]:
        raise ConfigError(f"{cfg.model} takes {card['in_channels']} input channels; {cfg.dataset} has"
                          f" {dataset.x.shape[1]}", hint)  # fmt: skip
    out_size = card["model"]["kwargs"].get("out_size")
    targets = list(dataset.y.shape[-len(dataset.x.shape[2:]) :])  # class ids (N, *S) or values (N, 1, *S)
    if out_size is not None and list(out_size) != targets:
        raise ConfigError(f"{cfg.model} predicts {'x'.join(map(str, out_size))} maps; {cfg.dataset} has targets"
                          f" of {'x'.join(map(str, targets))}", hint)  # fmt: skip
