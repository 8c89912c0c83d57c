"""``seis distill TEACHER DATASET OUT --student NAME``: a smaller model trained on a task checkpoint's outputs.

OUT is a run folder like finetune's (best and last checkpoints of the plain student, metrics.jsonl,
the resumable state) plus ``comparison.json``: teacher and student side by side on one split —
parameters, the task metric, the student's agreement with the teacher, forward samples/s here.
"""

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seiscli.config.distill import DistillConfig
from seiscli.errors import ConfigError
from seiscli.progress import Progress
from seiscli.stages.training import (
    BEST,
    RUN_FILES,
    make_card,
    make_loaders,
    make_trainer,
    start_run,
    summarize_run,
    train,
)
from seiscli.storage.provenance import Invocation, make_provenance

COMPARISON = "comparison.json"
_STATISTICS = ("stats", "perSource")  # each source's own statistics: not part of the normalization recipe


@dataclass
class DistillResult:
    path: Path
    epochs: int
    best: dict[str, Any]
    seconds: float
    comparison: dict[str, Any]  # split, samples, and per model: name, parameters, metrics, samples/s
    warnings: list[str] = field(default_factory=list)


def run_distill(cfg: DistillConfig, invocation: Invocation | None = None,
                progress: Progress | None = None) -> DistillResult:  # fmt: skip
    """Check the teacher against the data; build the student; train it on the teacher; compare the two."""
    from seiscli.models import create_model, model_entry
    from seiscli.storage.dataset import open_dataset
    from seiscli.training.checkpoint import load_checkpoint
    from seiscli.training.distributed import barrier
    from seiscli.training.tasks import make_task

    started = time.perf_counter()
    teacher_card, teacher = load_checkpoint(cfg.teacher)
    dataset = open_dataset(cfg.dataset)
    _check_teacher(cfg, teacher_card, dataset)
    sample_shape = tuple(dataset.x.shape[1:])  # (C, H, W)
    model_entry(cfg.student)  # an unknown name is refused before the run folder is made
    world, device, progress = start_run(cfg, progress, (*RUN_FILES, COMPARISON))
    task = make_task(**teacher_card["task"])
    student = create_model(cfg.student, in_channels=teacher_card["in_channels"], num_classes=task.num_classes)
    distilling = _distillation_task(cfg, task, teacher.to(device), device)
    model = _distilled_student(cfg, student, distilling.teacher, sample_shape)
    loaders = _loaders(cfg, distilling, dataset.y is not None, world, device)
    trainer = make_trainer(cfg, model, distilling, loaders, progress, world, device)
    card = _card(cfg, dataset, task, student, teacher_card, invocation)
    train(cfg, trainer, card, world, kept=lambda distilled: distilled.student)  # checkpoints without the projection
    if world.is_main:
        _write_comparison(cfg, distilling, teacher_card, sample_shape, device, progress)
    barrier()
    return summarize_distill(cfg.out, time.perf_counter() - started)


def summarize_distill(out: Path, seconds: float) -> DistillResult:
    """What a distillation run folder says: epochs done, the best metric, and the comparison."""
    run = summarize_run(out, seconds)
    comparison = json.loads((out / COMPARISON).read_text())
    result = DistillResult(run.path, run.epochs, run.best, seconds, comparison)
    teacher, student = comparison["teacher"], comparison["student"]
    if student["parameters"] >= teacher["parameters"]:
        result.warnings.append(f"the student has {student['parameters']:,} parameters, the teacher "
                               f"{teacher['parameters']:,}: it is not smaller")  # fmt: skip
    return result


def _check_teacher(cfg: DistillConfig, card: dict[str, Any], dataset) -> None:
    """The teacher must be a task model of the dataset's task, classes, channels and normalization."""
    attrs = dataset.attrs
    if "task" not in card:
        raise ConfigError(f"{cfg.teacher} is not a task checkpoint", "distill a checkpoint written by seis finetune")
    if card["task"]["name"] != attrs["task"]:
        raise ConfigError(f"{cfg.teacher} is a {card['task']['name']} model; {cfg.dataset} holds {attrs['task']} data",
                          "distill on data prepared for the teacher's task")  # fmt: skip
    if card.get("classes") != attrs.get("classNames"):
        raise ConfigError(f"{cfg.teacher} predicts classes {card.get('classes')}; {cfg.dataset} has "
                          f"{attrs.get('classNames')}", "distill on data with the teacher's classes")  # fmt: skip
    if card["in_channels"] != dataset.x.shape[1]:
        raise ConfigError(f"{cfg.teacher} takes {card['in_channels']} input channels; {cfg.dataset} has "
                          f"{dataset.x.shape[1]}", "distill on data prepared like the teacher's")  # fmt: skip
    ours, theirs = _recipe(attrs.get("normalization")), _recipe(card.get("normalization"))
    if ours != theirs:
        keys = sorted(key for key in ours.keys() | theirs.keys() if ours.get(key) != theirs.get(key))
        differences = ", ".join(f"{key} {ours.get(key)!r} (teacher: {theirs.get(key)!r})" for key in keys)
        raise ConfigError(f"{cfg.dataset} is not normalized like the teacher's data: {differences}",
                          "preprocess it with the teacher's normalization (seis preprocess --normalize)")  # fmt: skip


