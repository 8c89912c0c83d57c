"""Knowledge distillation as a task: a student learns a frozen teacher's outputs (and features).

The engine trains the student through the task interface. ``DistillationTask`` wraps the teacher's
own task and, for every batch, runs the teacher on the same inputs (no gradient, the run's autocast)::

    loss = alpha * soft + (1 - alpha) * hard + feature_weight * features    (labelled store)
    loss = soft + feature_weight * features                                 (unlabelled store: y is None)

- soft, classes: KL(teacher || student) of the class distributions softened by the temperature T,
  per pixel, times T^2 so that its gradients keep their scale whatever T (Hinton et al. 2015).
- soft, values (velocity): MSE between the student's and the teacher's outputs (normalized units).
- hard: the teacher's task loss (its class weights and loss options) against the labels.
- features (FitNets, Romero et al. 2015): MSE between the teacher's deepest ``forward_features`` map
  and the student's deepest map through a learned 1x1 convolution to the teacher's channels, resized
  to the teacher's grid. The projection lives beside the student in ``DistilledStudent`` and is not
  part of the saved checkpoint, which holds the plain student.

On an unlabelled store, ``TeacherLabels`` gives the validation batches the teacher's predictions as
targets: the student's validation metric is then its agreement with the teacher.
"""

import contextlib
from collections.abc import Iterable, Iterator
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from seiscli.training.metrics import Meter
from seiscli.training.tasks import SegmentationTask, Task

StudentOutput = tuple[torch.Tensor, torch.Tensor | None]  # logits (B, K, H, W), projected map (B, C_t, h, w)


class DistilledStudent(nn.Module):
    """The student being distilled, and the projection of its deepest map when features are matched."""

    def __init__(self, student: nn.Module, projection: nn.Module | None = None):
        super().__init__()
        self.student = student
        self.projection = projection

    def forward(self, x: torch.Tensor) -> StudentOutput:
        if self.projection is None:
            return self.student(x), None  # (B, K, H, W)
        features = self.student.forward_features(x)  # [(B, C_i, h_i, w_i), ...]
        logits = self.student.forward_head(features, tuple(x.shape[-2:]))  # (B, K, H, W)
        return logits, self.projection(features[-1])  # (B, C_teacher, h, w)


def deepest_channels(model: nn.Module, sample_shape: tuple[int, ...]) -> int:
    """Channels of ``model``'s deepest ``forward_features`` map, from one eval-mode pass on zeros."""
    was_training = model.training
    device = next(model.parameters()).device
    try:
        with torch.no_grad():
            return model.eval().forward_features(torch.zeros(1, *sample_shape, device=device))[-1].shape[1]
    finally:
        model.train(was_training)


def projection(student: nn.Module, teacher: nn.Module, sample_shape: tuple[int, ...]) -> nn.Conv2d:
    """A 1x1 convolution from the student's deepest channels to the teacher's."""
    return nn.Conv2d(deepest_channels(student, sample_shape), deepest_channels(teacher, sample_shape), 1)


def soft_kl_loss(student: torch.Tensor, teacher: torch.Tensor, temperature: float) -> torch.Tensor:
    """KL(teacher || student) of logits (B, K, *S) softened by ``temperature``: mean per pixel, times T^2."""
    log_student = F.log_softmax(student.float() / temperature, 1)  # (B, K, *S)
    log_teacher = F.log_softmax(teacher.float() / temperature, 1)  # (B, K, *S)
    kl = (log_teacher.exp() * (log_teacher - log_student)).sum(1)  # (B, *S)
    return kl.mean() * temperature**2


def feature_loss(projected: torch.Tensor, taught: torch.Tensor) -> torch.Tensor:
    """MSE between the student's projected map (B, C, h, w), resized to the teacher's (B, C, h_t, w_t), and it."""
    projected = projected.float()
    if projected.shape[-2:] != taught.shape[-2:]:
        projected = F.interpolate(projected, size=taught.shape[-2:], mode="bilinear", align_corners=False)
    return F.mse_loss(projected, taught.float())


