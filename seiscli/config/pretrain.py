"""Options of ``seis pretrain``."""

from pathlib import Path

from pydantic import Field, PositiveFloat, PositiveInt

from seiscli.config.base import Locations
from seiscli.config.training import TrainingConfig


class PretrainConfig(TrainingConfig):
    """Masked-autoencoder pretraining on one or several dataset stores taken as one corpus."""

    datasets: Locations = Field(min_length=1)
    model: str = "mae_vit_s16"
    mask_ratio: float = Field(0.75, gt=0, lt=1)  # the share of patches hidden from the encoder
    batch_size: PositiveInt = 64
    lr: PositiveFloat = 5e-4
    weight_decay: float = Field(0.05, ge=0)
    preview: Path | None = None  # PNG of validation inputs, their masks and reconstructions
