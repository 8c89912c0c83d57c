"""Options of ``seis finetune``."""

from pathlib import Path
from typing import Literal

from pydantic import Field, PositiveFloat, PositiveInt, ValidationInfo, field_validator

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
