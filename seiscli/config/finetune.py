"""Options of ``seis finetune`` and the training options every training command shares."""

from pathlib import Path
from typing import Literal

from pydantic import Field, PositiveFloat, PositiveInt, ValidationInfo, field_validator

from seiscli.config.augment import AugmentConfig
from seiscli.config.base import StrictModel


class TrainingConfig(StrictModel):
    """A training run on a dataset store into the run folder OUT: schedule, precision, resume, processes."""

    dataset: str
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


class FinetuneConfig(TrainingConfig):
    """Train a task model on a dataset store (from scratch, from --weights or from --init)."""

    task: Literal["salt", "fault", "facies", "velocity"]
    model: str = "unet"
    task_options: dict[str, float] = Field(default_factory=dict)  # loss settings, e.g. {dice_weight = 0.5}
    weights: Path | None = None  # backbone weights file (timm state dict or safetensors)
    init: Path | None = None  # start from another checkpoint's weights (the head is re-made)
    freeze: bool = False  # train the decoder/head only
    lora: bool = False  # LoRA adapters on the backbone's attention projections; decoder in full, the rest frozen
    lora_rank: PositiveInt = 8
    lora_alpha: PositiveFloat = 16.0  # the adapters' update is scaled by alpha / rank
    lora_mlp: bool = False  # adapt the MLP layers too (the only ones a ConvNeXt has)
    lora_dropout: float = Field(0.0, ge=0, lt=1)  # on the adapters' input
    calibrate: bool = True  # salt, fault: choose the decision threshold of the best val mIoU after training

    @field_validator("lora")
    @classmethod
    def _lora_trains_no_frozen_model(cls, lora: bool, info: ValidationInfo) -> bool:
        if lora and info.data.get("freeze"):
            raise ValueError("cannot be combined with --freeze: LoRA keeps the backbone frozen itself; drop --freeze")
        return lora

    @field_validator("lora_rank", "lora_alpha", "lora_mlp", "lora_dropout")
    @classmethod
    def _needs_lora(cls, value: object, info: ValidationInfo) -> object:
        if not info.data.get("lora"):  # defaults are not validated: only a value that was given lands here
            raise ValueError("is a LoRA setting: add --lora")
        return value