def _recipe(normalization: dict[str, Any] | None) -> dict[str, Any]:
    """How a store was normalized, without its sources' own statistics; no record means as read."""
    return {k: v for k, v in (normalization or {"method": "none"}).items() if k not in _STATISTICS}


def _distillation_task(cfg: DistillConfig, task, teacher, device):
    from seiscli.training.distill import DistillationTask
    from seiscli.training.engine import autocast_context

    autocast, _ = autocast_context(device, cfg.precision)
    return DistillationTask(task, teacher, alpha=cfg.alpha, temperature=cfg.temperature,
                            feature_weight=cfg.feature_weight, autocast=autocast)  # fmt: skip


def _distilled_student(cfg: DistillConfig, student, teacher, sample_shape: tuple[int, ...]):
    """The student, with a projection of its deepest map to the teacher's when features are matched."""
    from seiscli.training.distill import DistilledStudent, projection

    if not cfg.feature_weight:
        return DistilledStudent(student)
    return DistilledStudent(student, projection(student, teacher, sample_shape))


def _loaders(cfg: DistillConfig, task, labelled: bool, world, device):
    """Finetune's loaders; on an unlabelled store the val targets are the teacher's predictions."""
    from seiscli.training.distill import TeacherLabels

    train, val = make_loaders(cfg, cfg.dataset, task.name, world)
    return train, val if labelled or val is None else TeacherLabels(val, task, device)


def _card(cfg: DistillConfig, dataset, task, student, teacher_card: dict[str, Any],
          invocation: Invocation | None) -> dict[str, Any]:  # fmt: skip
    """The student's model card: the teacher's task and classes, this run's config, and which teacher."""
    provenance = make_provenance(invocation or Invocation("seis distill"), cfg, [cfg.teacher, cfg.dataset], cfg.seed)
    teacher = {"model": teacher_card["model"], "metrics": teacher_card.get("metrics")}
    return {**make_card(cfg, dataset, task, student, provenance), "teacher": teacher}


def _write_comparison(cfg: DistillConfig, task, teacher_card: dict[str, Any], sample_shape: tuple[int, ...],
                      device, progress: Progress) -> None:  # fmt: skip
    """Teacher and best student on ``cfg.split``: parameters, metrics, agreement, forward samples/s."""
    from seiscli.bench.forward import forward_speed, parameter_count
    from seiscli.data.loader import make_loader
    from seiscli.training.checkpoint import load_checkpoint
    from seiscli.training.distill import compare

    student_card, student = load_checkpoint(cfg.out / BEST)
    student = student.to(device)
    loader = make_loader(cfg.dataset, cfg.split, cfg.batch_size, cfg.workers, None, shuffle=False)
    progress.start(f"comparing teacher and student on {cfg.split}", len(loader))
    metrics = compare(task.task, task.teacher, student, _advancing(loader, progress), device, task.autocast)
    progress.start("timing forward passes", 2)
    rows = {}
    for name, model, card in (("teacher", task.teacher, teacher_card), ("student", student, student_card)):
        speed = forward_speed(model, sample_shape, cfg.batch_size, device, task.autocast)
        rows[name] = {"model": card["model"]["name"], "parameters": parameter_count(model),
                      "metrics": metrics[name], "samples_per_second": speed}  # fmt: skip
        progress.advance()
    rows["student"]["agreement"] = metrics["agreement"]
    comparison = {"split": cfg.split, "samples": len(loader.dataset), "primary_metric": task.primary_metric,
                  "higher_is_better": task.higher_is_better, **rows}  # fmt: skip
    tmp = cfg.out / f".{COMPARISON}.tmp-{os.getpid()}"
    tmp.write_text(json.dumps(comparison, indent=2, default=str) + "\n")
    os.replace(tmp, cfg.out / COMPARISON)


def _advancing(batches, progress: Progress):
    for batch in batches:
        yield batch
        progress.advance()
