"""Options every training command shares (finetune, distill, pretrain): the engine, the loader, the launch."""

from pathlib import Path
from typing import Literal

from pydantic import Field, PositiveFloat, PositiveInt

from seiscli.config.augment import AugmentConfig
from seiscli.config.base import StrictModel


class TrainingConfig(StrictModel):
    """A training run into the run folder OUT: schedule, precision, augmentation, resume, processes."""

    out: Path
    epochs: PositiveInt = 30
    batch_size: PositiveInt = 32
    lr: PositiveFloat = 1e-3
    weight_decay: float = Field(1e-4, ge=0)
    warmup_epochs: float = Field(1.0, ge=0)
    min_lr_ratio: float = Field(0.01, ge=0, le=1)  # the cosine ends at lr * min_lr_ratio
    restarts: int = Field(0, ge=0)  # warm restarts of the cosine schedule
    clip_grad: float | None = Field(1.0, gt=0)
    accumulate: PositiveInt = 1
    precision: Literal["auto", "bf16", "fp16", "fp32"] = "auto"
    ema: float | None = Field(0.999, gt=0, lt=1)
    patience: PositiveInt | None = None
    layer_decay: float | None = Field(None, gt=0, le=1)  # ViT: earlier blocks learn slower (pretrained encoders)
    augment: bool | AugmentConfig = True  # a config file may tune it: [finetune.augment] noise = 0
    workers: int = Field(2, ge=0)
    seed: int = 0
    resume: bool = False
    overwrite: bool = False
    nproc_per_node: PositiveInt = 1
    nnodes: PositiveInt = 1
    node_rank: int = Field(0, ge=0)
    rdzv_endpoint: str | None = None

    @property
    def wants_launch(self) -> bool:
        return self.nproc_per_node > 1 or self.nnodes > 1