class DistillationTask(Task):
    """The teacher's task, learned from the teacher: soft outputs (+ features) mixed with the labels."""

    def __init__(self, task: Task, teacher: nn.Module, *, alpha: float = 0.5, temperature: float = 2.0,
                 feature_weight: float = 0.0, autocast=None):  # fmt: skip
        if not 0 <= alpha <= 1 or not temperature > 0 or feature_weight < 0:
            raise ValueError(f"need 0 <= alpha <= 1, temperature > 0, feature_weight >= 0; got {alpha}, "
                             f"{temperature}, {feature_weight}")  # fmt: skip
        self.task, self.teacher = task, teacher.eval().requires_grad_(False)
        self.name, self.primary_metric, self.higher_is_better = task.name, task.primary_metric, task.higher_is_better
        self.num_classes, self.class_names = task.num_classes, task.class_names
        self.alpha, self.temperature, self.feature_weight = alpha, temperature, feature_weight
        self.autocast = autocast or contextlib.nullcontext()
        self.classes = isinstance(task, SegmentationTask)  # KL on class distributions, else MSE on values

    @torch.no_grad()
    def teach(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The teacher's float32 logits (B, K, H, W) and deepest feature map (B, C_t, h_t, w_t) for ``inputs``."""
        with self.autocast:
            features = self.teacher.forward_features(inputs)  # [(B, C_i, h_i, w_i), ...]
            logits = self.teacher.forward_head(features, tuple(inputs.shape[-2:]))  # (B, K, H, W)
        return logits.float(), features[-1].float()

    def loss(self, output: StudentOutput, target: torch.Tensor | None, inputs: torch.Tensor | None = None
             ) -> dict[str, torch.Tensor]:  # fmt: skip
        logits, projected = output
        taught, taught_features = self.teach(inputs)
        if self.classes:
            soft = soft_kl_loss(logits, taught, self.temperature)
        else:
            soft = F.mse_loss(logits.float(), taught)
        total, parts = soft, {"soft": soft.detach()}
        if target is not None and self.alpha < 1:
            hard = self.task.loss(logits, target)["loss"]
            total = self.alpha * soft + (1 - self.alpha) * hard
            parts["hard"] = hard.detach()
        if projected is not None:
            matched = feature_loss(projected, taught_features)
            total = total + self.feature_weight * matched
            parts["features"] = matched.detach()
        return {"loss": total, **parts}

    def predict(self, output: StudentOutput) -> torch.Tensor:
        return self.task.predict(output[0])

    def new_meter(self) -> Meter:
        return self.task.new_meter()

    def spec(self) -> dict[str, Any]:
        """The teacher's task: what the student is a model of."""
        return self.task.spec()


class TeacherLabels:
    """Batches x of an unlabelled loader as (x, the teacher's prediction), to validate the student against."""

    def __init__(self, loader, task: DistillationTask, device: torch.device):
        self.loader, self.task, self.device = loader, task, device

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for x in self.loader:
            x = x.to(self.device)  # (B, C, H, W)
            yield x, self.task.task.predict(self.task.teach(x)[0])


@torch.no_grad()
def compare(task: Task, teacher: nn.Module, student: nn.Module, batches: Iterable, device: torch.device,
            autocast=None) -> dict[str, dict[str, Any] | None]:  # fmt: skip
    """Metrics on ``batches`` ((x, y) or x alone): the teacher's and the student's against y (None
    without labels), and the student's against the teacher's predictions (``agreement``)."""
    meters = {"teacher": task.new_meter(), "student": task.new_meter(), "agreement": task.new_meter()}
    labelled = seen = False
    for batch in batches:
        x, y = (batch, None) if isinstance(batch, torch.Tensor) else batch
        x = x.to(device)  # (B, C, H, W)
        with autocast or contextlib.nullcontext():
            taught, learnt = task.predict(teacher(x).float()), task.predict(student(x).float())
        meters["agreement"].update(learnt, taught)
        if y is not None:
            y = y.to(device)
            meters["teacher"].update(taught, y)
            meters["student"].update(learnt, y)
        labelled, seen = y is not None, True
    return {name: meter.as_dict() if seen and (labelled or name == "agreement") else None
            for name, meter in meters.items()}  # fmt: skip
