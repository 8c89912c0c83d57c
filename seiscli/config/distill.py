"""Options of ``seis distill``."""

from pathlib import Path
from typing import Literal

from pydantic import Field, PositiveFloat

from seiscli.config.training import TrainingConfig


class DistillConfig(TrainingConfig):
    """Train a smaller registered model on a task checkpoint's predictions (and on the labels, if any)."""

    teacher: Path
    dataset: str
    student: str
    alpha: float = Field(0.5, ge=0, le=1)  # weight of the soft (teacher) loss; 1 - alpha weighs the labels' loss
    temperature: PositiveFloat = 2.0  # softens both class distributions; the KL divergence is scaled by T^2
    feature_weight: float = Field(0.0, ge=0)  # > 0: also match the teacher's deepest feature map
    split: Literal["train", "val", "test"] = "val"  # where teacher and student are compared at the end
