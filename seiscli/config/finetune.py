"""Options of ``seis finetune``."""

from pathlib import Path
from typing import Literal

from pydantic import Field

from seiscli.config.training import TrainingConfig


class FinetuneConfig(TrainingConfig):
    """Train a task model on a dataset store (from scratch, from --weights or from --init)."""

    dataset: str
    task: Literal["salt", "fault", "facies", "velocity"]
    model: str = "unet"
    task_options: dict[str, float] = Field(default_factory=dict)  # loss settings, e.g. {dice_weight = 0.5}
    weights: Path | None = None  # backbone weights file (timm state dict or safetensors)
    init: Path | None = None  # start from another checkpoint's weights (the head is re-made)
    freeze: bool = False  # train the decoder/head only
